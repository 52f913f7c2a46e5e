package openapi

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

func TestLoad(t *testing.T) {
	doc, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") {
		t.Errorf("openapi %q, want 3.0.x", doc.OpenAPI)
	}
	if !bytes.HasPrefix(Spec, []byte("openapi: 3")) {
		t.Errorf("Spec does not start with the openapi version")
	}
	for _, name := range []string{"staffJwt", "clientSession"} {
		if doc.Components.SecuritySchemes[name] == nil {
			t.Errorf("no %s security scheme", name)
		}
	}
	// Load returns a fresh document each time: NewValidator's edits do not leak.
	if _, err := NewValidator(); err != nil {
		t.Fatal(err)
	}
	again, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Servers) != 2 {
		t.Errorf("servers %d, want 2", len(again.Servers))
	}
}

func TestLoadValidatesExamples(t *testing.T) {
	// The document's examples are checked against their schemas: a broken
	// one must fail Load's validation, not pass silently.
	bad := bytes.Replace(Spec, []byte("        inviteLinkTtlHours: 168\n        appBaseUrl: https://portal.example.com"),
		[]byte("        inviteLinkTtlHours: 9999\n        appBaseUrl: https://portal.example.com"), 1)
	if bytes.Equal(bad, Spec) {
		t.Fatal("the portal example was not found")
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(bad)
	if err != nil {
		t.Fatal(err)
	}
	err = doc.Validate(t.Context())
	if err == nil || !strings.Contains(err.Error(), "example") {
		t.Fatalf("an example breaking its schema: got %v, want an error about the example", err)
	}
}

func TestRoutes(t *testing.T) {
	doc, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"DELETE /v1/companies/{companyId}",
		"DELETE /v1/companies/{companyId}/signup-link",
		"DELETE /v1/invitation-templates/{templateId}",
		"DELETE /v1/portal/crm",
		"DELETE /v1/profiles/{profileId}",
		"DELETE /v1/projects/{projectId}",
		"DELETE /v1/projects/{projectId}/companies/{companyId}",
		"DELETE /v1/projects/{projectId}/users/{userId}",
		"DELETE /v1/projects/{projectId}/users/{userId}/permissions",
		"DELETE /v1/roles/{roleId}",
		"DELETE /v1/users/{userId}",
		"GET /portal/assets/style.css",
		"GET /portal/invite/{token}",
		"GET /portal/reset",
		"GET /portal/signup/{token}",
		"GET /v1/companies",
		"GET /v1/companies/{companyId}",
		"GET /v1/companies/{companyId}/group",
		"GET /v1/companies/{companyId}/history",
		"GET /v1/companies/{companyId}/signup-link",
		"GET /v1/companies/{companyId}/users",
		"GET /v1/crm/contacts",
		"GET /v1/exports",
		"GET /v1/exports/{exportId}",
		"GET /v1/invitation-templates",
		"GET /v1/invitation-templates/{templateId}",
		"GET /v1/invites/{token}",
		"GET /v1/me",
		"GET /v1/me/projects",
		"GET /v1/portal",
		"GET /v1/portal/crm",
		"GET /v1/profiles",
		"GET /v1/profiles/{profileId}",
		"GET /v1/projects",
		"GET /v1/projects/{projectId}",
		"GET /v1/projects/{projectId}/users",
		"GET /v1/projects/{projectId}/users/{userId}/permissions",
		"GET /v1/roles",
		"GET /v1/roles/{roleId}",
		"GET /v1/signup/{token}",
		"GET /v1/users",
		"GET /v1/users/{userId}",
		"GET /v1/users/{userId}/history",
		"PATCH /v1/companies/{companyId}",
		"PATCH /v1/invitation-templates/{templateId}",
		"PATCH /v1/me",
		"PATCH /v1/portal",
		"PATCH /v1/profiles/{profileId}",
		"PATCH /v1/projects/{projectId}",
		"PATCH /v1/projects/{projectId}/users/{userId}",
		"PATCH /v1/roles/{roleId}",
		"PATCH /v1/users/{userId}",
		"POST /portal/invite/{token}",
		"POST /portal/reset",
		"POST /portal/signup/{token}",
		"POST /v1/companies",
		"POST /v1/companies/{companyId}/signup-link",
		"POST /v1/crm/deals/{dealId}/convert",
		"POST /v1/crm/imports",
		"POST /v1/exports",
		"POST /v1/imports",
		"POST /v1/invitation-templates",
		"POST /v1/invites/{token}/accept",
		"POST /v1/me/password",
		"POST /v1/portal/login",
		"POST /v1/portal/logout",
		"POST /v1/portal/password-reset",
		"POST /v1/portal/password-reset/confirm",
		"POST /v1/profiles",
		"POST /v1/projects",
		"POST /v1/projects/{projectId}/companies",
		"POST /v1/projects/{projectId}/users",
		"POST /v1/projects/{projectId}/users/{userId}/permissions/clone",
		"POST /v1/roles",
		"POST /v1/signup/{token}",
		"POST /v1/users",
		"POST /v1/users/reinvite",
		"POST /v1/users/{userId}/activate",
		"POST /v1/users/{userId}/deactivate",
		"POST /v1/users/{userId}/reinvite",
		"PUT /v1/portal/crm",
		"PUT /v1/projects/{projectId}/primary-company",
		"PUT /v1/projects/{projectId}/users/{userId}/permissions",
	}
	if got := Routes(doc); !slices.Equal(got, want) {
		t.Errorf("Routes:\n got %q\nwant %q", got, want)
	}
}

// bulkCreates are the operations that create several resources in one
// request, each on its own: they answer 201 {<done>, failed} when all
// succeed and 207 when only some do, with no single Location or ETag. The
// value is the name of the member listing what was done.
var bulkCreates = map[string]string{"createUsers": "created", "addProjectUsers": "added"}

// csvBodies are the operations whose body is text/csv rather than JSON.
var csvBodies = []string{"importUsers"}

// publicOps are the operations that need no credentials (security: []): the
// token of an invitation or sign-up link is their credential.
var publicOps = []string{"getInvite", "acceptInvite", "login", "requestPasswordReset", "confirmPasswordReset",
	"getSignup", "signUp", "invitePage", "acceptInvitePage", "resetPage", "resetPagePost", "signupPage", "signupPagePost", "pagesStylesheet"}

// pageOps are the portal's HTML pages: every answer is text/html (errors
// too, never problem+json) with the pages' security headers, forms post
// application/x-www-form-urlencoded, and a browser's form post carries no
// Idempotency-Key.
var pageOps = []string{"invitePage", "acceptInvitePage", "resetPage", "resetPagePost", "signupPage", "signupPagePost", "pagesStylesheet"}

// pageHeaders are the headers every page answer must declare as required.
var pageHeaders = []string{"Content-Security-Policy", "X-Frame-Options", "Referrer-Policy", "Cache-Control", "X-Content-Type-Options"}

// signIn are public operations that answer wrong credentials with 401.
var signIn = []string{"login"}

// principal tells who may call op: "staff" (staffJwt, verified by the API
// gateway), "client" (clientSession, verified by the handler) or "public".
func principal(op *openapi3.Operation) string {
	if op.Security == nil || len(*op.Security) == 0 {
		return "public"
	}
	for _, req := range *op.Security {
		if _, ok := req["clientSession"]; ok {
			return "client"
		}
	}
	return "staff"
}

// TestConventions checks, for every operation, the rules of the contract that
// the document itself must follow, so routes added later keep them.
func TestConventions(t *testing.T) {
	doc, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	bulkSeen := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := method + " " + path
			if op.OperationID == "" || ids[op.OperationID] {
				t.Errorf("%s: missing or duplicate operationId %q", name, op.OperationID)
			}
			ids[op.OperationID] = true
			done, bulk := bulkCreates[op.OperationID]
			if bulk {
				bulkSeen[op.OperationID] = true
				if method != http.MethodPost {
					t.Errorf("%s: a bulk create must be a POST", name)
				}
				for _, code := range []int{201, 207} {
					r := op.Responses.Status(code)
					if r == nil {
						t.Errorf("%s: bulk create does not document %d", name, code)
						continue
					}
					mt := r.Value.Content.Get("application/json")
					if mt == nil || mt.Schema == nil || !slices.Contains(mt.Schema.Value.Required, done) || !slices.Contains(mt.Schema.Value.Required, "failed") {
						t.Errorf("%s %d: body is not {%s, failed}", name, code, done)
					}
				}
			} else if op.Responses.Status(207) != nil {
				t.Errorf("%s: documents 207 but is not a bulk create", name)
			}
			if op.Security == nil {
				t.Errorf("%s: declares no security", name)
			}
			who := principal(op)
			if public, want := who == "public", slices.Contains(publicOps, op.OperationID); public != want {
				t.Errorf("%s: public is %v, want %v (publicOps)", name, public, want)
			}
			if op.Security != nil {
				for _, req := range *op.Security {
					if len(req) != 1 {
						t.Errorf("%s: a security requirement must name exactly one scheme (staff and client tokens never mix): %v", name, req)
					}
				}
			}
			params := map[string]bool{}
			for _, p := range append(slices.Clone(item.Parameters), op.Parameters...) {
				params[p.Value.In+":"+p.Value.Name] = true
			}
			page := slices.Contains(pageOps, op.OperationID)
			if method == http.MethodPost && !params["header:Idempotency-Key"] && !page {
				t.Errorf("%s: no Idempotency-Key parameter", name)
			}
			if (method == http.MethodPatch || method == http.MethodPut || method == http.MethodDelete) && !params["header:If-Match"] {
				t.Errorf("%s: no If-Match parameter", name)
			}
			if rb := op.RequestBody; rb != nil {
				bodyType := "application/json"
				if page {
					bodyType = "application/x-www-form-urlencoded"
				}
				if slices.Contains(csvBodies, op.OperationID) {
					bodyType = "text/csv"
				}
				if len(rb.Value.Content) != 1 || rb.Value.Content.Get(bodyType) == nil {
					t.Errorf("%s: request body is not %s only", name, bodyType)
				}
				for ct, mt := range rb.Value.Content {
					if ct == "text/csv" {
						continue
					}
					s := mt.Schema.Value
					if s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has {
						t.Errorf("%s: %s body schema allows unknown fields", name, ct)
					}
				}
				for _, code := range []int{400, 413, 415} {
					if op.Responses.Status(code) == nil {
						t.Errorf("%s: takes a body but does not document %d", name, code)
					}
				}
			}
			for code, ref := range op.Responses.Map() {
				r := ref.Value
				// Only a staff operation's 401 may come from API Gateway's
				// JWT authorizer; a client session is checked by the handler.
				gateway401 := code == "401" && who == "staff"
				rid := r.Headers["X-Request-Id"]
				switch {
				case rid == nil:
					t.Errorf("%s %s: no X-Request-Id header", name, code)
				case gateway401 && rid.Value.Required:
					t.Errorf("%s 401: X-Request-Id must be optional: API Gateway's own 401 lacks it", name)
				case !gateway401 && !rid.Value.Required:
					t.Errorf("%s %s: X-Request-Id is not required", name, code)
				}
				if (code == "429" || code == "503") && (r.Headers["Retry-After"] == nil || !r.Headers["Retry-After"].Value.Required) {
					t.Errorf("%s %s: no required Retry-After", name, code)
				}
				if code == "201" && !bulk {
					for _, h := range []string{"Location", "ETag"} {
						if r.Headers[h] == nil || !r.Headers[h].Value.Required {
							t.Errorf("%s 201: no required %s", name, h)
						}
					}
				}
				if page {
					if code != "200" || op.OperationID != "pagesStylesheet" {
						if len(r.Content) != 1 || r.Content.Get("text/html") == nil {
							t.Errorf("%s %s: not text/html only", name, code)
						}
						for _, h := range pageHeaders {
							if r.Headers[h] == nil || !r.Headers[h].Value.Required {
								t.Errorf("%s %s: no required %s", name, code, h)
							}
						}
					}
				} else if code[0] >= '4' {
					if r.Content.Get("application/problem+json") == nil {
						t.Errorf("%s %s: not application/problem+json", name, code)
					}
					if gateway401 && r.Content.Get("application/json") == nil {
						t.Errorf("%s 401: no application/json (API Gateway's own answer)", name)
					}
					if code == "401" && !gateway401 && len(r.Content) != 1 {
						t.Errorf("%s 401: not application/problem+json only (no API Gateway authorizer runs)", name)
					}
				}
			}
			required := map[string][]int{"staff": {401, 403, 500, 503}, "client": {401, 500, 503}, "public": {500, 503}}[who]
			for _, code := range required {
				if op.Responses.Status(code) == nil {
					t.Errorf("%s: does not document %d", name, code)
				}
			}
			if who == "public" && !slices.Contains(signIn, op.OperationID) {
				refused := []int{401, 403}
				if page && method == http.MethodPost {
					refused = []int{401} // a form post without a valid CSRF token is 403
				}
				for _, code := range refused {
					if op.Responses.Status(code) != nil {
						t.Errorf("%s: public, yet documents %d", name, code)
					}
				}
			}
		}
	}
	for id := range bulkCreates {
		if !bulkSeen[id] {
			t.Errorf("bulk create %q is not an operation of the document", id)
		}
	}
}

// TestProblemTypes checks that every problem type a response may carry is in
// the table of the introduction, and that the table names no other.
func TestProblemTypes(t *testing.T) {
	doc, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for name, ref := range doc.Components.Responses {
		mt := ref.Value.Content.Get("application/problem+json")
		if mt == nil {
			continue
		}
		for _, part := range mt.Schema.Value.AllOf {
			if typ := part.Value.Properties["type"]; typ != nil {
				for _, v := range typ.Value.Enum {
					s, _ := v.(string)
					if !strings.HasPrefix(s, "/problems/") {
						t.Errorf("response %s: problem type %v is not /problems/…", name, v)
					}
					used[s] = true
				}
			}
		}
	}
	table := map[string]bool{}
	for _, line := range strings.Split(doc.Info.Description, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) > 2 {
			if typ := strings.Trim(strings.TrimSpace(cells[1]), "`"); strings.HasPrefix(typ, "/problems/") {
				table[typ] = true
			}
		}
	}
	for typ := range used {
		if !table[typ] {
			t.Errorf("problem type %s is not in the table of info.description", typ)
		}
	}
	for typ := range table {
		if !used[typ] {
			t.Errorf("problem type %s of the table is used by no response", typ)
		}
	}
	for _, typ := range []string{"/problems/seat-limit", "/problems/gone"} {
		if !table[typ] {
			t.Errorf("no %s in the table", typ)
		}
	}
}

const (
	companyID  = "01JD0Q8F3G5H7K9M1N3P5R7T9V"
	company2ID = "01JD0QB3C5D7E9F1G3H5J7K9MN"
	projectID  = "01JD0Q9A2B4C6D8E0F2G4H6J8K"
	userID     = "01JD0QD5E7F9G1H3J5K7M9N1PQ"
	user2ID    = "01JD0QF7G9H1J3K5M7N9P1Q3RS"
)

const companyJSON = `{"id":"` + companyID + `","name":"Acme Corp","type":"business",
"contactEmail":"billing@acme.example","website":null,
"address":{"street":"1 Main Street","city":null,"state":null,"postalCode":"62701","country":null},
"projectIds":["` + projectID + `"],"createUserGroup":false,"userCount":0,
"createdAt":"2026-11-22T09:00:00Z","updatedAt":"2026-11-22T09:00:00.123456789Z","version":1}`

const projectJSON = `{"id":"` + projectID + `","name":"Website relaunch","billing":"staff_hours",
"primaryCompanyId":"` + companyID + `","companyIds":["` + companyID + `","` + company2ID + `"],
"invoiceable":true,"createdAt":"2026-11-22T09:00:00Z","updatedAt":"2026-11-22T09:00:00Z","version":2}`

const userJSON = `{"id":"` + userID + `","email":"Ann@acme.example","name":null,"title":"CTO",
"companyId":"` + companyID + `","profileId":"client","roleIds":[],"status":"invited","portalAccess":true,"portalRate":null,
"projects":[{"projectId":"` + projectID + `","ratePerHour":85.5,"customizedPermissions":false}],
"invite":{"state":"pending","expiresAt":"2026-11-29T09:00:00Z","reinviteAvailableAt":"2026-11-23T09:00:00Z","remindersSent":0,"nextReminderAt":"2026-11-23T09:00:00Z","lastError":null,"delivery":null},
"invitedAt":"2026-11-22T09:00:00Z","lastInvitedAt":"2026-11-22T09:00:00Z","acceptedAt":null,
"createdAt":"2026-11-22T09:00:00Z","updatedAt":"2026-11-22T09:00:00Z","version":1}`

// userNoAccessJSON is a user without portal access: no invitation at all.
var userNoAccessJSON = strings.NewReplacer(
	`"portalAccess":true`, `"portalAccess":false`,
	`{"state":"pending","expiresAt":"2026-11-29T09:00:00Z","reinviteAvailableAt":"2026-11-23T09:00:00Z","remindersSent":0,"nextReminderAt":"2026-11-23T09:00:00Z","lastError":null,"delivery":null}`, "null",
	`"invitedAt":"2026-11-22T09:00:00Z","lastInvitedAt":"2026-11-22T09:00:00Z"`, `"invitedAt":null,"lastInvitedAt":null`,
).Replace(userJSON)

const failedTakenJSON = `{"email":"bob@acme.example","status":409,"type":"/problems/conflict","title":"Conflict",
"detail":"d","existingUserId":"` + user2ID + `","userStatus":"deactivated"}`

const failedInvalidJSON = `{"email":"bob@","status":400,"type":"/problems/validation","title":"Invalid request","detail":"d"}`

const failedSeatJSON = `{"email":"cy@acme.example","status":409,"type":"/problems/seat-limit","title":"Conflict","detail":"d"}`

const failedMemberJSON = `{"userId":"` + user2ID + `","status":409,"type":"/problems/conflict","title":"Conflict","detail":"d"}`

const failedUnknownJSON = `{"userId":"nope","status":404,"type":"/problems/not-found","title":"Not found","detail":"d"}`

const inviteToken = "Xw3kP9qLrT7vB2nY5cH8jM4sD6fG1aZ0eU"

const inviteJSON = `{"email":"ann@acme.example","companyName":"Acme Corp","portalName":"Example Agency","expiresAt":"2026-11-29T09:00:00Z"}`

// activeUserJSON is userJSON once the invitation was accepted.
var activeUserJSON = strings.NewReplacer(
	`"status":"invited"`, `"status":"active"`,
	`"state":"pending"`, `"state":"accepted"`,
	`"acceptedAt":null`, `"acceptedAt":"2026-11-22T10:00:00Z"`,
	`"version":1`, `"version":2`,
).Replace(userJSON)

var sessionJSON = `{"token":"cs_9Qm2Xw3kP9qLrT7vB2nY5cH8jM4sD6fG1aZ0eUoIy","expiresAt":"2026-11-22T22:00:00Z","user":` + activeUserJSON + `}`

const groupJSON = `{"id":"` + companyID + `","companyId":"` + companyID + `","name":"Acme Corp users","memberCount":3,"createdAt":"2026-11-22T09:00:00Z"}`

// hdr builds a header from name, value pairs; a later pair replaces an
// earlier one of the same name.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func jsonHdr(kv ...string) http.Header {
	return hdr(append([]string{"Content-Type", "application/json", "X-Request-Id", "req-1"}, kv...)...)
}

func problemHdr(kv ...string) http.Header {
	return hdr(append([]string{"Content-Type", "application/problem+json", "X-Request-Id", "req-1"}, kv...)...)
}

func problem(status int, slug, extra string) string {
	return fmt.Sprintf(`{"type":"/problems/%s","title":"T","status":%d,"detail":"d"%s}`, slug, status, extra)
}

func TestValidateResponse(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	companyURL := "/v1/companies/" + companyID
	tests := []struct {
		name        string
		method, url string
		status      int
		header      http.Header
		body        string
		wantErr     string // "" passes; else a substring of the error
	}{
		{name: "company 200", method: "GET", url: companyURL, status: 200,
			header: jsonHdr("ETag", `"1"`), body: companyJSON},
		{name: "company 200 on a random port", method: "GET", url: "http://127.0.0.1:49152" + companyURL, status: 200,
			header: jsonHdr("ETag", `"1"`), body: companyJSON},
		{name: "company 200 with charset", method: "GET", url: companyURL, status: 200,
			header: jsonHdr("ETag", `"1"`, "Content-Type", "application/json; charset=utf-8"), body: companyJSON},
		{name: "company 200, media type in capitals", method: "GET", url: companyURL, status: 200,
			header: jsonHdr("ETag", `"1"`, "Content-Type", "Application/JSON"), body: companyJSON},
		{name: "company 200 without Content-Type", method: "GET", url: companyURL, status: 200,
			header: hdr("X-Request-Id", "r", "ETag", `"1"`), body: companyJSON, wantErr: "Content-Type"},
		{name: "company without version", method: "GET", url: companyURL, status: 200,
			header: jsonHdr("ETag", `"1"`), body: strings.Replace(companyJSON, `,"version":1`, "", 1), wantErr: "version"},
		{name: "company with a bad date", method: "GET", url: companyURL, status: 200,
			header: jsonHdr("ETag", `"1"`), body: strings.Replace(companyJSON, `"2026-11-22T09:00:00Z"`, `"22/11/2026"`, 1), wantErr: "createdAt"},
		{name: "company with a null address", method: "GET", url: companyURL, status: 200,
			header: jsonHdr("ETag", `"1"`), body: strings.Replace(companyJSON, `{"street":"1 Main Street","city":null,"state":null,"postalCode":"62701","country":null}`, "null", 1), wantErr: "address"},
		{name: "company 200 without ETag", method: "GET", url: companyURL, status: 200,
			header: jsonHdr(), body: companyJSON, wantErr: `"ETag" missing`},
		{name: "company 200 with an unquoted ETag", method: "GET", url: companyURL, status: 200,
			header: jsonHdr("ETag", `1`), body: companyJSON, wantErr: "ETag"},
		{name: "undocumented status", method: "GET", url: companyURL, status: 418,
			header: problemHdr(), body: problem(418, "teapot", ""), wantErr: "418 is not documented"},
		{name: "problem 404", method: "GET", url: companyURL, status: 404,
			header: problemHdr(), body: problem(404, "not-found", "")},
		{name: "problem 404 with charset", method: "GET", url: companyURL, status: 404,
			header: problemHdr("Content-Type", "application/problem+json; charset=utf-8"), body: problem(404, "not-found", "")},
		{name: "404 without X-Request-Id", method: "GET", url: companyURL, status: 404,
			header: hdr("Content-Type", "application/problem+json"), body: problem(404, "not-found", ""), wantErr: `"X-Request-Id" missing`},
		{name: "404 as text/html", method: "GET", url: companyURL, status: 404,
			header: hdr("Content-Type", "text/html", "X-Request-Id", "r"), body: "<h1>no</h1>", wantErr: "text/html"},
		{name: "404 as application/json", method: "GET", url: companyURL, status: 404,
			header: jsonHdr(), body: problem(404, "not-found", ""), wantErr: "application/json"},
		{name: "404 whose body says 400", method: "GET", url: companyURL, status: 404,
			header: problemHdr(), body: problem(400, "validation", ""), wantErr: "status"},
		{name: "problem without detail", method: "GET", url: companyURL, status: 404,
			header: problemHdr(), body: `{"type":"/problems/not-found","title":"Not found","status":404}`, wantErr: "detail"},
		{name: "gateway 401", method: "GET", url: "/v1/companies", status: 401,
			header: hdr("Content-Type", "application/json", "WWW-Authenticate", "Bearer", "Apigw-Requestid", "abc"), body: `{"message":"Unauthorized"}`},
		{name: "handler 401", method: "GET", url: "/v1/companies", status: 401,
			header: problemHdr(), body: problem(401, "unauthorized", "")},
		{name: "gateway 401 without message", method: "GET", url: "/v1/companies", status: 401,
			header: hdr("Content-Type", "application/json"), body: `{}`, wantErr: "message"},
		{name: "list, last page", method: "GET", url: "/v1/companies?q=ac&limit=10", status: 200,
			header: jsonHdr(), body: `{"items":[` + companyJSON + `],"nextCursor":null}`},
		{name: "list, more pages", method: "GET", url: "/v1/projects", status: 200,
			header: jsonHdr(), body: `{"items":[` + projectJSON + `],"nextCursor":"AbC_-12"}`},
		{name: "list without nextCursor", method: "GET", url: "/v1/projects", status: 200,
			header: jsonHdr(), body: `{"items":[]}`, wantErr: "nextCursor"},
		{name: "history", method: "GET", url: companyURL + "/history", status: 200, header: jsonHdr(),
			body: `{"items":[{"id":"01JD0QA1B2C3D4E5F6G7H8J9KM","at":"2026-11-22T09:05:00Z","actor":{"type":"staff","id":"owner-1"},
"action":"company.created","changes":{"name":{"from":null,"to":"Acme"},"projectIds":{"from":null,"to":["` + projectID + `"]},
"address":{"from":null,"to":{"street":"x","city":null,"state":null,"postalCode":null,"country":null}},"createUserGroup":{"from":null,"to":true},"n":{"from":1,"to":2}}}],"nextCursor":null}`},
		{name: "history change without to", method: "GET", url: companyURL + "/history", status: 200, header: jsonHdr(),
			body: `{"items":[{"id":"01JD0QA1B2C3D4E5F6G7H8J9KM","at":"2026-11-22T09:05:00Z","actor":{"type":"staff","id":"o"},
"action":"company.updated","changes":{"name":{"from":"a"}}}],"nextCursor":null}`, wantErr: "to"},
		{name: "portal before first save", method: "GET", url: "/v1/portal", status: 200, header: jsonHdr("ETag", `"0"`),
			body: `{"id":"demo","name":"demo","clientSeatLimit":null,"seatsUsed":0,"noAccessUserLimit":null,"noAccessUsed":0,"inviteLinkTtlHours":168,
"appBaseUrl":"http://127.0.0.1:3000","invitationTemplateId":"default","createdAt":null,"updatedAt":null,"version":0}`},
		{name: "portal with a seat limit", method: "PATCH", url: "/v1/portal", status: 200, header: jsonHdr("ETag", `"2"`),
			body: `{"id":"demo","name":"Demo","clientSeatLimit":5,"seatsUsed":3,"noAccessUserLimit":15,"noAccessUsed":2,"inviteLinkTtlHours":72,
"appBaseUrl":"https://portal.example.com","invitationTemplateId":"default","createdAt":"2026-11-22T09:00:00Z","updatedAt":"2026-11-22T09:00:00Z","version":2}`},
		{name: "portal 409 with seatsUsed", method: "PATCH", url: "/v1/portal", status: 409,
			header: problemHdr(), body: problem(409, "conflict", `,"seatsUsed":3`)},
		{name: "portal 409 with noAccessUsed", method: "PATCH", url: "/v1/portal", status: 409,
			header: problemHdr(), body: problem(409, "conflict", `,"noAccessUsed":3`)},
		{name: "no-access-limit on activate", method: "POST", url: "/v1/users/" + userID + "/activate", status: 409,
			header: problemHdr(), body: problem(409, "no-access-limit", "")},
		{name: "no-access-limit on add", method: "POST", url: "/v1/users", status: 409, header: problemHdr(),
			body: problem(409, "no-access-limit", `,"failed":[{"email":"cy@acme.example","status":409,"type":"/problems/no-access-limit","title":"Conflict","detail":"d"}]`)},
		{name: "GET portal 409 is undocumented", method: "GET", url: "/v1/portal", status: 409,
			header: problemHdr(), body: problem(409, "conflict", ""), wantErr: "not documented"},
		{name: "create company 201", method: "POST", url: "/v1/companies", status: 201,
			header: jsonHdr("ETag", `"1"`, "Location", companyURL), body: companyJSON},
		{name: "create company 201 replayed", method: "POST", url: "/v1/companies", status: 201,
			header: jsonHdr("ETag", `"1"`, "Location", companyURL, "Idempotent-Replayed", "true"), body: companyJSON},
		{name: "create company 201 without Location", method: "POST", url: "/v1/companies", status: 201,
			header: jsonHdr("ETag", `"1"`), body: companyJSON, wantErr: `"Location" missing`},
		{name: "create company 409 name taken", method: "POST", url: "/v1/companies", status: 409, header: problemHdr(),
			body: problem(409, "conflict", `,"errors":[{"field":"name","message":"is already taken"}],"existingCompanyId":"`+companyID+`"`)},
		{name: "create company 422", method: "POST", url: "/v1/companies", status: 422,
			header: problemHdr(), body: problem(422, "idempotency-key-reused", "")},
		{name: "400 with field errors", method: "POST", url: "/v1/companies", status: 400,
			header: problemHdr(), body: problem(400, "validation", `,"errors":[{"field":"projectIds[0]","message":"is not a project of this portal"}]`)},
		{name: "400 with a malformed field error", method: "POST", url: "/v1/companies", status: 400,
			header: problemHdr(), body: problem(400, "validation", `,"errors":[{"field":"name"}]`), wantErr: "message"},
		{name: "503 with Retry-After", method: "GET", url: "/v1/projects/" + projectID, status: 503,
			header: problemHdr("Retry-After", "1"), body: problem(503, "unavailable", "")},
		{name: "503 without Retry-After", method: "GET", url: "/v1/projects/" + projectID, status: 503,
			header: problemHdr(), body: problem(503, "unavailable", ""), wantErr: `"Retry-After" missing`},
		{name: "503 with a non-integer Retry-After", method: "GET", url: "/v1/projects/" + projectID, status: 503,
			header: problemHdr("Retry-After", "soon"), body: problem(503, "unavailable", ""), wantErr: "Retry-After"},
		{name: "500", method: "DELETE", url: "/v1/projects/" + projectID, status: 500,
			header: problemHdr(), body: problem(500, "internal", "")},
		{name: "delete 204", method: "DELETE", url: companyURL + "?notify=true", status: 204,
			header: hdr("X-Request-Id", "r")},
		{name: "delete 204 with a body", method: "DELETE", url: companyURL, status: 204,
			header: hdr("X-Request-Id", "r", "Content-Type", "application/json"), body: `{}`, wantErr: "no body"},
		{name: "delete 412 with currentETag", method: "DELETE", url: "/v1/projects/" + projectID + "/companies/" + companyID, status: 412,
			header: problemHdr(), body: problem(412, "precondition-failed", `,"currentETag":"\"4\""`)},
		{name: "add company 201", method: "POST", url: "/v1/projects/" + projectID + "/companies", status: 201,
			header: jsonHdr("ETag", `"2"`, "Location", companyURL), body: `{"project":` + projectJSON + `,"company":` + companyJSON + `}`},
		{name: "set primary 200", method: "PUT", url: "/v1/projects/" + projectID + "/primary-company", status: 200,
			header: jsonHdr("ETag", `"2"`), body: projectJSON},
		{name: "project without a primary", method: "GET", url: "/v1/projects/" + projectID, status: 200, header: jsonHdr("ETag", `"2"`),
			body: strings.Replace(strings.Replace(projectJSON, `"primaryCompanyId":"`+companyID+`"`, `"primaryCompanyId":null`, 1), `"invoiceable":true`, `"invoiceable":false`, 1)},
		{name: "project with a bad billing", method: "GET", url: "/v1/projects/" + projectID, status: 200,
			header: jsonHdr("ETag", `"2"`), body: strings.Replace(projectJSON, "staff_hours", "hourly", 1), wantErr: "billing"},
		{name: "project with null companyIds", method: "GET", url: "/v1/projects/" + projectID, status: 200,
			header: jsonHdr("ETag", `"2"`), body: strings.Replace(projectJSON, `["`+companyID+`","`+company2ID+`"]`, "null", 1), wantErr: "companyIds"},
		{name: "member 403 on a write", method: "PATCH", url: "/v1/projects/" + projectID, status: 403,
			header: problemHdr(), body: problem(403, "forbidden", "")},
		{name: "unknown route", method: "GET", url: "/v1/nothing", status: 404,
			header: problemHdr(), body: problem(404, "not-found", ""), wantErr: "no operation"},
		{name: "undocumented method", method: "PUT", url: "/v1/companies", status: 200,
			header: jsonHdr(), body: `{}`, wantErr: "no operation"},
		{name: "200 without a body", method: "GET", url: "/v1/portal", status: 200,
			header: jsonHdr("ETag", `"0"`), body: "", wantErr: "body"},

		{name: "user 200", method: "GET", url: "/v1/users/" + userID, status: 200,
			header: jsonHdr("ETag", `"1"`), body: userJSON},
		{name: "user without portal access", method: "GET", url: "/v1/users/" + userID, status: 200,
			header: jsonHdr("ETag", `"1"`), body: userNoAccessJSON},
		{name: "user whose invitation failed to send", method: "GET", url: "/v1/users/" + userID, status: 200,
			header: jsonHdr("ETag", `"1"`), body: strings.Replace(userJSON, `"lastError":null`, `"lastError":"the invitation email could not be sent"`, 1)},
		{name: "user 200 without ETag", method: "GET", url: "/v1/users/" + userID, status: 200,
			header: jsonHdr(), body: userJSON, wantErr: `"ETag" missing`},
		{name: "user with a bad status", method: "GET", url: "/v1/users/" + userID, status: 200,
			header: jsonHdr("ETag", `"1"`), body: strings.Replace(userJSON, `"status":"invited"`, `"status":"pending"`, 1), wantErr: "status"},
		{name: "user with a bad invite state", method: "GET", url: "/v1/users/" + userID, status: 200,
			header: jsonHdr("ETag", `"1"`), body: strings.Replace(userJSON, `"state":"pending"`, `"state":"sent"`, 1), wantErr: "state"},
		{name: "user without invite", method: "GET", url: "/v1/users/" + userID, status: 200,
			header: jsonHdr("ETag", `"1"`), body: strings.Replace(userNoAccessJSON, `"invite":null,`, "", 1), wantErr: "invite"},
		{name: "user with a negative portalRate", method: "GET", url: "/v1/users/" + userID, status: 200,
			header: jsonHdr("ETag", `"1"`), body: strings.Replace(userJSON, `"portalRate":null`, `"portalRate":-1`, 1), wantErr: "portalRate"},
		{name: "user 404", method: "GET", url: "/v1/users/" + userID, status: 404,
			header: problemHdr(), body: problem(404, "not-found", "")},
		{name: "users list", method: "GET", url: "/v1/users?status=deactivated&q=ann&limit=10", status: 200,
			header: jsonHdr(), body: `{"items":[` + userJSON + `,` + userNoAccessJSON + `],"nextCursor":null}`},
		{name: "users list, bad status", method: "GET", url: "/v1/users?status=gone", status: 400,
			header: problemHdr(), body: problem(400, "validation", `,"errors":[{"field":"status","message":"must be invited, active or deactivated"}]`)},
		{name: "user history", method: "GET", url: "/v1/users/" + userID + "/history", status: 200, header: jsonHdr(),
			body: `{"items":[{"id":"01JD0QE6F8G0H2J4K6M8N0P2QR","at":"2026-11-22T09:05:00Z","actor":{"type":"staff","id":"owner-1"},
"action":"user.created","changes":{"email":{"from":null,"to":"ann@acme.example"}}}],"nextCursor":null}`},
		{name: "create users 201", method: "POST", url: "/v1/users", status: 201,
			header: jsonHdr(), body: `{"created":[` + userJSON + `,` + userNoAccessJSON + `],"failed":[]}`},
		{name: "create users 201 replayed", method: "POST", url: "/v1/users", status: 201,
			header: jsonHdr("Idempotent-Replayed", "true"), body: `{"created":[` + userJSON + `],"failed":[]}`},
		{name: "create users 201 without failed", method: "POST", url: "/v1/users", status: 201,
			header: jsonHdr(), body: `{"created":[` + userJSON + `]}`, wantErr: "failed"},
		{name: "create users 207", method: "POST", url: "/v1/users", status: 207, header: jsonHdr(),
			body: `{"created":[` + userJSON + `],"failed":[` + failedTakenJSON + `,` + failedInvalidJSON + `,` + failedSeatJSON + `]}`},
		{name: "create users 207, failure without detail", method: "POST", url: "/v1/users", status: 207, header: jsonHdr(),
			body: `{"created":[` + userJSON + `],"failed":[{"email":"x","status":400,"type":"/problems/validation","title":"T"}]}`, wantErr: "detail"},
		{name: "create users 207, failure with a bad userStatus", method: "POST", url: "/v1/users", status: 207, header: jsonHdr(),
			body: `{"created":[` + userJSON + `],"failed":[` + strings.Replace(failedTakenJSON, `"deactivated"`, `"gone"`, 1) + `]}`, wantErr: "userStatus"},
		{name: "create users 409, all taken", method: "POST", url: "/v1/users", status: 409, header: problemHdr(),
			body: problem(409, "conflict", `,"existingUserId":"`+user2ID+`","userStatus":"deactivated","failed":[`+failedTakenJSON+`]`)},
		{name: "create users 409, seat limit", method: "POST", url: "/v1/users", status: 409, header: problemHdr(),
			body: problem(409, "seat-limit", `,"failed":[`+failedSeatJSON+`,`+failedTakenJSON+`]`)},
		{name: "create users 409 without failed", method: "POST", url: "/v1/users", status: 409, header: problemHdr(),
			body: problem(409, "conflict", ""), wantErr: "failed"},
		{name: "create users 400, none valid", method: "POST", url: "/v1/users", status: 400, header: problemHdr(),
			body: problem(400, "validation", `,"failed":[`+failedInvalidJSON+`,`+failedTakenJSON+`]`)},
		{name: "create users 400, request invalid", method: "POST", url: "/v1/users", status: 400, header: problemHdr(),
			body: problem(400, "validation", `,"errors":[{"field":"companyId","message":"is not a company of this portal"}]`)},
		{name: "create users 422", method: "POST", url: "/v1/users", status: 422,
			header: problemHdr(), body: problem(422, "idempotency-key-reused", "")},
		{name: "seat-limit is only for users", method: "PATCH", url: "/v1/portal", status: 409,
			header: problemHdr(), body: problem(409, "seat-limit", ""), wantErr: "type"},

		{name: "users list of a company", method: "GET", url: "/v1/users?companyId=" + companyID + "&status=active", status: 200,
			header: jsonHdr(), body: `{"items":[` + userJSON + `],"nextCursor":null}`},
		{name: "users list, companyId and projectId", method: "GET", url: "/v1/users?companyId=" + companyID + "&projectId=" + projectID, status: 400,
			header: problemHdr(), body: problem(400, "validation", `,"errors":[{"field":"projectId","message":"give at most one of companyId and projectId"}]`)},
		{name: "update user 200", method: "PATCH", url: "/v1/users/" + userID, status: 200,
			header: jsonHdr("ETag", `"2"`), body: strings.Replace(userJSON, `"version":1`, `"version":2`, 1)},
		{name: "update user 200 without ETag", method: "PATCH", url: "/v1/users/" + userID, status: 200,
			header: jsonHdr(), body: userJSON, wantErr: `"ETag" missing`},
		{name: "update user 409", method: "PATCH", url: "/v1/users/" + userID, status: 409,
			header: problemHdr(), body: problem(409, "conflict", "")},
		{name: "update user 409 seat-limit is undocumented", method: "PATCH", url: "/v1/users/" + userID, status: 409,
			header: problemHdr(), body: problem(409, "seat-limit", ""), wantErr: "type"},
		{name: "update user 412", method: "PATCH", url: "/v1/users/" + userID, status: 412,
			header: problemHdr(), body: problem(412, "precondition-failed", `,"currentETag":"\"2\""`)},
		{name: "delete user 204", method: "DELETE", url: "/v1/users/" + userID + "?notify=true", status: 204,
			header: hdr("X-Request-Id", "r")},
		{name: "delete user 409 is undocumented", method: "DELETE", url: "/v1/users/" + userID, status: 409,
			header: problemHdr(), body: problem(409, "conflict", ""), wantErr: "not documented"},
		{name: "deactivate 200", method: "POST", url: "/v1/users/" + userID + "/deactivate", status: 200,
			header: jsonHdr("ETag", `"2"`), body: strings.Replace(userJSON, `"status":"invited"`, `"status":"deactivated"`, 1)},
		{name: "deactivate 200 replayed", method: "POST", url: "/v1/users/" + userID + "/deactivate", status: 200,
			header: jsonHdr("ETag", `"2"`, "Idempotent-Replayed", "true"), body: userJSON},
		{name: "deactivate 409 in progress", method: "POST", url: "/v1/users/" + userID + "/deactivate", status: 409,
			header: problemHdr("Retry-After", "1"), body: problem(409, "in-progress", "")},
		{name: "deactivate 409 only in progress", method: "POST", url: "/v1/users/" + userID + "/deactivate", status: 409,
			header: problemHdr("Retry-After", "1"), body: problem(409, "seat-limit", ""), wantErr: "type"},
		{name: "deactivate 409 in progress without Retry-After", method: "POST", url: "/v1/users/" + userID + "/deactivate", status: 409,
			header: problemHdr(), body: problem(409, "in-progress", ""), wantErr: "Retry-After"},
		{name: "activate 200", method: "POST", url: "/v1/users/" + userID + "/activate", status: 200,
			header: jsonHdr("ETag", `"3"`), body: userJSON},
		{name: "activate 409 seat limit", method: "POST", url: "/v1/users/" + userID + "/activate", status: 409,
			header: problemHdr(), body: problem(409, "seat-limit", "")},
		{name: "activate 409 with another type", method: "POST", url: "/v1/users/" + userID + "/activate", status: 409,
			header: problemHdr(), body: problem(409, "precondition-failed", ""), wantErr: "type"},
		{name: "activate 404", method: "POST", url: "/v1/users/" + userID + "/activate", status: 404,
			header: problemHdr(), body: problem(404, "not-found", "")},
		{name: "reinvite 202", method: "POST", url: "/v1/users/" + userID + "/reinvite", status: 202,
			header: jsonHdr("ETag", `"2"`), body: strings.Replace(userJSON, `"version":1`, `"version":2`, 1)},
		{name: "reinvite 202 replayed", method: "POST", url: "/v1/users/" + userID + "/reinvite", status: 202,
			header: jsonHdr("ETag", `"2"`, "Idempotent-Replayed", "true"), body: userJSON},
		{name: "reinvite 202 without ETag", method: "POST", url: "/v1/users/" + userID + "/reinvite", status: 202,
			header: jsonHdr(), body: userJSON, wantErr: `"ETag" missing`},
		{name: "reinvite 200 is undocumented", method: "POST", url: "/v1/users/" + userID + "/reinvite", status: 200,
			header: jsonHdr("ETag", `"2"`), body: userJSON, wantErr: "not documented"},
		{name: "reinvite 429", method: "POST", url: "/v1/users/" + userID + "/reinvite", status: 429,
			header: problemHdr("Retry-After", "3600"), body: problem(429, "rate-limited", `,"reinviteAvailableAt":"2026-11-23T09:00:00Z"`)},
		{name: "reinvite 429 without reinviteAvailableAt", method: "POST", url: "/v1/users/" + userID + "/reinvite", status: 429,
			header: problemHdr("Retry-After", "3600"), body: problem(429, "rate-limited", ""), wantErr: "reinviteAvailableAt"},
		{name: "reinvite 429 without Retry-After", method: "POST", url: "/v1/users/" + userID + "/reinvite", status: 429,
			header: problemHdr(), body: problem(429, "rate-limited", `,"reinviteAvailableAt":"2026-11-23T09:00:00Z"`), wantErr: `"Retry-After" missing`},
		{name: "reinvite 429, reinviteAvailableAt not a date-time", method: "POST", url: "/v1/users/" + userID + "/reinvite", status: 429,
			header: problemHdr("Retry-After", "3600"), body: problem(429, "rate-limited", `,"reinviteAvailableAt":"tomorrow"`), wantErr: "reinviteAvailableAt"},
		{name: "reinvite 409", method: "POST", url: "/v1/users/" + userID + "/reinvite", status: 409,
			header: problemHdr(), body: problem(409, "conflict", "")},
		{name: "reinvite 503", method: "POST", url: "/v1/users/" + userID + "/reinvite", status: 503,
			header: problemHdr("Retry-After", "60"), body: problem(503, "unavailable", "")},
		{name: "reinvite 503 without Retry-After", method: "POST", url: "/v1/users/" + userID + "/reinvite", status: 503,
			header: problemHdr(), body: problem(503, "unavailable", ""), wantErr: `"Retry-After" missing`},

		{name: "company users", method: "GET", url: companyURL + "/users?status=invited&q=ann", status: 200,
			header: jsonHdr(), body: `{"items":[` + userJSON + `],"nextCursor":"AbC"}`},
		{name: "company users 404", method: "GET", url: companyURL + "/users", status: 404,
			header: problemHdr(), body: problem(404, "not-found", "")},
		{name: "company group", method: "GET", url: companyURL + "/group", status: 200,
			header: jsonHdr(), body: groupJSON},
		{name: "company group without memberCount", method: "GET", url: companyURL + "/group", status: 200,
			header: jsonHdr(), body: strings.Replace(groupJSON, `"memberCount":3,`, "", 1), wantErr: "memberCount"},
		{name: "company group 404", method: "GET", url: companyURL + "/group", status: 404,
			header: problemHdr(), body: problem(404, "not-found", "")},

		{name: "project users", method: "GET", url: "/v1/projects/" + projectID + "/users?limit=5", status: 200,
			header: jsonHdr(), body: `{"items":[` + userJSON + `],"nextCursor":null}`},
		{name: "add project users 201", method: "POST", url: "/v1/projects/" + projectID + "/users", status: 201,
			header: jsonHdr(), body: `{"added":[` + userJSON + `],"failed":[]}`},
		{name: "add project users 201 as created", method: "POST", url: "/v1/projects/" + projectID + "/users", status: 201,
			header: jsonHdr(), body: `{"created":[` + userJSON + `],"failed":[]}`, wantErr: "added"},
		{name: "add project users 207", method: "POST", url: "/v1/projects/" + projectID + "/users", status: 207,
			header: jsonHdr("Idempotent-Replayed", "true"), body: `{"added":[` + userJSON + `],"failed":[` + failedMemberJSON + `,` + failedUnknownJSON + `]}`},
		{name: "add project users 207, failure without userId", method: "POST", url: "/v1/projects/" + projectID + "/users", status: 207,
			header: jsonHdr(), body: `{"added":[` + userJSON + `],"failed":[` + strings.Replace(failedMemberJSON, `"userId":"`+user2ID+`",`, "", 1) + `]}`, wantErr: "userId"},
		{name: "add project users 404, all unknown", method: "POST", url: "/v1/projects/" + projectID + "/users", status: 404,
			header: problemHdr(), body: problem(404, "not-found", `,"failed":[`+failedUnknownJSON+`]`)},
		{name: "add project users 404, unknown project", method: "POST", url: "/v1/projects/" + projectID + "/users", status: 404,
			header: problemHdr(), body: problem(404, "not-found", "")},
		{name: "add project users 409", method: "POST", url: "/v1/projects/" + projectID + "/users", status: 409,
			header: problemHdr(), body: problem(409, "conflict", `,"failed":[`+failedMemberJSON+`,`+failedUnknownJSON+`]`)},
		{name: "add project users 409 without failed", method: "POST", url: "/v1/projects/" + projectID + "/users", status: 409,
			header: problemHdr(), body: problem(409, "conflict", ""), wantErr: "failed"},
		{name: "add project users 400, rate on a fixed project", method: "POST", url: "/v1/projects/" + projectID + "/users", status: 400,
			header: problemHdr(), body: problem(400, "validation", `,"errors":[{"field":"ratePerHour","message":"m"}]`)},
		{name: "add project users 422", method: "POST", url: "/v1/projects/" + projectID + "/users", status: 422,
			header: problemHdr(), body: problem(422, "idempotency-key-reused", "")},
		{name: "project user rate 200", method: "PATCH", url: "/v1/projects/" + projectID + "/users/" + userID, status: 200,
			header: jsonHdr("ETag", `"2"`), body: userJSON},
		{name: "project user rate 412", method: "PATCH", url: "/v1/projects/" + projectID + "/users/" + userID, status: 412,
			header: problemHdr(), body: problem(412, "precondition-failed", `,"currentETag":"\"2\""`)},
		{name: "remove project user 204", method: "DELETE", url: "/v1/projects/" + projectID + "/users/" + userID + "?notify=false", status: 204,
			header: hdr("X-Request-Id", "r")},
		{name: "remove project user 404", method: "DELETE", url: "/v1/projects/" + projectID + "/users/" + userID, status: 404,
			header: problemHdr(), body: problem(404, "not-found", "")},
		{name: "invite 200", method: "GET", url: "/v1/invites/" + inviteToken, status: 200,
			header: jsonHdr(), body: inviteJSON},
		{name: "invite without expiresAt", method: "GET", url: "/v1/invites/" + inviteToken, status: 200,
			header: jsonHdr(), body: strings.Replace(inviteJSON, `,"expiresAt":"2026-11-29T09:00:00Z"`, "", 1), wantErr: "expiresAt"},
		{name: "invite 404", method: "GET", url: "/v1/invites/" + inviteToken, status: 404,
			header: problemHdr(), body: problem(404, "not-found", "")},
		{name: "invite 410", method: "GET", url: "/v1/invites/" + inviteToken, status: 410,
			header: problemHdr(), body: problem(410, "gone", "")},
		{name: "invite 410 as not-found", method: "GET", url: "/v1/invites/" + inviteToken, status: 410,
			header: problemHdr(), body: problem(410, "not-found", ""), wantErr: "type"},
		{name: "invite 401 is undocumented", method: "GET", url: "/v1/invites/" + inviteToken, status: 401,
			header: problemHdr(), body: problem(401, "unauthorized", ""), wantErr: "not documented"},
		{name: "accept 200", method: "POST", url: "/v1/invites/" + inviteToken + "/accept", status: 200,
			header: jsonHdr(), body: sessionJSON},
		{name: "accept 200 replayed", method: "POST", url: "/v1/invites/" + inviteToken + "/accept", status: 200,
			header: jsonHdr("Idempotent-Replayed", "true"), body: sessionJSON},
		{name: "accept 200 without user", method: "POST", url: "/v1/invites/" + inviteToken + "/accept", status: 200,
			header: jsonHdr(), body: `{"token":"t","expiresAt":"2026-11-22T22:00:00Z"}`, wantErr: "user"},
		{name: "accept 400, password", method: "POST", url: "/v1/invites/" + inviteToken + "/accept", status: 400,
			header: problemHdr(), body: problem(400, "validation", `,"errors":[{"field":"password","message":"must not be your email address"}]`)},
		{name: "accept 404, used", method: "POST", url: "/v1/invites/" + inviteToken + "/accept", status: 404,
			header: problemHdr(), body: problem(404, "not-found", "")},
		{name: "accept 409, deactivated", method: "POST", url: "/v1/invites/" + inviteToken + "/accept", status: 409,
			header: problemHdr(), body: problem(409, "conflict", "")},
		{name: "accept 410", method: "POST", url: "/v1/invites/" + inviteToken + "/accept", status: 410,
			header: problemHdr(), body: problem(410, "gone", "")},
		{name: "logout 204", method: "POST", url: "/v1/portal/logout", status: 204,
			header: hdr("X-Request-Id", "r")},
		{name: "logout 204 with a body", method: "POST", url: "/v1/portal/logout", status: 204,
			header: jsonHdr(), body: `{}`, wantErr: "no body"},
		{name: "logout 401", method: "POST", url: "/v1/portal/logout", status: 401,
			header: problemHdr(), body: problem(401, "unauthorized", "")},
		{name: "me 200", method: "GET", url: "/v1/me", status: 200,
			header: jsonHdr(), body: activeUserJSON},
		{name: "me 401", method: "GET", url: "/v1/me", status: 401,
			header: problemHdr(), body: problem(401, "unauthorized", "")},
		{name: "me 401 without X-Request-Id", method: "GET", url: "/v1/me", status: 401,
			header: hdr("Content-Type", "application/problem+json"), body: problem(401, "unauthorized", ""), wantErr: `"X-Request-Id" missing`},
		{name: "me 401 as API Gateway's answer", method: "GET", url: "/v1/me", status: 401,
			header: jsonHdr(), body: `{"message":"Unauthorized"}`, wantErr: "application/json"},
		{name: "me 403 is undocumented", method: "GET", url: "/v1/me", status: 403,
			header: problemHdr(), body: problem(403, "forbidden", ""), wantErr: "not documented"},
		{name: "user history, rate changed", method: "GET", url: "/v1/users/" + userID + "/history", status: 200, header: jsonHdr(),
			body: `{"items":[{"id":"01JD0QE6F8G0H2J4K6M8N0P2QR","at":"2026-11-22T09:05:00Z","actor":{"type":"staff","id":"owner-1"},
"action":"user.project_rate_changed","changes":{"projectId":{"from":"` + projectID + `","to":"` + projectID + `"},"ratePerHour":{"from":85.5,"to":null}}}],"nextCursor":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := tt.url
			if !strings.HasPrefix(url, "http") {
				url = "http://example.com" + url
			}
			req := httptest.NewRequest(tt.method, url, nil)
			err := v.ValidateResponse(req, tt.status, tt.header, []byte(tt.body))
			if err != nil {
				t.Log(err)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("no error, want one about %q", tt.wantErr)
			case err != nil && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %q does not mention %q", err, tt.wantErr)
			case err != nil:
				prefix := fmt.Sprintf("%s %s → %d: ", tt.method, req.URL.Path, tt.status)
				if !strings.HasPrefix(err.Error(), prefix) {
					t.Fatalf("error %q does not start with %q", err, prefix)
				}
			}
		})
	}
}

func TestValidateResponseNonCanonicalHeaders(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/v1/companies/"+companyID, nil)
	// A hand-built map, as from an API Gateway response, is not canonical.
	h := http.Header{"content-type": {"application/json"}, "x-request-id": {"r"}, "ETag": {`"1"`}}
	if err := v.ValidateResponse(req, 200, h, []byte(companyJSON)); err != nil {
		t.Fatal(err)
	}
}

func TestValidatorConcurrent(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			req := httptest.NewRequest("GET", "/v1/companies/"+companyID, nil)
			body, want := companyJSON, true
			if i%2 == 1 {
				body, want = strings.Replace(companyJSON, `,"version":1`, "", 1), false
			}
			err := v.ValidateResponse(req, 200, jsonHdr("ETag", `"1"`), []byte(body))
			if (err == nil) != want {
				errs <- fmt.Errorf("goroutine %d: err %v", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
