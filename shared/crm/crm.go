// Package crm reads a portal's CRM: the contacts Clientele imports as client
// users and the deals it turns into projects. Connector is the
// provider-independent interface; each CRM is one adapter behind New (Zoho
// CRM only, for now). Errors are the package's typed errors, which
// DomainError turns into the domain's refusals; none carries a secret or
// token.
package crm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Credentials connect a portal to its CRM. APIDomain and AccountsURL are the
// provider's data-centre URLs (Zoho: https://www.zohoapis.eu,
// https://accounts.zoho.eu).
type Credentials struct {
	Provider     string
	APIDomain    string
	AccountsURL  string
	ClientID     string
	ClientSecret string
	RefreshToken string
}

// Contact is a CRM contact: a prospective client user. Email may be empty.
type Contact struct {
	ID, Email, Name, AccountID, AccountName string
}

// Account is a CRM account: the client company.
type Account struct {
	ID, Name, Website string
	Address           Address
}

// Address is an account's billing address.
type Address struct {
	Street, City, State, PostalCode, Country string
}

// Deal is a CRM deal: what becomes a project.
type Deal struct {
	ID, Name, AccountID, AccountName, Stage string
}

// ContactsPage is one provider page of contacts; More tells whether a next
// page exists.
type ContactsPage struct {
	Items []Contact
	More  bool
}

// Connector is one portal's CRM. Safe for concurrent use.
type Connector interface {
	// Verify proves the credentials by exchanging the refresh token.
	Verify(ctx context.Context) error
	// ContactsPage returns page (from 1) of all contacts, or of those
	// matching q (name or email) when q is not empty, in the provider's
	// own page size.
	ContactsPage(ctx context.Context, q string, page int) (ContactsPage, error)
	Contact(ctx context.Context, id string) (Contact, error)
	Account(ctx context.Context, id string) (Account, error)
	Deal(ctx context.Context, id string) (Deal, error)
}

// Errors of connectors.
var (
	// ErrBadCredentials: the provider refused to exchange the refresh token.
	ErrBadCredentials = errors.New("crm: credentials refused")
	// ErrUnauthorized: the API refused a freshly issued token (scope,
	// permission, or a token from another data centre).
	ErrUnauthorized = errors.New("crm: access refused")
	// ErrNotFound: no record has the id.
	ErrNotFound = errors.New("crm: record not found")
	// ErrQueryTooShort: a search needs at least MinQuery characters.
	ErrQueryTooShort = fmt.Errorf("crm: a search needs at least %d characters", MinQuery)
	// ErrUnknownProvider: New knows no adapter for Credentials.Provider.
	ErrUnknownProvider = errors.New("crm: unknown provider")
)

// MinQuery is the shortest search term; Zoho's search refuses shorter words.
const MinQuery = 2

// Unavailable is the CRM being rate-limited, down or unreachable: try again
// after RetryAfter.
type Unavailable struct {
	RetryAfter time.Duration
	Reason     string
}

func (e *Unavailable) Error() string {
	return fmt.Sprintf("crm: unavailable (%s), retry after %s", e.Reason, e.RetryAfter)
}

// Defaults for Unavailable.RetryAfter when the provider names none.
const (
	RateLimitedRetry = 60 * time.Second
	OutageRetry      = 5 * time.Second
)

type options struct {
	client *http.Client
	now    func() time.Time
	cache  *tokenCache
}

// Option configures New.
type Option func(*options)

// WithHTTPClient sets the HTTP client (default: a 10 s timeout).
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.client = c } }

// WithClock sets the clock deciding token expiry (default time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// New returns the Connector for creds.Provider: "zoho".
func New(creds Credentials, opts ...Option) (Connector, error) {
	o := options{client: &http.Client{Timeout: 10 * time.Second}, now: time.Now, cache: processCache}
	for _, opt := range opts {
		opt(&o)
	}
	switch creds.Provider {
	case "zoho":
		return newZoho(creds, o)
	default:
		return nil, fmt.Errorf("%w %q", ErrUnknownProvider, creds.Provider)
	}
}
