package crm

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// tokenCache holds access tokens per credential for the whole process, so
// warm Lambda invocations reuse a token instead of exchanging the refresh
// token again (Zoho allows only a few exchanges per refresh token per ten
// minutes). Keys are SHA-256 digests: no secret sits in the map. It grows by
// one small slot per credential a process ever sees, which is bounded by the
// portals it serves.
type tokenCache struct {
	mu    sync.Mutex
	slots map[[sha256.Size]byte]*tokenSlot
}

var processCache = newTokenCache()

func newTokenCache() *tokenCache { return &tokenCache{slots: map[[sha256.Size]byte]*tokenSlot{}} }

// tokenSlot is one credential's token. refreshing admits one exchange at a
// time; waiters give up with their context.
type tokenSlot struct {
	refreshing chan struct{}
	mu         sync.Mutex
	token      string
	apiDomain  string // as the token endpoint answered it
	expires    time.Time
}

func (c *tokenCache) slot(creds Credentials) *tokenSlot {
	key := sha256.Sum256([]byte(strings.Join([]string{creds.Provider, creds.AccountsURL, creds.APIDomain, creds.ClientID, creds.ClientSecret, creds.RefreshToken}, "\x00")))
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.slots[key]
	if !ok {
		s = &tokenSlot{refreshing: make(chan struct{}, 1)}
		c.slots[key] = s
	}
	return s
}

// valid returns the cached token and API domain unless missing, expired or
// stale (the token the API just refused).
func (s *tokenSlot) valid(now time.Time, stale string) (string, string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == "" || s.token == stale || !now.Before(s.expires) {
		return "", "", false
	}
	return s.token, s.apiDomain, true
}

// tokenAnswer is the token endpoint's body: a token, or Zoho's refusal in
// error (with HTTP 200).
type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	APIDomain   string `json:"api_domain"`
	ExpiresIn   int    `json:"expires_in"`
	Error       string `json:"error"`
}

// accessToken returns a token and the API domain it answered, exchanging
// the refresh token when the cache has none other than stale; force
// exchanges regardless (Verify).
func (z *zoho) accessToken(ctx context.Context, stale string, force bool) (string, string, error) {
	if tok, dom, ok := z.slot.valid(z.now(), stale); ok && !force {
		return tok, dom, nil
	}
	select {
	case z.slot.refreshing <- struct{}{}:
		defer func() { <-z.slot.refreshing }()
	case <-ctx.Done():
		return "", "", ctx.Err()
	}
	// Another caller may have refreshed while this one waited.
	if tok, dom, ok := z.slot.valid(z.now(), stale); ok && !force {
		return tok, dom, nil
	}
	a, err := z.exchange(ctx)
	if err != nil {
		return "", "", err
	}
	ttl := time.Duration(a.ExpiresIn) * time.Second
	if ttl <= 0 {
		ttl = time.Hour
	}
	// Renew shortly before expiry so a token never dies mid-request.
	ttl -= min(time.Minute, ttl/10)
	z.slot.mu.Lock()
	z.slot.token, z.slot.apiDomain, z.slot.expires = a.AccessToken, a.APIDomain, z.now().Add(ttl)
	z.slot.mu.Unlock()
	return a.AccessToken, a.APIDomain, nil
}

// exchange is Zoho's refresh-token grant. The parameters go in a form body,
// which Zoho accepts as well as the query its examples use: a URL lands in
// logs and in *url.Error messages, a body does not.
func (z *zoho) exchange(ctx context.Context) (tokenAnswer, error) {
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"client_id":     {z.creds.ClientID},
		"client_secret": {z.creds.ClientSecret},
		"refresh_token": {z.creds.RefreshToken},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, z.accountsURL+"/oauth/v2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return tokenAnswer{}, fmt.Errorf("crm: zoho accounts URL: %w", ErrBadCredentials)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := z.client.Do(req)
	if err != nil {
		return tokenAnswer{}, unreachable(ctx, err)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500 {
		return tokenAnswer{}, unavailable(res, z.now())
	}
	var a tokenAnswer
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
	if err := json.Unmarshal(body, &a); err != nil {
		if res.StatusCode >= 400 {
			// Not Zoho's accounts server: a wrong AccountsURL.
			return tokenAnswer{}, fmt.Errorf("%w: zoho token endpoint answered %d", ErrBadCredentials, res.StatusCode)
		}
		return tokenAnswer{}, &Unavailable{RetryAfter: OutageRetry, Reason: "zoho token endpoint answered no JSON"}
	}
	switch {
	case strings.EqualFold(a.Error, "Access Denied"):
		// Zoho's answer to too many exchanges in ten minutes.
		return tokenAnswer{}, &Unavailable{RetryAfter: RateLimitedRetry, Reason: "zoho token exchange rate-limited"}
	case a.Error != "":
		return tokenAnswer{}, fmt.Errorf("%w: zoho answered %s", ErrBadCredentials, code(a.Error))
	case a.AccessToken == "":
		return tokenAnswer{}, fmt.Errorf("%w: zoho answered %d without a token", ErrBadCredentials, res.StatusCode)
	}
	return a, nil
}

// code quotes a provider's error code for a message, bounded in length.
func code(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return fmt.Sprintf("%q", s)
}
