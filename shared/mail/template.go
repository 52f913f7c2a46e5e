package mail

import (
	"fmt"
	stdhtml "html"
	"strings"
)

// Placeholders are the values an invitation template may use, written
// {{.Name}} as in Go templates (spaces inside the braces allowed).
var Placeholders = []string{"UserName", "CompanyName", "PortalName", "InviteURL"}

// Template is a parsed invitation template: literal text and placeholders.
// It is a deliberately small language (no conditions, no loops, no
// functions): text/template would let a portal admin run logic in every
// email, and its reflection adds megabytes to each Lambda binary.
type Template struct{ parts []part }

type part struct {
	text  string // literal text, when field is ""
	field string // a placeholder's name
}

// TemplateError says where a template is wrong (1-based line and column).
type TemplateError struct {
	Line, Column int
	Msg          string
}

func (e *TemplateError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// ParseTemplate parses s. Every "{{" must open a known placeholder closed
// by "}}"; anything else in braces is an error naming the allowed ones.
func ParseTemplate(s string) (Template, error) {
	var t Template
	for i := 0; ; {
		j := strings.Index(s[i:], "{{")
		if j < 0 {
			t.add(part{text: s[i:]})
			return t, nil
		}
		t.add(part{text: s[i : i+j]})
		open := i + j
		end := strings.Index(s[open+2:], "}}")
		if end < 0 {
			return Template{}, errorAt(s, open, "unclosed {{: close it with }}; placeholders are "+allowed())
		}
		inner := strings.TrimSpace(s[open+2 : open+2+end])
		name, ok := strings.CutPrefix(inner, ".")
		if !ok || !known(name) {
			return Template{}, errorAt(s, open, fmt.Sprintf("unknown placeholder {{%s}}; use %s", inner, allowed()))
		}
		t.add(part{field: name})
		i = open + 2 + end + 2
	}
}

func (t *Template) add(p part) {
	if p.field == "" && p.text == "" {
		return
	}
	t.parts = append(t.parts, p)
}

func known(name string) bool {
	for _, p := range Placeholders {
		if p == name {
			return true
		}
	}
	return false
}

func allowed() string {
	out := make([]string, len(Placeholders))
	for i, p := range Placeholders {
		out[i] = "{{." + p + "}}"
	}
	return strings.Join(out, ", ")
}

func errorAt(s string, off int, msg string) *TemplateError {
	line := strings.Count(s[:off], "\n") + 1
	col := len([]rune(s[strings.LastIndex(s[:off], "\n")+1:off])) + 1
	return &TemplateError{Line: line, Column: col, Msg: msg}
}

// execute writes the template with each placeholder's value from value,
// and each literal through lit.
func (t Template) execute(lit func(string) string, value func(field string) string) string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.field == "" {
			b.WriteString(lit(p.text))
		} else {
			b.WriteString(value(p.field))
		}
	}
	return b.String()
}

// CustomInvitation is a portal's own invitation template.
type CustomInvitation struct {
	Subject, Body Template
}

// RenderCustomInvitation renders a portal's own template: the subject on one
// line, the body as the text part and, escaped and with the link clickable,
// as the HTML part. A user without a name is greeted by address.
func RenderCustomInvitation(c CustomInvitation, inv Invitation) Message {
	values := map[string]string{
		"UserName":    strings.TrimSpace(inv.UserName),
		"CompanyName": strings.TrimSpace(inv.CompanyName),
		"PortalName":  strings.TrimSpace(inv.PortalName),
		"InviteURL":   strings.TrimSpace(inv.InviteURL),
	}
	if values["UserName"] == "" {
		values["UserName"] = inv.Email
	}
	plain := func(s string) string { return s }
	subject := OneLine(c.Subject.execute(plain, func(f string) string { return values[f] }))
	text := c.Body.execute(plain, func(f string) string { return values[f] })
	body := c.Body.execute(htmlText, func(f string) string {
		v := stdhtml.EscapeString(values[f])
		if f == "InviteURL" {
			return `<a href="` + stdhtml.EscapeString(safeURL(values[f])) + `" style="color:#1d4ed8;word-break:break-all;">` + v + `</a>`
		}
		return v
	})
	html := `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>` +
		stdhtml.EscapeString(subject) + `</title></head><body style="margin:0;padding:24px;background-color:#ffffff;font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;color:#1f2937;"><div style="max-width:560px;"><p style="margin:0 0 16px;">` +
		body + `</p></div></body></html>`
	return Message{Subject: subject, Text: text, HTML: html, Tags: map[string]string{"template": "invitation-custom"}}
}

// htmlText escapes literal template text and keeps its line structure: a
// blank line starts a paragraph, a line break stays one.
func htmlText(s string) string {
	s = stdhtml.EscapeString(strings.ReplaceAll(s, "\r\n", "\n"))
	s = strings.ReplaceAll(s, "\n\n", `</p><p style="margin:0 0 16px;">`)
	return strings.ReplaceAll(s, "\n", "<br>")
}

// The built-in invitation, shown as a template (GET
// /v1/invitation-templates/default). It is rendered by RenderInvitation,
// which also adapts its wording to missing values and states the expiry.
const (
	DefaultSubject = "Your invitation to the {{.PortalName}} client portal"
	DefaultBody    = "Hello {{.UserName}},\n\nYou have been invited to join the {{.PortalName}} client portal as a member of {{.CompanyName}}.\n\n" +
		"To accept the invitation and choose your password, open this link:\n\n{{.InviteURL}}\n\nIf you were not expecting it, you can ignore this email.\n"
)
