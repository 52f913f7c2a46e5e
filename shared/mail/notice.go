package mail

import (
	stdhtml "html"
	"strings"
)

// Notice is a short notification to a client user: what changed about
// their access, in a few plain sentences.
type Notice struct {
	UserName   string
	PortalName string
	Subject    string
	Lines      []string
}

// RenderNotice renders a notice as text and escaped HTML.
func RenderNotice(n Notice) Message {
	greeting := "Hello,"
	if name := strings.TrimSpace(n.UserName); name != "" {
		greeting = "Hello " + name + ","
	}
	sign := "The client portal team"
	if p := strings.TrimSpace(n.PortalName); p != "" {
		sign = "The " + p + " team"
	}
	var text, html strings.Builder
	text.WriteString(greeting + "\n\n")
	html.WriteString(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>` + stdhtml.EscapeString(n.Subject) +
		`</title></head><body style="font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;color:#1f2937;">`)
	html.WriteString("<p>" + stdhtml.EscapeString(greeting) + "</p>")
	for _, l := range n.Lines {
		text.WriteString(l + "\n\n")
		html.WriteString("<p>" + stdhtml.EscapeString(l) + "</p>")
	}
	text.WriteString(sign + "\n")
	html.WriteString("<p>" + stdhtml.EscapeString(sign) + "</p></body></html>")
	return Message{Subject: OneLine(n.Subject), Text: text.String(), HTML: html.String(), Tags: map[string]string{"template": "notice"}}
}
