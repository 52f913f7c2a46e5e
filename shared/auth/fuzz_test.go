package auth

import (
	"strings"
	"testing"

	"github.com/clientele/clientele/shared/clientele"
)

// FuzzPortalOf: token parsing never panics and only accepts a valid portal
// id with a full-length secret.
func FuzzPortalOf(f *testing.F) {
	tok, _ := NewPortalToken("demo")
	for _, s := range []string{tok, "", ".", "demo.", "DEMO." + strings.Repeat("a", 43), "a.b.c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		pid, ok := PortalOf(token)
		if ok && (!clientele.ValidPortalID(pid) || len(token) != len(pid)+1+43) {
			t.Fatalf("accepted %q as portal %q", token, pid)
		}
	})
}

// FuzzVerifyPassword: a malformed stored hash is an error, never a panic or
// a match.
func FuzzVerifyPassword(f *testing.F) {
	f.Add("pw", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2g")
	f.Add("pw", "$argon2id$v=19$m=0,t=0,p=0$$")
	f.Add("pw", "")
	f.Fuzz(func(t *testing.T, password, hash string) {
		if strings.Contains(hash, "m=") && len(hash) > 200 {
			return // keep each run cheap: argon2 cost is bounded by the parser anyway
		}
		ok, err := VerifyPassword(password, hash)
		if ok && err != nil {
			t.Fatal("a match with an error")
		}
	})
}
