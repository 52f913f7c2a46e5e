package mail

import (
	"strings"
	"testing"
	"time"
)

func invitation() Invitation {
	return Invitation{
		UserName:    "Ann Lee",
		CompanyName: "Acme Corp",
		PortalName:  "Demo Agency",
		InviteURL:   "http://127.0.0.1:3000/portal/invite/tok_AbC-123",
		ExpiresAt:   time.Date(2026, 11, 29, 10, 0, 0, 0, time.FixedZone("CET", 3600)),
	}
}

func TestRenderInvitation(t *testing.T) {
	const script = `<script>alert("x")</script>`
	base := invitation()
	tests := []struct {
		name     string
		inv      func(Invitation) Invitation
		text     []string // in the text part, verbatim
		html     []string // in the HTML part, verbatim
		notHTML  []string
		notText  []string
		subject  string
		linkOnce bool
	}{
		{
			name:    "plain",
			inv:     func(i Invitation) Invitation { return i },
			text:    []string{"Hello Ann Lee,", "Demo Agency client portal as a member of Acme Corp.", "expires 2026-11-29 09:00 UTC"},
			html:    []string{`<html lang="en">`, "Hello Ann Lee,", "<strong>Acme Corp</strong>", "expires 2026-11-29 09:00 UTC", "<title>Your invitation to the Demo Agency client portal</title>"},
			notHTML: []string{"<img", "<link", "<script", "src="},
			subject: "Your invitation to the Demo Agency client portal",
		},
		{
			name: "markup in names",
			inv: func(i Invitation) Invitation {
				i.UserName, i.CompanyName, i.PortalName = "Ann "+script, "Acme "+script, "Demo "+script
				return i
			},
			text:    []string{"Hello Ann " + script + ",", "as a member of Acme " + script + "."},
			html:    []string{"Hello Ann &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;,", "Acme &lt;script&gt;", "Demo &lt;script&gt;"},
			notHTML: []string{"<script"},
			subject: "Your invitation to the Demo " + script + " client portal",
		},
		{
			name: "no names, no expiry",
			inv: func(i Invitation) Invitation {
				i.UserName, i.CompanyName, i.PortalName, i.ExpiresAt = " ", "", "", time.Time{}
				return i
			},
			text:    []string{"Hello,\n", "invited to join the client portal.\n"},
			html:    []string{"<p style=\"margin:0 0 16px;\">Hello,</p>", "invited to join the client portal. Accept"},
			notText: []string{"expires", "member of"},
			notHTML: []string{"expires", "member of", "<strong>"},
			subject: "Your invitation to the client portal",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := tt.inv(base)
			msg := mustRender(t, inv)
			if msg.To != "" || msg.Subject != tt.subject || msg.Tags["template"] != "invitation" {
				t.Errorf("to %q subject %q tags %v", msg.To, msg.Subject, msg.Tags)
			}
			for _, s := range tt.text {
				if !strings.Contains(msg.Text, s) {
					t.Errorf("text lacks %q:\n%s", s, msg.Text)
				}
			}
			for _, s := range tt.notText {
				if strings.Contains(msg.Text, s) {
					t.Errorf("text has %q:\n%s", s, msg.Text)
				}
			}
			for _, s := range tt.html {
				if !strings.Contains(msg.HTML, s) {
					t.Errorf("HTML lacks %q:\n%s", s, msg.HTML)
				}
			}
			for _, s := range tt.notHTML {
				if strings.Contains(msg.HTML, s) {
					t.Errorf("HTML has %q:\n%s", s, msg.HTML)
				}
			}
			if strings.Contains(msg.Text, "&lt;") || strings.Contains(msg.Text, "&#") {
				t.Errorf("text part is escaped:\n%s", msg.Text)
			}
			// The link: once in the text, once as a link in the HTML, and
			// shown once more there as text to copy.
			url := inv.InviteURL
			if n := strings.Count(msg.Text, url); n != 1 {
				t.Errorf("text has the link %d times, want 1", n)
			}
			if n := strings.Count(msg.HTML, `href="`+url+`"`); n != 1 || strings.Count(msg.HTML, "<a ") != 1 {
				t.Errorf("HTML has %d links to %s (%d <a>), want 1", n, url, strings.Count(msg.HTML, "<a "))
			}
			if !strings.Contains(msg.HTML, `">`+url+"</p>") {
				t.Errorf("HTML does not show the link as text")
			}
		})
	}
}

func TestRenderInvitationEscapesURL(t *testing.T) {
	tests := []struct{ url, href string }{
		{"https://app.example/portal/invite/a?x=1&y=2", `href="https://app.example/portal/invite/a?x=1&amp;y=2"`},
		{`https://app.example/portal/invite/"><b>`, `href="https://app.example/portal/invite/&#34;&gt;&lt;b&gt;"`},
		{"javascript:alert(1)", `href="#"`},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			msg := mustRender(t, Invitation{InviteURL: tt.url})
			if !strings.Contains(msg.HTML, tt.href) {
				t.Fatalf("HTML lacks %s:\n%s", tt.href, msg.HTML)
			}
			if strings.Contains(msg.HTML, "<b>") {
				t.Fatalf("HTML has injected markup")
			}
		})
	}
}

func mustRender(t *testing.T, inv Invitation) Message {
	t.Helper()
	msg, err := RenderInvitation(inv)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}
