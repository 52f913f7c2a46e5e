package crm

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func setup(t *testing.T) (*CRM, *httptest.Server, *clock) {
	t.Helper()
	clk := &clock{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := New(clk.now)
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)
	return c, srv, clk
}

func exchange(t *testing.T, srv *httptest.Server, form url.Values) map[string]any {
	t.Helper()
	res, err := http.PostForm(srv.URL+"/oauth/v2/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("token status %d", res.StatusCode)
	}
	var body map[string]any
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body
}

func goodForm() url.Values {
	l := Local()
	return url.Values{"grant_type": {"refresh_token"}, "client_id": {l.ClientID}, "client_secret": {l.ClientSecret}, "refresh_token": {l.RefreshToken}}
}

func get(t *testing.T, srv *httptest.Server, tok, path string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Zoho-oauthtoken "+tok)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var body map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &body); err != nil {
			t.Fatalf("%s: %v: %s", path, err, b)
		}
	}
	return res.StatusCode, body
}

func TestToken(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(url.Values)
		error string
	}{
		{"good", func(url.Values) {}, ""},
		{"bad client", func(f url.Values) { f.Set("client_id", "nope") }, "invalid_client"},
		{"bad secret", func(f url.Values) { f.Set("client_secret", "nope") }, "invalid_client"},
		{"bad refresh token", func(f url.Values) { f.Set("refresh_token", "nope") }, "invalid_code"},
		{"bad grant", func(f url.Values) { f.Set("grant_type", "password") }, "unsupported_grant_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, srv, _ := setup(t)
			f := goodForm()
			tc.edit(f)
			body := exchange(t, srv, f)
			if tc.error != "" {
				if body["error"] != tc.error {
					t.Fatalf("got %v, want error %s", body, tc.error)
				}
				return
			}
			if body["access_token"] == "" || body["api_domain"] != srv.URL || body["token_type"] != "Bearer" || body["expires_in"] != 3600.0 {
				t.Fatalf("token answer %v", body)
			}
		})
	}
}

func TestAPI(t *testing.T) {
	c, srv, clk := setup(t)
	tok := exchange(t, srv, goodForm())["access_token"].(string)
	accounts, _ := c.records("Accounts")
	acme := accounts[0]["id"].(string)
	for _, tc := range []struct {
		name, tok, path string
		status          int
		code            string // error code, or ""
		count           int    // records in data
		more            bool
	}{
		{"first page", tok, "/crm/v2/Contacts?page=1&per_page=200", 200, "", MaxPerPage, true},
		{"last page", tok, "/crm/v2/Contacts?page=3&per_page=5", 200, "", 2, false},
		{"past the end", tok, "/crm/v2/Contacts?page=4", 204, "", 0, false},
		{"search word", tok, "/crm/v2/Contacts/search?word=acme", 200, "", 4, false},
		{"search email", tok, "/crm/v2/Contacts/search?email=BOB@acme.example", 200, "", 1, false},
		{"search nothing", tok, "/crm/v2/Contacts/search?word=zzzz", 204, "", 0, false},
		{"search too short", tok, "/crm/v2/Contacts/search?word=a", 400, "INVALID_QUERY", 0, false},
		{"get account", tok, "/crm/v2/Accounts/" + acme, 200, "", 1, false},
		{"unknown id", tok, "/crm/v2/Accounts/4150868000000999999", 204, "", 0, false},
		{"malformed id", tok, "/crm/v2/Deals/abc", 400, "INVALID_DATA", 0, false},
		{"unknown module", tok, "/crm/v2/Widgets", 400, "INVALID_MODULE", 0, false},
		{"no token", "", "/crm/v2/Contacts", 401, "AUTHENTICATION_FAILURE", 0, false},
		{"bad token", "1000.nope", "/crm/v2/Contacts", 401, "INVALID_TOKEN", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(t, srv, tc.tok, tc.path)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %v", status, tc.status, body)
			}
			if tc.code != "" && (body["code"] != tc.code || body["status"] != "error") {
				t.Fatalf("body %v, want code %s", body, tc.code)
			}
			if status != 200 {
				return
			}
			if data, _ := body["data"].([]any); len(data) != tc.count {
				t.Fatalf("%d records, want %d", len(data), tc.count)
			}
			if info, ok := body["info"].(map[string]any); ok && info["more_records"] != tc.more {
				t.Fatalf("info %v, want more_records %v", info, tc.more)
			}
		})
	}
	clk.t = clk.t.Add(TokenTTL)
	if status, body := get(t, srv, tok, "/crm/v2/Contacts"); status != 401 || body["code"] != "INVALID_TOKEN" {
		t.Fatalf("expired token: %d %v", status, body)
	}
}

func TestShapes(t *testing.T) {
	_, srv, _ := setup(t)
	tok := exchange(t, srv, goodForm())["access_token"].(string)
	_, body := get(t, srv, tok, "/crm/v2/Contacts?page=3&per_page=5&fields=Email,Account_Name")
	data := body["data"].([]any)
	kim := data[0].(map[string]any)
	if kim["Email"] != "kim@freelance.example" || kim["Account_Name"] != nil || kim["Last_Name"] != nil {
		t.Fatalf("contact without account, fields limited: %v", kim)
	}
	_, body = get(t, srv, tok, "/crm/v2/Contacts/search?word=fischer")
	frank := body["data"].([]any)[0].(map[string]any)
	if frank["Email"] != nil || frank["Account_Name"].(map[string]any)["name"] != "Globex GmbH" {
		t.Fatalf("contact without email: %v", frank)
	}
}

func TestControls(t *testing.T) {
	c, srv, _ := setup(t)
	tok := exchange(t, srv, goodForm())["access_token"].(string)
	c.RateLimit(1)
	if status, body := get(t, srv, tok, "/crm/v2/Contacts"); status != 429 || body["code"] != "TOO_MANY_REQUESTS" {
		t.Fatalf("rate limited: %d %v", status, body)
	}
	if status, _ := get(t, srv, tok, "/crm/v2/Contacts"); status != 200 {
		t.Fatalf("after the limit: %d", status)
	}
	c.Down(true)
	if status, _ := get(t, srv, tok, "/crm/v2/Contacts"); status != 500 {
		t.Fatalf("down: %d", status)
	}
	c.Down(false)
	c.ExpireTokens()
	if _, body := get(t, srv, tok, "/crm/v2/Contacts"); body["code"] != "INVALID_TOKEN" {
		t.Fatalf("expired: %v", body)
	}
	c.RevokeRefreshToken()
	if body := exchange(t, srv, goodForm()); body["error"] != "invalid_code" {
		t.Fatalf("revoked: %v", body)
	}
	c.Fail(func(r *http.Request) (int, string, http.Header, bool) {
		return 503, `{"code":"INTERNAL_ERROR"}`, http.Header{"Retry-After": {"7"}}, strings.HasPrefix(r.URL.Path, "/crm/")
	})
	if status, _ := get(t, srv, tok, "/crm/v2/Deals"); status != 503 {
		t.Fatalf("fail hook: %d", status)
	}
	if n := c.TokenExchanges(); n != 2 {
		t.Fatalf("%d exchanges, want 2", n)
	}
	if n := c.Calls()["/crm/v2/Contacts"]; n != 4 {
		t.Fatalf("%d calls, want 4", n)
	}
	d := c.Describe("http://x")
	if len(d.Accounts) != 4 || len(d.Contacts) != 12 || len(d.Deals) != 3 || d.ClientID != Local().ClientID {
		t.Fatalf("describe %+v", d)
	}
}
