package api_test

import (
	"bytes"
	"fmt"
	"testing"
)

// TestFormats: what the server accepts and echoes matches the formats the
// document declares (every answer is validated against it, and its uri and
// idn-email formats are checked). An internationalised address (RFC 6531) is
// an idn-email: accepted and echoed. A URL with a space is no URI (RFC 3986):
// 400 naming the field, and nothing written.
func TestFormats(t *testing.T) {
	e := newUsersEnv(t)
	const idn, spaced, encoded = "ünï@edge.example", "https://edge.example/a path", "https://edge.example/a%20path"
	company := "/v1/companies/" + e.company
	tests := []struct {
		name, method, path string
		body               map[string]any
		status             int
		field              string            // the field error of a 400
		echo               func(resp) string // the value answered, for a 2xx
		want               string            // what echo must give
		unchanged          []string          // GETs whose answers must not change on a 400
	}{
		{"idn-email user", "POST", "/v1/users", map[string]any{"emails": idn, "companyId": e.company}, 201, "",
			func(r resp) string { return fmt.Sprint(r.JSON()["created"].([]any)[0].(map[string]any)["email"]) }, idn, nil},
		{"idn-email contact", "POST", "/v1/companies", map[string]any{"name": "Edge", "contactEmail": idn}, 201, "",
			func(r resp) string { return r.String("contactEmail") }, idn, nil},
		{"percent-encoded website", "PATCH", company, map[string]any{"website": encoded}, 200, "",
			func(r resp) string { return r.String("website") }, encoded, nil},
		{"website with a space, create", "POST", "/v1/companies", map[string]any{"name": "Spaced", "website": spaced}, 400, "website",
			nil, "", []string{"/v1/companies"}},
		{"website with a space, update", "PATCH", company, map[string]any{"website": spaced}, 400, "website",
			nil, "", []string{company, company + "/history"}},
		{"website with a space, new company on a project", "POST", "/v1/projects/" + e.hourly + "/companies",
			map[string]any{"company": map[string]any{"name": "Spaced", "website": spaced}}, 400, "company.website",
			nil, "", []string{"/v1/companies", "/v1/projects/" + e.hourly}},
		{"appBaseUrl with a space", "PATCH", "/v1/portal", map[string]any{"appBaseUrl": spaced}, 400, "appBaseUrl",
			nil, "", []string{"/v1/portal"}},
		{"appBaseUrl not ASCII", "PATCH", "/v1/portal", map[string]any{"appBaseUrl": "https://bücher.example"}, 400, "appBaseUrl",
			nil, "", []string{"/v1/portal"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := make([][]byte, len(tt.unchanged))
			for i, p := range tt.unchanged {
				r := e.call("GET", p, e.owner, nil)
				want(t, r, 200)
				before[i] = r.Body
			}
			r := e.call(tt.method, tt.path, e.owner, tt.body)
			want(t, r, tt.status)
			if tt.echo != nil {
				if got := tt.echo(r); got != tt.want {
					t.Fatalf("answered %q, want %q", got, tt.want)
				}
			}
			if tt.field != "" {
				errs, _ := r.JSON()["errors"].([]any)
				if len(errs) != 1 || errs[0].(map[string]any)["field"] != tt.field {
					t.Fatalf("errors %v, want one on %s", errs, tt.field)
				}
			}
			for i, p := range tt.unchanged {
				if after := e.call("GET", p, e.owner, nil); !bytes.Equal(after.Body, before[i]) {
					t.Fatalf("GET %s changed on a 400:\nbefore %s\nafter  %s", p, before[i], after.Body)
				}
			}
		})
	}
}
