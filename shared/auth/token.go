package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"

	"github.com/clientele/clientele/shared/clientele"
)

// NewToken returns a secret for a link or session, 256 bits from
// crypto/rand, and its hash: only the hash is ever stored.
func NewToken() (token, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail on supported platforms
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken is the stored form of a token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NewPortalToken returns a token that names its portal ("<portal>.<secret>"),
// so that a link or session can be looked up under the portal's keys, and
// the hash stored for it.
func NewPortalToken(portalID string) (token, hash string) {
	secret, _ := NewToken()
	token = portalID + "." + secret
	return token, HashToken(token)
}

// PortalOf returns the portal a token names, if it has the shape of one.
func PortalOf(token string) (string, bool) {
	pid, secret, ok := strings.Cut(token, ".")
	if !ok || len(secret) != 43 || !clientele.ValidPortalID(pid) {
		return "", false
	}
	return pid, true
}

// NewCode returns a 6-digit one-time code, uniform over 000000-999999.
func NewCode() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000)) // crypto/rand does not fail on supported platforms
	return fmt.Sprintf("%06d", n.Int64())
}

// HashCode is the stored form of a one-time code, bound to its portal and
// address so that a hash copied elsewhere matches nothing.
func HashCode(portalID, emailKey, code string) string {
	return HashToken(portalID + "\x00" + emailKey + "\x00" + strings.TrimSpace(code))
}

// LinkTokens makes the tokens of company sign-up links. A link's token is
// an HMAC of a random nonce under a key derived from the functions' secret,
// so the table holds only the nonce and the token's hash, yet staff can be
// shown the link again (GET .../signup-link): a copy of the table alone
// does not open any link.
type LinkTokens struct{ key []byte }

// NewLinkTokens derives the link key from secret (the functions'
// CURSOR_SECRET): a key of its own, so a link token can never pass for a
// cursor or a CSRF token.
func NewLinkTokens(secret string) *LinkTokens {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("clientele/signup-link/v1"))
	return &LinkTokens{key: m.Sum(nil)}
}

// NewNonce is a link's random part, 256 bits from crypto/rand.
func NewNonce() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// Token is the token of the link of company cid of portal pid with nonce,
// in the shape of NewPortalToken's ("<portal>.<43 characters>"), and its
// hash.
func (t *LinkTokens) Token(pid, cid, nonce string) (token, hash string) {
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte(pid + "\x00" + cid + "\x00" + nonce))
	token = pid + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	return token, HashToken(token)
}
