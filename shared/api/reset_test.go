package api_test

import (
	"net/url"
	"regexp"
	"testing"
	"time"
)

var codePattern = regexp.MustCompile(`\b\d{6}\b`)

// resetCode asks for a code for email and returns the one mailed.
func (e usersEnv) resetCode(email string) string {
	e.t.Helper()
	before := len(e.st.Mail.Messages())
	want(e.t, e.call("POST", "/v1/portal/password-reset", "", map[string]any{"portalId": "demo", "email": email}), 202)
	msgs := e.st.Mail.Messages()
	if len(msgs) != before+1 {
		e.t.Fatalf("%d reset emails", len(msgs)-before)
	}
	return codePattern.FindString(msgs[0].Text)
}

func TestPasswordReset(t *testing.T) {
	e := newUsersEnv(t)
	_, token := e.inviteToken("forgetful@example.com")
	r := e.call("POST", "/v1/invites/"+url.PathEscape(token)+"/accept", "", map[string]any{"password": "old password"})
	want(t, r, 200)
	session := r.String("token")
	e.addUser("pending@example.com")
	confirm := func(code, password string) resp {
		return e.call("POST", "/v1/portal/password-reset/confirm", "", map[string]any{
			"portalId": "demo", "email": "forgetful@example.com", "code": code, "newPassword": password})
	}

	// No enumeration: 202 for anyone, a code only for someone with a password.
	mails := len(e.st.Mail.Messages())
	for _, a := range []string{"nobody@example.com", "pending@example.com"} {
		want(t, e.call("POST", "/v1/portal/password-reset", "", map[string]any{"portalId": "demo", "email": a}), 202)
	}
	if len(e.st.Mail.Messages()) != mails {
		t.Fatal("a code went to an address without a password")
	}

	code := e.resetCode("forgetful@example.com")
	if len(code) != 6 {
		t.Fatalf("code %q", code)
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	want(t, confirm(wrong, "new password 1"), 400)
	want(t, confirm(code, "short"), 400)
	want(t, confirm(code, "new password 1"), 204)
	want(t, confirm(code, "new password 2"), 400) // used up

	// Every session ended; the new password works, the old one not.
	want(t, e.call("GET", "/v1/me", session, nil), 401)
	login := func(pw string) int {
		return e.call("POST", "/v1/portal/login", "", map[string]any{"portalId": "demo", "email": "forgetful@example.com", "password": pw}).Status
	}
	if login("old password") != 401 || login("new password 1") != 200 {
		t.Fatal("the password did not change")
	}

	t.Run("five wrong tries burn the code", func(t *testing.T) {
		code := e.resetCode("forgetful@example.com")
		for i := range 5 {
			want(t, confirm(wrongCode(code, i), "another password"), 400)
		}
		want(t, confirm(code, "another password"), 400)
	})
	t.Run("a code lives 10 minutes", func(t *testing.T) {
		code := e.resetCode("forgetful@example.com")
		e.clock.Advance(10 * time.Minute)
		want(t, confirm(code, "another password"), 400)
	})
	e.consistent()
}

// wrongCode is a 6-digit code that is not code.
func wrongCode(code string, i int) string {
	for n := i; ; n += 7 {
		c := []byte("100000")
		c[5] = byte('0' + n%10)
		c[4] = byte('0' + (n/10)%10)
		if string(c) != code {
			return string(c)
		}
	}
}
