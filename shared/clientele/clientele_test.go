package clientele

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestNormalizeEmail(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a@x.com", "a@x.com"},
		{"  Ann.Lee@Example.COM ", "Ann.Lee@example.com"},
		{"first+tag@sub.example.org", "first+tag@sub.example.org"},
		{"", "!"},
		{"no-at.example.com", "!"},
		{"Ann <ann@example.com>", "!"},
		{"a@localhost", "!"},
		{"a@-bad.com", "!"},
		{"a@b..com", "!"},
		{strings.Repeat("l", 65) + "@x.com", "!"},
		{"a@" + strings.Repeat("d", 250) + ".com", "!"},
		{"a b@x.com", "!"},
		// Internationalised addresses (RFC 6531, format: idn-email) are real.
		{"ünï@edge.example", "ünï@edge.example"},
		{" Ünï@Édge.Example ", "Ünï@édge.example"},
		{"ann@bücher.example", "ann@bücher.example"},
		{"ün ï@edge.example", "!"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := NormalizeEmail(tt.in)
			if err != nil {
				got = "!"
			}
			if got != tt.want {
				t.Fatalf("got %q (%v), want %q", got, err, tt.want)
			}
		})
	}
}

func TestCleanURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://portal.example.com/", "https://portal.example.com"},
		{"http://127.0.0.1:3000", "http://127.0.0.1:3000"},
		{"https://x.example/base/", "https://x.example/base"},
		{"javascript:alert(1)", "!"},
		{"ftp://x.example", "!"},
		{"//x.example", "!"},
		{"https://user:pw@x.example", "!"},
		{"https://x.example/?a=1", "!"},
		{"https://x.example/#top", "!"},
		{"", "!"},
		// Only what RFC 3986 allows in a URI (format: uri).
		{"https://edge.example/a path", "!"},
		{"https://edge.example/a%20path", "https://edge.example/a%20path"},
		{"https://x.example/~a/(b);c=d,e!$&'*+:@/", "https://x.example/~a/(b);c=d,e!$&'*+:@"},
		{"https://[::1]:8443/p", "https://[::1]:8443/p"},
		{"https://xn--bcher-kva.example", "https://xn--bcher-kva.example"},
		{"https://bücher.example", "!"},
		{"https://x.example/ü", "!"},
		{"https://x.example/a%zz", "!"},
		{"https://x.example/a%2", "!"},
		{"https://x.example/a\tb", "!"},
		{`https://x.example/"q"`, "!"},
		{"https://x.example/<b>", "!"},
		{"https://x.example/a|b", "!"},
		{`https://x.example/a\b`, "!"},
		{"https://x.example/a^b", "!"},
		{"https://x.example/`b`", "!"},
		{"https://x.example/{b}", "!"},
		{"https://x.example/a[1]", "!"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := CleanURL(tt.in)
			if err != nil {
				got = "!"
			}
			if got != tt.want {
				t.Fatalf("got %q (%v), want %q", got, err, tt.want)
			}
		})
	}
}

func TestNameKey(t *testing.T) {
	tests := map[string]string{"Acme  Corp": "acme corp", " ACME\tcorp ": "acme corp", "Ümlaut GmbH": "ümlaut gmbh"}
	for in, want := range tests {
		if got := NameKey(in); got != want {
			t.Errorf("NameKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCleanName(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"Acme", true}, {"  Acme  ", true}, {"", false}, {"   ", false},
		{strings.Repeat("é", MaxNameLen), true}, {strings.Repeat("é", MaxNameLen+1), false},
		{"bell\a", false}, {"line\nbreak", false}, {string([]byte{0xff}), false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%.20q", tt.in), func(t *testing.T) {
			if _, err := CleanName(tt.in); (err == nil) != tt.ok {
				t.Fatalf("got %v", err)
			}
		})
	}
}

func decodePatch[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCompanyPatch(t *testing.T) {
	email := "a@x.com"
	cur := Company{ID: "C", Name: "Acme", Type: Business, ContactEmail: &email, Version: 3}
	tests := []struct {
		name        string
		patch       string
		wantChanged []string
		wantFields  []string
		check       func(Company) bool
	}{
		{"nothing", `{}`, nil, nil, nil},
		{"same name", `{"name":"Acme"}`, nil, nil, nil},
		{"rename", `{"name":" Acme Inc "}`, []string{"name"}, nil, func(c Company) bool { return c.Name == "Acme Inc" }},
		{"clear email", `{"contactEmail":null}`, []string{"contactEmail"}, nil, func(c Company) bool { return c.ContactEmail == nil }},
		{"null name", `{"name":null}`, nil, []string{"name"}, nil},
		{"bad type and email", `{"type":"x","contactEmail":"nope"}`, nil, []string{"type", "contactEmail"}, nil},
		{"address", `{"address":{"city":" Paris ","country":"FR"}}`, []string{"address"}, nil, func(c Company) bool { return *c.Address.City == "Paris" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, ch, err := decodePatch[CompanyPatch](t, tt.patch).Apply(cur)
			if tt.wantFields != nil {
				e, ok := err.(*Error)
				if !ok || e.Code != Invalid {
					t.Fatalf("got %v", err)
				}
				var got []string
				for _, f := range e.Fields {
					got = append(got, f.Field)
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.wantFields) {
					t.Fatalf("fields %v, want %v", got, tt.wantFields)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var changed []string
			for k := range ch {
				changed = append(changed, k)
			}
			if fmt.Sprint(changed) != fmt.Sprint(tt.wantChanged) && !(len(changed) == 0 && len(tt.wantChanged) == 0) {
				t.Fatalf("changed %v, want %v", changed, tt.wantChanged)
			}
			if tt.check != nil && !tt.check(next) {
				t.Fatalf("next %+v", next)
			}
		})
	}
}

func TestNewProject(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a, b := "01JB0000000000000000000000", "01JB0000000000000000000001"
	tests := []struct {
		name        string
		in          ProjectInput
		wantPrimary string
		wantErr     bool
	}{
		{"no companies", ProjectInput{Name: "P"}, "", false},
		{"first company is primary", ProjectInput{Name: "P", CompanyIDs: []string{a, b}}, a, false},
		{"named primary", ProjectInput{Name: "P", CompanyIDs: []string{a, b}, PrimaryCompanyID: &b}, b, false},
		{"primary not among companies", ProjectInput{Name: "P", CompanyIDs: []string{a}, PrimaryCompanyID: &b}, "", true},
		{"duplicate company", ProjectInput{Name: "P", CompanyIDs: []string{a, a}}, "", true},
		{"bad billing", ProjectInput{Name: "P", Billing: "hourly"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewProject(tt.in, "01JBPROJECT000000000000000", now)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v", err)
			}
			if err != nil {
				return
			}
			got := ""
			if p.PrimaryCompanyID != nil {
				got = *p.PrimaryCompanyID
			}
			if got != tt.wantPrimary || p.Invoiceable != (got != "") || p.Billing != NoBilling {
				t.Fatalf("primary %q invoiceable %v billing %s", got, p.Invoiceable, p.Billing)
			}
		})
	}
}

func TestPortalPatch(t *testing.T) {
	limit := 10
	cur := Portal{ID: "demo", Name: "Demo", SeatsUsed: 4, ClientSeatLimit: &limit, NoAccessUsed: 2, InviteLinkTTLHours: 168}
	tests := []struct {
		name  string
		patch string
		want  Code // "" for success
	}{
		{"unlimited", `{"clientSeatLimit":null}`, ""},
		{"at usage", `{"clientSeatLimit":4}`, ""},
		{"below usage", `{"clientSeatLimit":3}`, Conflict},
		{"negative", `{"clientSeatLimit":-1}`, Invalid},
		{"no-access at usage", `{"noAccessUserLimit":2}`, ""},
		{"no-access below usage", `{"noAccessUserLimit":1}`, Conflict},
		{"no-access unlimited", `{"noAccessUserLimit":null}`, ""},
		{"no-access too many", `{"noAccessUserLimit":1000001}`, Invalid},
		{"ttl too long", `{"inviteLinkTtlHours":721}`, Invalid},
		{"ttl null", `{"inviteLinkTtlHours":null}`, Invalid},
		{"reset url", `{"appBaseUrl":null}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := decodePatch[PortalPatch](t, tt.patch).Apply(cur)
			if got := Code(""); err != nil {
				got = ErrorCode(err)
				if got != tt.want {
					t.Fatalf("got %v, want %s", err, tt.want)
				}
			} else if tt.want != "" {
				t.Fatalf("got nil, want %s", tt.want)
			}
		})
	}
}

func TestValidPortalID(t *testing.T) {
	for _, tt := range []struct {
		id   string
		want bool
	}{
		{"demo", true}, {"a", true}, {"0-a", true}, {strings.Repeat("a", 63), true},
		{strings.Repeat("a", 64), false}, {"", false}, {"-a", false}, {"Demo", false}, {"a_b", false}, {"a b", false},
		{"a-", true}, {"ümlaut", false}, {"a\n", false}, {"demo.x", false},
	} {
		if got := ValidPortalID(tt.id); got != tt.want {
			t.Errorf("ValidPortalID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}
