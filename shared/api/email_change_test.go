package api_test

import (
	"net/http"
	"net/url"
	"testing"
)

// TestChangeEmail: PATCH /v1/users/{id} email moves the uniqueness guard
// in the user's transaction, kills an invited user's old link and mails a
// new one to the new address, follows in lists and searches, and is in the
// history.
func TestChangeEmail(t *testing.T) {
	e := newUsersEnv(t)
	uid, oldToken := e.inviteToken("old.addr@example.com")
	other := e.addUser("taken@example.com")
	quiet := e.addUser("no.access@example.com", map[string]any{"portalAccess": false})
	path := "/v1/users/" + uid
	for _, tc := range []struct {
		name   string
		body   map[string]any
		status int
	}{
		{"null", map[string]any{"email": nil}, 400},
		{"invalid", map[string]any{"email": "not an address"}, 400},
		{"taken", map[string]any{"email": " Taken@EXAMPLE.com "}, 409},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call("PATCH", path, e.owner, tc.body)
			want(t, r, tc.status)
			if tc.status == 409 && r.String("existingUserId") != other {
				t.Fatalf("409 body %s", r.Body)
			}
		})
	}
	before := len(e.st.Mail.Messages())
	r := e.call("PATCH", path, e.owner, map[string]any{"email": "  New.Addr@EXAMPLE.com "})
	want(t, r, 200)
	if r.String("email") != "New.Addr@example.com" || r.String("id") != uid {
		t.Fatalf("user %s", r.Body)
	}
	msgs := e.st.Mail.Messages()
	if len(msgs) != before+1 || msgs[0].To[0] != "New.Addr@example.com" {
		t.Fatalf("mail %+v", msgs)
	}
	newToken := inviteTokenOf(e.env, "New.Addr@example.com")
	want(t, e.call("GET", "/v1/invites/"+url.PathEscape(oldToken), "", nil), 404)
	if got := e.call("GET", "/v1/invites/"+url.PathEscape(newToken), "", nil); got.Status != 200 || got.String("email") != "New.Addr@example.com" {
		t.Fatalf("new link: %d %s", got.Status, got.Body)
	}
	// History, lists and searches follow.
	h := e.call("GET", path+"/history", e.owner, nil).JSON()["items"].([]any)
	ch, _ := h[0].(map[string]any)["changes"].(map[string]any)["email"].(map[string]any)
	if ch["from"] != "old.addr@example.com" || ch["to"] != "New.Addr@example.com" {
		t.Fatalf("history %v", h[0])
	}
	for _, q := range []string{"/v1/users?q=new.addr", "/v1/users?status=invited&q=new", "/v1/companies/" + e.company + "/users?q=new.addr"} {
		items := e.call("GET", q, e.owner, nil).JSON()["items"].([]any)
		if len(items) != 1 || items[0].(map[string]any)["email"] != "New.Addr@example.com" {
			t.Fatalf("%s: %v", q, items)
		}
	}
	if items := e.call("GET", "/v1/users?q=old.addr", e.owner, nil).JSON()["items"].([]any); len(items) != 0 {
		t.Fatalf("old address still found: %v", items)
	}
	// The old address is free: a new user can take it.
	e.addUser("old.addr@example.com")
	// A user without portal access gets no email.
	before = len(e.st.Mail.Messages())
	want(t, e.call("PATCH", "/v1/users/"+quiet, e.owner, map[string]any{"email": "still.quiet@example.com"}), 200)
	if len(e.st.Mail.Messages()) != before {
		t.Fatal("a user without portal access was mailed")
	}
	e.consistent()
}

// TestChangeEmailMailFailure: when the invitation to the new address cannot
// be sent, the change stands (200), the old link is dead all the same, the
// user says why in invite.lastError, and the 24-hour gate is open again: a
// re-invite right away sends to the new address and clears the error.
func TestChangeEmailMailFailure(t *testing.T) {
	e := newUsersEnv(t)
	uid, oldToken := e.inviteToken("moving@example.com")
	e.st.Mail.FailWith(http.StatusServiceUnavailable, "ServiceUnavailable")
	r := e.call("PATCH", "/v1/users/"+uid, e.owner, map[string]any{"email": "moved@example.com"})
	e.st.Mail.FailWith(0, "")
	want(t, r, 200)
	if inv, _ := r.JSON()["invite"].(map[string]any); r.String("email") != "moved@example.com" || inv == nil || inv["lastError"] == nil {
		t.Fatalf("answer %s, want the new address with invite.lastError", r.Body)
	}
	want(t, e.call("GET", "/v1/invites/"+url.PathEscape(oldToken), "", nil), 404)
	before := len(e.st.Mail.Messages())
	want(t, e.call("POST", "/v1/users/"+uid+"/reinvite", e.owner, nil), 202)
	msgs := e.st.Mail.Messages()
	if len(msgs) != before+1 || msgs[0].To[0] != "moved@example.com" {
		t.Fatalf("re-invite mail %+v", msgs)
	}
	if u := e.call("GET", "/v1/users/"+uid, e.owner, nil).JSON(); u["invite"].(map[string]any)["lastError"] != nil {
		t.Fatalf("lastError kept after a successful send: %v", u)
	}
	e.consistent()
}

// TestChangeEmailConcurrently: two users changing to the same address at
// once: exactly one succeeds, the other is 409.
func TestChangeEmailConcurrently(t *testing.T) {
	e := newUsersEnv(t)
	ids := []string{e.addUser("first@example.com"), e.addUser("second@example.com")}
	results := parallel(2, func(i int) resp {
		r, err := e.try("PATCH", "/v1/users/"+ids[i], e.owner, map[string]any{"email": "wanted@example.com"})
		if err != nil {
			t.Error(err)
		}
		return r
	})
	ok, conflict := 0, 0
	for _, r := range results {
		switch r.Status {
		case 200:
			ok++
		case 409:
			conflict++
		default:
			t.Fatalf("status %d %s", r.Status, r.Body)
		}
	}
	if ok != 1 || conflict != 1 {
		t.Fatalf("%d succeeded, %d conflicts", ok, conflict)
	}
	e.consistent()
}
