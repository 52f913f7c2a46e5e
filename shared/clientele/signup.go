package clientele

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Limits of a company's sign-up link.
const (
	MaxSignupDomains = 20
	// MaxSignupLinkLife bounds expiresAt: a link meant to last longer is
	// one to replace now and then.
	MaxSignupLinkLife = 366 * 24 * time.Hour
	// SignupsPerHour is how many sign-ups one link takes per clock hour
	// (UTC): enough for a team joining at once, too few to flood the
	// portal with invitations.
	SignupsPerHour = 20
	// SignupActor is the actor type of what a sign-up link does.
	SignupActor = "signup-link"
)

// SignupLink is a company's portal sign-up link: whoever has it may ask to
// join the company with an address of one of AllowedDomains (any domain when
// empty) until ExpiresAt (never when nil).
type SignupLink struct {
	ID             string     `json:"id"`
	CompanyID      string     `json:"companyId"`
	URL            *string    `json:"url"` // nil when it can no longer be shown (the key changed)
	AllowedDomains []string   `json:"allowedDomains"`
	ExpiresAt      *time.Time `json:"expiresAt"`
	CreatedAt      time.Time  `json:"createdAt"`
	CreatedBy      Actor      `json:"createdBy"`
	Version        int        `json:"version"` // one more with each replacement: the ETag
}

// SignupLinkInput is the body of POST /v1/companies/{id}/signup-link.
type SignupLinkInput struct {
	AllowedDomains []string   `json:"allowedDomains"`
	ExpiresAt      *time.Time `json:"expiresAt"`
}

// NewSignupLink validates in and returns the link it describes: domains
// trimmed, lower-cased and deduplicated; an expiry in the future and within
// MaxSignupLinkLife.
func NewSignupLink(in SignupLinkInput, id, companyID string, now time.Time, by Actor) (SignupLink, error) {
	var f Fields
	l := SignupLink{ID: id, CompanyID: companyID, AllowedDomains: []string{}, CreatedAt: now, CreatedBy: by}
	if len(in.AllowedDomains) > MaxSignupDomains {
		f.Add("allowedDomains", "must have at most %d domains", MaxSignupDomains)
	}
	for i, d := range in.AllowedDomains {
		d = strings.ToLower(strings.TrimSpace(d))
		if !validDomain(d) {
			f.Add(fmt.Sprintf("allowedDomains[%d]", i), "must be a domain such as acme.example, without @ or a scheme")
			continue
		}
		if !slices.Contains(l.AllowedDomains, d) {
			l.AllowedDomains = append(l.AllowedDomains, d)
		}
	}
	if in.ExpiresAt != nil {
		switch at := in.ExpiresAt.UTC().Truncate(time.Millisecond); {
		case !at.After(now):
			f.Add("expiresAt", "must be in the future")
		case at.Sub(now) > MaxSignupLinkLife:
			f.Add("expiresAt", "must be at most 366 days ahead")
		default:
			l.ExpiresAt = &at
		}
	}
	return l, f.Err()
}

// Expired reports whether the link no longer takes sign-ups at now.
func (l SignupLink) Expired(now time.Time) bool {
	return l.ExpiresAt != nil && !now.Before(*l.ExpiresAt)
}

// Allows reports whether a normalised address may sign up through the link.
func (l SignupLink) Allows(email string) bool {
	if len(l.AllowedDomains) == 0 {
		return true
	}
	return slices.Contains(l.AllowedDomains, email[strings.LastIndexByte(email, '@')+1:])
}

// Actor is who a sign-up through the link is recorded as.
func (l SignupLink) Actor() Actor { return Actor{Type: SignupActor, ID: l.ID} }

// SignupLinkUnknown is the answer for a sign-up link that does not open:
// malformed, unknown, replaced or disabled (the caller cannot tell which).
func SignupLinkUnknown() error {
	return Errorf(NotFound, "this sign-up link is unknown or was disabled; ask your contact for a new one")
}

// SignupWindow is the clock hour a sign-up at now counts in, and when the
// next one starts.
func SignupWindow(now time.Time) (start, next time.Time) {
	start = now.UTC().Truncate(time.Hour)
	return start, start.Add(time.Hour)
}

// SignupRateLimited is the refusal of a sign-up over the link's hourly
// limit, retryable when the next window opens.
func SignupRateLimited(now time.Time) error {
	_, next := SignupWindow(now)
	return &Error{Code: Gated, RetryAfter: next.Sub(now),
		Message: fmt.Sprintf("this sign-up link took %d sign-ups this hour; try again after %s", SignupsPerHour, next.Format(time.RFC3339))}
}
