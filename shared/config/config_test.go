package config

import (
	"strings"
	"testing"
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
