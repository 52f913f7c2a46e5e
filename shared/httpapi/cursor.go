package httpapi

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"

	"github.com/clientele/clientele/shared/clientele"
)

// Cursors seals and opens pagination cursors. A cursor is the DynamoDB key
// to resume from, encrypted and authenticated with AES-GCM; the portal and
// the query (route and filters) are its additional data, so a cursor from
// another portal or another query fails authentication rather than leaking or
// resuming somewhere else.
type Cursors struct{ aead cipher.AEAD }

// NewCursors derives the cursor key from secret.
func NewCursors(secret string) (*Cursors, error) {
	aead, err := newAEAD("clientele cursor v1", secret)
	if err != nil {
		return nil, err
	}
	return &Cursors{aead: aead}, nil
}

// newAEAD is AES-256-GCM under a key derived from secret for one use
// (label), so that no two uses share a key.
func newAEAD(label, secret string) (cipher.AEAD, error) {
	key := sha256.Sum256([]byte(label + "\x00" + secret))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func cursorAD(portalID, query string) []byte { return []byte(portalID + "\x00" + query) }

// Seal returns the cursor for key, "" when key is empty (last page).
func (c *Cursors) Seal(portalID, query string, key map[string]string) string {
	if len(key) == 0 {
		return ""
	}
	plain, _ := json.Marshal(key) // a map of strings always encodes
	nonce := make([]byte, c.aead.NonceSize())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(c.aead.Seal(nonce, nonce, plain, cursorAD(portalID, query)))
}

// Open returns the key sealed in cursor, nil for "". Any tampering, or a
// cursor made for another portal or query, is a 400.
func (c *Cursors) Open(portalID, query, cursor string) (map[string]string, error) {
	if cursor == "" {
		return nil, nil
	}
	bad := &clientele.Error{Code: clientele.Invalid, Message: "the cursor is not valid for this query",
		Fields: []clientele.FieldError{{Field: "cursor", Message: "is invalid, altered, or from another query"}}}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(raw) < c.aead.NonceSize()+c.aead.Overhead() || len(cursor) > 4096 {
		return nil, bad
	}
	ns := c.aead.NonceSize()
	plain, err := c.aead.Open(nil, raw[:ns], raw[ns:], cursorAD(portalID, query))
	if err != nil {
		return nil, bad
	}
	var key map[string]string
	if err := json.Unmarshal(plain, &key); err != nil || len(key) == 0 {
		return nil, bad
	}
	return key, nil
}
