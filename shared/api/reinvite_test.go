package api_test

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"
)

func TestReinviteGate(t *testing.T) {
	e := newUsersEnv(t)
	staff := func() string { return e.st.Token("demo", "admin", "admin-1") } // the clock moves past tokens' lives
	uid, first := e.inviteToken("gated@example.com")
	path := "/v1/users/" + uid + "/reinvite"

	r := e.call("POST", path, staff(), nil)
	want(t, r, 429)
	secs, _ := strconv.Atoi(r.Header.Get("Retry-After"))
	if secs < 86000 || secs > 86400 || r.String("reinviteAvailableAt") == "" {
		t.Fatalf("Retry-After %q, body %s", r.Header.Get("Retry-After"), r.Body)
	}
	if n := len(e.st.Mail.Messages()); n != 1 {
		t.Fatalf("%d emails", n)
	}

	e.clock.Advance(25 * time.Hour)
	r = e.call("POST", path, staff(), nil)
	want(t, r, 202)
	inv := r.JSON()["invite"].(map[string]any)
	if inv["state"] != "pending" || r.Header.Get("ETag") == "" {
		t.Fatalf("user %s", r.Body)
	}
	_, second := e.inviteToken2("gated@example.com")
	if second == first {
		t.Fatal("the re-invite reused the link")
	}
	want(t, e.call("GET", "/v1/invites/"+url.PathEscape(first), "", nil), 404)
	want(t, e.call("GET", "/v1/invites/"+url.PathEscape(second), "", nil), 200)

	// 30 at once, a day later: one email.
	e.clock.Advance(25 * time.Hour)
	tok := staff()
	results := parallel(30, func(int) resp {
		r, err := e.try("POST", path, tok, nil)
		if err != nil {
			t.Error(err)
		}
		return r
	})
	sent := 0
	for _, r := range results {
		switch r.Status {
		case 202:
			sent++
		case 429:
		default:
			t.Fatalf("status %d %s", r.Status, r.Body)
		}
	}
	if sent != 1 || len(e.st.Mail.Messages()) != 3 {
		t.Fatalf("%d sent, %d emails; want 1 and 3", sent, len(e.st.Mail.Messages()))
	}
	e.consistent()
}

// inviteToken2 is the newest invitation link mailed to email.
func (e usersEnv) inviteToken2(email string) (string, string) {
	e.t.Helper()
	for _, m := range e.st.Mail.Messages() { // newest first
		if m.To[0] == email {
			for _, l := range m.Links {
				return "", l[len(e.srv.URL+"/portal/invite/"):]
			}
		}
	}
	e.t.Fatalf("no mail to %s", email)
	return "", ""
}

func TestReinviteRefusals(t *testing.T) {
	e := newUsersEnv(t)
	off := e.addUser("off@example.com")
	want(t, e.call("POST", "/v1/users/"+off+"/deactivate", e.owner, nil), 200)
	quiet := e.addUser("quiet@example.com", map[string]any{"portalAccess": false})
	uid, token := e.inviteToken("done@example.com")
	want(t, e.call("POST", "/v1/invites/"+url.PathEscape(token)+"/accept", "", map[string]any{"password": "long enough pw"}), 200)
	e.clock.Advance(25 * time.Hour)
	staff := e.st.Token("demo", "owner", "o")
	for _, id := range []string{off, quiet, uid} {
		want(t, e.call("POST", "/v1/users/"+id+"/reinvite", staff, nil), 409)
	}
	want(t, e.call("POST", "/v1/users/01JBZZZZZZZZZZZZZZZZZZZZZZ/reinvite", staff, nil), 404)
	want(t, e.call("POST", "/v1/users/"+off+"/reinvite", e.st.Token("demo", "member", "m"), nil), 403)
}

func TestReinviteMailFailure(t *testing.T) {
	e := newUsersEnv(t)
	uid := e.addUser("flaky@example.com")
	e.clock.Advance(25 * time.Hour)
	staff := e.st.Token("demo", "owner", "o")
	e.st.Mail.FailWith(http.StatusServiceUnavailable, "ServiceUnavailable")
	r := e.call("POST", "/v1/users/"+uid+"/reinvite", staff, nil)
	e.st.Mail.FailWith(0, "")
	want(t, r, 503)
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	u := e.call("GET", "/v1/users/"+uid, staff, nil).JSON()
	if u["status"] != "invited" || u["invite"].(map[string]any)["lastError"] == nil {
		t.Fatalf("user %v", u)
	}
	// Nothing stayed locked: the next try sends.
	want(t, e.call("POST", "/v1/users/"+uid+"/reinvite", staff, nil), 202)
	if u := e.call("GET", "/v1/users/"+uid, staff, nil).JSON(); u["invite"].(map[string]any)["lastError"] != nil {
		t.Fatalf("lastError kept after a successful send: %v", u)
	}
	e.consistent()
}
