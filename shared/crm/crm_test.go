package crm

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	localcrm "github.com/clientele/clientele/infra/local/crm"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// withCache isolates a test's tokens from the process-wide cache.
func withCache(c *tokenCache) Option { return func(o *options) { o.cache = c } }

type env struct {
	crm   *localcrm.CRM
	srv   *httptest.Server
	clk   *clock
	creds Credentials
	cache *tokenCache
}

func setup(t *testing.T) *env {
	t.Helper()
	e := &env{clk: &clock{t: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}, cache: newTokenCache()}
	e.crm = localcrm.New(e.clk.now)
	e.srv = httptest.NewServer(e.crm.Handler())
	t.Cleanup(e.srv.Close)
	l := localcrm.Local()
	e.creds = Credentials{Provider: "zoho", APIDomain: e.srv.URL, AccountsURL: e.srv.URL,
		ClientID: l.ClientID, ClientSecret: l.ClientSecret, RefreshToken: l.RefreshToken}
	return e
}

func (e *env) connect(t *testing.T, creds Credentials) Connector {
	t.Helper()
	c, err := New(creds, WithClock(e.clk.now), withCache(e.cache))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// noSecrets fails if err's message holds a credential.
func noSecrets(t *testing.T, err error, creds Credentials) {
	t.Helper()
	for _, s := range []string{creds.ClientSecret, creds.RefreshToken, "Zoho-oauthtoken", "1000."} {
		if err != nil && s != "" && strings.Contains(err.Error(), s) {
			t.Fatalf("error %q leaks %q", err, s)
		}
	}
}

func TestNew(t *testing.T) {
	e := setup(t)
	for _, tc := range []struct {
		name string
		edit func(*Credentials)
		want error
	}{
		{"zoho", func(*Credentials) {}, nil},
		{"unknown provider", func(c *Credentials) { c.Provider = "hubspot" }, ErrUnknownProvider},
		{"no refresh token", func(c *Credentials) { c.RefreshToken = "" }, ErrBadCredentials},
	} {
		t.Run(tc.name, func(t *testing.T) {
			creds := e.creds
			tc.edit(&creds)
			if _, err := New(creds); !errors.Is(err, tc.want) {
				t.Fatalf("New: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(*Credentials)
		revoke bool
		want   error
		code   string
	}{
		{"good", func(*Credentials) {}, false, nil, ""},
		{"bad client id", func(c *Credentials) { c.ClientID = "1000.WRONG" }, false, ErrBadCredentials, "invalid_client"},
		{"bad secret", func(c *Credentials) { c.ClientSecret = "wrong-secret" }, false, ErrBadCredentials, "invalid_client"},
		{"bad refresh token", func(c *Credentials) { c.RefreshToken = "1000.wrong.refresh" }, false, ErrBadCredentials, "invalid_code"},
		{"revoked refresh token", func(*Credentials) {}, true, ErrBadCredentials, "invalid_code"},
		{"wrong accounts URL", func(c *Credentials) { c.AccountsURL += "/nowhere" }, false, ErrBadCredentials, "404"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t)
			if tc.revoke {
				e.crm.RevokeRefreshToken()
			}
			creds := e.creds
			tc.edit(&creds)
			err := e.connect(t, creds).Verify(context.Background())
			if !errors.Is(err, tc.want) || (tc.code != "" && !strings.Contains(err.Error(), tc.code)) {
				t.Fatalf("Verify: %v, want %v with %s", err, tc.want, tc.code)
			}
			noSecrets(t, err, creds)
		})
	}
}

func ids(cs []Contact) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func TestListContacts(t *testing.T) {
	e := setup(t)
	c := e.connect(t, e.creds)
	var all []string
	for _, k := range e.crm.Describe("").Contacts {
		all = append(all, k.ID)
	}
	var acme []string
	for _, k := range e.crm.Describe("").Contacts {
		if strings.Contains(k.Email, "acme") {
			acme = append(acme, k.ID)
		}
	}
	for _, tc := range []struct {
		q     string
		limit int
		want  []string
	}{
		{"", 1, all}, {"", 2, all}, {"", 3, all}, {"", 4, all}, {"", 5, all}, {"", 6, all},
		{"", 7, all}, {"", 11, all}, {"", 12, all}, {"", 13, all}, {"", 100, all},
		{"acme", 1, acme}, {"acme", 3, acme}, {"acme", 10, acme},
		{"nobody-by-that-name", 5, nil},
	} {
		var got []string
		calls := 0
		for pos := (&Position{}); pos != nil; calls++ {
			items, next, err := ListContacts(context.Background(), c, tc.q, *pos, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(items) > tc.limit || (next != nil && len(items) != tc.limit) {
				t.Fatalf("q %q limit %d: %d items, next %v", tc.q, tc.limit, len(items), next)
			}
			got = append(got, ids(items)...)
			pos = next
			if calls > 20 {
				t.Fatal("no end")
			}
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Fatalf("q %q limit %d:\n got %v\nwant %v", tc.q, tc.limit, got, tc.want)
		}
	}
}

func TestContactsPage(t *testing.T) {
	e := setup(t)
	c := e.connect(t, e.creds)
	for _, tc := range []struct {
		name  string
		q     string
		page  int
		count int
		more  bool
		want  error
		check func(*testing.T, []Contact)
	}{
		{name: "first page", page: 1, count: localcrm.MaxPerPage, more: true},
		{name: "page zero is the first", page: 0, count: localcrm.MaxPerPage, more: true},
		{name: "last page", page: 3, count: 2, check: func(t *testing.T, cs []Contact) {
			if cs[0].Name != "Kim Kowalski" || cs[0].AccountID != "" || cs[1].Name != "Lopez" || cs[1].AccountName != "Acme Corp" {
				t.Fatalf("%+v", cs)
			}
		}},
		{name: "past the end (204)", page: 4},
		{name: "word", q: "fischer", page: 1, count: 1, check: func(t *testing.T, cs []Contact) {
			if cs[0].Email != "" || cs[0].Name != "Frank Fischer" || cs[0].AccountName != "Globex GmbH" {
				t.Fatalf("contact without email: %+v", cs[0])
			}
		}},
		{name: "email", q: " Bob@Acme.example ", page: 1, count: 1},
		{name: "no match (204)", q: "zzzz", page: 1},
		{name: "too short", q: "a", page: 1, want: ErrQueryTooShort},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := c.ContactsPage(context.Background(), tc.q, tc.page)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if len(p.Items) != tc.count || p.More != tc.more {
				t.Fatalf("%d items more %v, want %d %v", len(p.Items), p.More, tc.count, tc.more)
			}
			if tc.check != nil {
				tc.check(t, p.Items)
			}
		})
	}
}

func TestRecords(t *testing.T) {
	e := setup(t)
	c := e.connect(t, e.creds)
	d := e.crm.Describe("")
	acme, alice, deal := d.Accounts[0], d.Contacts[0], d.Deals[0]
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		get  func() (any, error)
		want any
		err  error
	}{
		{"account", func() (any, error) { return c.Account(ctx, acme.ID) }, Account{ID: acme.ID, Name: "Acme Corp", Website: "https://acme.example",
			Address: Address{Street: "1 Market St", City: "San Francisco", State: "CA", PostalCode: "94105", Country: "USA"}}, nil},
		{"contact", func() (any, error) { return c.Contact(ctx, alice.ID) }, Contact{ID: alice.ID, Email: "alice@acme.example", Name: "Alice Anders",
			AccountID: acme.ID, AccountName: "Acme Corp"}, nil},
		{"deal", func() (any, error) { return c.Deal(ctx, deal.ID) }, Deal{ID: deal.ID, Name: "Acme website relaunch", AccountID: acme.ID,
			AccountName: "Acme Corp", Stage: "Qualification"}, nil},
		{"unknown account (204)", func() (any, error) { return c.Account(ctx, "4150868000000999999") }, Account{}, ErrNotFound},
		{"malformed deal id (INVALID_DATA)", func() (any, error) { return c.Deal(ctx, "not-an-id") }, Deal{}, ErrNotFound},
		{"empty contact id", func() (any, error) { return c.Contact(ctx, "") }, Contact{}, ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.get()
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestTokenRefresh(t *testing.T) {
	always401 := func(r *http.Request) (int, string, http.Header, bool) {
		return 401, `{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}`, nil, strings.HasPrefix(r.URL.Path, "/crm/")
	}
	scope401 := func(r *http.Request) (int, string, http.Header, bool) {
		return 401, `{"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"invalid oauth scope to access this URL","status":"error"}`, nil, strings.HasPrefix(r.URL.Path, "/crm/")
	}
	for _, tc := range []struct {
		name      string
		break_    func(*localcrm.CRM)
		want      error
		exchanges int // after the first call and the broken one
	}{
		{"expired tokens: refresh once, retry", (*localcrm.CRM).ExpireTokens, nil, 2},
		{"revoked refresh token", (*localcrm.CRM).RevokeRefreshToken, ErrBadCredentials, 2},
		{"fresh token refused too", func(c *localcrm.CRM) { c.Fail(always401) }, ErrUnauthorized, 2},
		{"scope mismatch: no refresh", func(c *localcrm.CRM) { c.Fail(scope401) }, ErrUnauthorized, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t)
			c := e.connect(t, e.creds)
			if _, err := c.ContactsPage(context.Background(), "", 1); err != nil {
				t.Fatal(err)
			}
			tc.break_(e.crm)
			_, err := c.ContactsPage(context.Background(), "", 1)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			noSecrets(t, err, e.creds)
			if n := e.crm.TokenExchanges(); n != tc.exchanges {
				t.Fatalf("%d token exchanges, want %d", n, tc.exchanges)
			}
		})
	}
}

func TestTokenCachedUntilExpiry(t *testing.T) {
	e := setup(t)
	c := e.connect(t, e.creds)
	for _, step := range []struct {
		advance   time.Duration
		exchanges int
	}{{0, 1}, {time.Minute, 1}, {57 * time.Minute, 1}, {2 * time.Minute, 2}, {30 * time.Minute, 2}, {30 * time.Minute, 3}} {
		e.clk.advance(step.advance)
		if _, err := c.Deal(context.Background(), e.crm.Describe("").Deals[1].ID); err != nil {
			t.Fatal(err)
		}
		if n := e.crm.TokenExchanges(); n != step.exchanges {
			t.Fatalf("after %v: %d exchanges, want %d", step.advance, n, step.exchanges)
		}
	}
	// A second connector for the same credentials (a warm invocation) reuses the token.
	if _, err := e.connect(t, e.creds).Account(context.Background(), e.crm.Describe("").Accounts[0].ID); err != nil {
		t.Fatal(err)
	}
	if n := e.crm.TokenExchanges(); n != 3 {
		t.Fatalf("second connector exchanged: %d", n)
	}
}

func TestUnavailable(t *testing.T) {
	answer := func(status int, h http.Header, prefix string) func(*localcrm.CRM) {
		return func(c *localcrm.CRM) {
			c.Fail(func(r *http.Request) (int, string, http.Header, bool) {
				return status, `{"code":"X","details":{},"message":"x","status":"error"}`, h, strings.HasPrefix(r.URL.Path, prefix)
			})
		}
	}
	for _, tc := range []struct {
		name   string
		break_ func(*localcrm.CRM)
		retry  time.Duration
	}{
		{"429 with zoho's reset header", func(c *localcrm.CRM) { c.RateLimit(1) }, 30 * time.Second},
		{"429 with Retry-After", answer(429, http.Header{"Retry-After": {"7"}}, "/crm/"), 7 * time.Second},
		{"429 without headers", answer(429, nil, "/crm/"), RateLimitedRetry},
		{"500", func(c *localcrm.CRM) { c.Down(true) }, OutageRetry},
		{"503 with Retry-After", answer(503, http.Header{"Retry-After": {"120"}}, "/crm/"), 2 * time.Minute},
		{"token endpoint 502", answer(502, nil, "/oauth/"), OutageRetry},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t)
			tc.break_(e.crm)
			_, err := e.connect(t, e.creds).ContactsPage(context.Background(), "", 1)
			var u *Unavailable
			if !errors.As(err, &u) || u.RetryAfter != tc.retry {
				t.Fatalf("err %v, want Unavailable after %v", err, tc.retry)
			}
			noSecrets(t, err, e.creds)
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		e := setup(t)
		e.srv.Close()
		err := e.connect(t, e.creds).Verify(context.Background())
		var u *Unavailable
		if !errors.As(err, &u) || u.RetryAfter != OutageRetry {
			t.Fatalf("err %v, want Unavailable", err)
		}
		noSecrets(t, err, e.creds)
	})
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		h    http.Header
		want time.Duration
	}{
		{http.Header{}, time.Minute},
		{http.Header{"Retry-After": {"12"}}, 12 * time.Second},
		{http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, 90 * time.Second},
		{http.Header{"Retry-After": {"soon"}}, time.Minute},
		{http.Header{"X-Ratelimit-Reset": {"1767225645000"}}, 45 * time.Second}, // epoch ms
		{http.Header{"X-Ratelimit-Reset": {"1767225620"}}, 20 * time.Second},    // epoch s
		{http.Header{"X-Ratelimit-Reset": {"15"}}, 15 * time.Second},            // seconds
		{http.Header{"X-Ratelimit-Reset": {"1767225500000"}}, time.Second},      // past: at least 1 s
		{http.Header{"Retry-After": {"999999"}}, time.Hour},                     // at most 1 h
	} {
		if got := retryAfter(tc.h, now, time.Minute); got != tc.want {
			t.Errorf("%v: %v, want %v", tc.h, got, tc.want)
		}
	}
}

func TestConcurrentShareOneRefresh(t *testing.T) {
	e := setup(t)
	conns := []Connector{e.connect(t, e.creds), e.connect(t, e.creds)}
	run := func() {
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := range 40 {
			wg.Go(func() {
				_, next, err := ListContacts(context.Background(), conns[i%2], "", Position{}, 7)
				if err == nil && next == nil {
					err = errors.New("no next position")
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	run()
	if n := e.crm.TokenExchanges(); n != 1 {
		t.Fatalf("%d exchanges, want 1", n)
	}
	e.crm.ExpireTokens()
	run()
	if n := e.crm.TokenExchanges(); n != 2 {
		t.Fatalf("after expiry: %d exchanges, want 2", n)
	}
}

func TestCanceled(t *testing.T) {
	e := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.connect(t, e.creds).Verify(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}
