package api_test

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// inviteToken adds a user and returns the token of the link in their mail.
func (e usersEnv) inviteToken(email string) (userID, token string) {
	e.t.Helper()
	return e.addUser(email), inviteTokenOf(e.env, email)
}

func TestAcceptInvitation(t *testing.T) {
	e := newUsersEnv(t)
	uid, token := e.inviteToken("new.client@example.com")
	path := "/v1/invites/" + url.PathEscape(token)

	r := e.call("GET", path, "", nil)
	want(t, r, 200)
	if v := r.JSON(); v["email"] != "new.client@example.com" || v["companyName"] != "Client Co" || v["portalName"] != "Demo Portal" {
		t.Fatalf("invite %v", v)
	}
	for _, tt := range []struct{ name, password string }{
		{"too short", "short"},
		{"the email itself", "New.Client@example.com"},
		{"too long", strings.Repeat("x", 129)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call("POST", path+"/accept", "", map[string]any{"password": tt.password})
			want(t, r, 400)
			if !strings.Contains(string(r.Body), `"field":"password"`) {
				t.Fatalf("body %s", r.Body)
			}
		})
	}
	r = e.call("POST", path+"/accept", "", map[string]any{"password": "a long secret phrase", "name": "New Client"})
	want(t, r, 200)
	sess := r.JSON()
	session := sess["token"].(string)
	u := sess["user"].(map[string]any)
	if u["status"] != "active" || u["name"] != "New Client" || u["acceptedAt"] == nil || u["invite"].(map[string]any)["state"] != "accepted" {
		t.Fatalf("accepted user %v", u)
	}
	if strings.Contains(string(r.Body), "a long secret phrase") || strings.Contains(string(e.call("GET", "/v1/users/"+uid, e.owner, nil).Body), "argon2") {
		t.Fatal("the password or its hash leaked")
	}
	// Single use.
	want(t, e.call("POST", path+"/accept", "", map[string]any{"password": "another long secret"}), 404)
	want(t, e.call("GET", path, "", nil), 404)

	// The session opens /v1/me and nothing of the staff's.
	me := e.call("GET", "/v1/me", session, nil)
	want(t, me, 200)
	if me.JSON()["id"] != uid {
		t.Fatalf("me %s", me.Body)
	}
	want(t, e.call("GET", "/v1/companies", session, nil), 401)
	want(t, e.call("GET", "/v1/me", e.owner, nil), 401)
	want(t, e.call("GET", "/v1/me", "", nil), 401)
	want(t, e.call("GET", "/v1/me", "demo."+strings.Repeat("A", 43), nil), 401)

	// Logout ends the session at once.
	want(t, e.call("POST", "/v1/portal/logout", session, nil), 204)
	want(t, e.call("GET", "/v1/me", session, nil), 401)
	want(t, e.call("POST", "/v1/portal/logout", session, nil), 401)

	h := e.call("GET", "/v1/users/"+uid+"/history", e.owner, nil).JSON()["items"].([]any)[0].(map[string]any)
	if h["action"] != "user.accepted" || h["actor"].(map[string]any)["type"] != "client" {
		t.Fatalf("history %v", h)
	}
	e.consistent()
}

func TestInvitationLinkStates(t *testing.T) {
	e := newUsersEnv(t)
	_, expiring := e.inviteToken("late@example.com")
	deactivated, token := e.inviteToken("off@example.com")
	want(t, e.call("POST", "/v1/users/"+deactivated+"/deactivate", e.owner, nil), 200)
	tests := []struct {
		name   string
		token  string
		status int
	}{
		{"unknown", "demo." + strings.Repeat("B", 43), 404},
		{"malformed", "not-a-token", 404},
		{"other portal's shape", "other." + strings.Repeat("B", 43), 404},
		{"deactivated user", token, 409},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want(t, e.call("GET", "/v1/invites/"+url.PathEscape(tt.token), "", nil), tt.status)
			want(t, e.call("POST", "/v1/invites/"+url.PathEscape(tt.token)+"/accept", "", map[string]any{"password": "long enough pw"}), tt.status)
		})
	}
	// The link lives inviteLinkTtlHours (168 by default).
	e.clock.Advance(168 * time.Hour)
	want(t, e.call("GET", "/v1/invites/"+url.PathEscape(expiring), "", nil), 410)
	want(t, e.call("POST", "/v1/invites/"+url.PathEscape(expiring)+"/accept", "", map[string]any{"password": "long enough pw"}), 410)
	e.consistent()
}

func TestSessionExpiresAndDeactivationEndsIt(t *testing.T) {
	e := newUsersEnv(t)
	uid, token := e.inviteToken("s@example.com")
	r := e.call("POST", "/v1/invites/"+url.PathEscape(token)+"/accept", "", map[string]any{"password": "long enough pw"})
	want(t, r, 200)
	session := r.String("token")
	want(t, e.call("GET", "/v1/me", session, nil), 200)
	want(t, e.call("POST", "/v1/users/"+uid+"/deactivate", e.st.Token("demo", "owner", "o"), nil), 200)
	want(t, e.call("GET", "/v1/me", session, nil), 401)
	want(t, e.call("POST", "/v1/users/"+uid+"/activate", e.st.Token("demo", "owner", "o"), nil), 200)
	want(t, e.call("GET", "/v1/me", session, nil), 200)
	e.clock.Advance(12 * time.Hour)
	want(t, e.call("GET", "/v1/me", session, nil), 401)
}
