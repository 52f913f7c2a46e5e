package clientele

import (
	"encoding/json"
	"net/mail"
	"regexp"
	"testing"
)

// idPattern is what ValidID spells out, its oracle in the fuzz test.
var idPattern = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{26}$`)

// FuzzNormalizeEmail: normalising is idempotent, a normal address is
// always accepted again, and the fast path takes only addresses that
// mail.ParseAddress takes as they are.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"a@x.com", " A@X.COM ", "a@b", "\"q\"@x.com", "a@xn--bcher-kva.example", "@", "",
		"a.b@x.y", ".a@x.y", "a.@x.y", "a..b@x.y", "a@x..y", "a@.x", "a@x.", "a+b/c=d?e^f_g`h{i|j}k~l!#$%&'*@x-y.z", "a@b@c.d", "a@[1.2.3.4]", "(c)a@x.y", "a@x.y (c)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if plainAddress(s) {
			if a, err := mail.ParseAddress(s); err != nil || a.Name != "" || a.Address != s {
				t.Fatalf("plainAddress(%q) but mail.ParseAddress: %+v, %v", s, a, err)
			}
		}
		if ValidID(s) != idPattern.MatchString(s) {
			t.Fatalf("ValidID(%q) = %v, the pattern says otherwise", s, ValidID(s))
		}
		n, err := NormalizeEmail(s)
		if err != nil {
			return
		}
		again, err := NormalizeEmail(n)
		if err != nil || again != n {
			t.Fatalf("%q -> %q -> %q, %v", s, n, again, err)
		}
	})
}

// FuzzEmailList: the list decoder never panics and never yields blanks.
func FuzzEmailList(f *testing.F) {
	for _, s := range []string{`"a@x.com, b@y.com"`, `["a"]`, `""`, `" , ,"`, `7`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var l EmailList
		if json.Unmarshal(b, &l) != nil {
			return
		}
		if string(b) != "null" && len(b) > 0 && b[0] == '"' {
			for _, e := range l {
				if e == "" {
					t.Fatalf("blank address from %q", b)
				}
			}
		}
	})
}
