package pages

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/httpapi"
)

func request(proto string, cookies ...string) *httpapi.Request {
	return &httpapi.Request{Event: &events.APIGatewayV2HTTPRequest{
		Headers: map[string]string{"x-forwarded-proto": proto}, Cookies: cookies}}
}

// cookieOf turns a Set-Cookie value into the request cookie a browser sends.
func cookieOf(setCookie string) string { c, _, _ := strings.Cut(setCookie, ";"); return c }

// tamper changes a token's last character to another one (a fixed
// replacement would equal it once in 64 random tokens).
func tamper(token string) string {
	last := "A"
	if strings.HasSuffix(token, last) {
		last = "B"
	}
	return token[:len(token)-1] + last
}

func TestCSRF(t *testing.T) {
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	c := NewCSRF(strings.Repeat("s", 32), func() time.Time { return now })
	token, set := c.Issue(request("http"), "/portal/reset")
	if !strings.HasPrefix(set, "csrf=") || !strings.HasSuffix(set, "; Path=/; Max-Age=7200; HttpOnly; SameSite=Strict") {
		t.Fatalf("Set-Cookie over http %q", set)
	}
	browser := request("http", "other=1", cookieOf(set))
	if err := c.Check(browser, "/portal/reset", token); err != nil {
		t.Fatalf("a good token: %v", err)
	}
	// The browser's nonce is kept when it has one.
	if again, set2 := c.Issue(browser, "/portal/reset"); cookieOf(set2) != cookieOf(set) || c.Check(browser, "/portal/reset", again) != nil {
		t.Fatal("a second form got another nonce")
	}
	_, otherSet := c.Issue(request("http"), "/portal/reset")
	otherKey := NewCSRF(strings.Repeat("t", 32), func() time.Time { return now })
	foreign, _ := otherKey.Issue(browser, "/portal/reset")
	for _, tt := range []struct {
		name    string
		r       *httpapi.Request
		purpose string
		token   string
	}{
		{"no cookie", request("http"), "/portal/reset", token},
		{"another browser's cookie", request("http", cookieOf(otherSet)), "/portal/reset", token},
		{"another form", browser, "/portal/invite/x", token},
		{"no token", browser, "/portal/reset", ""},
		{"tampered time", browser, "/portal/reset", "1" + token},
		{"tampered mac", browser, "/portal/reset", tamper(token)},
		{"another key", browser, "/portal/reset", foreign},
		{"cookie over https under the http name", request("https", cookieOf(set)), "/portal/reset", token},
		{"cross-site", func() *httpapi.Request {
			r := request("http", cookieOf(set))
			r.Event.Headers["sec-fetch-site"] = "cross-site"
			return r
		}(), "/portal/reset", token},
		{"same-site (a sibling subdomain)", func() *httpapi.Request {
			r := request("http", cookieOf(set))
			r.Event.Headers["sec-fetch-site"] = "same-site"
			return r
		}(), "/portal/reset", token},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := c.Check(tt.r, tt.purpose, tt.token); clientele.ErrorCode(err) != clientele.Forbidden {
				t.Fatalf("got %v, want Forbidden", err)
			}
		})
	}
	t.Run("expires", func(t *testing.T) {
		now = now.Add(TokenTTL)
		if err := c.Check(browser, "/portal/reset", token); err != nil {
			t.Fatalf("at TokenTTL: %v", err)
		}
		now = now.Add(time.Second)
		if err := c.Check(browser, "/portal/reset", token); clientele.ErrorCode(err) != clientele.Forbidden {
			t.Fatalf("after TokenTTL: %v", err)
		}
	})
	t.Run("https", func(t *testing.T) {
		token, set := c.Issue(request("https"), "/portal/reset")
		if !strings.HasPrefix(set, "__Host-csrf=") || !strings.HasSuffix(set, "; Path=/; Max-Age=7200; HttpOnly; SameSite=Strict; Secure") {
			t.Fatalf("Set-Cookie over https %q", set)
		}
		if err := c.Check(request("https", cookieOf(set)), "/portal/reset", token); err != nil {
			t.Fatal(err)
		}
	})
}

func TestFormEscapesAndDescribes(t *testing.T) {
	f := Form{Action: `/portal/invite/a"b`, CSRF: `t"<`, Hidden: [][2]string{{"email", `x"><script>`}},
		Fields: []Field{
			{Name: "code", Label: "Code", Type: "text", Value: `<b>"1"</b>`, Hint: "6 digits"},
			{Name: "newPassword", Label: "New password", Type: "password", Value: "secret", Error: "must be <8> to 128 characters"},
			{Name: "other", Label: "Other", Type: "text", Error: "is wrong"},
		}, Submit: "Go"}
	got := f.HTML()
	for _, want := range []string{
		`action="/portal/invite/a&#34;b"`, `name="csrf" value="t&#34;&lt;"`, `value="x&#34;&gt;&lt;script&gt;"`,
		`value="&lt;b&gt;&#34;1&#34;&lt;/b&gt;"`,
		`<div class="error-summary" role="alert"`, `<a href="#newPassword">New password must be &lt;8&gt; to 128 characters</a>`,
		`aria-describedby="code-hint">`,
		`aria-describedby="newPassword-error" aria-invalid="true" autofocus>`,
		`id="other" name="other" type="text" required aria-describedby="other-error" aria-invalid="true">`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("form lacks %s\n%s", want, got)
		}
	}
	for _, bad := range []string{"<script>", "secret", `"1"`} {
		if strings.Contains(got, bad) {
			t.Errorf("form contains %s", bad)
		}
	}
	if strings.Count(got, "autofocus") != 1 {
		t.Error("not exactly one autofocus")
	}
}

func TestErrorPages(t *testing.T) {
	for _, tt := range []struct {
		err    error
		status int
		retry  string
	}{
		{clientele.Errorf(clientele.Forbidden, "x"), 403, ""},
		{&clientele.Error{Code: clientele.Unavailable, RetryAfter: 1500 * time.Millisecond}, 503, "2"},
		{&clientele.Error{Code: clientele.Gated}, 429, "1"},
		{errBoom, 500, ""},
	} {
		r := Error(tt.err)
		if r.StatusCode != tt.status || r.Headers["Retry-After"] != tt.retry || r.Headers["Content-Type"] != "text/html; charset=utf-8" {
			t.Errorf("%v: %d %v", tt.err, r.StatusCode, r.Headers)
		}
		if strings.Contains(r.Body, "boom") || strings.Contains(r.Body, `"x"`) {
			t.Errorf("%v: the cause shows:\n%s", tt.err, r.Body)
		}
	}
}

var errBoom = errorString("boom: table down")

type errorString string

func (e errorString) Error() string { return string(e) }
