package api_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// visitor is a browser without JavaScript: a cookie jar, form posts, and
// every answer checked against the OpenAPI document.
type visitor struct {
	e *env
	c *http.Client
}

func (e *env) visitor() *visitor {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &visitor{e: e, c: &http.Client{Jar: jar}}
}

func (v *visitor) do(method, path, contentType, body string, headers ...string) resp {
	v.e.t.Helper()
	req, err := http.NewRequest(method, v.e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		v.e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	hr, err := v.c.Do(req)
	if err != nil {
		v.e.t.Fatal(err)
	}
	defer hr.Body.Close()
	b, err := io.ReadAll(hr.Body)
	if err != nil {
		v.e.t.Fatal(err)
	}
	if err := validator.ValidateResponse(req, hr.StatusCode, hr.Header, b); err != nil {
		v.e.t.Fatalf("%s %s: response does not match the OpenAPI document: %v\nbody: %s", method, path, err, b)
	}
	return resp{Status: hr.StatusCode, Header: hr.Header, Body: b}
}

func (v *visitor) get(path string) resp { return v.do("GET", path, "", "") }

func (v *visitor) post(path string, form url.Values, headers ...string) resp {
	return v.do("POST", path, "application/x-www-form-urlencoded", form.Encode(), headers...)
}

// pageForm is a form post as e.call sends it: the fields and the cookie of
// the browser the form was served to.
type pageForm struct {
	values url.Values
	cookie string
}

// formOf loads the page at path in a new browser and returns its form's
// token and nonce cookie, for the caller to add the fields.
func (e *env) formOf(path string) pageForm {
	e.t.Helper()
	r := e.visitor().get(path)
	want(e.t, r, 200)
	cookie, _, _ := strings.Cut(r.Header.Get("Set-Cookie"), ";")
	return pageForm{values: url.Values{"csrf": {csrf(e.t, r)}}, cookie: cookie}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the token of the form on page r.
func csrf(t *testing.T, r resp) string {
	t.Helper()
	m := csrfField.FindSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no csrf field in %s", r.Body)
	}
	return string(m[1])
}

// has fails unless the page body contains every part, in order.
func has(t *testing.T, r resp, parts ...string) {
	t.Helper()
	body, at := string(r.Body), 0
	for _, p := range parts {
		i := strings.Index(body[at:], p)
		if i < 0 {
			t.Fatalf("page lacks %q (after byte %d):\n%s", p, at, body)
		}
		at += i + len(p)
	}
}

func wantPage(t *testing.T, r resp, status int) {
	t.Helper()
	want(t, r, status)
	for h, v := range map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Content-Security-Policy": "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
		"Cache-Control":           "no-store",
		"X-Content-Type-Options":  "nosniff",
	} {
		if got := r.Header.Get(h); got != v {
			t.Errorf("%s = %q, want %q", h, got, v)
		}
	}
	has(t, r, "<!doctype html>", `<html lang="en">`, "<title>", "</title>", "<main>", "<h1>")
}

func TestInvitePage(t *testing.T) {
	e := newUsersEnv(t)
	want(t, e.call("PATCH", "/v1/portal", e.owner, map[string]any{"name": `<script>alert("x")</script> & Co`}), 200)
	uid, token := e.inviteToken("page.user@example.com")
	path := "/portal/invite/" + token
	v := e.visitor()

	r := v.get(path)
	wantPage(t, r, 200)
	if strings.Contains(string(r.Body), "<script>") {
		t.Fatalf("the portal name is not escaped:\n%s", r.Body)
	}
	// Greeting by portal and company, the policy before the input, the label
	// tied to it, the policy announced with it.
	has(t, r, "<title>Accept your invitation · &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co</title>",
		"Welcome to &lt;script&gt;", "as a member of Client Co.", "page.user@example.com",
		`<label for="password">Password</label>`, `<p class="hint" id="password-hint">8 to 128 characters, and not your email address.</p>`,
		`<input id="password" name="password" type="password" required autocomplete="new-password" minlength="8" aria-describedby="password-hint">`)
	cookie := r.Header.Get("Set-Cookie")
	if !strings.HasPrefix(cookie, "csrf=") || !strings.Contains(cookie, "; HttpOnly; SameSite=Strict") || strings.Contains(cookie, "Secure") {
		t.Fatalf("Set-Cookie %q", cookie)
	}
	token1 := csrf(t, r)

	t.Run("CSRF", func(t *testing.T) {
		other := e.visitor() // another browser: no nonce cookie of ours
		for _, tt := range []struct {
			name    string
			v       *visitor
			form    url.Values
			headers []string
		}{
			{"no token", v, url.Values{"password": {"a good password"}}, nil},
			{"another browser", other, url.Values{"password": {"a good password"}, "csrf": {token1}}, nil},
			{"tampered", v, url.Values{"password": {"a good password"}, "csrf": {token1 + "x"}}, nil},
			{"cross-site", v, url.Values{"password": {"a good password"}, "csrf": {token1}}, []string{"Sec-Fetch-Site", "cross-site"}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				r := tt.v.post(path, tt.form, tt.headers...)
				wantPage(t, r, 403)
				has(t, r, "This form has expired")
			})
		}
		// A token of the reset form does not open this one.
		reset := v.get("/portal/reset?portal=demo")
		wantPage(t, v.post(path, url.Values{"password": {"a good password"}, "csrf": {csrf(t, reset)}}), 403)
		// Nothing was accepted.
		if s := e.call("GET", "/v1/users/"+uid, e.owner, nil).String("status"); s != "invited" {
			t.Fatalf("status %s after refused posts", s)
		}
	})

	t.Run("unknown field", func(t *testing.T) {
		wantPage(t, v.post(path, url.Values{"password": {"a good password"}, "csrf": {token1}, "admin": {"1"}}), 400)
	})

	t.Run("refused password shows the form again", func(t *testing.T) {
		r := v.post(path, url.Values{"password": {"Page.User@example.com"}, "csrf": {token1}})
		wantPage(t, r, 400)
		has(t, r, `<div class="error-summary" role="alert"`, `<a href="#password">Password must not be your email address</a>`,
			`<p class="error" id="password-error">`, `aria-describedby="password-hint password-error" aria-invalid="true" autofocus>`)
		token1 = csrf(t, r)
	})

	r = v.post(path, url.Values{"password": {"a good password"}, "csrf": {token1}})
	wantPage(t, r, 200)
	has(t, r, "Your password is set", "Sign in with page.user@example.com", "You can close this page.")
	want(t, e.call("POST", "/v1/portal/login", "", map[string]any{"portalId": "demo", "email": "page.user@example.com", "password": "a good password"}), 200)

	// Used up: the link's page says so.
	r = v.get(path)
	wantPage(t, r, 404)
	has(t, r, "This invitation link does not work", "ask your contact to re-invite you")
	wantPage(t, v.post(path, url.Values{"password": {"a good password"}, "csrf": {token1}}), 404)
	e.consistent()
}

func TestInvitePageLeadsToTheApp(t *testing.T) {
	e := newUsersEnv(t)
	want(t, e.call("PATCH", "/v1/portal", e.owner, map[string]any{"appBaseUrl": "https://portal.example.com"}), 200)
	_, token := e.inviteToken("app.user@example.com")
	v := e.visitor()
	path := "/portal/invite/" + url.PathEscape(token)
	r := v.post(path, url.Values{"password": {"a good password"}, "csrf": {csrf(t, v.get(path))}})
	wantPage(t, r, 200)
	has(t, r, `<a class="button" href="https://portal.example.com">Continue to Demo Portal</a>`)
}

func TestInvitePageLinkStates(t *testing.T) {
	e := newUsersEnv(t)
	_, expiring := e.inviteToken("late@example.com")
	off, deactivated := e.inviteToken("off@example.com")
	want(t, e.call("POST", "/v1/users/"+off+"/deactivate", e.owner, nil), 200)
	v := e.visitor()
	for _, tt := range []struct {
		name, token string
		status      int
		title, text string
	}{
		{"unknown", "demo." + strings.Repeat("B", 43), 404, "This invitation link does not work", "otherwise ask your contact to re-invite you."},
		{"malformed", "not-a-token", 404, "This invitation link does not work", "otherwise ask your contact to re-invite you."},
		{"deactivated", deactivated, 409, "This account is not active", "Ask your contact to re-invite you."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := v.get("/portal/invite/" + tt.token)
			wantPage(t, r, tt.status)
			has(t, r, tt.title, tt.text)
		})
	}
	e.clock.Advance(168 * time.Hour)
	r := v.get("/portal/invite/" + expiring)
	wantPage(t, r, 410)
	has(t, r, "This invitation link has expired", "Ask your contact to re-invite you.")
}

// pageOf blanks what differs between two otherwise equal pages: the CSRF
// token and the address.
func pageOf(r resp, email string) string {
	return strings.ReplaceAll(csrfField.ReplaceAllString(string(r.Body), "csrf"), email, "EMAIL")
}

func TestResetPage(t *testing.T) {
	e := newUsersEnv(t)
	_, token := e.inviteToken("reset.me@example.com")
	want(t, e.call("POST", "/v1/invites/"+token+"/accept", "", map[string]any{"password": "the old password"}), 200)
	e.addUser("pending@example.com") // no password yet
	v := e.visitor()

	// Without ?portal the page asks for it; with it, it is a hidden field.
	r := v.get("/portal/reset")
	wantPage(t, r, 200)
	has(t, r, `<label for="portalId">Portal</label>`, `<label for="email">Email address</label>`, `autocomplete="username"`)
	r = v.get("/portal/reset?portal=demo")
	wantPage(t, r, 200)
	has(t, r, `<input type="hidden" name="portalId" value="demo">`, `<label for="email">`)
	if strings.Contains(string(r.Body), `<label for="portalId">`) {
		t.Fatal("the portal is asked for although the link named it")
	}
	tok := csrf(t, r)
	request := func(email string) resp {
		return v.post("/portal/reset", url.Values{"csrf": {tok}, "step": {"request"}, "portalId": {"demo"}, "email": {email}})
	}

	t.Run("invalid address", func(t *testing.T) {
		r := request("not an address")
		wantPage(t, r, 400)
		has(t, r, `role="alert"`, `<a href="#email">Email address is not a valid email address</a>`, `value="not an address"`, `aria-invalid="true" autofocus>`)
	})

	// No enumeration: the same page for an unknown address, one without a
	// password and one with; only the last gets a code.
	mails := len(e.st.Mail.Messages())
	unknown, pending := request("nobody@example.com"), request("pending@example.com")
	if len(e.st.Mail.Messages()) != mails {
		t.Fatal("a code went to an address without a password")
	}
	known := request("reset.me@example.com")
	for _, r := range []resp{unknown, pending, known} {
		wantPage(t, r, 200)
	}
	if a, b, c := pageOf(unknown, "nobody@example.com"), pageOf(pending, "pending@example.com"), pageOf(known, "reset.me@example.com"); a != b || b != c {
		t.Fatalf("the pages differ:\n%s\n---\n%s\n---\n%s", a, b, c)
	}
	has(t, known, "Check your email", "If reset.me@example.com has an account, we sent it a 6-digit code.",
		`<input type="hidden" name="step" value="confirm">`, `autocomplete="one-time-code"`, `<label for="newPassword">New password</label>`,
		`<a class="button" href="/portal/reset?portal=demo">Ask for a new code</a>`)
	msgs := e.st.Mail.Messages()
	if len(msgs) != mails+1 {
		t.Fatalf("%d codes sent", len(msgs)-mails)
	}
	code := codePattern.FindString(msgs[0].Text)
	confirm := func(code, password string) resp {
		return v.post("/portal/reset", url.Values{"csrf": {csrf(t, known)}, "step": {"confirm"}, "portalId": {"demo"},
			"email": {"reset.me@example.com"}, "code": {code}, "newPassword": {password}})
	}

	r = confirm(wrongCode(code, 0), "the new password")
	wantPage(t, r, 400)
	has(t, r, `<a href="#code">Code is wrong or expired; request a new one</a>`, `id="code"`, `aria-invalid="true" autofocus>`)
	r = confirm(code, "short")
	wantPage(t, r, 400)
	has(t, r, `<a href="#newPassword">New password must be 8 to 128 characters</a>`)
	// An unknown address answers exactly like a wrong code.
	r = v.post("/portal/reset", url.Values{"csrf": {csrf(t, known)}, "step": {"confirm"}, "portalId": {"demo"},
		"email": {"nobody@example.com"}, "code": {code}, "newPassword": {"the new password"}})
	wantPage(t, r, 400)
	has(t, r, "Code is wrong or expired")

	r = confirm(code, "the new password")
	wantPage(t, r, 200)
	has(t, r, "Your password is changed")
	login := func(pw string) int {
		return e.call("POST", "/v1/portal/login", "", map[string]any{"portalId": "demo", "email": "reset.me@example.com", "password": pw}).Status
	}
	if login("the old password") != 401 || login("the new password") != 200 {
		t.Fatal("the password did not change")
	}

	t.Run("five wrong codes burn it", func(t *testing.T) {
		wantPage(t, request("reset.me@example.com"), 200)
		code := codePattern.FindString(e.st.Mail.Messages()[0].Text)
		for i := range 5 {
			wantPage(t, confirm(wrongCode(code, i), "another password"), 400)
		}
		r := confirm(code, "another password")
		wantPage(t, r, 400)
		has(t, r, "Code is wrong or expired")
	})

	t.Run("a served form expires", func(t *testing.T) {
		r := v.get("/portal/reset?portal=demo")
		e.clock.Advance(2*time.Hour + time.Minute)
		wantPage(t, v.post("/portal/reset", url.Values{"csrf": {csrf(t, r)}, "step": {"request"}, "portalId": {"demo"}, "email": {"a@example.com"}}), 403)
	})
	e.consistent()
}

func TestPageErrors(t *testing.T) {
	e := newEnv(t)
	v := e.visitor()
	tok := csrf(t, v.get("/portal/reset"))
	for _, tt := range []struct {
		name, contentType, body string
		status                  int
		text                    string
	}{
		{"JSON body", "application/json", `{"step":"request"}`, 415, "This form could not be read"},
		{"unknown step", "application/x-www-form-urlencoded", "step=other&csrf=" + url.QueryEscape(tok), 400, "This form could not be read"},
		{"repeated field", "application/x-www-form-urlencoded", "step=request&step=confirm&csrf=" + url.QueryEscape(tok), 400, "This form could not be read"},
		{"too large", "application/x-www-form-urlencoded", "email=" + strings.Repeat("a", 9000), 413, "This form is too large"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := v.do("POST", "/portal/reset", tt.contentType, tt.body)
			wantPage(t, r, tt.status)
			has(t, r, tt.text)
			if strings.Contains(string(r.Body), "problem") {
				t.Fatalf("a page error looks like problem+json:\n%s", r.Body)
			}
		})
	}
	r := v.get("/portal/assets/style.css")
	want(t, r, 200)
	if ct := r.Header.Get("Content-Type"); ct != "text/css; charset=utf-8" || len(r.Body) == 0 {
		t.Fatalf("stylesheet: %s, %d bytes", ct, len(r.Body))
	}
}
