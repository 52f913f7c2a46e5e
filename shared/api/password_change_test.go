package api_test

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestChangePassword: POST /v1/me/password checks the current password
// through the login lockout, answers a new session and ends every other.
func TestChangePassword(t *testing.T) {
	e := newUsersEnv(t)
	login := func(email, pw string) resp {
		return e.call("POST", "/v1/portal/login", "", map[string]any{"portalId": "demo", "email": email, "password": pw})
	}
	change := func(session, current, next string) resp {
		return e.call("POST", "/v1/me/password", session, map[string]any{"currentPassword": current, "newPassword": next})
	}
	// signedIn makes an active user with password "long enough pw" and two sessions.
	signedIn := func(email string) (uid, first, second string) {
		t.Helper()
		uid, first = e.session(email)
		r := login(email, "long enough pw")
		want(t, r, 200)
		return uid, first, r.String("token")
	}

	t.Run("success", func(t *testing.T) {
		const email = "changer@example.com"
		uid, first, second := signedIn(email)
		r := change(first, "long enough pw", "a brand new passphrase")
		want(t, r, 200)
		fresh := r.String("token")
		if fresh == "" || fresh == first || fresh == second {
			t.Fatalf("no new session: %s", r.Body)
		}
		if exp, err := time.Parse(time.RFC3339, r.String("expiresAt")); err != nil || !exp.After(e.clock.Now()) {
			t.Fatalf("expiresAt %q", r.String("expiresAt"))
		}
		// The session used for the call and the other one both ended.
		for _, s := range []string{first, second} {
			want(t, e.call("GET", "/v1/me", s, nil), 401)
		}
		if me := e.call("GET", "/v1/me", fresh, nil); me.Status != 200 || me.String("id") != uid {
			t.Fatalf("new session: %d %s", me.Status, me.Body)
		}
		want(t, login(email, "long enough pw"), 401)
		want(t, login(email, "a brand new passphrase"), 200)
		// The old session cannot change it again.
		want(t, change(first, "a brand new passphrase", "yet another phrase"), 401)
		if strings.Contains(string(e.call("GET", "/v1/users/"+uid+"/history", e.owner, nil).Body), "user.password_changed") == false {
			t.Fatal("the change is not in the user's history")
		}
	})

	t.Run("bad bodies change nothing", func(t *testing.T) {
		const email = "Careful.Changer@example.com"
		_, session, _ := signedIn(email)
		for _, tt := range []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"short new password", map[string]any{"currentPassword": "long enough pw", "newPassword": "short"}, "newPassword"},
			{"the email as new password", map[string]any{"currentPassword": "long enough pw", "newPassword": "careful.changer@EXAMPLE.com"}, "newPassword"},
			{"too long new password", map[string]any{"currentPassword": "long enough pw", "newPassword": strings.Repeat("x", 129)}, "newPassword"},
			{"no current password", map[string]any{"newPassword": "a brand new passphrase"}, "currentPassword"},
			{"no new password", map[string]any{"currentPassword": "long enough pw"}, "newPassword"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				r := e.call("POST", "/v1/me/password", session, tt.body)
				want(t, r, 400)
				if !strings.Contains(string(r.Body), `"field":"`+tt.field+`"`) {
					t.Fatalf("body %s", r.Body)
				}
			})
		}
		want(t, e.call("GET", "/v1/me", session, nil), 200)
		want(t, login(email, "long enough pw"), 200)
	})

	t.Run("no or invalid token", func(t *testing.T) {
		_, session, _ := signedIn("tokenless@example.com")
		for name, tok := range map[string]string{
			"none": "", "unknown": "demo.notarealsessiontoken", "staff": e.owner,
			"other portal": "tenant-b." + session[strings.IndexByte(session, '.')+1:],
		} {
			t.Run(name, func(t *testing.T) {
				want(t, change(tok, "long enough pw", "a brand new passphrase"), 401)
			})
		}
		want(t, login("tokenless@example.com", "long enough pw"), 200)
	})

	t.Run("wrong current password counts toward the lockout", func(t *testing.T) {
		const email = "guesser@example.com"
		_, session, second := signedIn(email)
		wrongLogin := login(email, "not the password")
		want(t, wrongLogin, 401) // one failure by login
		for range 3 {
			r := change(session, "not the password", "a brand new passphrase")
			want(t, r, 401)
		}
		want(t, e.call("GET", "/v1/me", session, nil), 200) // a wrong password ends no session
		want(t, login(email, "not the password"), 401)      // the fifth
		for name, r := range map[string]resp{
			"login":  login(email, "long enough pw"),
			"change": change(second, "long enough pw", "a brand new passphrase"),
		} {
			want(t, r, 429)
			if s, _ := strconv.Atoi(r.Header.Get("Retry-After")); s < 1 || s > 900 {
				t.Fatalf("%s: Retry-After %q", name, r.Header.Get("Retry-After"))
			}
		}
		e.clock.Advance(15 * time.Minute)
		r := change(session, "long enough pw", "a brand new passphrase")
		want(t, r, 200)
		want(t, e.call("GET", "/v1/me", second, nil), 401)
		want(t, login(email, "a brand new passphrase"), 200)
	})

	t.Run("a change locks login too", func(t *testing.T) {
		const email = "locker@example.com"
		_, session, _ := signedIn(email)
		for range 5 {
			want(t, change(session, "wrong guess", "a brand new passphrase"), 401)
		}
		want(t, login(email, "long enough pw"), 429)
		want(t, change(session, "long enough pw", "a brand new passphrase"), 429)
	})

	t.Run("a successful change clears the failures", func(t *testing.T) {
		const email = "recoverer@example.com"
		_, session, _ := signedIn(email)
		for range 4 {
			want(t, change(session, "wrong guess", "a brand new passphrase"), 401)
		}
		r := change(session, "long enough pw", "a brand new passphrase")
		want(t, r, 200)
		want(t, login(email, "wrong guess"), 401)
		want(t, login(email, "a brand new passphrase"), 200)
	})

	t.Run("concurrent changes: one wins", func(t *testing.T) {
		const email = "racer@example.com"
		_, first, second := signedIn(email)
		got := parallel(2, func(i int) resp {
			s := []string{first, second}[i]
			r, err := e.try("POST", "/v1/me/password", s, map[string]any{"currentPassword": "long enough pw", "newPassword": "racing phrase " + strconv.Itoa(i)})
			if err != nil {
				t.Error(err)
			}
			return r
		})
		ok := 0
		for _, r := range got {
			if r.Status == 200 {
				ok++
			} else if r.Status != 401 {
				t.Fatalf("status %d %s", r.Status, r.Body)
			}
		}
		if ok < 1 {
			t.Fatal("no change won")
		}
		want(t, e.call("GET", "/v1/me", first, nil), 401)
		want(t, e.call("GET", "/v1/me", second, nil), 401)
	})
	e.consistent()
}
