// Package pages renders the client portal's public HTML pages (invitation
// links, password reset) and protects their forms (CSRF). Pages are built
// by concatenation with every value escaped by html.EscapeString, not with
// html/template: its reflection makes the linker keep every exported method,
// which pushes a function's binary past the 12 MiB budget (as text/template
// did for the mail package).
//
// Pages work without JavaScript and load nothing from elsewhere: one small
// stylesheet from this API, no scripts, no inline styles, so the strict
// Content-Security-Policy holds.
package pages

import (
	_ "embed"
	"html"
	"net/http"
	"strconv"
	"strings"

	"github.com/clientele/clientele/shared/httpapi"
)

// Stylesheet is the pages' one stylesheet, served at StylePath.
//
//go:embed style.css
var Stylesheet string

// StylePath is where the stylesheet is served.
const StylePath = "/portal/assets/style.css"

// CSP is the pages' Content-Security-Policy: only this origin, no plugins,
// no <base> rewriting, forms post only here, and no framing.
const CSP = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Headers are the headers of every page: the strict CSP, no framing, no
// Referer (invitation tokens are in the URL), no caching, no sniffing.
func Headers(contentType string) map[string]string {
	return map[string]string{
		"Content-Type":            contentType,
		"Content-Security-Policy": CSP,
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
		"X-Content-Type-Options":  "nosniff",
		"Cache-Control":           "no-store",
	}
}

// esc escapes text for HTML element content and quoted attribute values.
func esc(s string) string { return html.EscapeString(s) }

// Page is a complete HTML answer: title (already plain text; escaped here)
// and body (HTML built by this package).
func Page(status int, title, body string) *httpapi.Response {
	var b strings.Builder
	b.WriteString("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	b.WriteString("<title>" + esc(title) + "</title>\n")
	b.WriteString("<link rel=\"stylesheet\" href=\"" + StylePath + "\">\n</head>\n<body>\n<main>\n")
	b.WriteString(body)
	b.WriteString("</main>\n</body>\n</html>\n")
	return &httpapi.Response{StatusCode: status, Body: b.String(), Headers: Headers("text/html; charset=utf-8")}
}

// Style answers the stylesheet.
func Style() *httpapi.Response {
	return &httpapi.Response{StatusCode: http.StatusOK, Body: Stylesheet, Headers: Headers("text/css; charset=utf-8")}
}

// Field is one input of a form.
type Field struct {
	Name         string // the form field's name, also the input's id
	Label        string
	Type         string // text, email, password
	Value        string // shown back (never for passwords)
	Autocomplete string
	Inputmode    string
	Hint         string // shown before the input, announced with it
	Error        string // shown after the hint, announced with it; focuses the field
	MinLength    int
}

// Form is a form posting to Action with a CSRF token.
type Form struct {
	Action string
	CSRF   string
	Hidden [][2]string // name, value
	Fields []Field
	Submit string
}

// HTML renders the form. With errors, an alert listing them (each a link to
// its field) comes first and the first field in error gets the focus; each
// input is described by its hint and its error, so a screen reader reads
// both when the input is focused.
func (f Form) HTML() string {
	var b strings.Builder
	var errs []Field
	for _, fl := range f.Fields {
		if fl.Error != "" {
			errs = append(errs, fl)
		}
	}
	if len(errs) > 0 {
		b.WriteString("<div class=\"error-summary\" role=\"alert\" aria-labelledby=\"error-summary-title\">\n")
		b.WriteString("<h2 id=\"error-summary-title\">There is a problem</h2>\n<ul>\n")
		for _, fl := range errs {
			b.WriteString("<li><a href=\"#" + esc(fl.Name) + "\">" + esc(fl.Label+" "+fl.Error) + "</a></li>\n")
		}
		b.WriteString("</ul>\n</div>\n")
	}
	b.WriteString("<form method=\"post\" action=\"" + esc(f.Action) + "\" novalidate>\n")
	b.WriteString("<input type=\"hidden\" name=\"csrf\" value=\"" + esc(f.CSRF) + "\">\n")
	for _, h := range f.Hidden {
		b.WriteString("<input type=\"hidden\" name=\"" + esc(h[0]) + "\" value=\"" + esc(h[1]) + "\">\n")
	}
	focused := false
	for _, fl := range f.Fields {
		id := esc(fl.Name)
		b.WriteString("<div class=\"field\">\n<label for=\"" + id + "\">" + esc(fl.Label) + "</label>\n")
		var describedBy []string
		if fl.Hint != "" {
			b.WriteString("<p class=\"hint\" id=\"" + id + "-hint\">" + esc(fl.Hint) + "</p>\n")
			describedBy = append(describedBy, fl.Name+"-hint")
		}
		if fl.Error != "" {
			b.WriteString("<p class=\"error\" id=\"" + id + "-error\"><span class=\"visually-hidden\">Error: </span>" + esc(fl.Label+" "+fl.Error) + "</p>\n")
			describedBy = append(describedBy, fl.Name+"-error")
		}
		b.WriteString("<input id=\"" + id + "\" name=\"" + id + "\" type=\"" + esc(fl.Type) + "\" required")
		if fl.Type != "password" && fl.Value != "" {
			b.WriteString(" value=\"" + esc(fl.Value) + "\"")
		}
		if fl.Autocomplete != "" {
			b.WriteString(" autocomplete=\"" + esc(fl.Autocomplete) + "\"")
		}
		if fl.Inputmode != "" {
			b.WriteString(" inputmode=\"" + esc(fl.Inputmode) + "\"")
		}
		if fl.MinLength > 0 {
			b.WriteString(" minlength=\"" + strconv.Itoa(fl.MinLength) + "\"")
		}
		if len(describedBy) > 0 {
			b.WriteString(" aria-describedby=\"" + esc(strings.Join(describedBy, " ")) + "\"")
		}
		if fl.Error != "" {
			b.WriteString(" aria-invalid=\"true\"")
			if !focused {
				b.WriteString(" autofocus")
				focused = true
			}
		}
		b.WriteString(">\n</div>\n")
	}
	b.WriteString("<button type=\"submit\">" + esc(f.Submit) + "</button>\n</form>\n")
	return b.String()
}

// Para is a paragraph of plain text.
func Para(text string) string { return "<p>" + esc(text) + "</p>\n" }

// Heading is the page's h1.
func Heading(text string) string { return "<h1>" + esc(text) + "</h1>\n" }

// Link is a paragraph holding one link; href must be a URL the caller
// checked (http or https).
func Link(href, text string) string {
	return "<p><a class=\"button\" href=\"" + esc(href) + "\">" + esc(text) + "</a></p>\n"
}
