package api_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestInvitationTemplates(t *testing.T) {
	e := newEnv(t)
	r := e.call("GET", "/v1/invitation-templates", e.owner, nil)
	want(t, r, 200)
	items := r.JSON()["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["id"] != "default" || items[0].(map[string]any)["builtIn"] != true {
		t.Fatalf("a new portal lists %v, want the built-in template only", items)
	}

	body := "Hi {{ .UserName }},\n\n{{.CompanyName}} is on {{.PortalName}}.\nStart: {{.InviteURL}}"
	r = e.call("POST", "/v1/invitation-templates", e.owner, map[string]any{"name": "Friendly", "subject": "Join {{.PortalName}}", "body": body})
	want(t, r, 201)
	id := r.String("id")
	if r.Header.Get("Location") != "/v1/invitation-templates/"+id || r.Header.Get("ETag") != `"1"` {
		t.Fatalf("headers %v", r.Header)
	}
	want(t, e.call("POST", "/v1/invitation-templates", e.owner, map[string]any{"name": " FRIENDLY ", "subject": "s", "body": "b"}), 409)

	bad := []struct {
		name  string
		in    map[string]any
		field string
		msg   string
	}{
		{"unknown placeholder", map[string]any{"name": "X", "subject": "s", "body": "a\nb {{.Email}}"}, "body", "line 2, column 3: unknown placeholder {{.Email}}"},
		{"unclosed", map[string]any{"name": "X", "subject": "Hi {{.UserName", "body": "b"}, "subject", "unclosed {{"},
		{"logic", map[string]any{"name": "X", "subject": "s", "body": "{{if .UserName}}x{{end}}"}, "body", "unknown placeholder {{if .UserName}}"},
		{"two-line subject", map[string]any{"name": "X", "subject": "a\nb", "body": "b"}, "subject", "must be one line"},
		{"missing body", map[string]any{"name": "X", "subject": "s"}, "body", "is required"},
		{"blank subject", map[string]any{"name": "X", "subject": "  ", "body": "b"}, "subject", "is required"},
		{"long body", map[string]any{"name": "X", "subject": "s", "body": strings.Repeat("x", 20001)}, "body", "at most 20000"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call("POST", "/v1/invitation-templates", e.owner, tt.in)
			want(t, r, 400)
			errs, _ := r.JSON()["errors"].([]any)
			if len(errs) == 0 || errs[0].(map[string]any)["field"] != tt.field || !strings.Contains(errs[0].(map[string]any)["message"].(string), tt.msg) {
				t.Fatalf("errors %v, want %s: %s", errs, tt.field, tt.msg)
			}
		})
	}
	if n := len(e.call("GET", "/v1/invitation-templates", e.owner, nil).JSON()["items"].([]any)); n != 2 {
		t.Fatalf("%d templates listed after refused writes, want 2", n)
	}

	// Edit: If-Match, validation, the built-in one is read-only.
	path := "/v1/invitation-templates/" + id
	want(t, e.call("PATCH", path, e.owner, map[string]any{"name": "Warm"}, "If-Match", `"7"`), 412)
	want(t, e.call("PATCH", path, e.owner, map[string]any{"body": "{{.Nope}}"}), 400)
	r = e.call("PATCH", path, e.owner, map[string]any{"name": "Warm"}, "If-Match", `"1"`)
	want(t, r, 200)
	if r.String("name") != "Warm" || r.Header.Get("ETag") != `"2"` {
		t.Fatalf("patched %s", r.Body)
	}
	want(t, e.call("POST", "/v1/invitation-templates", e.owner, map[string]any{"name": "Friendly", "subject": "s", "body": "b"}), 201) // the old name is free
	want(t, e.call("GET", "/v1/invitation-templates/default", e.owner, nil), 200)
	want(t, e.call("PATCH", "/v1/invitation-templates/default", e.owner, map[string]any{"name": "Mine"}), 409)
	want(t, e.call("DELETE", "/v1/invitation-templates/default", e.owner, nil), 409)
	want(t, e.call("GET", "/v1/invitation-templates/nope", e.owner, nil), 404)
	want(t, e.call("POST", "/v1/invitation-templates", e.st.Token("demo", "member", "m"), map[string]any{"name": "M", "subject": "s", "body": "b"}), 403)
	want(t, e.call("GET", path, e.st.Token("other", "owner", "o"), nil), 404)
}

func TestPortalInvitationTemplate(t *testing.T) {
	e := newUsersEnv(t)
	want(t, e.call("PATCH", "/v1/portal", e.owner, map[string]any{"name": "Acme <Portal>"}), 200)
	want(t, e.call("PATCH", "/v1/portal", e.owner, map[string]any{"invitationTemplateId": "01JBZZZZZZZZZZZZZZZZZZZZZZ"}), 400)
	want(t, e.call("PATCH", "/v1/portal", e.owner, map[string]any{"invitationTemplateId": "not an id"}), 400)
	id := e.call("POST", "/v1/invitation-templates", e.owner, map[string]any{"name": "Friendly", "subject": "Join {{.PortalName}} today",
		"body": "Hi {{.UserName}} & co,\n\nClick {{.InviteURL}}"}).String("id")
	r := e.call("PATCH", "/v1/portal", e.owner, map[string]any{"invitationTemplateId": id})
	want(t, r, 200)
	if r.String("invitationTemplateId") != id {
		t.Fatalf("portal %s", r.Body)
	}

	e.addUser("ann@example.com", map[string]any{"name": "Ann <b>"})
	m := e.st.Mail.Messages()[0]
	if m.Subject != "Join Acme <Portal> today" || !strings.HasPrefix(m.Text, "Hi Ann <b> & co,") {
		t.Fatalf("subject %q text %q", m.Subject, m.Text)
	}
	if !strings.Contains(m.HTML, "Hi Ann &lt;b&gt; &amp; co,") || strings.Contains(m.HTML, "<b>") {
		t.Fatalf("HTML not escaped: %s", m.HTML)
	}
	token := inviteTokenOf(e.env, "ann@example.com")
	want(t, e.call("GET", "/v1/invites/"+url.PathEscape(token), "", nil), 200)

	// In use: not deletable until the portal chooses another.
	want(t, e.call("DELETE", "/v1/invitation-templates/"+id, e.owner, nil), 409)
	want(t, e.call("PATCH", "/v1/portal", e.owner, map[string]any{"invitationTemplateId": nil}), 200)
	want(t, e.call("DELETE", "/v1/invitation-templates/"+id, e.owner, nil), 204)
	e.addUser("bob@example.com")
	if m := e.st.Mail.Messages()[0]; !strings.HasPrefix(m.Subject, "Your invitation to the Acme <Portal> client portal") {
		t.Fatalf("back to the built-in template, subject %q", m.Subject)
	}
	e.consistent()
}

// TestTemplateChooseDeleteRace: choosing a template and deleting it at the
// same time never leaves the portal sending with a deleted template.
func TestTemplateChooseDeleteRace(t *testing.T) {
	e := newEnv(t)
	for round := range 6 {
		id := e.call("POST", "/v1/invitation-templates", e.owner, map[string]any{"name": fmt.Sprint("T", round), "subject": "s", "body": "b"}).String("id")
		out := parallel(2, func(i int) resp {
			if i == 0 {
				r, _ := e.try("PATCH", "/v1/portal", e.owner, map[string]any{"invitationTemplateId": id})
				return r
			}
			r, _ := e.try("DELETE", "/v1/invitation-templates/"+id, e.owner, nil)
			return r
		})
		chosen, deleted := out[0].Status == 200, out[1].Status == 204
		if chosen == deleted {
			t.Fatalf("round %d: choose %d, delete %d: exactly one must win", round, out[0].Status, out[1].Status)
		}
		portal := e.call("GET", "/v1/portal", e.owner, nil).String("invitationTemplateId")
		exists := e.call("GET", "/v1/invitation-templates/"+id, e.owner, nil).Status == 200
		if (portal == id) != exists {
			t.Fatalf("round %d: portal uses %s, template exists %v", round, portal, exists)
		}
		want(t, e.call("PATCH", "/v1/portal", e.owner, map[string]any{"invitationTemplateId": "default"}), 200)
	}
	e.consistent()
}

// TestAddUsersWithTemplate: templateId on POST
// /v1/users chooses the invitation template of the emails (api.md and the
// OpenAPI document); only an unknown id is 400.
func TestAddUsersWithTemplate(t *testing.T) {
	e := newUsersEnv(t)
	tmpl := e.call("POST", "/v1/invitation-templates", e.owner, map[string]any{"name": "Welcome", "subject": "Welcome to {{.PortalName}}", "body": "Hello: {{.InviteURL}}"})
	want(t, tmpl, 201)
	want(t, e.call("POST", "/v1/users", e.owner, map[string]any{"emails": "unknown.template@example.com", "companyId": e.company, "templateId": "01JBZZZZZZZZZZZZZZZZZZZZZZ"}), 400)
	r := e.call("POST", "/v1/users", e.owner, map[string]any{"emails": "templated@example.com", "companyId": e.company, "templateId": tmpl.String("id")})
	if r.Status != 201 {
		t.Fatalf("with the id of an existing template: %d %s, want 201", r.Status, r.Body)
	}
	if msgs := e.st.Mail.Messages(); len(msgs) != 1 || msgs[0].Subject != "Welcome to Demo Portal" {
		t.Fatalf("mail %+v", msgs)
	}
	// The portal's choice is used without templateId; "default" is the
	// built-in one whatever the portal chose.
	want(t, e.call("PATCH", "/v1/portal", e.owner, map[string]any{"invitationTemplateId": tmpl.String("id")}), 200)
	want(t, e.call("POST", "/v1/users", e.owner, map[string]any{"emails": "portal.choice@example.com", "companyId": e.company}), 201)
	want(t, e.call("POST", "/v1/users", e.owner, map[string]any{"emails": "built.in@example.com", "companyId": e.company, "templateId": "default"}), 201)
	subjects := map[string]string{}
	for _, m := range e.st.Mail.Messages() {
		subjects[m.To[0]] = m.Subject
	}
	if len(subjects) != 3 || subjects["portal.choice@example.com"] != "Welcome to Demo Portal" || subjects["built.in@example.com"] == "Welcome to Demo Portal" {
		t.Fatalf("subjects %v", subjects)
	}
	want(t, e.call("POST", "/v1/users", e.owner, map[string]any{"emails": "bad.id@example.com", "companyId": e.company, "templateId": "not an id"}), 400)
	e.consistent()
}
