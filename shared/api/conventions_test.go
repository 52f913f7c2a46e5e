package api_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/clientele/clientele/infra/local/devjwt"
	"github.com/clientele/clientele/shared/awsclient"
)

func TestProblemDetails(t *testing.T) {
	e := newEnv(t)
	big := `{"name":"` + strings.Repeat("a", 1<<20) + `"}`
	// A role and a user of a company, for the role cases.
	co := e.createCompany("Problem co")
	roleRes := e.call("POST", "/v1/roles", e.owner, map[string]any{"name": "Problem role", "permissions": map[string]any{"tasks": []string{"view"}}})
	want(t, roleRes, 201)
	role := roleRes.String("id")
	userRes := e.call("POST", "/v1/users", e.owner, map[string]any{"emails": "problem@example.com", "companyId": co})
	want(t, userRes, 201)
	user := userRes.JSON()["created"].([]any)[0].(map[string]any)["id"].(string)
	var elevenRoles []string
	for i := range 11 {
		elevenRoles = append(elevenRoles, fmt.Sprintf("01JBZZZZZZZZZZZZZZZZZZZZ%02d", i))
	}
	unknownRole := "01JBZZZZZZZZZZZZZZZZZZZZZZ"
	tests := []struct {
		name        string
		method      string
		path        string
		body        any
		contentType string
		wantStatus  int
		wantFields  []string
	}{
		{"missing name", "POST", "/v1/companies", map[string]any{"type": "business"}, "", 400, []string{"name"}},
		{"field errors are all listed", "POST", "/v1/companies", map[string]any{"name": " ", "type": "corp", "contactEmail": "nope", "website": "ftp://x"}, "", 400, []string{"name", "type", "contactEmail", "website"}},
		{"unknown field", "POST", "/v1/companies", map[string]any{"name": "A", "colour": "red"}, "", 400, []string{"colour"}},
		{"wrong type", "POST", "/v1/projects", map[string]any{"name": 7}, "", 400, []string{"name"}},
		{"bad billing", "POST", "/v1/projects", map[string]any{"name": "P", "billing": "hourly"}, "", 400, []string{"billing"}},
		{"bad project id", "POST", "/v1/companies", map[string]any{"name": "A", "projectIds": []string{"x"}}, "", 400, []string{"projectIds[0]"}},
		{"unknown project", "POST", "/v1/companies", map[string]any{"name": "A", "projectIds": []string{"01JBZZZZZZZZZZZZZZZZZZZZZZ"}}, "", 400, []string{"projectIds[0]"}},
		{"bad seat limit", "PATCH", "/v1/portal", map[string]any{"clientSeatLimit": -1, "inviteLinkTtlHours": 0}, "", 400, []string{"clientSeatLimit", "inviteLinkTtlHours"}},
		{"not JSON", "POST", "/v1/companies", "name=A", "text/plain", 415, nil},
		{"too large", "POST", "/v1/companies", big, "", 413, nil},
		{"bad limit", "GET", "/v1/companies?limit=500", nil, "", 400, []string{"limit"}},
		{"bad notify", "DELETE", "/v1/companies/01JBZZZZZZZZZZZZZZZZZZZZZZ?notify=maybe", nil, "", 400, []string{"notify"}},
		{"unknown id", "GET", "/v1/companies/01JBZZZZZZZZZZZZZZZZZZZZZZ", nil, "", 404, nil},
		{"malformed id", "GET", "/v1/projects/not-an-id", nil, "", 404, nil},
		{"crm connection without credentials", "PUT", "/v1/portal/crm", map[string]any{"provider": "zoho"}, "", 400, nil},
		{"crm connection unknown field", "PUT", "/v1/portal/crm", map[string]any{"provider": "zoho", "password": "x"}, "", 400, []string{"password"}},
		{"crm import without contacts", "POST", "/v1/crm/imports", map[string]any{}, "", 400, []string{"contactIds"}},
		{"crm import bad contact id", "POST", "/v1/crm/imports", map[string]any{"contactIds": []string{"not a CRM id"}}, "", 400, []string{"contactIds[0]"}},
		{"crm import unknown project", "POST", "/v1/crm/imports", map[string]any{"contactIds": []string{"4150868000000000001"}, "projectIds": []string{"01JBZZZZZZZZZZZZZZZZZZZZZZ"}}, "", 400, []string{"projectIds[0]"}},
		{"deal conversion unknown field", "POST", "/v1/crm/deals/4150868000000000001/convert", map[string]any{"colour": "red"}, "", 400, []string{"colour"}},
		{"deal conversion projectId with name", "POST", "/v1/crm/deals/4150868000000000001/convert", map[string]any{"projectId": "01JBZZZZZZZZZZZZZZZZZZZZZZ", "name": "x"}, "", 400, []string{"projectId"}},
		{"bad crm contacts limit", "GET", "/v1/crm/contacts?limit=500", nil, "", 400, []string{"limit"}},
		{"crm not connected", "GET", "/v1/crm/contacts", nil, "", 404, nil},
		// Roles.
		{"role without permissions", "POST", "/v1/roles", map[string]any{"name": "R"}, "", 400, []string{"permissions"}},
		{"role without name", "POST", "/v1/roles", map[string]any{"permissions": map[string]any{}}, "", 400, []string{"name"}},
		{"role unknown module", "POST", "/v1/roles", map[string]any{"name": "R", "permissions": map[string]any{"payroll": []string{"view"}}}, "", 400, []string{"permissions.payroll"}},
		{"role unknown action", "POST", "/v1/roles", map[string]any{"name": "R", "permissions": map[string]any{"tasks": []string{"view", "fly"}}}, "", 400, []string{"permissions.tasks[1]"}},
		{"role unknown field", "POST", "/v1/roles", map[string]any{"name": "R", "permissions": map[string]any{}, "colour": "red"}, "", 400, []string{"colour"}},
		{"role not JSON", "POST", "/v1/roles", "name=R", "text/plain", 415, nil},
		{"role patch null name", "PATCH", "/v1/roles/" + role, map[string]any{"name": nil}, "", 400, []string{"name"}},
		{"role patch null permissions", "PATCH", "/v1/roles/" + role, map[string]any{"permissions": nil}, "", 400, []string{"permissions"}},
		{"role patch unknown action", "PATCH", "/v1/roles/" + role, map[string]any{"permissions": map[string]any{"issues": []string{"own"}}}, "", 400, []string{"permissions.issues[0]"}},
		{"role patch unknown field", "PATCH", "/v1/roles/" + role, map[string]any{"userCount": 0}, "", 400, []string{"userCount"}},
		{"bad roles limit", "GET", "/v1/roles?limit=500", nil, "", 400, []string{"limit"}},
		{"unknown role", "GET", "/v1/roles/" + unknownRole, nil, "", 404, nil},
		{"malformed role id", "GET", "/v1/roles/not-an-id", nil, "", 404, nil},
		{"patch unknown role", "PATCH", "/v1/roles/" + unknownRole, map[string]any{"name": "X"}, "", 404, nil},
		{"delete unknown role", "DELETE", "/v1/roles/" + unknownRole, nil, "", 404, nil},
		{"too many roleIds", "POST", "/v1/users", map[string]any{"emails": "r1@example.com", "companyId": co, "roleIds": elevenRoles}, "", 400, []string{"roleIds"}},
		{"bad and repeated roleIds", "POST", "/v1/users", map[string]any{"emails": "r2@example.com", "companyId": co, "roleIds": []string{"x", role, role}}, "", 400, []string{"roleIds[0]", "roleIds[2]"}},
		{"null roleIds", "PATCH", "/v1/users/" + user, map[string]any{"roleIds": nil}, "", 400, []string{"roleIds"}},
		{"too many roleIds on a user", "PATCH", "/v1/users/" + user, map[string]any{"roleIds": elevenRoles}, "", 400, []string{"roleIds"}},
		{"bad roleIds on a user", "PATCH", "/v1/users/" + user, map[string]any{"roleIds": []string{role, "not an id"}}, "", 400, []string{"roleIds[1]"}},
		{"bad roleId filter", "GET", "/v1/users?roleId=x", nil, "", 400, []string{"roleId"}},
		{"roleId with q", "GET", "/v1/users?roleId=" + role + "&q=a", nil, "", 400, []string{"roleId"}},
		{"roleId with companyId", "GET", "/v1/users?roleId=" + role + "&companyId=" + co, nil, "", 400, []string{"roleId"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.st.DynamoCallsByOp()
			var headers []string
			if tt.contentType != "" {
				headers = []string{"Content-Type", tt.contentType}
			}
			r := e.call(tt.method, tt.path, e.owner, tt.body, headers...)
			want(t, r, tt.wantStatus)
			if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("content type %q", ct)
			}
			p := r.JSON()
			if p["status"].(float64) != float64(tt.wantStatus) || p["title"] == "" || p["type"] == "" {
				t.Fatalf("problem %v", p)
			}
			var got []string
			fes, _ := p["errors"].([]any)
			for _, fe := range fes {
				got = append(got, fe.(map[string]any)["field"].(string))
			}
			if tt.wantFields != nil && fmt.Sprint(got) != fmt.Sprint(tt.wantFields) {
				t.Fatalf("fields %v, want %v", got, tt.wantFields)
			}
			// Bad input writes nothing.
			after := e.st.DynamoCallsByOp()
			for _, op := range []string{"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"} {
				if after[op] != before[op] {
					t.Fatalf("%s was called for a rejected request", op)
				}
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	e := newEnv(t)
	seen := map[string]bool{}
	for _, r := range []resp{
		e.call("GET", "/v1/portal", e.owner, nil),
		e.call("GET", "/v1/companies/01JBZZZZZZZZZZZZZZZZZZZZZZ", e.owner, nil),
		e.call("POST", "/v1/companies", e.owner, map[string]any{}),
		e.call("GET", "/v1/portal", e.st.Token("demo", "member", "m"), nil),
	} {
		id := r.Header.Get("X-Request-Id")
		if id == "" || seen[id] {
			t.Fatalf("X-Request-Id %q missing or repeated on %d", id, r.Status)
		}
		seen[id] = true
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("Cache-Control %q", r.Header.Get("Cache-Control"))
		}
	}
}

func TestRoles(t *testing.T) {
	e := newEnv(t)
	id := e.createCompany("Acme")
	e.connectCRM()
	contact := map[string]any{"contactIds": []string{e.contact("alice@acme.example").ID}}
	convert := "/v1/crm/deals/" + e.deal("Acme website relaunch").ID + "/convert"
	newRole := func(name string) string {
		r := e.call("POST", "/v1/roles", e.owner, map[string]any{"name": name, "permissions": map[string]any{"issues": []string{"view"}}})
		want(t, r, 201)
		return r.String("id")
	}
	role, unused := newRole("Reviewer"), newRole("Unused")
	tests := []struct {
		role   string
		method string
		path   string
		body   any
		want   int
	}{
		{"member", "GET", "/v1/companies", nil, 200},
		{"member", "GET", "/v1/companies/" + id, nil, 200},
		{"member", "GET", "/v1/portal", nil, 200},
		{"member", "POST", "/v1/companies", map[string]any{"name": "M"}, 403},
		{"member", "PATCH", "/v1/companies/" + id, map[string]any{"name": "M"}, 403},
		{"member", "DELETE", "/v1/companies/" + id, nil, 403},
		{"member", "PATCH", "/v1/portal", map[string]any{"name": "M"}, 403},
		{"member", "POST", "/v1/projects", map[string]any{"name": "M"}, 403},
		{"admin", "POST", "/v1/companies", map[string]any{"name": "By admin"}, 201},
		{"admin", "PATCH", "/v1/portal", map[string]any{"name": "Renamed"}, 200},
		{"owner", "POST", "/v1/projects", map[string]any{"name": "By owner"}, 201},
		{"guest", "GET", "/v1/companies", nil, 403},
		// The CRM: owners and admins only, reads too.
		{"member", "GET", "/v1/portal/crm", nil, 403},
		{"member", "GET", "/v1/crm/contacts", nil, 403},
		{"member", "PUT", "/v1/portal/crm", e.crmCredentials(), 403},
		{"member", "DELETE", "/v1/portal/crm", nil, 403},
		{"member", "POST", "/v1/crm/imports", contact, 403},
		{"member", "POST", convert, nil, 403},
		{"guest", "GET", "/v1/portal/crm", nil, 403},
		{"guest", "GET", "/v1/crm/contacts", nil, 403},
		{"admin", "GET", "/v1/portal/crm", nil, 200},
		{"admin", "GET", "/v1/crm/contacts", nil, 200},
		{"admin", "PUT", "/v1/portal/crm", e.crmCredentials(), 200},
		{"admin", "POST", "/v1/crm/imports", contact, 200},
		{"admin", "POST", convert, nil, 201},
		{"owner", "GET", "/v1/crm/contacts", nil, 200},
		{"admin", "DELETE", "/v1/portal/crm", nil, 204},
		// Roles: any staff role reads, owners and admins write.
		{"member", "GET", "/v1/roles", nil, 200},
		{"member", "GET", "/v1/roles/" + role, nil, 200},
		{"member", "POST", "/v1/roles", map[string]any{"name": "By member", "permissions": map[string]any{}}, 403},
		{"member", "PATCH", "/v1/roles/" + role, map[string]any{"name": "M"}, 403},
		{"member", "DELETE", "/v1/roles/" + unused, nil, 403},
		{"guest", "GET", "/v1/roles", nil, 403},
		{"guest", "GET", "/v1/roles/" + role, nil, 403},
		{"guest", "DELETE", "/v1/roles/" + unused, nil, 403},
		{"admin", "GET", "/v1/roles", nil, 200},
		{"admin", "POST", "/v1/roles", map[string]any{"name": "By admin", "permissions": map[string]any{"tasks": []string{"view"}}}, 201},
		{"admin", "PATCH", "/v1/roles/" + role, map[string]any{"name": "Renamed by admin"}, 200},
		{"owner", "DELETE", "/v1/roles/" + unused, nil, 204},
	}
	for _, tt := range tests {
		t.Run(tt.role+" "+tt.method+" "+tt.path, func(t *testing.T) {
			want(t, e.call(tt.method, tt.path, e.st.Token("demo", tt.role, "u-"+tt.role), tt.body), tt.want)
		})
	}
	// What the member was refused was not done: one user, one project,
	// the admin's.
	if n := e.countAll("/v1/users", e.owner); n != 1 {
		t.Errorf("%d users after one admin import", n)
	}
	if n := e.countAll("/v1/projects", e.owner); n != 2 {
		t.Errorf("%d projects after one admin conversion and one owner create", n)
	}
	// Nor on the roles: the admin's rename stands, the admin's create and
	// the owner's delete leave two.
	if r := e.call("GET", "/v1/roles/"+role, e.owner, nil); r.Status != 200 || r.String("name") != "Renamed by admin" || r.JSON()["version"] != float64(2) {
		t.Errorf("role after the member's refused patch: %d %s", r.Status, r.Body)
	}
	if n := e.countAll("/v1/roles", e.owner); n != 2 {
		t.Errorf("%d roles after one admin create and one owner delete, want 2", n)
	}
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	other, err := devjwt.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	forged := devjwt.NewIssuer(other, "http://127.0.0.1:3000/_local", "clientele-local", e.clock.Now)
	claims := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": "http://127.0.0.1:3000/_local", "aud": "clientele-local", "sub": "s",
			"portal_id": "demo", "role": "owner", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		change(c)
		return c
	}
	sign := func(c jwt.MapClaims) string {
		tok, err := e.st.Issuer.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims(func(jwt.MapClaims) {})).SignedString(jwt.UnsafeAllowNoneSignatureType)
	forgedTok, _ := forged.Token("demo", "owner", "s", time.Hour)
	// Key confusion: HS256 keyed with the issuer's public key, which an
	// attacker can read from the JWKS, must not pass for RS256.
	var jwks struct {
		Keys []struct{ Kid, N, E string } `json:"keys"`
	}
	if err := json.Unmarshal(e.st.Issuer.JWKS(), &jwks); err != nil || len(jwks.Keys) == 0 {
		t.Fatalf("jwks: %v", err)
	}
	nBytes, _ := base64.RawURLEncoding.DecodeString(jwks.Keys[0].N)
	der, err := x509.MarshalPKIXPublicKey(&rsa.PublicKey{N: new(big.Int).SetBytes(nBytes), E: 65537})
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	hs256 := func(secret []byte) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(func(jwt.MapClaims) {}))
		tok.Header["kid"] = jwks.Keys[0].Kid
		s, err := tok.SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name  string
		token string
	}{
		{"no token", ""},
		{"garbage", "not.a.jwt"},
		{"expired", sign(claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Second).Unix() }))},
		{"not yet valid", sign(claims(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() }))},
		{"wrong issuer", sign(claims(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" }))},
		{"wrong audience", sign(claims(func(c jwt.MapClaims) { c["aud"] = "someone-else" }))},
		{"bad signature", forgedTok},
		{"alg none", none},
		{"HS256 keyed with the public key (PEM)", hs256(pubPEM)},
		{"HS256 keyed with the public key (DER)", hs256(der)},
		{"HS256 keyed with the JWKS", hs256(e.st.Issuer.JWKS())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call("GET", "/v1/companies", tt.token, nil)
			want(t, r, 401)
			if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
			}
		})
	}
	t.Run("valid token", func(t *testing.T) {
		want(t, e.call("GET", "/v1/companies", sign(claims(func(jwt.MapClaims) {})), nil), 200)
	})
	// Every route behind a staff or client token, the CRM function's too,
	// refuses a request without one and a forged one.
	for _, r := range e.st.Routes {
		if r.Public {
			continue
		}
		path := strings.NewReplacer("{companyId}", "01JBZZZZZZZZZZZZZZZZZZZZZZ", "{projectId}", "01JBZZZZZZZZZZZZZZZZZZZZZZ",
			"{userId}", "01JBZZZZZZZZZZZZZZZZZZZZZZ", "{profileId}", "01JBZZZZZZZZZZZZZZZZZZZZZZ", "{templateId}", "01JBZZZZZZZZZZZZZZZZZZZZZZ",
			"{exportId}", "01JBZZZZZZZZZZZZZZZZZZZZZZ", "{roleId}", "01JBZZZZZZZZZZZZZZZZZZZZZZ", "{dealId}", "4150868000000000001").Replace(r.Path)
		if strings.Contains(path, "{") {
			t.Errorf("route %s: a path parameter this test does not fill", r.Key())
			continue
		}
		t.Run("every route/"+r.Key(), func(t *testing.T) {
			for _, tok := range []string{"", forgedTok} {
				res := e.call(r.Method, path, tok, nil)
				want(t, res, 401)
				if !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Fatalf("WWW-Authenticate %q", res.Header.Get("WWW-Authenticate"))
				}
			}
		})
	}
	t.Run("token without portal", func(t *testing.T) {
		r := e.call("GET", "/v1/companies", sign(claims(func(c jwt.MapClaims) { delete(c, "portal_id") })), nil)
		want(t, r, 401)
		if r.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("the handler's 401 must be problem+json, got %q", r.Header.Get("Content-Type"))
		}
	})
}

func TestPagination(t *testing.T) {
	e := newEnv(t)
	var names []string
	for i := range 7 {
		n := fmt.Sprintf("Company %02d", i)
		names = append(names, n)
		e.createCompany(n)
	}
	e.createCompany("Other name")
	var got []string
	cursor := ""
	pages := 0
	for {
		path := "/v1/companies?q=company&limit=3"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		r := e.call("GET", path, e.owner, nil)
		want(t, r, 200)
		pages++
		for _, it := range r.JSON()["items"].([]any) {
			got = append(got, it.(map[string]any)["name"].(string))
		}
		next, _ := r.JSON()["nextCursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	if fmt.Sprint(got) != fmt.Sprint(names) || pages != 3 {
		t.Fatalf("got %v in %d pages, want %v in 3", got, pages, names)
	}

	first := e.call("GET", "/v1/companies?limit=2", e.owner, nil).String("nextCursor")
	tampered := []byte(first)
	tampered[5] ^= 2
	other := e.st.Token("other", "owner", "o")
	tests := []struct {
		name  string
		path  string
		token string
	}{
		{"tampered", "/v1/companies?cursor=" + url.QueryEscape(string(tampered)), e.owner},
		{"another portal", "/v1/companies?cursor=" + url.QueryEscape(first), other},
		{"another query", "/v1/companies?q=x&cursor=" + url.QueryEscape(first), e.owner},
		{"another list", "/v1/projects?cursor=" + url.QueryEscape(first), e.owner},
		{"another list (CRM contacts)", "/v1/crm/contacts?cursor=" + url.QueryEscape(first), e.owner},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want(t, e.call("GET", tt.path, tt.token, nil), 400)
		})
	}
}

func TestETag(t *testing.T) {
	e := newEnv(t)
	id := e.createCompany("Versioned")
	r := e.call("GET", "/v1/companies/"+id, e.owner, nil)
	etag := r.Header.Get("ETag")
	if etag != `"1"` {
		t.Fatalf("ETag %q", etag)
	}
	r = e.call("PATCH", "/v1/companies/"+id, e.owner, map[string]any{"website": "https://versioned.example"}, "If-Match", etag)
	want(t, r, 200)
	if r.Header.Get("ETag") != `"2"` || r.JSON()["version"].(float64) != 2 {
		t.Fatalf("after patch: ETag %q body %s", r.Header.Get("ETag"), r.Body)
	}
	r = e.call("PATCH", "/v1/companies/"+id, e.owner, map[string]any{"name": "Stale"}, "If-Match", etag)
	want(t, r, 412)
	if e.call("GET", "/v1/companies/"+id, e.owner, nil).String("name") != "Versioned" {
		t.Fatal("a 412 must not write")
	}
	want(t, e.call("DELETE", "/v1/companies/"+id, e.owner, nil, "If-Match", etag), 412)
	want(t, e.call("PATCH", "/v1/companies/"+id, e.owner, map[string]any{"name": "Fresh"}, "If-Match", `"2"`), 200)
	want(t, e.call("DELETE", "/v1/companies/"+id, e.owner, nil, "If-Match", `"3"`), 204)

	// The portal honours If-Match too.
	p := e.call("GET", "/v1/portal", e.owner, nil)
	want(t, e.call("PATCH", "/v1/portal", e.owner, map[string]any{"name": "X"}, "If-Match", `"99"`), 412)
	want(t, e.call("PATCH", "/v1/portal", e.owner, map[string]any{"name": "X"}, "If-Match", p.Header.Get("ETag")), 200)
}

func TestIdempotency(t *testing.T) {
	e := newEnv(t)
	body := map[string]any{"name": "Once"}
	first := e.call("POST", "/v1/companies", e.owner, body, "Idempotency-Key", "k-1")
	want(t, first, 201)
	writes := e.st.DynamoCallsByOp()["TransactWriteItems"]
	again := e.call("POST", "/v1/companies", e.owner, body, "Idempotency-Key", "k-1")
	if again.Status != first.Status || string(again.Body) != string(first.Body) || again.Header.Get("Location") != first.Header.Get("Location") {
		t.Fatalf("replay differs: %d %s vs %d %s", again.Status, again.Body, first.Status, first.Body)
	}
	if again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("a replay must say so")
	}
	if e.st.DynamoCallsByOp()["TransactWriteItems"] != writes {
		t.Fatal("a replay must not write")
	}
	want(t, e.call("POST", "/v1/companies", e.owner, map[string]any{"name": "Twice"}, "Idempotency-Key", "k-1"), 422)
	// Keys are per caller: another admin's k-1 is a new request.
	want(t, e.call("POST", "/v1/companies", e.st.Token("demo", "admin", "someone-else"), map[string]any{"name": "Other"}, "Idempotency-Key", "k-1"), 201)
	// After 24 h the key is forgotten.
	e.clock.Advance(25 * time.Hour)
	e.owner = e.st.Token("demo", "owner", "owner-1") // the old token expired too
	want(t, e.call("POST", "/v1/companies", e.owner, map[string]any{"name": "Later"}, "Idempotency-Key", "k-1"), 201)

	t.Run("20 concurrent requests with one key do the work once", func(t *testing.T) {
		pid := e.createProject("Idempotent project")
		body := map[string]any{"company": map[string]any{"name": "Raced"}}
		results := parallel(20, func(int) resp {
			r, err := e.try("POST", "/v1/projects/"+pid+"/companies", e.owner, body, "Idempotency-Key", "race")
			if err != nil {
				t.Error(err)
			}
			return r
		})
		for _, r := range results {
			if r.Status != 201 || string(r.Body) != string(results[0].Body) {
				t.Fatalf("got %d %s, want every answer equal to %s", r.Status, r.Body, results[0].Body)
			}
		}
		list := e.call("GET", "/v1/companies?q=raced", e.owner, nil).JSON()["items"].([]any)
		if len(list) != 1 {
			t.Fatalf("%d companies created, want 1", len(list))
		}
		if got := strs(e.call("GET", "/v1/projects/"+pid, e.owner, nil).JSON()["companyIds"]); len(got) != 1 {
			t.Fatalf("project has %v", got)
		}
	})
}

func TestTenantIsolation(t *testing.T) {
	e := newEnv(t)
	cid := e.createCompany("Tenant A company")
	pid := e.createProject("Tenant A project", map[string]any{"companyIds": []string{cid}, "billing": "staff_hours"})
	rr := e.call("POST", "/v1/roles", e.owner, map[string]any{"name": "Tenant A role", "permissions": map[string]any{"issues": []string{"view"}}})
	want(t, rr, 201)
	rid := rr.String("id")
	ur := e.call("POST", "/v1/users", e.owner, map[string]any{"emails": "a@tenant.example", "companyId": cid, "projectIds": []string{pid}, "roleIds": []string{rid}})
	want(t, ur, 201)
	uid := ur.JSON()["created"].([]any)[0].(map[string]any)["id"].(string)
	// A's CRM: connected, a contact imported, a deal converted.
	e.connectCRM()
	crmEtag := e.call("GET", "/v1/portal/crm", e.owner, nil).Header.Get("ETag")
	alice, deal := e.contact("alice@acme.example"), e.deal("Acme website relaunch")
	imp := e.importContacts(map[string]any{"contactIds": []string{alice.ID}})
	want(t, imp, 200)
	aliceUser := imp.JSON()["created"].([]any)[0].(map[string]any)["id"].(string)
	conv := e.call("POST", "/v1/crm/deals/"+deal.ID+"/convert", e.owner, nil)
	want(t, conv, 201)
	dealProject := conv.JSON()["project"].(map[string]any)["id"].(string)
	link := e.signupLink(cid, nil)
	b := e.st.Token("tenant-b", "owner", "b")
	// Bodies valid in shape, so that only the ids can make the answer 404.
	bodies := map[string]any{
		"PATCH /v1/companies/{companyId}":                                map[string]any{"name": "hijacked"},
		"PATCH /v1/projects/{projectId}":                                 map[string]any{"name": "hijacked"},
		"PATCH /v1/users/{userId}":                                       map[string]any{"name": "hijacked"},
		"PATCH /v1/roles/{roleId}":                                       map[string]any{"name": "hijacked", "permissions": map[string]any{}},
		"PUT /v1/projects/{projectId}/primary-company":                   map[string]any{"companyId": cid},
		"POST /v1/projects/{projectId}/companies":                        map[string]any{"companyId": cid},
		"POST /v1/projects/{projectId}/users":                            map[string]any{"userIds": []string{uid}},
		"PATCH /v1/projects/{projectId}/users/{userId}":                  map[string]any{"ratePerHour": 1},
		"PUT /v1/projects/{projectId}/users/{userId}/permissions":        map[string]any{"permissions": map[string]any{}},
		"POST /v1/projects/{projectId}/users/{userId}/permissions/clone": map[string]any{"targetUserIds": []string{uid}},
		"POST /v1/companies/{companyId}/signup-link":                     map[string]any{},
	}
	for _, r := range e.st.Routes {
		if !strings.Contains(r.Path, "{") {
			continue // collection routes: checked below
		}
		path := strings.NewReplacer("{companyId}", cid, "{projectId}", pid, "{userId}", uid, "{roleId}", rid, "{dealId}", deal.ID).Replace(r.Path)
		t.Run(r.Key(), func(t *testing.T) {
			want(t, e.call(r.Method, path, b, bodies[r.Key()]), 404)
		})
	}
	if items := e.call("GET", "/v1/companies", b, nil).JSON()["items"].([]any); len(items) != 0 {
		t.Fatalf("portal B sees %v", items)
	}
	if items := e.call("GET", "/v1/projects", b, nil).JSON()["items"].([]any); len(items) != 0 {
		t.Fatalf("portal B sees %v", items)
	}
	// Portal B cannot link A's company to its own project either.
	bp := e.call("POST", "/v1/projects", b, map[string]any{"name": "B"})
	want(t, e.call("POST", "/v1/projects/"+bp.String("id")+"/companies", b, map[string]any{"companyId": cid}), 404)
	want(t, e.call("POST", "/v1/companies", b, map[string]any{"name": "B co", "projectIds": []string{pid}}), 400)
	if items := e.call("GET", "/v1/users", b, nil).JSON()["items"].([]any); len(items) != 0 {
		t.Fatalf("portal B sees %v", items)
	}
	want(t, e.call("POST", "/v1/users", b, map[string]any{"emails": "x@tenant.example", "companyId": cid}), 400)
	// A's data is intact.
	want(t, e.call("GET", "/v1/companies/"+cid, e.owner, nil), 200)
	// A's sign-up link still works; its secret under B's name opens nothing.
	want(t, e.call("GET", "/v1/signup/"+link, "", nil), 200)
	want(t, e.call("GET", "/v1/signup/tenant-b"+link[strings.Index(link, "."):], "", nil), 404)
	if u := e.call("GET", "/v1/users/"+uid, e.owner, nil).JSON(); u["name"] != nil || u["status"] != "invited" {
		t.Fatalf("user changed: %v", u)
	}
	if e.call("GET", "/v1/projects/"+pid, e.owner, nil).String("name") != "Tenant A project" {
		t.Fatal("project changed")
	}

	// A's CRM connection is A's: B neither sees, uses nor drops it.
	want(t, e.call("GET", "/v1/portal/crm", b, nil), 404)
	want(t, e.call("GET", "/v1/crm/contacts", b, nil), 404)
	want(t, e.call("DELETE", "/v1/portal/crm", b, nil), 404)
	want(t, e.call("POST", "/v1/crm/imports", b, map[string]any{"contactIds": []string{alice.ID}}), 404)
	if n := len(e.call("GET", "/v1/users", b, nil).JSON()["items"].([]any)); n != 0 {
		t.Fatalf("portal B has %d users after a refused import", n)
	}
	// B connected to the same CRM: A's links are A's. The contact A
	// imported is no user of B's, B imports it as its own, and the deal A
	// converted converts in B too.
	want(t, e.call("PUT", "/v1/portal/crm", b, e.crmCredentials()), 200)
	items := e.call("GET", "/v1/crm/contacts?q="+url.QueryEscape(alice.Email), b, nil).JSON()["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["userId"] != nil {
		t.Fatalf("portal B sees contact %s as %v", alice.Email, items)
	}
	bImp := e.call("POST", "/v1/crm/imports", b, map[string]any{"contactIds": []string{alice.ID}})
	want(t, bImp, 200)
	if c := bImp.JSON()["created"].([]any); len(c) != 1 || c[0].(map[string]any)["id"] == aliceUser {
		t.Fatalf("portal B's import of A's imported contact: %s", bImp.Body)
	}
	bConv := e.call("POST", "/v1/crm/deals/"+deal.ID+"/convert", b, nil)
	want(t, bConv, 201)
	if p := bConv.JSON()["project"].(map[string]any); p["id"] == dealProject || bConv.JSON()["company"].(map[string]any)["id"] == cid {
		t.Fatalf("portal B's conversion of A's converted deal: %s", bConv.Body)
	}
	want(t, e.call("DELETE", "/v1/portal/crm", b, nil), 204)
	// A's side is intact.
	if r := e.call("GET", "/v1/portal/crm", e.owner, nil); r.Status != 200 || r.Header.Get("ETag") != crmEtag {
		t.Fatalf("A's connection after B's: %d %v %s", r.Status, r.Header, r.Body)
	}
	items = e.call("GET", "/v1/crm/contacts?q="+url.QueryEscape(alice.Email), e.owner, nil).JSON()["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["userId"] != aliceUser {
		t.Fatalf("portal A sees contact %s as %v, want user %s", alice.Email, items, aliceUser)
	}
	want(t, e.call("POST", "/v1/crm/deals/"+deal.ID+"/convert", e.owner, nil), 409)
	if n := e.countAll("/v1/users", e.owner); n != 2 {
		t.Fatalf("portal A has %d users, want 2", n)
	}

	// A's roles are A's: B neither lists them, finds their holders, gives
	// them to its users nor deletes them; role names are per portal.
	if items := e.call("GET", "/v1/roles", b, nil).JSON()["items"].([]any); len(items) != 0 {
		t.Fatalf("portal B sees roles %v", items)
	}
	if items := e.call("GET", "/v1/users?roleId="+rid, b, nil).JSON()["items"].([]any); len(items) != 0 {
		t.Fatalf("portal B sees the holders of A's role: %v", items)
	}
	bco := e.call("POST", "/v1/companies", b, map[string]any{"name": "B role co"})
	want(t, bco, 201)
	bUsers := e.countAll("/v1/users", b) // the contact B imported
	given := e.call("POST", "/v1/users", b, map[string]any{"emails": "b@tenant.example", "companyId": bco.String("id"), "roleIds": []string{rid}})
	if created, _ := given.JSON()["created"].([]any); given.Status != 400 || len(created) != 0 || e.countAll("/v1/users", b) != bUsers {
		t.Fatalf("portal B gave A's role to a new user: %d %s", given.Status, given.Body)
	}
	bu := e.call("POST", "/v1/users", b, map[string]any{"emails": "b@tenant.example", "companyId": bco.String("id")})
	want(t, bu, 201)
	buid := bu.JSON()["created"].([]any)[0].(map[string]any)["id"].(string)
	if r := e.call("PATCH", "/v1/users/"+buid, b, map[string]any{"roleIds": []string{rid}}); r.Status != 400 {
		t.Fatalf("portal B gave A's role to its user: %d %s", r.Status, r.Body)
	}
	bRole := e.call("POST", "/v1/roles", b, map[string]any{"name": "Tenant A role", "permissions": map[string]any{}})
	want(t, bRole, 201)
	if bRole.String("id") == rid {
		t.Fatal("portal B's role has A's role's id")
	}
	want(t, e.call("PATCH", "/v1/users/"+buid, b, map[string]any{"roleIds": []string{bRole.String("id")}}), 200)
	if r := e.call("GET", "/v1/users?roleId="+bRole.String("id"), e.owner, nil).JSON()["items"].([]any); len(r) != 0 {
		t.Fatalf("portal A sees the holders of B's role: %v", r)
	}
	want(t, e.call("GET", "/v1/roles/"+bRole.String("id"), e.owner, nil), 404)
	if r := e.call("GET", "/v1/roles/"+rid, e.owner, nil); r.Status != 200 || r.String("name") != "Tenant A role" || r.JSON()["userCount"] != float64(1) || r.JSON()["version"] != float64(1) {
		t.Fatalf("A's role after B's requests: %d %s", r.Status, r.Body)
	}
	holders := e.call("GET", "/v1/users?roleId="+rid, e.owner, nil).JSON()["items"].([]any)
	if len(holders) != 1 || holders[0].(map[string]any)["id"] != uid {
		t.Fatalf("the holders of A's role: %v, want %s", holders, uid)
	}
	if got := strs(e.call("GET", "/v1/users/"+uid, e.owner, nil).JSON()["roleIds"]); len(got) != 1 || got[0] != rid {
		t.Fatalf("A's user holds roles %v, want [%s]", got, rid)
	}
	e.consistent()
}

// TestSDKConfigOncePerProcess: requests reuse the configuration built at
// init; none builds its own (it costs milliseconds where AWS_CA_BUNDLE is set).
func TestSDKConfigOncePerProcess(t *testing.T) {
	e := newEnv(t)
	before := awsclient.Loads()
	c := e.createCompany("Config once")
	want(t, e.call("GET", "/v1/companies/"+c, e.owner, nil), 200)
	want(t, e.call("PATCH", "/v1/portal", e.owner, map[string]any{"name": "Once"}), 200)
	want(t, e.call("POST", "/v1/users", e.owner, map[string]any{"emails": "once@example.com", "companyId": c}), 201)
	want(t, e.call("POST", "/v1/portal/login", "", map[string]any{"portalId": "demo", "email": "once@example.com", "password": "not set yet"}), 401)
	if n := awsclient.Loads() - before; n != 0 {
		t.Fatalf("requests built the SDK configuration %d times", n)
	}
}
