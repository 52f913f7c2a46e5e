package api_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// tableHolds reports whether any item of the table holds s in any
// attribute (a scan of DynamoDB Local).
func (e *env) tableHolds(s string) bool {
	e.t.Helper()
	db := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.st.DynamoURL),
		Credentials: credentials.NewStaticCredentialsProvider(e.st.DynamoKey, "local", "")})
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(e.st.Table)})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			e.t.Fatal(err)
		}
		for _, it := range out.Items {
			if strings.Contains(fmt.Sprint(it), s) {
				return true
			}
		}
	}
	return false
}

// signupLink makes the company's sign-up link and returns its token.
func (e *env) signupLink(cid string, body map[string]any) string {
	e.t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	r := e.call("POST", "/v1/companies/"+cid+"/signup-link", e.owner, body)
	want(e.t, r, 201)
	u := r.String("url")
	i := strings.Index(u, "/portal/signup/")
	if i < 0 {
		e.t.Fatalf("link url %q", u)
	}
	return u[i+len("/portal/signup/"):]
}

// signUp posts a sign-up and returns the answer.
func (e *env) signUp(token, email string) resp {
	e.t.Helper()
	return e.call("POST", "/v1/signup/"+url.PathEscape(token), "", map[string]any{"email": email})
}

// signUpRetrying posts a sign-up from a goroutine as a client would:
// again after a 503 (too many concurrent changes), at most 5 times.
func (e *env) signUpRetrying(token, email string) resp {
	for range 5 {
		r, err := e.try("POST", "/v1/signup/"+token, "", map[string]any{"email": email})
		if err != nil {
			e.t.Error(err)
			return r
		}
		if r.Status != 503 || r.Header.Get("Retry-After") == "" {
			return r
		}
	}
	return resp{Status: 503}
}

// usersOf lists the emails of the company's users.
func (e *env) usersOf(cid string) []string {
	e.t.Helper()
	r := e.call("GET", "/v1/companies/"+cid+"/users?limit=100", e.owner, nil)
	want(e.t, r, 200)
	var out []string
	for _, u := range r.JSON()["items"].([]any) {
		out = append(out, u.(map[string]any)["email"].(string))
	}
	slices.Sort(out)
	return out
}

func TestSignupLink(t *testing.T) {
	e := newEnv(t)
	acme := e.createCompany("Acme")
	path := "/v1/companies/" + acme + "/signup-link"

	want(t, e.call("GET", path, e.owner, nil), 404)
	want(t, e.call("DELETE", path, e.owner, nil), 404)
	for _, tt := range []struct {
		name   string
		body   map[string]any
		fields []string
	}{
		{"domain with @", map[string]any{"allowedDomains": []string{"@acme.example"}}, []string{"allowedDomains[0]"}},
		{"not a domain", map[string]any{"allowedDomains": []string{"acme.example", "localhost"}}, []string{"allowedDomains[1]"}},
		{"too many domains", map[string]any{"allowedDomains": slices.Repeat([]string{"a.example"}, 21)}, []string{"allowedDomains"}},
		{"past expiry", map[string]any{"expiresAt": e.clock.Now().Add(-time.Minute)}, []string{"expiresAt"}},
		{"far expiry", map[string]any{"expiresAt": e.clock.Now().AddDate(1, 1, 0)}, []string{"expiresAt"}},
		{"unknown field", map[string]any{"domains": []string{"acme.example"}}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call("POST", path, e.owner, tt.body)
			want(t, r, 400)
			for _, f := range tt.fields {
				if !strings.Contains(string(r.Body), `"field":"`+f+`"`) {
					t.Errorf("no field error %s: %s", f, r.Body)
				}
			}
		})
	}
	want(t, e.call("GET", path, e.owner, nil), 404) // the refusals wrote nothing
	want(t, e.call("POST", "/v1/companies/01JD0Q8F3G5H7K9M1N3P5R7T9V/signup-link", e.owner, map[string]any{}), 404)

	expires := e.clock.Now().Add(48 * time.Hour)
	r := e.call("POST", path, e.owner, map[string]any{"allowedDomains": []string{" Acme.Example ", "acme.example", "ops.acme.example"}, "expiresAt": expires})
	want(t, r, 201)
	link := r.JSON()
	if r.Header.Get("Location") != path || r.Header.Get("ETag") != `"1"` ||
		!slices.Equal(strs(link["allowedDomains"]), []string{"acme.example", "ops.acme.example"}) ||
		link["expiresAt"] != expires.Format("2006-01-02T15:04:05Z") || link["companyId"] != acme {
		t.Fatalf("link %s (Location %q, ETag %q)", r.Body, r.Header.Get("Location"), r.Header.Get("ETag"))
	}
	first := link["url"].(string)
	token := first[strings.LastIndex(first, "/")+1:]

	// GET shows the same link and url; the table holds neither the token
	// nor anything it can be derived from without the service's secret.
	got := e.call("GET", path, e.owner, nil)
	want(t, got, 200)
	if got.JSON()["url"] != first || got.Header.Get("ETag") != `"1"` {
		t.Fatalf("GET %s", got.Body)
	}
	if e.tableHolds(token[len("demo."):]) {
		t.Fatal("the table holds the link's token")
	}
	// Members may not see a link that lets anyone ask to join.
	member := e.st.Token("demo", "member", "member-1")
	want(t, e.call("GET", path, member, nil), 403)
	want(t, e.call("POST", path, member, map[string]any{}), 403)

	// The public side shows the portal, the company and the domains.
	pub := e.call("GET", "/v1/signup/"+token, "", nil)
	want(t, pub, 200)
	if v := pub.JSON(); v["companyName"] != "Acme" || v["portalName"] != "Demo Portal" || !slices.Equal(strs(v["allowedDomains"]), []string{"acme.example", "ops.acme.example"}) {
		t.Fatalf("public view %s", pub.Body)
	}
	for _, bad := range []string{"nonsense", "demo.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", token + "x"} {
		want(t, e.call("GET", "/v1/signup/"+bad, "", nil), 404)
		want(t, e.call("POST", "/v1/signup/"+bad, "", map[string]any{"email": "kim@acme.example"}), 404)
	}

	// Replacing the link stops the old one at once.
	r = e.call("POST", path, e.owner, map[string]any{})
	want(t, r, 201)
	second := r.String("url")
	if second == first || r.Header.Get("ETag") != `"2"` || len(strs(r.JSON()["allowedDomains"])) != 0 || r.JSON()["expiresAt"] != nil {
		t.Fatalf("replaced %s", r.Body)
	}
	want(t, e.call("GET", "/v1/signup/"+token, "", nil), 404)
	want(t, e.signUp(token, "kim@acme.example"), 404)
	token = second[strings.LastIndex(second, "/")+1:]

	// With an Idempotency-Key the answer is kept for replays, sealed: the
	// replay shows the url, the table still does not hold it.
	keyed := e.call("POST", path, e.owner, map[string]any{}, "Idempotency-Key", "link-1")
	want(t, keyed, 201)
	replay := e.call("POST", path, e.owner, map[string]any{}, "Idempotency-Key", "link-1")
	if replay.Header.Get("Idempotent-Replayed") != "true" || string(replay.Body) != string(keyed.Body) {
		t.Fatalf("replay %s, want %s", replay.Body, keyed.Body)
	}
	if u := keyed.String("url"); e.tableHolds(u[strings.LastIndex(u, ".")+1:]) {
		t.Fatal("the kept answer holds the link's token in clear")
	}
	token = keyed.String("url")[strings.LastIndex(keyed.String("url"), "/")+1:]

	// If-Match names the version; disabling stops the link at once.
	want(t, e.call("DELETE", path, e.owner, nil, "If-Match", `"2"`), 412)
	want(t, e.call("DELETE", path, e.owner, nil, "If-Match", `"3"`), 204)
	want(t, e.call("GET", path, e.owner, nil), 404)
	want(t, e.call("GET", "/v1/signup/"+token, "", nil), 404)
	want(t, e.signUp(token, "kim@acme.example"), 404)
	if len(e.usersOf(acme)) != 0 || len(e.st.Mail.Messages()) != 0 {
		t.Fatal("a disabled link signed someone up")
	}
	e.consistent()
}

func TestSignup(t *testing.T) {
	e := newEnv(t)
	acme := e.createCompany("Acme")
	other := e.createCompany("Other")
	token := e.signupLink(acme, map[string]any{"allowedDomains": []string{"acme.example"}, "expiresAt": e.clock.Now().Add(time.Hour)})
	linkID := e.call("GET", "/v1/companies/"+acme+"/signup-link", e.owner, nil).String("id")
	taken := e.call("POST", "/v1/users", e.owner, map[string]any{"emails": "taken@acme.example", "companyId": other})
	want(t, taken, 201)
	mails := len(e.st.Mail.Messages())

	// Every address gets the same answer; bad bodies are 400.
	for _, tt := range []struct {
		name string
		body any
		code int
	}{
		{"new address", map[string]any{"email": " Kim@ACME.example ", "name": "Kim Lee"}, 202},
		{"already a user", map[string]any{"email": "taken@acme.example"}, 202},
		{"same address again", map[string]any{"email": "kim@acme.example"}, 202},
		{"other domain", map[string]any{"email": "eve@evil.example"}, 202},
		{"subdomain", map[string]any{"email": "ops@eu.acme.example"}, 202},
		{"no address", map[string]any{"name": "Kim"}, 400},
		{"not an address", map[string]any{"email": "kim at acme"}, 400},
		{"unknown field", map[string]any{"email": "x@acme.example", "companyId": other}, 400},
		{"name too long", map[string]any{"email": "long@acme.example", "name": strings.Repeat("x", 201)}, 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call("POST", "/v1/signup/"+token, "", tt.body)
			want(t, r, tt.code)
			if tt.code == 202 && r.String("message") == "" {
				t.Fatalf("answer %s", r.Body)
			}
		})
	}
	if got := e.usersOf(acme); !slices.Equal(got, []string{"Kim@acme.example"}) {
		t.Fatalf("acme's users %v", got)
	}
	// Kim is invited as by POST /v1/users, recorded as the link's doing,
	// and mailed the invitation; nobody else got anything.
	if msgs := e.st.Mail.Messages(); len(msgs) != mails+1 || msgs[0].To[0] != "Kim@acme.example" { // newest first
		t.Fatalf("%d mails, the newest to %v", len(msgs)-mails, msgs[0].To)
	}
	users := e.call("GET", "/v1/users?q=kim", e.owner, nil).JSON()["items"].([]any)
	kim := users[0].(map[string]any)
	if kim["status"] != "invited" || kim["name"] != "Kim Lee" || kim["profileId"] != "client" || kim["companyId"] != acme || kim["portalAccess"] != true {
		t.Fatalf("kim %v", kim)
	}
	hist := e.call("GET", "/v1/users/"+kim["id"].(string)+"/history", e.owner, nil).JSON()["items"].([]any)
	created := hist[len(hist)-1].(map[string]any)
	if a := created["actor"].(map[string]any); created["action"] != "user.created" || a["type"] != "signup-link" || a["id"] != linkID {
		t.Fatalf("history %v", created)
	}
	// The invitation works like any other.
	inv := inviteTokenOf(e, "Kim@acme.example")
	want(t, e.call("POST", "/v1/invites/"+inv+"/accept", "", map[string]any{"password": "a long secret phrase"}), 200)

	// Expired: 410 on both sides, and nothing is created.
	e.clock.Advance(time.Hour)
	want(t, e.call("GET", "/v1/signup/"+token, "", nil), 410)
	want(t, e.signUp(token, "late@acme.example"), 410)
	if len(e.usersOf(acme)) != 1 {
		t.Fatal("an expired link signed someone up")
	}

	// Deleting the company disables its link.
	open := e.signupLink(other, nil)
	want(t, e.call("DELETE", "/v1/companies/"+other, e.owner, nil), 204)
	want(t, e.call("GET", "/v1/signup/"+open, "", nil), 404)
	e.consistent()
}

// TestSignupLimits: 30 parallel sign-ups into 5 free seats admit 5, and 25
// parallel sign-ups on one link in an hour admit 20; the 21st and later
// get 429 until the next clock hour.
func TestSignupLimits(t *testing.T) {
	t.Run("seats", func(t *testing.T) {
		e := newEnv(t)
		var tokens []string
		var companies []string
		for _, n := range []string{"A", "B", "C"} {
			c := e.createCompany("Co " + n)
			companies = append(companies, c)
			tokens = append(tokens, e.signupLink(c, nil))
		}
		e.call("POST", "/v1/users", e.owner, map[string]any{"emails": "seated@example.com", "companyId": companies[0]})
		want(t, e.call("PATCH", "/v1/portal", e.owner, map[string]any{"clientSeatLimit": 6}), 200)
		out := parallel(30, func(i int) int {
			return e.signUpRetrying(tokens[i%3], "p"+string(rune('a'+i))+"@example.com").Status
		})
		for _, s := range out {
			if s != 202 {
				t.Fatalf("answers %v, want 202 each", out)
			}
		}
		n := 0
		for _, c := range companies {
			n += len(e.usersOf(c))
		}
		if p := e.call("GET", "/v1/portal", e.owner, nil).JSON(); n != 6 || p["seatsUsed"].(float64) != 6 {
			t.Fatalf("%d users, portal %v; want 6 seats used", n, p)
		}
		e.consistent()
	})
	t.Run("hourly", func(t *testing.T) {
		e := newEnv(t)
		e.clock.Advance(59 * time.Minute) // 09:59: the hour turns in a minute
		acme := e.createCompany("Acme")
		token := e.signupLink(acme, nil)
		out := parallel(25, func(i int) resp { return e.signUpRetrying(token, "h"+string(rune('a'+i))+"@example.com") })
		ok, limited := 0, 0
		for _, r := range out {
			switch {
			case r.Status == 202:
				ok++
			case r.Status == 429 && r.Header.Get("Retry-After") == "60":
				limited++
			default:
				t.Errorf("answer %d %s (Retry-After %q)", r.Status, r.Body, r.Header.Get("Retry-After"))
			}
		}
		if got := len(e.usersOf(acme)); ok != 20 || limited != 5 || got != 20 {
			t.Fatalf("%d accepted, %d limited, %d users; want 20, 5, 20", ok, limited, got)
		}
		// A full link says so to every address alike.
		r := e.signUp(token, "eve@evil.example")
		want(t, r, 429)
		// The next clock hour takes sign-ups again.
		e.clock.Advance(time.Minute)
		want(t, e.signUp(token, "next@example.com"), 202)
		if got := len(e.usersOf(acme)); got != 21 {
			t.Fatalf("%d users after the hour turned, want 21", got)
		}
		e.consistent()
	})
}

func TestSignupPage(t *testing.T) {
	e := newEnv(t)
	want(t, e.call("PATCH", "/v1/portal", e.owner, map[string]any{"name": `<b>Agency</b> & Co`}), 200)
	acme := e.createCompany(`Acme "<i>"`)
	token := e.signupLink(acme, map[string]any{"allowedDomains": []string{"acme.example"}})
	path := "/portal/signup/" + token
	v := e.visitor()

	r := v.get(path)
	wantPage(t, r, 200)
	if strings.Contains(string(r.Body), "<b>") || strings.Contains(string(r.Body), "<i>") {
		t.Fatalf("names are not escaped:\n%s", r.Body)
	}
	has(t, r, "<title>Sign up · &lt;b&gt;Agency&lt;/b&gt; &amp; Co</title>", "Join Acme &#34;&lt;i&gt;&#34; on &lt;b&gt;Agency",
		`<label for="email">Email address</label>`, `<p class="hint" id="email-hint">An address at acme.example.</p>`,
		`<input id="email" name="email" type="email" required autocomplete="email" aria-describedby="email-hint">`,
		`<label for="name">Your name (optional)</label>`)
	token1 := csrf(t, r)

	t.Run("CSRF", func(t *testing.T) {
		for _, tt := range []struct {
			name    string
			v       *visitor
			form    url.Values
			headers []string
		}{
			{"no token", v, url.Values{"email": {"kim@acme.example"}}, nil},
			{"another browser", e.visitor(), url.Values{"email": {"kim@acme.example"}, "csrf": {token1}}, nil},
			{"cross-site", v, url.Values{"email": {"kim@acme.example"}, "csrf": {token1}}, []string{"Sec-Fetch-Site", "cross-site"}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				r := tt.v.post(path, tt.form, tt.headers...)
				wantPage(t, r, 403)
				has(t, r, "This form has expired")
			})
		}
		if len(e.usersOf(acme)) != 0 {
			t.Fatal("a refused form signed someone up")
		}
	})
	t.Run("unknown field", func(t *testing.T) {
		wantPage(t, v.post(path, url.Values{"email": {"kim@acme.example"}, "csrf": {token1}, "companyId": {acme}}), 400)
	})
	t.Run("bad address shows the form again", func(t *testing.T) {
		r := v.post(path, url.Values{"email": {"kim at acme"}, "name": {"Kim"}, "csrf": {token1}})
		wantPage(t, r, 400)
		has(t, r, `<div class="error-summary" role="alert"`, `<a href="#email">Email address is not a valid email address</a>`,
			`value="kim at acme"`, `aria-invalid="true" autofocus>`, `value="Kim"`)
		token1 = csrf(t, r)
	})

	// Allowed or not, new or not: the same page.
	pages := map[string]string{}
	for _, addr := range []string{"kim@acme.example", "eve@evil.example", "kim@acme.example"} {
		r := v.post(path, url.Values{"email": {addr}, "name": {"Kim Lee"}, "csrf": {token1}})
		wantPage(t, r, 202)
		has(t, r, "Check your email", "If "+addr+" may join, an invitation is on its way to it.")
		pages[pageOf(r, addr)] = addr
	}
	if len(pages) != 1 {
		t.Fatalf("the answers differ by address: %v", pages)
	}
	if got := e.usersOf(acme); !slices.Equal(got, []string{"kim@acme.example"}) {
		t.Fatalf("users %v", got)
	}
	inviteTokenOf(e, "kim@acme.example")

	// Link states: replaced (404), expired (410).
	r = v.get("/portal/signup/not-a-token")
	wantPage(t, r, 404)
	has(t, r, "This sign-up link does not work", "Ask your contact for the current link.")
	fresh := e.signupLink(acme, map[string]any{"expiresAt": e.clock.Now().Add(time.Hour)})
	r = v.get(path)
	wantPage(t, r, 404)
	wantPage(t, v.post(path, url.Values{"email": {"late@acme.example"}, "csrf": {token1}}), 404)
	e.clock.Advance(time.Hour)
	r = v.get("/portal/signup/" + fresh)
	wantPage(t, r, 410)
	has(t, r, "This sign-up link has expired")
	e.consistent()
}
