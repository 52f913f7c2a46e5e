package auth

import (
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
