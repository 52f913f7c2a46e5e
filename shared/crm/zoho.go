package crm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// zoho is the Zoho CRM REST API v2 adapter.
type zoho struct {
	creds       Credentials
	accountsURL string
	client      *http.Client
	now         func() time.Time
	slot        *tokenSlot
}

const (
	zohoAccounts  = "https://accounts.zoho.com"
	zohoPerPage   = 200 // Zoho's largest page
	contactFields = "Email,First_Name,Last_Name,Full_Name,Account_Name"
)

func newZoho(creds Credentials, o options) (*zoho, error) {
	creds.AccountsURL = strings.TrimRight(creds.AccountsURL, "/")
	creds.APIDomain = strings.TrimRight(creds.APIDomain, "/")
	if creds.AccountsURL == "" {
		creds.AccountsURL = zohoAccounts
	}
	if creds.ClientID == "" || creds.ClientSecret == "" || creds.RefreshToken == "" {
		return nil, fmt.Errorf("%w: client id, client secret and refresh token are required", ErrBadCredentials)
	}
	return &zoho{creds: creds, accountsURL: creds.AccountsURL, client: o.client, now: o.now, slot: o.cache.slot(creds)}, nil
}

func (z *zoho) Verify(ctx context.Context) error {
	_, _, err := z.accessToken(ctx, "", true)
	return err
}

// ContactsPage lists contacts by id (a stable order for paging), or
// searches them: an email address by Zoho's email search (exact, over the
// module's email fields), anything else by its word search (names, emails
// and other text fields).
func (z *zoho) ContactsPage(ctx context.Context, q string, page int) (ContactsPage, error) {
	v := url.Values{"page": {strconv.Itoa(max(page, 1))}, "per_page": {strconv.Itoa(zohoPerPage)}}
	path := "/crm/v2/Contacts"
	switch q = strings.TrimSpace(q); {
	case q == "":
		v.Set("fields", contactFields)
		v.Set("sort_by", "id")
		v.Set("sort_order", "asc")
	case len([]rune(q)) < MinQuery:
		return ContactsPage{}, ErrQueryTooShort
	case isEmail(q):
		path += "/search"
		v.Set("email", q)
	default:
		path += "/search"
		v.Set("word", q)
	}
	var body struct {
		Data []zohoContact `json:"data"`
		Info struct {
			MoreRecords bool `json:"more_records"`
		} `json:"info"`
	}
	if _, err := z.get(ctx, path, v, &body); err != nil {
		return ContactsPage{}, err
	}
	p := ContactsPage{Items: make([]Contact, 0, len(body.Data)), More: body.Info.MoreRecords}
	for _, c := range body.Data {
		p.Items = append(p.Items, c.contact())
	}
	return p, nil
}

func isEmail(q string) bool {
	local, domain, ok := strings.Cut(q, "@")
	return ok && local != "" && strings.Contains(domain, ".") && !strings.ContainsAny(q, " \t")
}

func (z *zoho) Contact(ctx context.Context, id string) (Contact, error) {
	var c zohoContact
	err := z.record(ctx, "Contacts", id, &c)
	return c.contact(), err
}

func (z *zoho) Account(ctx context.Context, id string) (Account, error) {
	var a struct {
		ID      string `json:"id"`
		Name    string `json:"Account_Name"`
		Website string `json:"Website"`
		Street  string `json:"Billing_Street"`
		City    string `json:"Billing_City"`
		State   string `json:"Billing_State"`
		Code    string `json:"Billing_Code"`
		Country string `json:"Billing_Country"`
	}
	if err := z.record(ctx, "Accounts", id, &a); err != nil {
		return Account{}, err
	}
	return Account{ID: a.ID, Name: a.Name, Website: a.Website,
		Address: Address{Street: a.Street, City: a.City, State: a.State, PostalCode: a.Code, Country: a.Country}}, nil
}

func (z *zoho) Deal(ctx context.Context, id string) (Deal, error) {
	var d struct {
		ID      string  `json:"id"`
		Name    string  `json:"Deal_Name"`
		Account *lookup `json:"Account_Name"`
		Stage   string  `json:"Stage"`
	}
	if err := z.record(ctx, "Deals", id, &d); err != nil {
		return Deal{}, err
	}
	return Deal{ID: d.ID, Name: d.Name, AccountID: d.Account.id(), AccountName: d.Account.name(), Stage: d.Stage}, nil
}

// lookup is a lookup field, {"name","id"} or null.
type lookup struct{ Name, ID string }

func (l *lookup) id() string {
	if l == nil {
		return ""
	}
	return l.ID
}

func (l *lookup) name() string {
	if l == nil {
		return ""
	}
	return l.Name
}

type zohoContact struct {
	ID      string  `json:"id"`
	Email   string  `json:"Email"`
	First   string  `json:"First_Name"`
	Last    string  `json:"Last_Name"`
	Full    string  `json:"Full_Name"`
	Account *lookup `json:"Account_Name"`
}

func (c zohoContact) contact() Contact {
	name := c.Full
	if name == "" {
		name = strings.TrimSpace(c.First + " " + c.Last)
	}
	return Contact{ID: c.ID, Email: c.Email, Name: name, AccountID: c.Account.id(), AccountName: c.Account.name()}
}

// record gets one record into out (one element of Zoho's data array).
// Zoho answers an unknown id with 204, a malformed one with INVALID_DATA.
func (z *zoho) record(ctx context.Context, module, id string, out any) error {
	if id == "" {
		return ErrNotFound
	}
	var body struct{ Data []json.RawMessage }
	found, err := z.get(ctx, "/crm/v2/"+module+"/"+url.PathEscape(id), nil, &body)
	var ze *zohoError
	switch {
	case errors.As(err, &ze) && ze.Code == "INVALID_DATA":
		return ErrNotFound
	case err != nil:
		return err
	case !found || len(body.Data) == 0:
		return ErrNotFound
	}
	if err := json.Unmarshal(body.Data[0], out); err != nil {
		return fmt.Errorf("crm: zoho %s record: %w", module, err)
	}
	return nil
}

// zohoError is an API refusal not mapped to a package error.
type zohoError struct {
	Status int
	Code   string
}

func (e *zohoError) Error() string {
	return fmt.Sprintf("crm: zoho answered %d %s", e.Status, code(e.Code))
}

// get calls the API and decodes a 200 body into out; found is false for
// 204 No Content. A token the API refuses as invalid (expired, revoked) is
// refreshed once and the request retried once.
func (z *zoho) get(ctx context.Context, path string, query url.Values, out any) (found bool, err error) {
	stale := ""
	for attempt := 0; ; attempt++ {
		tok, dom, err := z.accessToken(ctx, stale, false)
		if err != nil {
			return false, err
		}
		base, err := z.apiDomain(dom)
		if err != nil {
			return false, err
		}
		u := base + path
		if len(query) > 0 {
			u += "?" + query.Encode()
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return false, fmt.Errorf("crm: zoho api domain: %w", err)
		}
		req.Header.Set("Authorization", "Zoho-oauthtoken "+tok)
		res, err := z.client.Do(req)
		if err != nil {
			return false, unreachable(ctx, err)
		}
		body, rerr := io.ReadAll(io.LimitReader(res.Body, 8<<20))
		res.Body.Close()
		switch {
		case res.StatusCode == http.StatusNoContent:
			return false, nil
		case res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500:
			return false, unavailable(res, z.now())
		case rerr != nil:
			return false, unreachable(ctx, rerr)
		case res.StatusCode == http.StatusOK:
			if err := json.Unmarshal(body, out); err != nil {
				return false, fmt.Errorf("crm: zoho %s: %w", path, err)
			}
			return true, nil
		}
		var e struct{ Code string }
		_ = json.Unmarshal(body, &e)
		switch {
		case res.StatusCode == http.StatusUnauthorized && attempt == 0 && (e.Code == "INVALID_TOKEN" || e.Code == "AUTHENTICATION_FAILURE"):
			stale = tok
			continue
		case res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden:
			return false, fmt.Errorf("%w: zoho answered %d %s", ErrUnauthorized, res.StatusCode, code(e.Code))
		}
		return false, &zohoError{Status: res.StatusCode, Code: e.Code}
	}
}

// apiDomain picks the API base URL. The configured APIDomain wins: the
// portal chose its data centre, and a token is only good there. Without
// one, the api_domain the token endpoint answered is used (Zoho documents
// it as the domain to call), if it is an https URL.
func (z *zoho) apiDomain(answered string) (string, error) {
	if z.creds.APIDomain != "" {
		return z.creds.APIDomain, nil
	}
	u, err := url.Parse(answered)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return "", &Unavailable{RetryAfter: OutageRetry, Reason: "zoho answered no usable api_domain"}
	}
	return strings.TrimRight(answered, "/"), nil
}
