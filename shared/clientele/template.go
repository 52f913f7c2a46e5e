package clientele

import "time"

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
