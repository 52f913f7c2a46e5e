package api_test

import (
	"testing"
	"time"
)

// TestReinviteWithTemplate: templateId on single and bulk re-invites
// chooses the template of that email; an unknown one is 400 with nothing
// written (the gate stays open, no email goes out).
func TestReinviteWithTemplate(t *testing.T) {
	e := newUsersEnv(t)
	tmpl := e.call("POST", "/v1/invitation-templates", e.owner, map[string]any{"name": "Again", "subject": "Again: {{.PortalName}}", "body": "Link: {{.InviteURL}}"})
	want(t, tmpl, 201)
	portalTmpl := e.call("POST", "/v1/invitation-templates", e.owner, map[string]any{"name": "Portal", "subject": "Portal: {{.PortalName}}", "body": "Link: {{.InviteURL}}"})
	want(t, portalTmpl, 201)
	a, _ := e.inviteToken("ta@example.com")
	b, _ := e.inviteToken("tb@example.com")
	c, _ := e.inviteToken("tc@example.com")
	e.clock.Advance(25 * time.Hour)
	staff := func() string { return e.st.Token("demo", "admin", "admin-1") }
	lastSubject := func(to string) string {
		for _, m := range e.st.Mail.Messages() {
			if m.To[0] == to {
				return m.Subject
			}
		}
		return ""
	}
	before := len(e.st.Mail.Messages())
	for _, tc := range []struct {
		name, path string
		body       any
		status     int
	}{
		{"single unknown", "/v1/users/" + a + "/reinvite", map[string]any{"templateId": "01JBZZZZZZZZZZZZZZZZZZZZZZ"}, 400},
		{"single malformed", "/v1/users/" + a + "/reinvite", map[string]any{"templateId": "not an id"}, 400},
		{"bulk unknown", "/v1/users/reinvite", map[string]any{"userIds": []string{a, b}, "templateId": "01JBZZZZZZZZZZZZZZZZZZZZZZ"}, 400},
		{"bulk status unknown", "/v1/users/reinvite", map[string]any{"status": "invited", "templateId": "01JBZZZZZZZZZZZZZZZZZZZZZZ"}, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call("POST", tc.path, staff(), tc.body)
			want(t, r, tc.status)
			if f, _ := r.JSON()["errors"].([]any); len(f) == 0 || f[0].(map[string]any)["field"] != "templateId" {
				t.Fatalf("problem %s", r.Body)
			}
		})
	}
	if n := len(e.st.Mail.Messages()); n != before {
		t.Fatalf("%d emails after refused re-invites, want %d", n, before)
	}
	// Nothing was written: the gates are still open.
	want(t, e.call("PATCH", "/v1/portal", staff(), map[string]any{"invitationTemplateId": portalTmpl.String("id")}), 200)
	r := e.call("POST", "/v1/users/"+a+"/reinvite", staff(), map[string]any{"templateId": tmpl.String("id")})
	want(t, r, 202)
	if s := lastSubject("ta@example.com"); s != "Again: Demo Portal" {
		t.Fatalf("chosen template: subject %q", s)
	}
	r = e.call("POST", "/v1/users/reinvite", staff(), map[string]any{"userIds": []string{b}, "templateId": "default"})
	want(t, r, 200)
	if s := lastSubject("tb@example.com"); s == "Again: Demo Portal" || s == "Portal: Demo Portal" || s == "" {
		t.Fatalf("built-in template: subject %q", s)
	}
	// An empty body (and none) is still allowed: the portal's choice.
	want(t, e.call("POST", "/v1/users/"+c+"/reinvite", staff(), map[string]any{}), 202)
	if s := lastSubject("tc@example.com"); s != "Portal: Demo Portal" {
		t.Fatalf("portal's template: subject %q", s)
	}
	e.clock.Advance(25 * time.Hour)
	r = e.call("POST", "/v1/users/reinvite", staff(), map[string]any{"status": "invited", "templateId": tmpl.String("id")})
	want(t, r, 200)
	for _, to := range []string{"ta@example.com", "tb@example.com", "tc@example.com"} {
		if s := lastSubject(to); s != "Again: Demo Portal" {
			t.Fatalf("bulk by status: %s got subject %q", to, s)
		}
	}
	want(t, e.call("POST", "/v1/users/"+a+"/reinvite", staff(), nil), 429)
	e.consistent()
}
