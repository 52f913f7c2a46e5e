package crm

import (
	"fmt"
	"slices"
)

// zohoOrigins are Zoho's data centres (accounts server, API domain): a
// connection may reach only these, so that an admin's URL cannot point the
// function at another host (SSRF).
var zohoOrigins = map[string][2]string{
	"us": {"https://accounts.zoho.com", "https://www.zohoapis.com"},
	"eu": {"https://accounts.zoho.eu", "https://www.zohoapis.eu"},
	"in": {"https://accounts.zoho.in", "https://www.zohoapis.in"},
	"au": {"https://accounts.zoho.com.au", "https://www.zohoapis.com.au"},
	"jp": {"https://accounts.zoho.jp", "https://www.zohoapis.jp"},
	"ca": {"https://accounts.zohocloud.ca", "https://www.zohoapis.ca"},
	"sa": {"https://accounts.zoho.sa", "https://www.zohoapis.sa"},
	"uk": {"https://accounts.zoho.uk", "https://www.zohoapis.uk"},
	"cn": {"https://accounts.zoho.com.cn", "https://www.zohoapis.com.cn"},
}

// OriginError names the URL of Credentials that no data centre serves.
type OriginError struct {
	Field string // "accountsUrl" or "apiDomain"
	Msg   string
}

func (e *OriginError) Error() string { return e.Field + " " + e.Msg }

// CheckOrigins checks that creds reach one of the provider's data centres
// (accounts server and API domain of the same one), or origins in extra
// (the local stand-in). URLs are origins: scheme://host[:port].
func CheckOrigins(creds Credentials, extra []string) error {
	if slices.Contains(extra, creds.AccountsURL) && slices.Contains(extra, creds.APIDomain) {
		return nil
	}
	if creds.Provider != "zoho" {
		return fmt.Errorf("%w %q", ErrUnknownProvider, creds.Provider)
	}
	for _, dc := range zohoOrigins {
		if dc[0] == creds.AccountsURL {
			if dc[1] != creds.APIDomain {
				return &OriginError{Field: "apiDomain", Msg: "must be " + dc[1] + ", the API domain of the data centre of " + dc[0]}
			}
			return nil
		}
	}
	return &OriginError{Field: "accountsUrl", Msg: "must be the accounts server of a Zoho data centre, e.g. https://accounts.zoho.com or https://accounts.zoho.eu"}
}
