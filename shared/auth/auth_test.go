package auth

import (
	"strings"
	"testing"
)

func TestPassword(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %s", h)
	}
	other, _ := HashPassword("correct horse")
	tests := []struct {
		name, password, hash string
		ok                   bool
		err                  bool
	}{
		{"right", "correct horse", h, true, false},
		{"wrong", "correct horsE", h, false, false},
		{"salted: same password, other hash", "correct horse", other, true, false},
		{"malformed", "x", "$argon2i$v=19$m=1,t=1,p=1$AA$AA", false, true},
		{"garbage", "x", "plain", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := VerifyPassword(tt.password, tt.hash)
			if ok != tt.ok || (err != nil) != tt.err {
				t.Fatalf("got %v, %v", ok, err)
			}
		})
	}
	if h == other {
		t.Fatal("two hashes of one password must differ (salt)")
	}
}

func TestCheckPassword(t *testing.T) {
	tests := map[string]bool{"short": false, "long enough": true, strings.Repeat("x", 129): false, "Ann@Example.com": false, "ann@example.comx": true}
	for pw, ok := range tests {
		if got := CheckPassword(pw, "ann@example.com") == ""; got != ok {
			t.Errorf("CheckPassword(%.20q) ok = %v, want %v", pw, got, ok)
		}
	}
}

func TestPortalToken(t *testing.T) {
	tok, hash := NewPortalToken("demo")
	pid, ok := PortalOf(tok)
	if !ok || pid != "demo" || HashToken(tok) != hash || strings.Contains(hash, "demo") {
		t.Fatalf("token %s hash %s", tok, hash)
	}
	for _, bad := range []string{"", "demo", "demo.short", "Bad Portal." + strings.Repeat("a", 43), ".x"} {
		if _, ok := PortalOf(bad); ok {
			t.Errorf("PortalOf(%q) accepted", bad)
		}
	}
}
