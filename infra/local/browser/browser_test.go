package browser_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/clientele/clientele/infra/local/mailbox"
	"github.com/clientele/clientele/infra/local/stack"
	"github.com/clientele/clientele/infra/template"
	"github.com/clientele/clientele/shared/clock"
)

// chromiumPath finds Debian's Chromium: $CHROMIUM, else chromium on PATH.
// Missing, the test fails (never skips) saying how to install it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("Chromium is missing: the browser tests need it. Install it with `apt-get install -y chromium` " +
		"(Debian; .ci/run does this), or set CHROMIUM to a Chromium binary.")
	return ""
}

// browser starts a headless Chromium with a fresh profile.
func browser(t *testing.T) context.Context {
	t.Helper()
	// A fresh profile, removed after the browser is gone (not t.TempDir:
	// Chromium's helper processes can still be writing to it as it exits).
	profile, err := os.MkdirTemp("", "clientele-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox, // root in CI containers
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(900, 1000),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
		_ = os.RemoveAll(profile)
	})
	if err := chromedp.Run(ctx); err != nil { // starts the browser
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// env is the local stack over HTTP and a browser.
type env struct {
	t     *testing.T
	st    *stack.Stack
	url   string
	owner string
	ctx   context.Context
	shots string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := browser(t)
	clk := clock.NewManual(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	st, err := stack.Start(context.Background(), stack.Options{Clock: clk})
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	srv := httptest.NewServer(st.Handler())
	t.Cleanup(func() { srv.Close(); st.Close() })
	tmpl, err := template.FindFile()
	if err != nil {
		t.Fatal(err)
	}
	shots := filepath.Join(filepath.Dir(tmpl), ".build", "screenshots")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, st: st, url: srv.URL, owner: st.Token("demo", "owner", "owner-1"), ctx: ctx, shots: shots}
}

// api calls the JSON API and returns the status and decoded body.
func (e *env) api(method, path, token string, body any) (int, map[string]any) {
	e.t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(string(b)))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (e *env) login(email, password string) int {
	status, _ := e.api("POST", "/v1/portal/login", "", map[string]any{"portalId": "demo", "email": email, "password": password})
	return status
}

// mail reads the local mailbox as a person would: /_local/mail.json,
// newest first.
func (e *env) mail() []mailbox.Message {
	e.t.Helper()
	resp, err := http.Get(e.url + "/_local/mail.json")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var box struct {
		Messages []mailbox.Message `json:"messages"`
	}
	if err := json.Unmarshal(b, &box); err != nil {
		e.t.Fatalf("mail.json: %v: %s", err, b)
	}
	return box.Messages
}

// run runs browser actions, failing the test with what it was doing.
func (e *env) run(what string, actions ...chromedp.Action) {
	e.t.Helper()
	if err := chromedp.Run(e.ctx, actions...); err != nil {
		e.t.Fatalf("%s: %v", what, err)
	}
}

// shot saves a full-page screenshot of the current page as name.png.
func (e *env) shot(name string) {
	e.t.Helper()
	var png []byte
	e.run("screenshot "+name, chromedp.FullScreenshot(&png, 100)) // quality 100: PNG
	if err := os.WriteFile(filepath.Join(e.shots, name+".png"), png, 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// text is the text of the first node matching sel.
func (e *env) text(sel string) string {
	e.t.Helper()
	var s string
	e.run("read "+sel, chromedp.Text(sel, &s, chromedp.ByQuery))
	return strings.Join(strings.Fields(s), " ")
}

// focused is the id of the element that has the focus.
func (e *env) focused() string {
	e.t.Helper()
	var id string
	e.run("read the focus", chromedp.Evaluate(`document.activeElement ? document.activeElement.id : ""`, &id))
	return id
}

func TestInvitationInChromium(t *testing.T) {
	e := newEnv(t)
	if s, _ := e.api("PATCH", "/v1/portal", e.owner, map[string]any{"name": "Acme <Studio> & Co"}); s != 200 {
		t.Fatalf("portal name: %d", s)
	}
	_, company := e.api("POST", "/v1/companies", e.owner, map[string]any{"name": "Initech"})
	if s, body := e.api("POST", "/v1/users", e.owner, map[string]any{"emails": "peter@initech.example", "companyId": company["id"]}); s != 201 {
		t.Fatalf("add user: %d %v", s, body)
	}
	var link string
	for _, m := range e.mail() {
		for _, l := range m.Links {
			if strings.Contains(l, "/portal/invite/") && m.To[0] == "peter@initech.example" {
				link = l
			}
		}
	}
	if !strings.HasPrefix(link, e.url+"/portal/invite/demo.") {
		t.Fatalf("invitation link %q", link)
	}

	var title string
	e.run("open the invitation", chromedp.Navigate(link), chromedp.WaitVisible("#password", chromedp.ByID), chromedp.Title(&title))
	if title != "Accept your invitation · Acme <Studio> & Co" {
		t.Fatalf("title %q", title) // escaped in HTML, shown as written
	}
	if h := e.text("h1"); h != "Welcome to Acme <Studio> & Co" {
		t.Fatalf("heading %q", h)
	}
	if hint := e.text("#password-hint"); hint != "8 to 128 characters, and not your email address." {
		t.Fatalf("policy %q", hint)
	}
	e.shot("1-invite")

	// A refused password: the form again, the error announced, the field focused.
	e.run("submit the address as password",
		chromedp.SendKeys("#password", "peter@initech.example", chromedp.ByID),
		chromedp.Click("button[type=submit]", chromedp.ByQuery),
		chromedp.WaitVisible(`[role="alert"]`, chromedp.ByQuery))
	if msg := e.text("#password-error"); msg != "Error: Password must not be your email address" {
		t.Fatalf("error %q", msg)
	}
	if f := e.focused(); f != "password" {
		t.Fatalf("focus on %q, want the password field", f)
	}
	e.shot("2-invite-error")

	e.run("accept",
		chromedp.SendKeys("#password", "correct horse battery", chromedp.ByID),
		chromedp.Click("button[type=submit]", chromedp.ByQuery),
		chromedp.WaitVisible(`//h1[text()="Your password is set"]`, chromedp.BySearch))
	e.shot("3-invite-accepted")
	if got := e.login("peter@initech.example", "correct horse battery"); got != 200 {
		t.Fatalf("login after accepting: %d", got)
	}

	// The link is used up.
	e.run("open the link again", chromedp.Navigate(link), chromedp.WaitVisible(`//h1[text()="This invitation link does not work"]`, chromedp.BySearch))
	e.shot("4-invite-used")
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

func TestPasswordResetInChromium(t *testing.T) {
	e := newEnv(t)
	_, company := e.api("POST", "/v1/companies", e.owner, map[string]any{"name": "Umbrella"})
	e.api("POST", "/v1/users", e.owner, map[string]any{"emails": "alice@umbrella.example", "companyId": company["id"]})
	token := ""
	for _, l := range e.mail()[0].Links {
		if i := strings.Index(l, "/portal/invite/"); i >= 0 {
			token = l[i+len("/portal/invite/"):]
		}
	}
	if s, _ := e.api("POST", "/v1/invites/"+token+"/accept", "", map[string]any{"password": "first password"}); s != 200 {
		t.Fatalf("accept: %d", s)
	}

	e.run("open the reset page", chromedp.Navigate(e.url+"/portal/reset?portal=demo"), chromedp.WaitVisible("#email", chromedp.ByID))
	e.shot("5-reset-request")
	before := len(e.mail())
	e.run("request a code",
		chromedp.SendKeys("#email", "alice@umbrella.example", chromedp.ByID),
		chromedp.Click("button[type=submit]", chromedp.ByQuery),
		chromedp.WaitVisible("#code", chromedp.ByID))
	e.shot("6-reset-code")
	msgs := e.mail()
	if len(msgs) != before+1 || msgs[0].To[0] != "alice@umbrella.example" {
		t.Fatalf("%d new messages", len(msgs)-before)
	}
	code := sixDigits.FindString(msgs[0].Text)

	// A wrong code first: the error, focus on the code.
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	e.run("enter a wrong code",
		chromedp.SendKeys("#code", wrong, chromedp.ByID),
		chromedp.SendKeys("#newPassword", "second password", chromedp.ByID),
		chromedp.Click("button[type=submit]", chromedp.ByQuery),
		chromedp.WaitVisible(`[role="alert"]`, chromedp.ByQuery))
	if f := e.focused(); f != "code" {
		t.Fatalf("focus on %q, want the code field", f)
	}
	e.shot("7-reset-wrong-code")

	e.run("enter the code",
		chromedp.SendKeys("#code", code, chromedp.ByID),
		chromedp.SendKeys("#newPassword", "second password", chromedp.ByID),
		chromedp.Click("button[type=submit]", chromedp.ByQuery),
		chromedp.WaitVisible(`//h1[text()="Your password is changed"]`, chromedp.BySearch))
	e.shot("8-reset-done")
	if old, now := e.login("alice@umbrella.example", "first password"), e.login("alice@umbrella.example", "second password"); old != 401 || now != 200 {
		t.Fatalf("login: old password %d, new password %d", old, now)
	}
}

func TestSignupInChromium(t *testing.T) {
	e := newEnv(t)
	_, company := e.api("POST", "/v1/companies", e.owner, map[string]any{"name": "Globex <Corp>"})
	cid := company["id"].(string)
	s, link := e.api("POST", "/v1/companies/"+cid+"/signup-link", e.owner, map[string]any{"allowedDomains": []string{"globex.example"}})
	url, _ := link["url"].(string)
	if s != 201 || !strings.HasPrefix(url, e.url+"/portal/signup/demo.") {
		t.Fatalf("sign-up link: %d %v", s, link)
	}

	var title string
	e.run("open the sign-up link", chromedp.Navigate(url), chromedp.WaitVisible("#email", chromedp.ByID), chromedp.Title(&title))
	if title != "Sign up · Demo Portal" {
		t.Fatalf("title %q", title)
	}
	if h := e.text("h1"); h != "Join Globex <Corp> on Demo Portal" {
		t.Fatalf("heading %q", h) // escaped in HTML, shown as written
	}
	if hint := e.text("#email-hint"); hint != "An address at globex.example." {
		t.Fatalf("hint %q", hint)
	}
	e.shot("9-signup")

	// An address the browser takes and the service refuses: the form
	// again, the error announced, the field focused, the name kept.
	e.run("submit an address without a real domain",
		chromedp.SendKeys("#email", "hank@localhost", chromedp.ByID),
		chromedp.SendKeys("#name", "Hank Scorpio", chromedp.ByID),
		chromedp.Click("button[type=submit]", chromedp.ByQuery),
		chromedp.WaitVisible(`[role="alert"]`, chromedp.ByQuery))
	if msg := e.text("#email-error"); msg != "Error: Email address has an invalid domain" {
		t.Fatalf("error %q", msg)
	}
	if f := e.focused(); f != "email" {
		t.Fatalf("focus on %q, want the email field", f)
	}
	var name string
	e.run("read the name", chromedp.Value("#name", &name, chromedp.ByID))
	if name != "Hank Scorpio" {
		t.Fatalf("the name was not kept: %q", name)
	}
	e.shot("10-signup-error")

	before := len(e.mail())
	e.run("sign up",
		chromedp.Clear("#email", chromedp.ByID),
		chromedp.SendKeys("#email", "hank@globex.example", chromedp.ByID),
		chromedp.Click("button[type=submit]", chromedp.ByQuery),
		chromedp.WaitVisible(`//h1[text()="Check your email"]`, chromedp.BySearch))
	e.shot("11-signup-sent")
	msgs := e.mail()
	if len(msgs) != before+1 || msgs[0].To[0] != "hank@globex.example" {
		t.Fatalf("%d new messages", len(msgs)-before)
	}
	invite := ""
	for _, l := range msgs[0].Links {
		if strings.Contains(l, "/portal/invite/") {
			invite = l
		}
	}
	e.run("open the invitation", chromedp.Navigate(invite), chromedp.WaitVisible("#password", chromedp.ByID))
	if h := e.text("h1"); h != "Welcome to Demo Portal" {
		t.Fatalf("invitation heading %q", h)
	}

	// Disabled, the link says so at once.
	if s, _ := e.api("DELETE", "/v1/companies/"+cid+"/signup-link", e.owner, nil); s != 204 {
		t.Fatalf("disable: %d", s)
	}
	e.run("open the disabled link", chromedp.Navigate(url), chromedp.WaitVisible(`//h1[text()="This sign-up link does not work"]`, chromedp.BySearch))
	e.shot("12-signup-disabled")
}
