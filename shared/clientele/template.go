package clientele

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/clientele/clientele/shared/mail"
)

// DefaultTemplateID is the id of the built-in invitation template, which
// every portal has and uses until it chooses one of its own.
const DefaultTemplateID = "default"

// Limits of invitation templates.
const (
	MaxTemplateSubjectLen = 200
	MaxTemplateBodyLen    = 20_000
)

// InvitationTemplate is the text of invitation emails: a subject and a body
// with placeholders (see package mail).
type InvitationTemplate struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Subject   string     `json:"subject"`
	Body      string     `json:"body"`
	BuiltIn   bool       `json:"builtIn"`
	CreatedAt *time.Time `json:"createdAt"`
	UpdatedAt *time.Time `json:"updatedAt"`
	Version   int        `json:"version"`
}

// TemplateInput is the body of POST /v1/invitation-templates.
type TemplateInput struct {
	Name    *string `json:"name"`
	Subject *string `json:"subject"`
	Body    *string `json:"body"`
}

// TemplatePatch is the body of PATCH /v1/invitation-templates/{id}.
type TemplatePatch struct {
	Name    Optional[string] `json:"name"`
	Subject Optional[string] `json:"subject"`
	Body    Optional[string] `json:"body"`
}

// BuiltInTemplate is the built-in template as the API shows it.
func BuiltInTemplate() InvitationTemplate {
	return InvitationTemplate{ID: DefaultTemplateID, Name: "Built-in invitation", Subject: mail.DefaultSubject, Body: mail.DefaultBody, BuiltIn: true}
}

// NewTemplate is the template that in asks for: every field required.
func NewTemplate(in TemplateInput, id string, now time.Time) (InvitationTemplate, error) {
	t := InvitationTemplate{ID: id, CreatedAt: &now, UpdatedAt: &now, Version: 1}
	var f Fields
	for _, v := range []struct {
		field   string
		in, out *string
	}{{"name", in.Name, &t.Name}, {"subject", in.Subject, &t.Subject}, {"body", in.Body, &t.Body}} {
		if v.in == nil {
			f.Add(v.field, "is required")
			continue
		}
		*v.out = *v.in
	}
	if err := f.Err(); err != nil {
		return t, err
	}
	checkTemplate(&f, &t)
	return t, f.Err()
}

// Apply is cur with the patch's fields set; false when nothing changes.
func (p TemplatePatch) Apply(cur InvitationTemplate) (InvitationTemplate, bool, error) {
	next := cur
	var f Fields
	for _, v := range []struct {
		field string
		in    Optional[string]
		out   *string
	}{{"name", p.Name, &next.Name}, {"subject", p.Subject, &next.Subject}, {"body", p.Body, &next.Body}} {
		if v.in.Set && v.in.Null {
			f.Add(v.field, "must not be null")
		} else if v.in.Set {
			*v.out = v.in.Value
		}
	}
	if err := f.Err(); err != nil {
		return cur, false, err
	}
	checkTemplate(&f, &next)
	if err := f.Err(); err != nil {
		return cur, false, err
	}
	return next, next.Name != cur.Name || next.Subject != cur.Subject || next.Body != cur.Body, nil
}

// checkTemplate validates a template's fields: the name as any name, the
// subject one line, and both parsed, so that a template that would fail at
// send time is refused at save time.
func checkTemplate(f *Fields, t *InvitationTemplate) {
	if n, err := CleanName(t.Name); err != nil {
		f.Add("name", "%v", err)
	} else {
		t.Name = n
	}
	check := func(field, v string, max int, oneLine bool) {
		switch {
		case strings.TrimSpace(v) == "":
			f.Add(field, "is required")
		case !utf8.ValidString(v):
			f.Add(field, "must be valid UTF-8")
		case utf8.RuneCountInString(v) > max:
			f.Add(field, "must be at most %d characters", max)
		case oneLine && strings.ContainsAny(v, "\r\n"):
			f.Add(field, "must be one line")
		default:
			if _, err := mail.ParseTemplate(v); err != nil {
				f.Add(field, "%v", err)
			}
		}
	}
	check("subject", t.Subject, MaxTemplateSubjectLen, true)
	check("body", t.Body, MaxTemplateBodyLen, false)
}

// UnknownTemplate refuses a choice of invitation template, in the request's
// field, that names none of the portal's.
func UnknownTemplate(field string) error {
	return Fields{{Field: field, Message: "no such invitation template"}}.Err()
}

// TemplateInUse refuses deleting the template the portal sends its
// invitations with.
func TemplateInUse() error {
	return Errorf(Conflict, "the portal sends its invitations with this template; choose another one first (PATCH /v1/portal invitationTemplateId)")
}
