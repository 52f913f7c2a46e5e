package api_test

import (
	"net/url"
	"strconv"
	"testing"
	"time"
)

func TestLogin(t *testing.T) {
	e := newUsersEnv(t)
	uid, token := e.inviteToken("signin@example.com")
	want(t, e.call("POST", "/v1/invites/"+url.PathEscape(token)+"/accept", "", map[string]any{"password": "right password"}), 200)
	e.addUser("never.accepted@example.com")
	login := func(email, password string) resp {
		return e.call("POST", "/v1/portal/login", "", map[string]any{"portalId": "demo", "email": email, "password": password})
	}

	r := login("SIGNIN@example.com", "right password")
	want(t, r, 200)
	session := r.String("token")
	if me := e.call("GET", "/v1/me", session, nil); me.JSON()["id"] != uid {
		t.Fatalf("me %s", me.Body)
	}
	// One 401 for every way of being wrong, so it tells nothing.
	wrong := login("signin@example.com", "wrong password")
	want(t, wrong, 401)
	for _, r := range []resp{
		login("nobody@example.com", "right password"),
		login("never.accepted@example.com", "right password"),
	} {
		want(t, r, 401)
		if r.String("detail") != wrong.String("detail") {
			t.Fatalf("%q differs from %q", r.String("detail"), wrong.String("detail"))
		}
	}
	want(t, e.call("POST", "/v1/portal/login", "", map[string]any{"portalId": "other", "email": "signin@example.com", "password": "right password"}), 401)
	want(t, e.call("POST", "/v1/portal/login", "", map[string]any{"portalId": "demo", "email": "x"}), 400)

	// Five failures in 15 minutes lock the address, even for the right password.
	for range 3 {
		want(t, login("signin@example.com", "wrong password"), 401)
	}
	want(t, login("signin@example.com", "wrong password"), 401) // the fifth
	r = login("signin@example.com", "right password")
	want(t, r, 429)
	if s, _ := strconv.Atoi(r.Header.Get("Retry-After")); s < 1 || s > 900 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	e.clock.Advance(15 * time.Minute)
	want(t, login("signin@example.com", "right password"), 200)

	// Deactivated users are refused with the same 401.
	want(t, e.call("POST", "/v1/users/"+uid+"/deactivate", e.st.Token("demo", "owner", "o"), nil), 200)
	r = login("signin@example.com", "right password")
	want(t, r, 401)
	if r.String("detail") != wrong.String("detail") {
		t.Fatal("a deactivated user's refusal differs")
	}
}

func TestLoginLockoutUnderConcurrency(t *testing.T) {
	e := newUsersEnv(t)
	_, token := e.inviteToken("busy@example.com")
	want(t, e.call("POST", "/v1/invites/"+url.PathEscape(token)+"/accept", "", map[string]any{"password": "right password"}), 200)
	parallel(12, func(int) resp {
		r, err := e.try("POST", "/v1/portal/login", "", map[string]any{"portalId": "demo", "email": "busy@example.com", "password": "guess"})
		if err != nil {
			t.Error(err)
		}
		return r
	})
	// At least five of the twelve failures counted: the address is locked.
	want(t, e.call("POST", "/v1/portal/login", "", map[string]any{"portalId": "demo", "email": "busy@example.com", "password": "right password"}), 429)
}
