package clientele

import (
	"encoding/json"
	"testing"
)

// FuzzNormalizeEmail: normalising is idempotent and a normal address is
// always accepted again.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"a@x.com", " A@X.COM ", "a@b", "\"q\"@x.com", "a@xn--bcher-kva.example", "@", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
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
