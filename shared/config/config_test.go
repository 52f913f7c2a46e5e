package config

import (
	"strings"
	"testing"
	"time"
)

func TestLoad(t *testing.T) {
	secret := strings.Repeat("s", 32)
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"all set", map[string]string{"TABLE_NAME": "t", "CURSOR_SECRET": secret}, ""},
		{"names every missing variable", map[string]string{}, "TABLE_NAME, CURSOR_SECRET"},
		{"names the one missing", map[string]string{"CURSOR_SECRET": secret}, "missing required environment variable(s): TABLE_NAME"},
		{"short secret", map[string]string{"TABLE_NAME": "t", "CURSOR_SECRET": "short"}, "at least 32"},
		{"link TTL not a number", map[string]string{"TABLE_NAME": "t", "CURSOR_SECRET": secret, "EXPORT_LINK_TTL_SECONDS": "15m"}, "EXPORT_LINK_TTL_SECONDS"},
		{"link TTL too short", map[string]string{"TABLE_NAME": "t", "CURSOR_SECRET": secret, "EXPORT_LINK_TTL_SECONDS": "59"}, "from 60 to 604800"},
		{"link TTL past SigV4's 7 days", map[string]string{"TABLE_NAME": "t", "CURSOR_SECRET": secret, "EXPORT_LINK_TTL_SECONDS": "604801"}, "from 60 to 604800"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(func(k string) string { return tt.env[k] }, API...)
			if tt.wantErr == "" {
				if err != nil || c.TableName != "t" {
					t.Fatalf("got %+v, %v", c, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestExportLinkTTL(t *testing.T) {
	secret := strings.Repeat("s", 32)
	for v, want := range map[string]time.Duration{"": 15 * time.Minute, "60": time.Minute, "3600": time.Hour, "604800": 7 * 24 * time.Hour} {
		env := map[string]string{"TABLE_NAME": "t", "CURSOR_SECRET": secret, "EXPORTS_BUCKET": "b", "EXPORT_LINK_TTL_SECONDS": v}
		c, err := Load(func(k string) string { return env[k] }, Exports...)
		if err != nil || c.ExportLinkTTL != want || c.ExportsBucket != "b" {
			t.Errorf("EXPORT_LINK_TTL_SECONDS=%q: got %v, %v; want %v", v, c.ExportLinkTTL, err, want)
		}
	}
	if _, err := Load(func(k string) string { return map[string]string{"TABLE_NAME": "t", "CURSOR_SECRET": secret}[k] }, Exports...); err == nil || !strings.Contains(err.Error(), "EXPORTS_BUCKET") {
		t.Errorf("missing bucket: %v", err)
	}
}
