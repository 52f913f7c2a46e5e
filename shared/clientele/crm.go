package clientele

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// CRMLink ties a company (AccountID), a user (ContactID) or a project (the
// deals converted into it) to its records in the portal's CRM. Only owners
// and admins see it (see api's crmView).
type CRMLink struct {
	AccountID string   `json:"accountId,omitempty"`
	ContactID string   `json:"contactId,omitempty"`
	DealIDs   []string `json:"dealIds,omitempty"`
}

// MaxDealsPerProject bounds the deals converted into one project (each is
// a guard its deletion removes in one transaction).
const MaxDealsPerProject = 50

// CRMNotConnected refuses what needs the portal's CRM connection when it
// has none.
func CRMNotConnected() error {
	return Errorf(NotFound, "the portal has no CRM connection; PUT /v1/portal/crm connects one")
}

// WithoutCRM is the user as those who may not see CRM links see it.
func (u User) WithoutCRM() User { u.CRM = nil; return u }

// WithoutCRM is the company without its CRM link.
func (c Company) WithoutCRM() Company { c.CRM = nil; return c }

// WithoutCRM is the project without its CRM links.
func (p Project) WithoutCRM() Project { p.CRM = nil; return p }

// ErrSecretUnreadable is a stored secret that no longer opens (tampered,
// another portal's, another key's): the portal must enter it again.
var ErrSecretUnreadable = errors.New("a stored secret cannot be read")

// CRM providers.
const Zoho = "zoho"

// CRMConnection is a portal's connection to its CRM as shown: never its
// secrets, which only the store holds, sealed.
type CRMConnection struct {
	Provider    string    `json:"provider"`
	APIDomain   string    `json:"apiDomain"`
	AccountsURL string    `json:"accountsUrl"`
	ClientID    string    `json:"clientId"`
	Status      string    `json:"status"`
	ConnectedAt time.Time `json:"connectedAt"`
	Version     int       `json:"version"` // counts connections: a PUT replaces, under If-Match
	// Sealed is the client secret and refresh token, encrypted under the
	// portal's encryption context (package seal).
	Sealed []byte `json:"-"`
}

// Connected is the status of a working connection.
const Connected = "connected"

// CRMConnectionInput is the body of PUT /v1/portal/crm.
type CRMConnectionInput struct {
	Provider     string `json:"provider"`
	APIDomain    string `json:"apiDomain"`
	AccountsURL  string `json:"accountsUrl"`
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
	RefreshToken string `json:"refreshToken"`
}

// maxCRMSecret bounds each credential: Zoho's are about 40-70 characters,
// and sealed they must stay far below KMS's 4 KB plaintext limit.
const maxCRMSecret = 1024

// Validate checks the shape of the input and returns it with its URLs as
// origins (scheme://host[:port]); whether the CRM accepts the credentials
// is proved by a token exchange, and which hosts are allowed by package crm.
func (in CRMConnectionInput) Validate() (CRMConnectionInput, error) {
	var f Fields
	if in.Provider != Zoho {
		f.Add("provider", "must be %q", Zoho)
	}
	for _, u := range []struct {
		field string
		v     *string
	}{{"apiDomain", &in.APIDomain}, {"accountsUrl", &in.AccountsURL}} {
		o, err := Origin(*u.v)
		if err != nil {
			f.Add(u.field, "%v", err)
		}
		*u.v = o
	}
	for _, s := range []struct{ field, v string }{
		{"clientId", in.ClientID}, {"clientSecret", in.ClientSecret}, {"refreshToken", in.RefreshToken},
	} {
		switch {
		case strings.TrimSpace(s.v) == "":
			f.Add(s.field, "is required")
		case len(s.v) > maxCRMSecret:
			f.Add(s.field, "must be at most %d characters", maxCRMSecret)
		case strings.ContainsFunc(s.v, func(r rune) bool { return r < 0x21 || r > 0x7e }):
			f.Add(s.field, "must be printable ASCII without spaces")
		}
	}
	return in, f.Err()
}

// Origin reduces an absolute http(s) URL with no path, query or
// credentials to its origin.
func Origin(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	switch {
	case s == "":
		return "", fmt.Errorf("is required")
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return "", fmt.Errorf("must be an absolute https URL")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/"):
		return "", fmt.Errorf("must be only scheme and host, e.g. https://www.zohoapis.com")
	}
	return u.Scheme + "://" + strings.ToLower(u.Host), nil
}

// ValidCRMID reports whether s can be a CRM record id: Zoho's and HubSpot's
// are digits, Salesforce's letters and digits.
func ValidCRMID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// MaxCRMImport bounds the contacts of one import.
const MaxCRMImport = 100

// CRMImportInput is the body of POST /v1/crm/imports.
type CRMImportInput struct {
	ContactIDs []string `json:"contactIds"`
	ProfileID  *string  `json:"profileId"`
	ProjectIDs []string `json:"projectIds"`
	// Invite false adds the users without portal access (no invitation),
	// as POST /v1/users with portalAccess false does.
	Invite *bool `json:"invite"`
}

// CRMImport is a checked import request.
type CRMImport struct {
	ContactIDs []string
	ProfileID  string
	ProjectIDs []string
	Invite     bool
}

// Validate checks the import request.
func (in CRMImportInput) Validate() (CRMImport, error) {
	var f Fields
	out := CRMImport{ProfileID: BuiltInProfile, Invite: in.Invite == nil || *in.Invite}
	switch {
	case len(in.ContactIDs) == 0:
		f.Add("contactIds", "is required: the CRM ids of the contacts to import")
	case len(in.ContactIDs) > MaxCRMImport:
		f.Add("contactIds", "must have at most %d ids", MaxCRMImport)
	}
	seen := map[string]bool{}
	for i, id := range in.ContactIDs {
		switch {
		case !ValidCRMID(id):
			f.Add(fmt.Sprintf("contactIds[%d]", i), "is not a CRM record id")
		case seen[id]:
			f.Add(fmt.Sprintf("contactIds[%d]", i), "is given twice")
		}
		seen[id] = true
		out.ContactIDs = append(out.ContactIDs, id)
	}
	if in.ProfileID != nil {
		if !ValidProfileID(*in.ProfileID) {
			f.Add("profileId", "must be %q or the id of one of the portal's profiles", BuiltInProfile)
		}
		out.ProfileID = *in.ProfileID
	}
	out.ProjectIDs = cleanIDs("projectIds", in.ProjectIDs, MaxProjectsPerUser, &f)
	return out, f.Err()
}

// DealConversionInput is the body of POST /v1/crm/deals/{dealId}/convert.
type DealConversionInput struct {
	ProjectID *string `json:"projectId"`
	Name      *string `json:"name"`
	Billing   *string `json:"billing"`
}

// Validate checks the conversion request: a new project (name and billing
// optional) or an existing one (projectId alone).
func (in DealConversionInput) Validate() error {
	var f Fields
	if in.ProjectID != nil {
		if !ValidID(*in.ProjectID) {
			f.Add("projectId", "is not a project id")
		}
		if in.Name != nil || in.Billing != nil {
			f.Add("projectId", "name and billing apply to a new project only: give projectId alone")
		}
	}
	if in.Name != nil {
		if _, err := CleanName(*in.Name); err != nil {
			f.Add("name", "%v", err)
		}
	}
	if in.Billing != nil {
		if _, err := cleanBilling(*in.Billing); err != nil {
			f.Add("billing", "%v", err)
		}
	}
	return f.Err()
}
