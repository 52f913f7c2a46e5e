package api_test

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer collects log lines written from many goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Reset empties the buffer.
func (b *lockedBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}

// Bytes is a copy of what the buffer holds.
func (b *lockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestLogsCarryNoSecrets runs the client-user flows end to end (add,
// invite, a failed email, accept, login, wrong logins, reset, reminders,
// logout, the same through the pages, an export and its link) and checks that no log line carries a password, a token, a
// code, an invitation link or an address.
func TestLogsCarryNoSecrets(t *testing.T) {
	var logs lockedBuffer
	base := newEnvLog(t, io.MultiWriter(&logs, testLog(t)))
	c := base.createCompany("Secretive Co")
	e := usersEnv{env: base, company: c}
	const email, password, newPassword = "Confidential.Person@example.com", "first secret phrase", "second secret phrase"
	const changedPassword = "changed secret phrase"

	uid, invite := e.inviteToken(email)
	e.st.Mail.FailWith(http.StatusServiceUnavailable, "ServiceUnavailable")
	e.addUser("unlucky.person@example.com")
	e.st.Mail.FailWith(0, "")
	want(t, e.call("GET", "/v1/invites/"+url.PathEscape(invite), "", nil), 200)
	r := e.call("POST", "/v1/invites/"+url.PathEscape(invite)+"/accept", "", map[string]any{"password": password})
	want(t, r, 200)
	session := r.String("token")
	login := func(pw string) resp {
		return e.call("POST", "/v1/portal/login", "", map[string]any{"portalId": "demo", "email": email, "password": pw})
	}
	want(t, login("wrong "+password), 401)
	login2 := login(password)
	want(t, login2, 200)
	code := e.resetCode(email)
	want(t, e.call("POST", "/v1/portal/password-reset/confirm", "", map[string]any{"portalId": "demo", "email": email, "code": wrongCode(code, 0), "newPassword": newPassword}), 400)
	want(t, e.call("POST", "/v1/portal/password-reset/confirm", "", map[string]any{"portalId": "demo", "email": email, "code": code, "newPassword": newPassword}), 204)
	after := login(newPassword)
	want(t, after, 200)
	want(t, e.call("GET", "/v1/me", after.String("token"), nil), 200)
	want(t, e.call("POST", "/v1/me/password", after.String("token"), map[string]any{"currentPassword": "wrong " + newPassword, "newPassword": changedPassword}), 401)
	changed := e.call("POST", "/v1/me/password", after.String("token"), map[string]any{"currentPassword": newPassword, "newPassword": changedPassword})
	want(t, changed, 200)
	want(t, e.call("POST", "/v1/portal/logout", changed.String("token"), nil), 204)
	e.clock.Advance(25 * time.Hour)
	e.runReminders()
	want(t, e.call("GET", "/v1/users/"+uid, e.st.Token("demo", "owner", "o"), nil), 200)

	// The same through the portal pages: accept an invitation, reset.
	const pageEmail, pagePassword, pageNew = "page.person@example.com", "third secret phrase", "fourth secret phrase"
	e.owner = e.st.Token("demo", "owner", "o") // the clock moved past the first token
	_, pageInvite := e.inviteToken(pageEmail)
	v := e.visitor()
	pg := v.get("/portal/invite/" + pageInvite)
	wantPage(t, pg, 200)
	wantPage(t, v.post("/portal/invite/"+pageInvite, url.Values{"csrf": {csrf(t, pg)}, "password": {pagePassword}}), 200)
	pg = v.get("/portal/reset?portal=demo")
	sent := v.post("/portal/reset", url.Values{"csrf": {csrf(t, pg)}, "step": {"request"}, "portalId": {"demo"}, "email": {pageEmail}})
	wantPage(t, sent, 200)
	pageCode := codePattern.FindString(e.st.Mail.Messages()[0].Text)
	wantPage(t, v.post("/portal/reset", url.Values{"csrf": {csrf(t, sent)}, "step": {"confirm"}, "portalId": {"demo"},
		"email": {pageEmail}, "code": {pageCode}, "newPassword": {pageNew}}), 200)

	// An export of everyone above, and its download link.
	exportID := e.requestExport(map[string]any{"scope": "portal"})
	e.waitExports()
	ready := e.call("GET", "/v1/exports/"+exportID, e.owner, nil)
	want(t, ready, 200)
	link, err := url.Parse(ready.String("downloadUrl"))
	if err != nil || link.Query().Get("X-Amz-Signature") == "" {
		t.Fatalf("export: %s", ready.Body)
	}

	out := logs.String()
	if !strings.Contains(out, `"route":"POST /portal/reset"`) || !strings.Contains(out, `"route":"POST /v1/portal/login"`) || !strings.Contains(out, `"route":"POST /v1/me/password"`) || !strings.Contains(out, "reminders: run finished") ||
		!strings.Contains(out, "export: ready") || !strings.Contains(out, `"route":"GET /v1/exports/{exportId}"`) {
		t.Fatal("the flow's requests were not logged; the test checks nothing")
	}
	secrets := map[string]string{
		"password": password, "new password": newPassword, "invitation token": invite,
		"invitation secret": invite[strings.IndexByte(invite, '.')+1:], "session": session,
		"second session": login2.String("token"), "changed password": changedPassword,
		"session after the change": changed.String("token"), "session changed from": after.String("token"), "reset code": `"` + code + `"`,
		"address": strings.ToLower(email), "address as given": email, "local part": "confidential.person",
		"other address": "unlucky.person", "invitation link": "/portal/invite/demo.",
		"page password": pagePassword, "page new password": pageNew, "page invitation": pageInvite,
		"page reset code": `"` + pageCode + `"`, "page address": "page.person",
		"download signature": link.Query().Get("X-Amz-Signature"), "download link": link.RawQuery,
	}
	lower := strings.ToLower(out)
	for what, s := range secrets {
		if strings.Contains(lower, strings.ToLower(s)) {
			t.Errorf("the log carries the %s", what)
		}
	}
}

// TestClientSessionIsolation: a client session opens only its own user's
// routes, in its own portal; moved to another portal it opens nothing.
func TestClientSessionIsolation(t *testing.T) {
	e := newEnv(t)
	session := func(portal, email string) (string, string) {
		tok := e.st.Token(portal, "owner", "o")
		c := e.call("POST", "/v1/companies", tok, map[string]any{"name": "Co " + portal}).String("id")
		r := e.call("POST", "/v1/users", tok, map[string]any{"emails": email, "companyId": c})
		want(t, r, 201)
		uid := r.JSON()["created"].([]any)[0].(map[string]any)["id"].(string)
		s := e.call("POST", "/v1/invites/"+url.PathEscape(inviteTokenOf(e, email))+"/accept", "", map[string]any{"password": "long enough pw"})
		want(t, s, 200)
		return uid, s.String("token")
	}
	aID, a := session("demo", "a@tenant.example")
	bID, b := session("tenant-b", "b@tenant.example")
	for _, c := range []struct{ token, id string }{{a, aID}, {b, bID}} {
		if got := e.call("GET", "/v1/me", c.token, nil).String("id"); got != c.id {
			t.Fatalf("/v1/me = %s, want %s", got, c.id)
		}
	}
	// B's secret presented as a demo session, and A's as tenant-b's.
	moved := []string{"demo." + b[strings.IndexByte(b, '.')+1:], "tenant-b." + a[strings.IndexByte(a, '.')+1:]}
	for _, tok := range moved {
		for _, route := range []struct{ method, path string }{{"GET", "/v1/me"}, {"PATCH", "/v1/me"}, {"GET", "/v1/me/projects"}, {"POST", "/v1/portal/logout"}, {"POST", "/v1/me/password"}} {
			var body any
			switch route.path {
			case "/v1/me":
				if route.method == "PATCH" {
					body = map[string]any{"title": "x"}
				}
			case "/v1/me/password":
				body = map[string]any{"currentPassword": "long enough pw", "newPassword": "another long pw"}
			}
			want(t, e.call(route.method, route.path, tok, body), 401)
		}
	}
	// Staff tokens never open client routes, and a client session never a staff route.
	want(t, e.call("GET", "/v1/me", e.owner, nil), 401)
	want(t, e.call("GET", "/v1/users/"+aID, a, nil), 401)
}

// TestRequestLogTimesDynamoDB: the request line says how long the request
// spent in DynamoDB (ddb_ms, its share of latency_ms) beside how many
// requests it made.
func TestRequestLogTimesDynamoDB(t *testing.T) {
	var logs lockedBuffer
	e := newEnvLog(t, io.MultiWriter(&logs, testLog(t)))
	e.createCompany("Timed Co")
	logs.Reset()
	want(t, e.call("GET", "/v1/companies", e.owner, nil), 200)
	latency, ddb, ok := requestLine(logs.Bytes())
	if !ok || ddb <= 0 || ddb > latency || !strings.Contains(logs.String(), `"ddb_requests":1`) {
		t.Fatalf("request line: ddb_ms %v of latency_ms %v: %s", ddb, latency, logs.String())
	}
}
