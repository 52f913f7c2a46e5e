// Package crm is the local stack's Zoho CRM: one handler serving Zoho's
// accounts server (the OAuth refresh-token grant) and the CRM REST API v2
// (/crm/v2/{module}, /search, /{id}) with Zoho's JSON shapes, seeded with
// demo records, plus controls for tests (rate limiting, outages, expired
// tokens). Production code only sees a base URL. Dev and tests only.
package crm

import (
	"fmt"
	"maps"
	"net/http"
	"sync"
	"time"
)

// MaxPerPage is the stand-in's largest page (Zoho's is 200): small, so that
// clients exercise paging against a dozen demo contacts.
const MaxPerPage = 5

// TokenTTL is the life of an issued access token, as Zoho's expires_in.
const TokenTTL = 3600 * time.Second

// Account is an Accounts record.
type Account struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Website    string `json:"website,omitempty"`
	Street     string `json:"street,omitempty"`
	City       string `json:"city,omitempty"`
	State      string `json:"state,omitempty"`
	PostalCode string `json:"postalCode,omitempty"`
	Country    string `json:"country,omitempty"`
}

// Contact is a Contacts record. AccountID may be empty (no account) or name
// an account that does not exist (a dangling lookup).
type Contact struct {
	ID        string `json:"id"`
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName"`
	Email     string `json:"email,omitempty"`
	AccountID string `json:"accountId,omitempty"`
}

// Deal is a Deals record.
type Deal struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	AccountID string `json:"accountId,omitempty"`
	Stage     string `json:"stage"`
}

// FailFunc decides a canned answer for an API request; ok false lets the
// request through.
type FailFunc func(r *http.Request) (status int, body string, headers http.Header, ok bool)

// CRM is the stand-in's state. Safe for concurrent use.
type CRM struct {
	now func() time.Time

	mu        sync.Mutex
	accounts  []Account
	contacts  []Contact
	deals     []Deal
	seq       int                  // last id suffix handed out
	tokens    map[string]time.Time // access token → expiry
	revoked   bool                 // the local refresh token was revoked
	rateLimit int                  // next API requests to answer 429
	down      bool
	fail      FailFunc
	exchanges int
	calls     map[string]int
}

// Connection is what connects a portal to the stand-in: fixed local values,
// not secrets.
type Connection struct {
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
	RefreshToken string `json:"refreshToken"`
}

// Local returns the stand-in's client and refresh token.
func Local() Connection {
	return Connection{
		ClientID:     "1000.LOCALCLIENTELECRM",
		ClientSecret: "local-crm-client-secret",
		RefreshToken: "1000.local.refresh.token",
	}
}

// New returns the stand-in seeded with demo records, its tokens expiring by
// now (nil: the system clock).
func New(now func() time.Time) *CRM {
	if now == nil {
		now = time.Now
	}
	c := &CRM{now: now, tokens: map[string]time.Time{}, calls: map[string]int{}, seq: 100}
	c.seed()
	return c
}

// nextID hands out a Zoho-like id: a long digit string, deterministic.
func (c *CRM) nextID() string {
	c.seq++
	return fmt.Sprintf("4150868000000%06d", c.seq)
}

// AddAccount stores a, giving it an id if it has none, and returns it.
func (c *CRM) AddAccount(a Account) Account {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a.ID == "" {
		a.ID = c.nextID()
	}
	c.accounts = append(c.accounts, a)
	return a
}

// AddContact stores k, giving it an id if it has none, and returns it.
func (c *CRM) AddContact(k Contact) Contact {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k.ID == "" {
		k.ID = c.nextID()
	}
	c.contacts = append(c.contacts, k)
	return k
}

// AddDeal stores d, giving it an id if it has none, and returns it.
func (c *CRM) AddDeal(d Deal) Deal {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d.ID == "" {
		d.ID = c.nextID()
	}
	c.deals = append(c.deals, d)
	return d
}

// Fail installs f in front of every API and token request; nil removes it.
func (c *CRM) Fail(f FailFunc) { c.mu.Lock(); c.fail = f; c.mu.Unlock() }

// RateLimit makes the next n API requests answer 429 TOO_MANY_REQUESTS.
func (c *CRM) RateLimit(n int) { c.mu.Lock(); c.rateLimit = n; c.mu.Unlock() }

// Down makes the API answer 500 INTERNAL_ERROR while down is true.
func (c *CRM) Down(down bool) { c.mu.Lock(); c.down = down; c.mu.Unlock() }

// ExpireTokens invalidates every issued access token: the API answers 401
// INVALID_TOKEN until the client refreshes.
func (c *CRM) ExpireTokens() { c.mu.Lock(); clear(c.tokens); c.mu.Unlock() }

// RevokeRefreshToken makes the token endpoint refuse the local refresh
// token (invalid_code) and invalidates the access tokens it issued.
func (c *CRM) RevokeRefreshToken() {
	c.mu.Lock()
	c.revoked = true
	clear(c.tokens)
	c.mu.Unlock()
}

// TokenExchanges counts requests to the token endpoint, refused ones too.
func (c *CRM) TokenExchanges() int { c.mu.Lock(); defer c.mu.Unlock(); return c.exchanges }

// Calls counts requests by URL path.
func (c *CRM) Calls() map[string]int { c.mu.Lock(); defer c.mu.Unlock(); return maps.Clone(c.calls) }

// Description is the stand-in as GET /_local/crm shows it.
type Description struct {
	APIDomain    string    `json:"apiDomain"`
	AccountsURL  string    `json:"accountsUrl"`
	ClientID     string    `json:"clientId"`
	ClientSecret string    `json:"clientSecret"`
	RefreshToken string    `json:"refreshToken"`
	Accounts     []Account `json:"accounts"`
	Contacts     []Contact `json:"contacts"`
	Deals        []Deal    `json:"deals"`
}

// Describe tells how to connect to the stand-in served at baseURL and what
// it holds.
func (c *CRM) Describe(baseURL string) Description {
	l := Local()
	c.mu.Lock()
	defer c.mu.Unlock()
	return Description{
		APIDomain: baseURL, AccountsURL: baseURL,
		ClientID: l.ClientID, ClientSecret: l.ClientSecret, RefreshToken: l.RefreshToken,
		Accounts: append([]Account{}, c.accounts...),
		Contacts: append([]Contact{}, c.contacts...),
		Deals:    append([]Deal{}, c.deals...),
	}
}

// DescribeHandler serves Describe as JSON, baseURL telling where the
// stand-in is reachable for the request (the stack mounts it under a prefix).
func (c *CRM) DescribeHandler(baseURL func(*http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, c.Describe(baseURL(r)))
	})
}
