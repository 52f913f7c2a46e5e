package httpapi

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
)

// Answers seals the answers kept for Idempotency-Key replays. Kept in the
// table for a day, an answer may hold what the table must not: a sign-up
// link's token is stored only as a hash, yet its creation answers the link
// and a replay must answer the same. So every kept body is encrypted with
// AES-GCM under a key of its own, bound to the portal and the key's hash.
type Answers struct{ aead cipher.AEAD }

// sealedPrefix marks a sealed body; a body kept before sealing began
// (within its day) is replayed as it is.
const sealedPrefix = "sealed:v1:"

// NewAnswers derives the answers' key from secret (the functions'
// CURSOR_SECRET).
func NewAnswers(secret string) (*Answers, error) {
	aead, err := newAEAD("clientele idempotent answers v1", secret)
	if err != nil {
		return nil, err
	}
	return &Answers{aead: aead}, nil
}

func answerAD(portalID, keyHash string) []byte { return []byte(portalID + "\x00" + keyHash) }

func (a *Answers) seal(portalID, keyHash, body string) string {
	if a == nil {
		return body
	}
	nonce := make([]byte, a.aead.NonceSize())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails on supported platforms
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(a.aead.Seal(nonce, nonce, []byte(body), answerAD(portalID, keyHash)))
}

var errSealedAnswer = errors.New("a kept answer does not open with this key")

func (a *Answers) open(portalID, keyHash, body string) (string, error) {
	sealed, ok := strings.CutPrefix(body, sealedPrefix)
	if !ok {
		return body, nil
	}
	raw, err := base64.RawStdEncoding.DecodeString(sealed)
	if a == nil || err != nil || len(raw) < a.aead.NonceSize() {
		return "", errSealedAnswer
	}
	ns := a.aead.NonceSize()
	plain, err := a.aead.Open(nil, raw[:ns], raw[ns:], answerAD(portalID, keyHash))
	if err != nil {
		return "", errSealedAnswer
	}
	return string(plain), nil
}
