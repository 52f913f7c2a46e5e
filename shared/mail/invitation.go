package mail

import (
	stdhtml "html"
	"net/url"
	"strings"
	"time"
)

// Invitation is the data of an invitation email.
type Invitation struct {
	UserName    string // may be empty: the email then greets generically ("Hello,")
	Email       string // the recipient; a custom template's {{.UserName}} when there is no name
	CompanyName string // may be empty
	PortalName  string // may be empty
	InviteURL   string // {appBaseUrl}/portal/invite/{token}
	ExpiresAt   time.Time
}

// invitationView is what the templates see: the invitation's values, trimmed,
// plus the subject and the expiry already formatted.
type invitationView struct {
	Subject, UserName, CompanyName, PortalName, InviteURL, Expires string
}

const expiryLayout = "2006-01-02 15:04 UTC"

// The templates are plain strings with {{name}} slots filled by a
// strings.Replacer: text/template and html/template would make the linker
// keep every exported method (reflection), adding megabytes to each Lambda
// binary for four fixed values.
const invitationText = `{{greeting}}

You have been invited to join the {{portal}}client portal{{company}}.

To accept the invitation and choose your password, open this link:

{{url}}

{{expires}}If you were not expecting it, you can ignore this email.
`

// invitationHTML is a small email: table layout and inline styles for mail
// clients, no external assets, AA contrast, a real heading, the link as a
// button and as plain text for clients that block buttons.
const invitationHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>{{subject}}</title>
</head>
<body style="margin:0;padding:0;background-color:#f3f4f6;">
<table role="presentation" width="100%" cellspacing="0" cellpadding="0" border="0" style="background-color:#f3f4f6;">
<tr><td align="center" style="padding:24px 12px;">
<table role="presentation" width="100%" cellspacing="0" cellpadding="0" border="0" style="max-width:560px;background-color:#ffffff;border-radius:8px;">
<tr><td style="padding:32px;font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;color:#1f2937;">
<h1 style="margin:0 0 16px;font-size:22px;line-height:1.3;color:#111827;">You're invited{{to-portal}}</h1>
<p style="margin:0 0 16px;">{{greeting}}</p>
<p style="margin:0 0 16px;">You have been invited to join the {{portal}}client portal{{company}}. Accept the invitation to choose your password and sign in.</p>
<table role="presentation" cellspacing="0" cellpadding="0" border="0" style="margin:24px 0;">
<tr><td style="border-radius:6px;background-color:#1d4ed8;">
<a href="{{href}}" style="display:inline-block;padding:12px 24px;font-family:Arial,Helvetica,sans-serif;font-size:16px;font-weight:bold;color:#ffffff;text-decoration:none;border-radius:6px;">Accept the invitation</a>
</td></tr>
</table>
<p style="margin:0 0 8px;">If the button does not work, copy this address into your browser:</p>
<p style="margin:0 0 24px;word-break:break-all;font-family:Consolas,Menlo,monospace;font-size:14px;color:#374151;">{{url}}</p>
<p style="margin:0;font-size:14px;color:#4b5563;">{{expires}}If you were not expecting it, you can ignore this email.</p>
</td></tr>
</table>
</td></tr>
</table>
</body>
</html>
`

// RenderInvitation renders the built-in invitation template: subject, text and
// HTML parts, and the tag template=invitation. HTML values are escaped
// (html/template); the text part is plain. The expiry is shown in UTC
// ("expires 2026-11-29 09:00 UTC") and left out when ExpiresAt is zero.
// To is left empty for the caller.
func RenderInvitation(inv Invitation) (Message, error) {
	v := invitationView{
		UserName:    strings.TrimSpace(inv.UserName),
		CompanyName: strings.TrimSpace(inv.CompanyName),
		PortalName:  strings.TrimSpace(inv.PortalName),
		InviteURL:   strings.TrimSpace(inv.InviteURL),
	}
	if !inv.ExpiresAt.IsZero() {
		v.Expires = inv.ExpiresAt.UTC().Format(expiryLayout)
	}
	v.Subject = "Your invitation to the client portal"
	if v.PortalName != "" {
		v.Subject = "Your invitation to the " + v.PortalName + " client portal"
	}
	render := func(tpl string, esc func(string) string, strong bool) string {
		greeting, portal, toPortal, company, expires := "Hello,", "", "", "", ""
		if v.UserName != "" {
			greeting = "Hello " + esc(v.UserName) + ","
		}
		open, end := "", ""
		if strong {
			open, end = "<strong>", "</strong>"
		}
		if v.PortalName != "" {
			portal, toPortal = open+esc(v.PortalName)+end+" ", " to "+esc(v.PortalName)
		}
		if v.CompanyName != "" {
			company = " as a member of " + open + esc(v.CompanyName) + end
		}
		if v.Expires != "" {
			expires = "This invitation expires " + v.Expires + ". "
		}
		return strings.NewReplacer("{{greeting}}", greeting, "{{portal}}", portal, "{{to-portal}}", toPortal,
			"{{company}}", company, "{{expires}}", expires, "{{url}}", esc(v.InviteURL),
			"{{href}}", esc(safeURL(v.InviteURL)), "{{subject}}", esc(v.Subject)).Replace(tpl)
	}
	text := render(invitationText, func(s string) string { return s }, false)
	html := render(invitationHTML, stdhtml.EscapeString, true)
	return Message{
		Subject: OneLine(v.Subject),
		Text:    text,
		HTML:    html,
		Tags:    map[string]string{"template": "invitation"},
	}, nil
}

// safeURL keeps only http(s) links in an href, as html/template would.
func safeURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return "#"
	}
	return s
}
