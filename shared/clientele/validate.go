package clientele

import (
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits shared by validation and documented in the OpenAPI document.
const (
	MaxNameLen      = 200
	MaxAddressField = 200
	MaxURLLen       = 2048
	// MaxIDsPerRequest bounds the ids one create may link, so that the
	// links and their history entries fit one 100-item transaction.
	MaxIDsPerRequest = 40
	// MaxCompaniesPerProject keeps a project item far below 400 KB.
	MaxCompaniesPerProject = 500
)

// ValidID reports whether s has the shape of an ID this service issues
// (26 characters of Crockford's base32: a ULID), so junk never reaches a
// key. It is spelled out, not a regexp: it runs on every request.
func ValidID(s string) bool {
	if len(s) != 26 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !crockford[s[i]] {
			return false
		}
	}
	return true
}

var crockford = func() (t [256]bool) {
	for _, c := range "0123456789ABCDEFGHJKMNPQRSTVWXYZ" {
		t[c] = true
	}
	return t
}()

// ValidPortalID reports whether s is a portal (tenant) id safe to use in keys.
func ValidPortalID(s string) bool {
	// A loop, not a regexp: compiling one at package init cost every cold
	// start about 0.1 ms (a counted repeat, {0,62}, about 1 ms).
	if s == "" || len(s) > 63 || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// CleanName trims a display name and checks its length and characters.
func CleanName(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", fmt.Errorf("is required")
	case !utf8.ValidString(s):
		return "", fmt.Errorf("must be valid UTF-8")
	case utf8.RuneCountInString(s) > MaxNameLen:
		return "", fmt.Errorf("must be at most %d characters", MaxNameLen)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return "", fmt.Errorf("must not contain control characters")
	}
	return s, nil
}

// NameKey is the case-insensitive identity of a name: lower-cased with runs of
// white space collapsed, so "Acme  Inc" and "acme inc" are the same company.
func NameKey(name string) string {
	return strings.ToLower(strings.Join(strings.Fields(name), " "))
}

// NormalizeEmail validates an address and returns it trimmed, with the domain
// lower-cased (the local part is case-sensitive by RFC 5321, so it is kept).
// Internationalised addresses (UTF-8 local part or domain, RFC 6531) are
// accepted: the schemas say format: idn-email.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("is required")
	}
	if len(s) > 254 {
		return "", fmt.Errorf("must be at most 254 characters")
	}
	if !plainAddress(s) {
		addr, err := mail.ParseAddress(s)
		if err != nil || addr.Name != "" || addr.Address != s {
			return "", fmt.Errorf("is not a valid email address")
		}
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], strings.ToLower(s[at+1:])
	if domain == s[at+1:] {
		// Already lower case: no need to build it again.
		if len(local) <= 64 && validDomain(domain) {
			return s, nil
		}
	}
	if len(local) > 64 {
		return "", fmt.Errorf("has a local part longer than 64 characters")
	}
	if !validDomain(domain) {
		return "", fmt.Errorf("has an invalid domain")
	}
	return local + "@" + domain, nil
}

// plainAddress reports whether s is an address of the everyday kind
// (dot-atom local part, ASCII letters, digits, dots and hyphens after the
// @) that mail.ParseAddress would take as it is: those skip its parser.
func plainAddress(s string) bool {
	at := strings.IndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return false
	}
	local, domain := s[:at], s[at+1:]
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") ||
		domain[0] == '.' || domain[len(domain)-1] == '.' || strings.Contains(domain, "..") {
		return false
	}
	for i := 0; i < len(local); i++ {
		if c := local[i]; !alnum(c) && !strings.ContainsRune(".!#$%&'*+-/=?^_`{|}~", rune(c)) {
			return false
		}
	}
	for i := 0; i < len(domain); i++ {
		if c := domain[i]; !alnum(c) && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

func alnum(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' }

func validDomain(d string) bool {
	if len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	for l := range strings.SplitSeq(d, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				return false
			}
		}
	}
	return true
}

// CleanURL validates an absolute http(s) URL without credentials, query or
// fragment, and returns it without a trailing slash. It must be a URI as
// RFC 3986 spells one (the schema's format: uri): url.Parse takes spaces,
// quotes and non-ASCII letters that no URI has, so they are refused here
// rather than echoed.
func CleanURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("is required")
	}
	if len(s) > MaxURLLen {
		return "", fmt.Errorf("must be at most %d characters", MaxURLLen)
	}
	if !uriChars(s) {
		return "", fmt.Errorf("must be a URI (RFC 3986): percent-encode spaces and other characters (a space is %%20), and write an international domain in its xn-- form")
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Opaque != "" {
		return "", fmt.Errorf("must be an absolute http or https URL")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("must not contain credentials, a query or a fragment")
	}
	// Brackets belong to an IPv6 host, never to the path.
	rest := s[strings.Index(s, "//")+2:] // there is one: u.Host is set
	if i := strings.IndexByte(rest, '/'); i >= 0 && strings.ContainsAny(rest[i:], "[]") {
		return "", fmt.Errorf("must be a URI (RFC 3986): percent-encode [ and ] in the path")
	}
	return strings.TrimRight(s, "/"), nil
}

// uriChars reports whether s has only the characters of a URI (RFC 3986
// section 2: unreserved, reserved, and % followed by two hex digits).
func uriChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case alnum(c) || strings.IndexByte("-._~:/?#[]@!$&'()*+,;=", c) >= 0:
		case c == '%' && i+2 < len(s) && hex(s[i+1]) && hex(s[i+2]):
			i += 2
		default:
			return false
		}
	}
	return true
}

func hex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// cleanIDs checks a list of ids: shape, no duplicates, at most max.
func cleanIDs(field string, ids []string, max int, f *Fields) []string {
	if len(ids) > max {
		f.Add(field, "must have at most %d items", max)
		return nil
	}
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for i, id := range ids {
		switch {
		case !ValidID(id):
			f.Add(fmt.Sprintf("%s[%d]", field, i), "is not a valid id")
		case seen[id]:
			f.Add(fmt.Sprintf("%s[%d]", field, i), "is a duplicate")
		default:
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
