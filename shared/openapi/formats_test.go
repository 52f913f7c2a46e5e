package openapi

import (
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestFormats: the formats the document declares are checked (kin-openapi
// checks none it was not given), as the server cleans them: internationalised
// addresses are idn-email, and a URI has no space or non-ASCII letter.
func TestFormats(t *testing.T) {
	tests := []struct {
		format, value string
		ok            bool
	}{
		{"uri", "https://acme.example", true},
		{"uri", "https://edge.example/a%20path", true},
		{"uri", "http://127.0.0.1:3000/portal", true},
		{"uri", "https://[::1]:8443/p", true},
		{"uri", "https://edge.example/a path", false},
		{"uri", "https://bücher.example", false},
		{"uri", "https://x.example/<b>", false},
		{"uri", "https://x.example/a\tb", false},
		{"uri", "/relative/path", false},
		{"uri", "", false},
		{"idn-email", "ann@acme.example", true},
		{"idn-email", "ünï@edge.example", true},
		{"idn-email", "ann@bücher.example", true},
		{"idn-email", "no-at.example", false},
		{"idn-email", "a@b@c.example", false},
		{"idn-email", "ann@acme example", false},
		{"email", "ann@acme.example", true},
		{"email", "ünï@edge.example", false},
		{"email", "ann@bücher.example", false},
	}
	for _, tt := range tests {
		t.Run(tt.format+" "+tt.value, func(t *testing.T) {
			s := openapi3.NewStringSchema().WithFormat(tt.format)
			err := s.VisitJSON(tt.value)
			if got := err == nil; got != tt.ok {
				t.Fatalf("valid = %v (%v), want %v", got, err, tt.ok)
			}
		})
	}
}
