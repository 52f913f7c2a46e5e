// Package kms is the local stack's and the tests' AWS KMS: an HTTP endpoint
// speaking KMS's wire protocol (AWS JSON 1.1) for Encrypt and Decrypt, so
// production code keeps using the real SDK client and only sees an endpoint
// URL. Keys live in memory and die with the process. Dev and tests only.
package kms

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"maps"
	"strings"
	"sync"
)

// The local account's fixed key, so the stack's configuration can name it
// before the process starts.
const (
	Region  = "us-east-1"
	Account = "000000000000"
	KeyID   = "c11e7e1e-0000-4000-8000-000000000001"
	Alias   = "alias/clientele-local"
)

// KeyARN is the ARN of key id, as KMS returns it in KeyId.
func KeyARN(id string) string {
	return fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", Region, Account, id)
}

// KMS is the stand-in. Safe for concurrent use.
type KMS struct {
	mu      sync.Mutex
	keys    map[string]cipher.AEAD // key id → AES-256-GCM
	aliases map[string]string      // "alias/…" → key id
	fail    func(op string) bool
	limit   func(op string) bool
	calls   map[string]int
}

// New returns a stand-in holding KeyID under Alias, with fresh random key
// material: ciphertexts of an earlier process no longer open.
func New() *KMS {
	k := &KMS{keys: map[string]cipher.AEAD{}, aliases: map[string]string{}, calls: map[string]int{}}
	k.addKey(KeyID)
	k.aliases[Alias] = KeyID
	return k
}

// CreateKey adds a symmetric key and returns its key id.
func (k *KMS) CreateKey() string {
	id := uuid()
	k.mu.Lock()
	defer k.mu.Unlock()
	k.addKey(id)
	return id
}

// addKey needs k.mu held (or k unshared).
func (k *KMS) addKey(id string) {
	material := make([]byte, 32)
	rand.Read(material)
	block, err := aes.NewCipher(material)
	if err != nil {
		panic(err) // 32 bytes is always a valid AES key
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	k.keys[id] = aead
}

// Fail makes the operations ("Encrypt", "Decrypt") match selects answer
// 500 KMSInternalException until Fail(nil).
func (k *KMS) Fail(match func(op string) bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.fail = match
}

// Throttle makes the operations match selects answer 400
// ThrottlingException, as KMS does past its request quota, until
// Throttle(nil).
func (k *KMS) Throttle(match func(op string) bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.limit = match
}

// Calls returns how many requests each operation received, failed ones and
// SDK retries included.
func (k *KMS) Calls() map[string]int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return maps.Clone(k.calls)
}

// resolve maps a key id, key ARN, alias name or alias ARN to a known key
// id, as KMS accepts all four.
func (k *KMS) resolve(ref string) (string, cipher.AEAD, bool) {
	if i := strings.Index(ref, ":key/"); strings.HasPrefix(ref, "arn:") && i >= 0 {
		ref = ref[i+len(":key/"):]
	} else if i := strings.Index(ref, ":alias/"); strings.HasPrefix(ref, "arn:") && i >= 0 {
		ref = ref[i+1:]
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if id, ok := k.aliases[ref]; ok {
		ref = id
	}
	aead, ok := k.keys[ref]
	return ref, aead, ok
}

// uuid returns a random UUID v4, the shape of KMS key and request ids.
func uuid() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[:4], b[4:6], b[6:8], b[8:10], b[10:])
}
