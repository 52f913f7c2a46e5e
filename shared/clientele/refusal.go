package clientele

import (
	"fmt"
	"time"
)

// The refusals that carry members of their own. Each is a type whose
// members callers read with errors.AsType (errors.AsType[EmailTaken](err)),
// and each converts to the *Error it is (its As method), which package
// httpapi renders: the one mapping to problems stays in one place, and no
// caller reads a member back out of a rendered problem.

// as is the As method of every refusal: it converts to *Error.
func as(target any, e *Error) bool {
	if p, ok := target.(**Error); ok {
		*p = e
		return true
	}
	return false
}

// EmailTaken refuses an address that user UserID holds, in Status ("" when
// the holder could not be read). A deactivated user is brought back, not
// added again.
type EmailTaken struct{ UserID, Status string }

func (t EmailTaken) Error() string      { return t.problem().Error() }
func (t EmailTaken) As(target any) bool { return as(target, t.problem()) }

func (t EmailTaken) problem() *Error {
	e := &Error{Code: Conflict, Message: "a user with this email address already exists", Extra: map[string]any{}}
	if t.UserID != "" {
		e.Extra["existingUserId"] = t.UserID
	}
	if t.Status != "" {
		e.Extra["userStatus"] = t.Status
	}
	if t.Status == Deactivated {
		e.Message = "this address belongs to a deactivated user; activate them (POST /v1/users/" + t.UserID + "/activate) to keep their history"
	}
	return e
}

// LimitReached refuses a user that the portal's client seat limit
// (Limit "seat-limit") or its limit on users without portal access
// ("no-access-limit") has no room for.
type LimitReached struct{ Limit string }

// The limits of LimitReached.
const (
	SeatLimit     = "seat-limit"
	NoAccessLimit = "no-access-limit"
)

func (l LimitReached) Error() string      { return l.problem().Error() }
func (l LimitReached) As(target any) bool { return as(target, l.problem()) }

func (l LimitReached) problem() *Error {
	if l.Limit == SeatLimit {
		return &Error{Code: Conflict, Kind: SeatLimit,
			Message: "the portal's client seat limit is reached; raise clientSeatLimit or deactivate a user"}
	}
	return &Error{Code: Conflict, Kind: NoAccessLimit,
		Message: "the portal's limit on users without portal access is reached; raise noAccessUserLimit, give a user access or deactivate one"}
}

// InviteGated refuses an invitation before the 24-hour gate opens at
// AvailableAt, RetryAfter from now.
type InviteGated struct {
	AvailableAt time.Time
	RetryAfter  time.Duration
}

// GatedUntil is the refusal of an invitation at now, before the gate opens
// at at.
func GatedUntil(at, now time.Time) InviteGated {
	return InviteGated{AvailableAt: at.UTC(), RetryAfter: max(at.Sub(now), time.Second)}
}

func (g InviteGated) Error() string      { return g.problem().Error() }
func (g InviteGated) As(target any) bool { return as(target, g.problem()) }

func (g InviteGated) problem() *Error {
	return &Error{Code: Gated, RetryAfter: g.RetryAfter,
		Message: fmt.Sprintf("the last invitation went out less than %d hours ago", int(ReinviteInterval.Hours())),
		Extra:   map[string]any{"reinviteAvailableAt": g.AvailableAt}}
}

// Undeliverable refuses inviting an address that bounced or whose
// recipient marked an invitation as spam.
type Undeliverable struct{ Delivery Delivery }

func (u Undeliverable) Error() string      { return u.problem().Error() }
func (u Undeliverable) As(target any) bool { return as(target, u.problem()) }

func (u Undeliverable) problem() *Error {
	what := "bounced (" + u.Delivery.Detail + ")"
	if u.Delivery.State == Complained {
		what = "was marked as spam by its recipient"
	}
	return &Error{Code: Conflict, Message: "the invitation to this address " + what + "; change the user's email address to invite them again",
		Extra: map[string]any{"delivery": u.Delivery}}
}

// ContactImported refuses importing a CRM contact that user UserID holds.
type ContactImported struct{ UserID string }

func (c ContactImported) Error() string      { return c.problem().Error() }
func (c ContactImported) As(target any) bool { return as(target, c.problem()) }

func (c ContactImported) problem() *Error {
	return &Error{Code: Conflict, Kind: "crm-imported", Message: "the CRM contact is already a client user",
		Extra: map[string]any{"existingUserId": c.UserID}}
}

// AccountLinked refuses linking a CRM account that company CompanyID holds.
type AccountLinked struct{ CompanyID string }

func (a AccountLinked) Error() string      { return a.problem().Error() }
func (a AccountLinked) As(target any) bool { return as(target, a.problem()) }

func (a AccountLinked) problem() *Error {
	return &Error{Code: Conflict, Kind: "crm-linked", Message: "the CRM account is linked to another company",
		Extra: map[string]any{"existingCompanyId": a.CompanyID}}
}

// DealConverted refuses converting a deal that project ProjectID holds.
type DealConverted struct{ ProjectID string }

func (d DealConverted) Error() string      { return d.problem().Error() }
func (d DealConverted) As(target any) bool { return as(target, d.problem()) }

func (d DealConverted) problem() *Error {
	return &Error{Code: Conflict, Kind: "deal-converted", Message: "the deal was converted into project " + d.ProjectID + " already",
		Extra: map[string]any{"projectId": d.ProjectID}}
}

// CompanyNameTaken refuses a company name (compared without case) that
// company CompanyID holds ("" when the holder could not be read).
type CompanyNameTaken struct{ Name, CompanyID string }

func (c CompanyNameTaken) Error() string      { return c.problem().Error() }
func (c CompanyNameTaken) As(target any) bool { return as(target, c.problem()) }

func (c CompanyNameTaken) problem() *Error {
	e := &Error{Code: Conflict, Message: fmt.Sprintf("a company named %q already exists", c.Name),
		Fields: []FieldError{{Field: "name", Message: "is already taken (names are compared without case)"}},
		Extra:  map[string]any{}}
	if c.CompanyID != "" {
		e.Extra["existingCompanyId"] = c.CompanyID
	}
	return e
}

// InUse refuses deleting a profile or role that UserCount users hold;
// Message says which and what to do.
type InUse struct {
	Message   string
	UserCount int
}

func (u InUse) Error() string      { return u.problem().Error() }
func (u InUse) As(target any) bool { return as(target, u.problem()) }

func (u InUse) problem() *Error {
	return &Error{Code: Conflict, Message: u.Message, Extra: map[string]any{"userCount": u.UserCount}}
}
