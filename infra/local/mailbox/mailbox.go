// Package mailbox is the local stack's SES: an SES v2 SendEmail endpoint
// that keeps every message and shows them at /_local/mail. Production code
// only sees an endpoint URL. Dev and tests only.
package mailbox

import (
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Message is one sent email.
type Message struct {
	ID      string            `json:"id"`
	At      time.Time         `json:"at"`
	From    string            `json:"from"`
	To      []string          `json:"to"`
	Cc      []string          `json:"cc"`
	Bcc     []string          `json:"bcc"`
	Subject string            `json:"subject"`
	Text    string            `json:"text"`
	HTML    string            `json:"html"`
	Tags    map[string]string `json:"tags,omitempty"`
	Links   []string          `json:"links"`
	// ConfigurationSet is the SES configuration set it was sent with: only
	// such mail has events (Feedback).
	ConfigurationSet string `json:"configurationSet,omitempty"`
}

// Mailbox keeps messages; safe for concurrent use.
type Mailbox struct {
	mu        sync.Mutex
	now       func() time.Time
	messages  []Message
	seq       int
	failCode  int
	failError string
}

// New returns an empty mailbox.
func New(now func() time.Time) *Mailbox { return &Mailbox{now: now} }

// Messages returns every message, newest first.
func (m *Mailbox) Messages() []Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := slices.Clone(m.messages)
	slices.Reverse(out)
	return out
}

// Reset forgets every message.
func (m *Mailbox) Reset() {
	m.mu.Lock()
	m.messages = nil
	m.mu.Unlock()
}

// FailWith makes SendEmail answer status with the SES error type until
// FailWith(0, ""); nothing is stored meanwhile. For "SES is down" tests.
func (m *Mailbox) FailWith(status int, errorType string) {
	m.mu.Lock()
	m.failCode, m.failError = status, errorType
	m.mu.Unlock()
}

type sendEmailInput struct {
	FromEmailAddress string `json:"FromEmailAddress"`
	Destination      struct {
		ToAddresses  []string `json:"ToAddresses"`
		CcAddresses  []string `json:"CcAddresses"`
		BccAddresses []string `json:"BccAddresses"`
	} `json:"Destination"`
	Content struct {
		Simple *struct {
			Subject struct{ Data string } `json:"Subject"`
			Body    struct {
				Text *struct{ Data string } `json:"Text"`
				Html *struct{ Data string } `json:"Html"`
			} `json:"Body"`
		} `json:"Simple"`
	} `json:"Content"`
	EmailTags            []struct{ Name, Value string } `json:"EmailTags"`
	ConfigurationSetName string                         `json:"ConfigurationSetName"`
}

func sesError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-ErrorType", typ)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

// SESHandler serves SES v2's SendEmail (POST /v2/email/outbound-emails).
func (m *Mailbox) SESHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v2/email/outbound-emails" {
			sesError(w, http.StatusNotFound, "NotFoundException", "only SendEmail is emulated")
			return
		}
		m.mu.Lock()
		code, typ := m.failCode, m.failError
		m.mu.Unlock()
		if code != 0 {
			sesError(w, code, typ, "injected failure")
			return
		}
		var in sendEmailInput
		if err := json.NewDecoder(io.LimitReader(r.Body, 10<<20)).Decode(&in); err != nil {
			sesError(w, http.StatusBadRequest, "BadRequestException", "malformed body")
			return
		}
		if in.Content.Simple == nil || len(in.Destination.ToAddresses)+len(in.Destination.CcAddresses)+len(in.Destination.BccAddresses) == 0 {
			sesError(w, http.StatusBadRequest, "BadRequestException", "simple content and a destination are required")
			return
		}
		msg := Message{From: in.FromEmailAddress, To: in.Destination.ToAddresses, Cc: in.Destination.CcAddresses,
			Bcc: in.Destination.BccAddresses, Subject: in.Content.Simple.Subject.Data, Tags: map[string]string{},
			ConfigurationSet: in.ConfigurationSetName}
		if b := in.Content.Simple.Body.Text; b != nil {
			msg.Text = b.Data
		}
		if b := in.Content.Simple.Body.Html; b != nil {
			msg.HTML = b.Data
		}
		for _, t := range in.EmailTags {
			msg.Tags[t.Name] = t.Value
		}
		msg.Links = links(msg.Text, msg.HTML)
		m.mu.Lock()
		m.seq++
		msg.ID = fmt.Sprintf("local-%06d", m.seq)
		msg.At = m.now().UTC()
		m.messages = append(m.messages, msg)
		m.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"MessageId": msg.ID})
	})
}

var (
	urlPattern  = regexp.MustCompile(`https?://[^\s<>"')]+`)
	hrefPattern = regexp.MustCompile(`href="(https?://[^"]+)"`)
)

// links lists the http(s) URLs of a message, text first, without repeats.
func links(text, htmlPart string) []string {
	out := urlPattern.FindAllString(text, -1)
	for _, m := range hrefPattern.FindAllStringSubmatch(htmlPart, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if out == nil {
		out = []string{}
	}
	return out
}

// JSONHandler serves GET /_local/mail.json.
func (m *Mailbox) JSONHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		msgs := m.Messages()
		if msgs == nil {
			msgs = []Message{}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"messages": msgs})
	})
}

var page = template.Must(template.New("mail").Funcs(template.FuncMap{"linkify": linkify}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sent mail · Clientele local</title>
<style>body{font:15px system-ui,sans-serif;margin:2rem;max-width:60rem}article{border:1px solid #ccc;border-radius:6px;padding:1rem;margin:1rem 0}
pre{white-space:pre-wrap}iframe{width:100%;height:20rem;border:1px solid #eee}.meta{color:#555}</style></head>
<body><h1>Sent mail</h1><p class="meta">{{len .}} message(s), newest first. JSON: <a href="/_local/mail.json">/_local/mail.json</a></p>
{{range .}}<article><h2>{{.Subject}}</h2>
<p class="meta">{{.At.Format "2006-01-02 15:04:05 UTC"}} · from {{.From}} · to {{range $i, $t := .To}}{{if $i}}, {{end}}{{$t}}{{end}}</p>
{{if .Text}}<pre>{{linkify .Text}}</pre>{{end}}
{{if .HTML}}<iframe sandbox="" title="HTML part of {{.Subject}}" srcdoc="{{.HTML}}"></iframe>{{end}}
</article>{{else}}<p>No mail yet.</p>{{end}}</body></html>`))

// linkify escapes text and turns its http(s) URLs into links.
func linkify(text string) template.HTML {
	var b strings.Builder
	last := 0
	for _, loc := range urlPattern.FindAllStringIndex(text, -1) {
		b.WriteString(template.HTMLEscapeString(text[last:loc[0]]))
		u := template.HTMLEscapeString(text[loc[0]:loc[1]])
		fmt.Fprintf(&b, `<a href="%s">%s</a>`, u, u)
		last = loc[1]
	}
	b.WriteString(template.HTMLEscapeString(text[last:]))
	return template.HTML(b.String())
}

// PageHandler serves GET /_local/mail.
func (m *Mailbox) PageHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'; frame-src 'self'")
		_ = page.Execute(w, m.Messages())
	})
}
