package mail

import (
	"errors"
	"strings"
	"testing"
)

func TestParseTemplate(t *testing.T) {
	tests := []struct {
		name, in string
		wantErr  string // substring; "" for valid
		line     int
		col      int
	}{
		{name: "plain text", in: "Hello there"},
		{name: "every placeholder", in: "{{.UserName}} {{.CompanyName}} {{.PortalName}} {{.InviteURL}}"},
		{name: "spaces inside braces", in: "Hi {{ .UserName }}!"},
		{name: "lone closing braces are text", in: "a }} b"},
		{name: "empty", in: ""},
		{name: "unknown placeholder", in: "Hi {{.Email}}", wantErr: "unknown placeholder {{.Email}}", line: 1, col: 4},
		{name: "action", in: "x\n  {{if .UserName}}", wantErr: "unknown placeholder {{if .UserName}}", line: 2, col: 3},
		{name: "no dot", in: "{{UserName}}", wantErr: "unknown placeholder {{UserName}}", line: 1, col: 1},
		{name: "unclosed", in: "line one\nHi {{.UserName", wantErr: "unclosed {{", line: 2, col: 4},
		{name: "empty action", in: "{{}}", wantErr: "unknown placeholder {{}}", line: 1, col: 1},
		{name: "case matters", in: "{{.username}}", wantErr: "unknown placeholder", line: 1, col: 1},
		{name: "column counts characters", in: "héllo {{.X}}", wantErr: "unknown placeholder", line: 1, col: 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTemplate(tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseTemplate(%q) = %v", tt.in, err)
				}
				return
			}
			var te *TemplateError
			if !errors.As(err, &te) {
				t.Fatalf("ParseTemplate(%q) = %v, want a TemplateError", tt.in, err)
			}
			if !strings.Contains(te.Msg, tt.wantErr) || te.Line != tt.line || te.Column != tt.col {
				t.Fatalf("got %q at %d:%d, want %q at %d:%d", te.Msg, te.Line, te.Column, tt.wantErr, tt.line, tt.col)
			}
			if !strings.Contains(te.Msg, "{{.InviteURL}}") {
				t.Errorf("message %q does not list the allowed placeholders", te.Msg)
			}
		})
	}
}

func TestRenderCustomInvitation(t *testing.T) {
	subject, _ := ParseTemplate("Join {{.PortalName}}\nnow")
	body, _ := ParseTemplate("Dear {{.UserName}} of {{.CompanyName}},\n\nClick {{.InviteURL}}\nThanks & bye")
	inv := Invitation{UserName: `<b>Ann</b>`, Email: "ann@example.com", CompanyName: `"Acme" & Co`, PortalName: "P<1>",
		InviteURL: "https://app.example/portal/invite/abc?x=1&y=2"}
	m := RenderCustomInvitation(CustomInvitation{Subject: subject, Body: body}, inv)
	if m.Subject != "Join P<1> now" {
		t.Errorf("subject %q", m.Subject)
	}
	if want := "Dear <b>Ann</b> of \"Acme\" & Co,\n\nClick https://app.example/portal/invite/abc?x=1&y=2\nThanks & bye"; m.Text != want {
		t.Errorf("text %q", m.Text)
	}
	for _, want := range []string{"Dear &lt;b&gt;Ann&lt;/b&gt; of &#34;Acme&#34; &amp; Co,", `<a href="https://app.example/portal/invite/abc?x=1&amp;y=2"`,
		"Thanks &amp; bye", "<br>", "<title>Join P&lt;1&gt; now</title>"} {
		if !strings.Contains(m.HTML, want) {
			t.Errorf("HTML lacks %q:\n%s", want, m.HTML)
		}
	}
	if strings.Contains(m.HTML, "<b>Ann") {
		t.Error("a value reached the HTML unescaped")
	}
	// No name: greeted by address. A javascript: link is never an href.
	inv.UserName, inv.InviteURL = "", "javascript:alert(1)"
	m = RenderCustomInvitation(CustomInvitation{Subject: subject, Body: body}, inv)
	if !strings.HasPrefix(m.Text, "Dear ann@example.com of") || !strings.Contains(m.HTML, `href="#"`) {
		t.Errorf("text %q html %s", m.Text, m.HTML)
	}
}

func TestDefaultTemplateParses(t *testing.T) {
	for _, s := range []string{DefaultSubject, DefaultBody} {
		if _, err := ParseTemplate(s); err != nil {
			t.Fatal(err)
		}
	}
}

func FuzzParseTemplate(f *testing.F) {
	for _, s := range []string{"", "{{.UserName}}", "{{", "}}{{", "{{ .InviteURL }}x{{.Bad}}", "héllo\n{{"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tpl, err := ParseTemplate(s)
		if err != nil {
			return
		}
		// A valid template renders; without placeholders it is its text.
		m := RenderCustomInvitation(CustomInvitation{Subject: tpl, Body: tpl}, Invitation{})
		if !strings.Contains(s, "{{") && m.Text != s {
			t.Fatalf("text %q, want %q", m.Text, s)
		}
	})
}
