// Package invite holds the use cases that invite client users: adding them
// (by staff, a CSV or CRM import, a company's sign-up link), re-inviting
// them one by one or in bulk, the hourly reminders, a new address's link,
// and the notices of changes made to them. Each reads top-down: the rules
// decide (package clientele), the store writes under the 24-hour gate,
// the email goes out, and a failed email is undone in the one place that
// does it (notSent). HTTP handlers and the scheduled function both call it.
package invite

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/clientele/clientele/shared/auth"
	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/dynamo"
	"github.com/clientele/clientele/shared/feedback"
	"github.com/clientele/clientele/shared/mail"
)

// Store is what the invitations read and write; *dynamo.Store implements
// it.
type Store interface {
	Now() time.Time
	NewID() string
	GetPortal(ctx context.Context, pid string) (clientele.Portal, error)
	GetCompany(ctx context.Context, pid, cid string) (clientele.Company, error)
	GetTemplate(ctx context.Context, pid, id string) (clientele.InvitationTemplate, error)
	CreateUser(ctx context.Context, pid string, u clientele.User, tokenHash string, actor clientele.Actor) error
	Reinvite(ctx context.Context, pid, uid, tokenHash string, ttl time.Duration, actor clientele.Actor, check func(clientele.User) error) (clientele.User, error)
	Remind(ctx context.Context, pid, uid, tokenHash string, ttl time.Duration, ready func(clientele.User) error) (clientele.User, error)
	InviteNotSent(ctx context.Context, pid, uid string, sentAt time.Time, msg string) error
	ReminderFailed(ctx context.Context, pid, uid string, sentAt time.Time, msg string) error
	DueReminders(ctx context.Context, shard, limit int, start map[string]string) (dynamo.Page[dynamo.Due], error)
}

// Mailer sends one email and returns its message id (SES: package mail/ses).
type Mailer interface {
	Send(ctx context.Context, msg mail.Message) (string, error)
}

// Invitations runs the use cases. A request's handler uses a copy with its
// own logger and base URL.
type Invitations struct {
	Store  Store
	Mailer Mailer // nil: every invitation fails to send, and says so on the user
	Log    *slog.Logger
	// BaseURL is where invitation links point when a portal has no
	// appBaseUrl of its own: the API's public base URL.
	BaseURL string
	// ReminderPage is how many users due for a reminder a run reads per
	// Query; 100 when 0 (tests cross pages with a few).
	ReminderPage int
}

// errNoMailer is the send failure of a function configured without mail.
var errNoMailer = errors.New("no mailer configured")

// Create writes a new user u with the hash of its invitation link
// (CreateUser, or a sign-up's write that also counts the link's use).
type Create func(u clientele.User, tokenHash string) error

// ByStaff is the write of a user that staff member by adds to portal pid.
func (s Invitations) ByStaff(ctx context.Context, pid string, by clientele.Actor) Create {
	return func(u clientele.User, hash string) error { return s.Store.CreateUser(ctx, pid, u, hash, by) }
}

// Add creates one user of ac's portal from tmpl with address email, by
// create, and with portal access sends the invitation. A failed send
// keeps the user (the address is theirs) and records why on the invite,
// where re-invites and reminders pick it up.
func (s Invitations) Add(ctx context.Context, ac dynamo.AddContext, tmpl clientele.User, email string, create Create) (clientele.User, error) {
	now := s.Store.Now()
	u := tmpl
	u.ID, u.Email, u.CreatedAt, u.UpdatedAt, u.Version = s.Store.NewID(), email, now, now, 1
	u.Projects = slices.Clone(tmpl.Projects)
	var token, hash string
	if u.PortalAccess {
		token, hash = auth.NewPortalToken(ac.Portal.ID)
		u = u.WithInvitation(now, ac.Portal.InviteTTL(), hash)
	}
	if err := create(u, hash); err != nil {
		return u, err
	}
	if u.PortalAccess {
		if err := s.send(ctx, ac, u, token); err != nil {
			msg := s.notSent(ctx, ac.Portal.ID, u, false, err)
			u.InviteError = &msg
		}
	}
	return u.WithInvite(now), nil
}

// Failed is an address that could not be added, and why.
type Failed struct {
	Email string // as given
	Err   error
}

// Added is what AddAll did: each address is its own transaction with its
// own outcome, so one taken address does not undo the others.
type Added struct {
	Created []clientele.User
	Failed  []Failed
}

// AddAll adds one user per address of req (POST /v1/users) made by by,
// in order; ac is what req names, read once for every address.
func (s Invitations) AddAll(ctx context.Context, ac dynamo.AddContext, req clientele.NewUsers, by clientele.Actor) Added {
	res := Added{Created: []clientele.User{}}
	seen := map[string]bool{}
	create := s.ByStaff(ctx, ac.Portal.ID, by)
	for _, raw := range req.Emails {
		email, err := clientele.NormalizeEmail(raw)
		switch {
		case err != nil:
			err = clientele.Errorf(clientele.Invalid, "the address %v", err)
		case seen[clientele.EmailKey(email)]:
			err = clientele.Errorf(clientele.Invalid, "the address is given twice in this request")
		}
		if err == nil {
			seen[clientele.EmailKey(email)] = true
			var u clientele.User
			u, err = s.Add(ctx, ac, req.Template, email, create)
			if err == nil {
				res.Created = append(res.Created, u)
				continue
			}
		}
		res.Failed = append(res.Failed, Failed{Email: raw, Err: err})
	}
	return res
}

// Reinvite sends user uid of ac's portal a new invitation link, at most
// once per 24 hours whatever the concurrency (the store's gate); check
// sees the user first (a precondition). If the email cannot be sent, the
// failure is recorded on the user, the gate reopens, and the error is
// Unavailable: a later re-invite or reminder can still send.
func (s Invitations) Reinvite(ctx context.Context, ac dynamo.AddContext, uid string, by clientele.Actor, check func(clientele.User) error) (clientele.User, error) {
	pid := ac.Portal.ID
	token, hash := auth.NewPortalToken(pid)
	u, err := s.Store.Reinvite(ctx, pid, uid, hash, ac.Portal.InviteTTL(), by, func(u clientele.User) (err error) {
		if check != nil {
			if err := check(u); err != nil {
				return err
			}
		}
		// Read before the invitation is written: after it, only the
		// email can fail, and that failure is undone.
		ac.Company, err = s.Store.GetCompany(ctx, pid, u.CompanyID)
		return err
	})
	if err != nil {
		return u, err
	}
	if err := s.send(ctx, ac, u, token); err != nil {
		s.notSent(ctx, pid, u, false, err)
		return u, &clientele.Error{Code: clientele.Unavailable, RetryAfter: mail.RetryAfter,
			Message: "the invitation email could not be sent; the failure is recorded on the user, retry later", Err: err}
	}
	return u.WithInvite(s.Store.Now()), nil
}

// Outcome is one user's result of a bulk re-invite.
type Outcome struct {
	UserID              string     `json:"userId"`
	Outcome             string     `json:"outcome"` // sent, gated, conflict, failed
	ReinviteAvailableAt *time.Time `json:"reinviteAvailableAt,omitempty"`
	Detail              string     `json:"detail,omitempty"`
	Err                 error      `json:"-"` // why it was not sent; nil when it was
}

// ReinviteAll re-invites each of ids through the same gate as Reinvite,
// each with its own outcome.
func (s Invitations) ReinviteAll(ctx context.Context, ac dynamo.AddContext, ids []string, by clientele.Actor) []Outcome {
	out := make([]Outcome, 0, len(ids))
	for _, id := range ids {
		res := Outcome{UserID: id, Outcome: "sent"}
		var err error
		if !clientele.ValidID(id) {
			err = clientele.Errorf(clientele.NotFound, "no such user")
		} else {
			_, err = s.Reinvite(ctx, ac, id, by, nil)
		}
		if g, ok := errors.AsType[clientele.InviteGated](err); ok {
			res.Outcome, res.ReinviteAvailableAt = "gated", &g.AvailableAt
		} else if err != nil {
			res.Outcome = "failed"
			switch clientele.ErrorCode(err) {
			case clientele.Conflict, clientele.NotFound:
				res.Outcome = "conflict"
			}
		}
		res.Err = err
		out = append(out, res)
	}
	return out
}

// NewAddress mails the new link of token to user u of portal, whose
// address changed before they accepted. The change is done by then: a
// failed email is recorded on the user (and the gate reopened), as when a
// user is added, and u says so.
func (s Invitations) NewAddress(ctx context.Context, portal clientele.Portal, u *clientele.User, token string) {
	company, err := s.Store.GetCompany(ctx, portal.ID, u.CompanyID)
	if err == nil {
		err = s.send(ctx, dynamo.AddContext{Portal: portal, Company: company}, *u, token)
	}
	if err != nil {
		msg := s.notSent(ctx, portal.ID, *u, false, err)
		u.InviteError = &msg
	}
}

// notSent is the one undo of an invitation whose email failed (sent when
// u.LastInvitedAt says): the user records why and the gate reopens; a
// reminder is also uncounted and tried again within the hour. It returns
// the message recorded.
func (s Invitations) notSent(ctx context.Context, pid string, u clientele.User, reminder bool, sendErr error) string {
	msg, undo := "the invitation email could not be sent; re-invite the user", s.Store.InviteNotSent
	if reminder {
		msg, undo = "the reminder email could not be sent; it will be tried again", s.Store.ReminderFailed
	}
	s.Log.WarnContext(ctx, "invitation not sent", "user", u.ID, "reminder", reminder, "error", sendErr)
	if err := undo(ctx, pid, u.ID, *u.LastInvitedAt, msg); err != nil {
		s.Log.WarnContext(ctx, "invitation failure not recorded", "user", u.ID, "error", err)
	}
	return msg
}

// send mails u the invitation whose link holds token, in ac's template.
func (s Invitations) send(ctx context.Context, ac dynamo.AddContext, u clientele.User, token string) error {
	if s.Mailer == nil {
		return errNoMailer
	}
	base := s.BaseURL
	if ac.Portal.AppBaseURL != "" {
		base = ac.Portal.AppBaseURL
	}
	name := ""
	if u.Name != nil {
		name = *u.Name
	}
	msg, err := s.render(ctx, ac.Portal, ac.Template, mail.Invitation{UserName: name, Email: u.Email, CompanyName: ac.Company.Name,
		PortalName: ac.Portal.Name, InviteURL: base + "/portal/invite/" + token, ExpiresAt: *u.InviteExpiresAt})
	if err != nil {
		return err
	}
	msg.To = u.Email
	// SES's reports on the message (delivered, bounced) name the user by these.
	if msg.Tags == nil {
		msg.Tags = map[string]string{}
	}
	msg.Tags[feedback.TagPortal], msg.Tags[feedback.TagUser] = ac.Portal.ID, u.ID
	_, err = s.Mailer.Send(ctx, msg)
	return err
}

// render renders the invitation with the template chosen for the request
// (chosen, read with the request's other items), else the portal's chosen
// template, else the built-in one. A portal's template deleted under a
// send (which the delete's condition on the portal prevents) falls back to
// the built-in one.
func (s Invitations) render(ctx context.Context, portal clientele.Portal, chosen *clientele.InvitationTemplate, inv mail.Invitation) (mail.Message, error) {
	t := chosen
	if t == nil {
		if portal.InvitationTemplateID == "" || portal.InvitationTemplateID == clientele.DefaultTemplateID {
			return mail.RenderInvitation(inv)
		}
		own, err := s.Store.GetTemplate(ctx, portal.ID, portal.InvitationTemplateID)
		if clientele.ErrorCode(err) == clientele.NotFound {
			return mail.RenderInvitation(inv)
		}
		if err != nil {
			return mail.Message{}, err
		}
		t = &own
	}
	if t.ID == clientele.DefaultTemplateID {
		return mail.RenderInvitation(inv)
	}
	subject, err1 := mail.ParseTemplate(t.Subject)
	body, err2 := mail.ParseTemplate(t.Body)
	if err := errors.Join(err1, err2); err != nil {
		return mail.Message{}, err // refused at save time: a stored one always parses
	}
	return mail.RenderCustomInvitation(mail.CustomInvitation{Subject: subject, Body: body}, inv), nil
}

// Notify mails user u of portal pid about a change made to them. The
// change is done by then, so a failed notice is logged, not returned.
func (s Invitations) Notify(ctx context.Context, pid string, u clientele.User, subject string, lines ...string) {
	if s.Mailer == nil || !u.PortalAccess {
		return
	}
	portal, err := s.Store.GetPortal(ctx, pid)
	if err != nil {
		s.Log.WarnContext(ctx, "notice not sent", "user", u.ID, "error", err)
		return
	}
	name := ""
	if u.Name != nil {
		name = *u.Name
	}
	msg := mail.RenderNotice(mail.Notice{UserName: name, PortalName: portal.Name, Subject: subject, Lines: lines})
	msg.To = u.Email
	if _, err := s.Mailer.Send(ctx, msg); err != nil {
		s.Log.WarnContext(ctx, "notice not sent", "user", u.ID, "error", err)
	}
}
