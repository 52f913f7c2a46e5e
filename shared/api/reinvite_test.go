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
	second := inviteTokenOf(e.env, "gated@example.com")
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

func TestBulkReinvite(t *testing.T) {
	e := newUsersEnv(t)
	a, b := e.addUser("a@example.com"), e.addUser("b@example.com")
	off := e.addUser("off@example.com")
	want(t, e.call("POST", "/v1/users/"+off+"/deactivate", e.owner, nil), 200)
	e.clock.Advance(25 * time.Hour)
	staff := e.st.Token("demo", "owner", "o")
	want(t, e.call("POST", "/v1/users/"+a+"/reinvite", staff, nil), 202) // a's gate closes again

	r := e.call("POST", "/v1/users/reinvite", staff, map[string]any{"userIds": []string{a, b, off, "01JBZZZZZZZZZZZZZZZZZZZZZZ"}})
	want(t, r, 200)
	got := map[string]string{}
	for _, it := range r.JSON()["results"].([]any) {
		m := it.(map[string]any)
		got[m["userId"].(string)] = m["outcome"].(string)
		if m["outcome"] == "gated" && m["reinviteAvailableAt"] == nil {
			t.Fatalf("gated without reinviteAvailableAt: %v", m)
		}
	}
	if got[a] != "gated" || got[b] != "sent" || got[off] != "conflict" || got["01JBZZZZZZZZZZZZZZZZZZZZZZ"] != "conflict" {
		t.Fatalf("outcomes %v", got)
	}

	// Every pending user, a day later: a and b (off is deactivated, not pending).
	e.clock.Advance(25 * time.Hour)
	staff = e.st.Token("demo", "owner", "o")
	before := len(e.st.Mail.Messages())
	r = e.call("POST", "/v1/users/reinvite", staff, map[string]any{"status": "invited"})
	want(t, r, 200)
	if n := len(r.JSON()["results"].([]any)); n != 2 || len(e.st.Mail.Messages()) != before+2 || r.JSON()["nextCursor"] != nil {
		t.Fatalf("%d results, %d new emails: %s", n, len(e.st.Mail.Messages())-before, r.Body)
	}
	// Run again at once: the gate holds every one of them.
	r = e.call("POST", "/v1/users/reinvite", staff, map[string]any{"status": "invited"})
	for _, it := range r.JSON()["results"].([]any) {
		if it.(map[string]any)["outcome"] != "gated" {
			t.Fatalf("second run %s", r.Body)
		}
	}
	want(t, e.call("POST", "/v1/users/reinvite", staff, map[string]any{}), 400)
	want(t, e.call("POST", "/v1/users/reinvite", staff, map[string]any{"userIds": []string{a}, "status": "invited"}), 400)
	e.consistent()
}

// TestReinviteStateBeforeGate: a user who cannot
// be re-invited (deactivated, already accepted) is refused with 409 even
// inside the 24 h window: api.md checks the state before the gate. The
// bulk route says "conflict" for them, not "gated".
func TestReinviteStateBeforeGate(t *testing.T) {
	e := newUsersEnv(t)
	off := e.addUser("off.in.window@example.com")
	want(t, e.call("POST", "/v1/users/"+off+"/deactivate", e.owner, nil), 200)
	done, token := e.inviteToken("accepted.in.window@example.com")
	want(t, e.call("POST", "/v1/invites/"+url.PathEscape(token)+"/accept", "", map[string]any{"password": "long enough pw"}), 200)
	quiet := e.addUser("quiet.in.window@example.com", map[string]any{"portalAccess": false})
	pending := e.addUser("pending.in.window@example.com")
	tests := []struct {
		name, id string
		status   int    // POST /v1/users/{userId}/reinvite
		outcome  string // in POST /v1/users/reinvite
	}{
		{"deactivated", off, 409, "conflict"},
		{"accepted", done, 409, "conflict"},
		{"without portal access", quiet, 409, "conflict"},
		{"invited: the gate", pending, 429, "gated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call("POST", "/v1/users/"+tt.id+"/reinvite", e.owner, nil)
			if r.Status != tt.status {
				t.Errorf("POST /v1/users/{userId}/reinvite: %d %s, want %d", r.Status, r.Body, tt.status)
			}
			b := e.call("POST", "/v1/users/reinvite", e.owner, map[string]any{"userIds": []string{tt.id}})
			want(t, b, 200)
			if got := b.JSON()["results"].([]any)[0].(map[string]any)["outcome"]; got != tt.outcome {
				t.Errorf("POST /v1/users/reinvite: outcome %v, want %s", got, tt.outcome)
			}
		})
	}
}
