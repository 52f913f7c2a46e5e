package httpapi

import (
	"strings"
	"testing"

	"github.com/clientele/clientele/shared/clientele"
)

// FuzzDecodeJSON: no body makes a request decoder panic, and every refusal
// is a 400 (never a 5xx).
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"name":"A"}`, `{"name":1}`, `[]`, `{"address":null}`, `{"emails":"a@x.com, b"}`, `{"x":}`, "\x00", `{"projectIds":["01JB"]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		targets := []any{&clientele.CompanyInput{}, &clientele.CompanyPatch{}, &clientele.ProjectInput{}, &clientele.PortalPatch{},
			&clientele.UsersInput{}, &clientele.UserPatch{}, &clientele.MePatch{}}
		for _, v := range targets {
			if err := DecodeJSON(body, v); err != nil && Status(err) != 400 {
				t.Fatalf("%T: status %d for %q: %v", v, Status(err), body, err)
			}
		}
	})
}

// FuzzCursor: any cursor string is either the key sealed for this portal
// and query or a 400; never a panic, never another query's key.
func FuzzCursor(f *testing.F) {
	c, _ := NewCursors(strings.Repeat("k", 32))
	f.Add(c.Seal("demo", "q", map[string]string{"PK": "P#demo#C#1"}))
	f.Add("")
	f.Add("!!")
	f.Add(strings.Repeat("A", 64))
	f.Fuzz(func(t *testing.T, cursor string) {
		key, err := c.Open("demo", "q", cursor)
		if err != nil && Status(err) != 400 {
			t.Fatalf("status %d", Status(err))
		}
		if _, err2 := c.Open("other", "q", cursor); err == nil && key != nil && err2 == nil {
			t.Fatalf("a cursor opened for two portals: %q", cursor)
		}
	})
}
