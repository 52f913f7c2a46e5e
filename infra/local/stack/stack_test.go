package stack

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clientele/clientele/shared/clock"
	"github.com/clientele/clientele/shared/openapi"
)

func start(t *testing.T) *Stack {
	t.Helper()
	st, err := Start(context.Background(), Options{Clock: clock.NewManual(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

// TestRoutesAgree holds template.yaml, the OpenAPI document and the
// handlers to the same set of routes.
func TestRoutesAgree(t *testing.T) {
	st := start(t)
	var tmpl, handlers []string
	for _, r := range st.Routes {
		tmpl = append(tmpl, r.Key())
	}
	for _, rt := range st.Routers {
		handlers = append(handlers, rt.Routes()...)
	}
	slices.Sort(tmpl)
	slices.Sort(handlers)
	doc, err := openapi.Load()
	if err != nil {
		t.Fatal(err)
	}
	spec := openapi.Routes(doc)
	if fmt.Sprint(tmpl) != fmt.Sprint(handlers) {
		t.Errorf("template.yaml and handlers differ:\ntemplate: %v\nhandlers: %v", tmpl, handlers)
	}
	if fmt.Sprint(tmpl) != fmt.Sprint(spec) {
		t.Errorf("template.yaml and openapi.yaml differ:\ntemplate: %v\nopenapi:  %v", tmpl, spec)
	}
}

func TestMatchSegments(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          string // params, or "-" for no match
	}{
		{"/v1/companies", "/v1/companies", "map[]"},
		{"/v1/companies/{companyId}", "/v1/companies/abc", "map[companyId:abc]"},
		{"/v1/companies/{companyId}", "/v1/companies", "-"},
		{"/v1/companies/{companyId}", "/v1/companies/", "-"},
		{"/v1/companies/{companyId}", "/v1/companies/a/b", "-"},
		{"/v1/projects/{projectId}/companies/{companyId}", "/v1/projects/p/companies/c", "map[companyId:c projectId:p]"},
		{"/v1/projects/{projectId}/companies/{companyId}", "/v1/projects/p/users/c", "-"},
		{"/static/{proxy+}", "/static/a/b/c", "map[proxy:a/b/c]"},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.path, func(t *testing.T) {
			params, ok := matchSegments(strings.Split(strings.Trim(tt.pattern, "/"), "/"), strings.Split(strings.Trim(tt.path, "/"), "/"))
			got := "-"
			if ok {
				got = fmt.Sprint(params)
			}
			if got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestLocalEndpoints(t *testing.T) {
	st := start(t)
	srv := httptest.NewServer(st.Handler())
	defer srv.Close()
	get := func(method, path, body string) (int, http.Header, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	tests := []struct {
		name, method, path, body string
		status                   int
		contains                 string
		gateway                  bool // an answer of the gateway itself: it carries apigw-requestid
	}{
		{"openapi", "GET", "/openapi.yaml", "", 200, "openapi: 3", false},
		{"jwks", "GET", "/_local/jwks.json", "", 200, `"kty":"RSA"`, false},
		{"mail", "GET", "/_local/mail.json", "", 200, "messages", false},
		{"clock moves", "POST", "/_local/clock", `{"advance":"25h"}`, 200, "2026-11-23T01:00:00Z", false},
		{"clock rejects junk", "POST", "/_local/clock", `{"advance":"soon"}`, 400, "advance", false},
		{"unknown route is API Gateway's 404", "GET", "/v2/nothing", "", 404, `{"message":"Not Found"}`, true},
		{"wrong method is 404 too", "DELETE", "/v1/portal", "", 404, `{"message":"Not Found"}`, true},
		{"no token", "GET", "/v1/portal", "", 401, `{"message":"Unauthorized"}`, true},
	}
	seen := map[string]string{} // apigw-requestid → the case that got it
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, header, body := get(tt.method, tt.path, tt.body)
			if status != tt.status || !strings.Contains(body, tt.contains) {
				t.Fatalf("got %d %s", status, body)
			}
			if !tt.gateway {
				return
			}
			id := header.Get("Apigw-Requestid")
			if id == "" {
				t.Fatalf("no apigw-requestid on the gateway's own %d", status)
			}
			if prev, dup := seen[id]; dup {
				t.Fatalf("apigw-requestid %q again (first in %q): not one per answer", id, prev)
			}
			seen[id] = tt.name
		})
	}
}
