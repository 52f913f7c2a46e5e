package pages

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/httpapi"
)

// CSRF protects the pages' form posts without server state: a double-submit
// token bound by HMAC. Each browser holds a random nonce in a cookie
// (HttpOnly, SameSite=Strict, __Host- prefixed and Secure over https); each
// form carries "<issued>.<HMAC(key, nonce, purpose, issued)>", where purpose
// is the form's path. A post verifies only with the nonce cookie of the
// browser the form was served to, for that form, within TokenTTL:
//   - another site cannot read the token (same-origin policy) and, with
//     SameSite=Strict, its cross-site post does not even carry the cookie;
//   - a cookie planted from a sibling subdomain is useless without the key,
//     and over https the __Host- prefix refuses such cookies anyway;
//   - a token of one invitation link's form does not open another's.
//
// Sec-Fetch-Site, where the browser sends it, must say same-origin (or none):
// a second, independent check. Origin cannot serve: with
// Referrer-Policy: no-referrer, browsers send "Origin: null" on form posts.
type CSRF struct {
	key []byte
	now func() time.Time
}

// TokenTTL is how long a served form can be posted.
const TokenTTL = 2 * time.Hour

const nonceLen = 32

// NewCSRF derives the CSRF key from secret (the functions' CURSOR_SECRET):
// a key of its own, so a token can never pass for a cursor or the reverse.
func NewCSRF(secret string, now func() time.Time) *CSRF {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("clientele/pages/csrf/v1"))
	return &CSRF{key: m.Sum(nil), now: now}
}

// CookieName is the nonce cookie's name: __Host- prefixed over https; a
// browser refuses that prefix without Secure, which plain http (the local
// stack) cannot have.
func CookieName(secure bool) string {
	if secure {
		return "__Host-csrf"
	}
	return "csrf"
}

// Issue returns the token for a form of purpose served to r, and the
// Set-Cookie value that (re)sets the browser's nonce: its current one when
// it has one, else a new one. The cookie's life is renewed with every form.
func (c *CSRF) Issue(r *httpapi.Request, purpose string) (token, setCookie string) {
	secure := r.Secure()
	nonce := r.Cookie(CookieName(secure))
	if !validNonce(nonce) {
		b := make([]byte, nonceLen)
		_, _ = rand.Read(b) // crypto/rand does not fail (Go ≥ 1.24)
		nonce = base64.RawURLEncoding.EncodeToString(b)
	}
	issued := strconv.FormatInt(c.now().Unix(), 10)
	cookie := CookieName(secure) + "=" + nonce + "; Path=/; Max-Age=" + strconv.Itoa(int(TokenTTL.Seconds())) + "; HttpOnly; SameSite=Strict"
	if secure {
		cookie += "; Secure"
	}
	return issued + "." + c.mac(nonce, purpose, issued), cookie
}

// Check verifies the token posted with a form of purpose: Forbidden unless
// it was issued to this browser's nonce, for this purpose, within TokenTTL,
// and the browser does not say the post came from another site.
func (c *CSRF) Check(r *httpapi.Request, purpose, token string) error {
	forbidden := clientele.Errorf(clientele.Forbidden, "this form has expired or did not come from this site; reload the page and try again")
	switch r.Header("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return forbidden
	}
	nonce := r.Cookie(CookieName(r.Secure()))
	issued, mac, ok := strings.Cut(token, ".")
	if !ok || !validNonce(nonce) {
		return forbidden
	}
	at, err := strconv.ParseInt(issued, 10, 64)
	if err != nil {
		return forbidden
	}
	age := c.now().Sub(time.Unix(at, 0))
	if age < -time.Minute || age > TokenTTL {
		return forbidden
	}
	if !hmac.Equal([]byte(mac), []byte(c.mac(nonce, purpose, issued))) {
		return forbidden
	}
	return nil
}

func (c *CSRF) mac(nonce, purpose, issued string) string {
	m := hmac.New(sha256.New, c.key)
	for _, p := range []string{nonce, purpose, issued} {
		m.Write([]byte(strconv.Itoa(len(p)) + ":" + p))
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func validNonce(s string) bool {
	if len(s) != base64.RawURLEncoding.EncodedLen(nonceLen) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}
