// Package idempotency holds the record that lets a POST with an
// Idempotency-Key be replayed instead of done twice.
package idempotency

import (
	"context"
	"errors"
	"time"
)

// TTL is how long a key is remembered.
const TTL = 24 * time.Hour

// Record is the first successful response to a keyed request.
type Record struct {
	PortalID    string
	KeyHash     string // hash of caller and key; the raw key is never stored
	Fingerprint string // hash of method, path and body
	Status      int
	Headers     map[string]string
	Body        string
	ExpiresAt   time.Time
}

// ErrRace is returned by a store write whose record was already written by a
// concurrent request with the same key; the caller replays that one.
var ErrRace = errors.New("idempotency key used by a concurrent request")

// Store keeps records.
type Store interface {
	// GetIdempotency returns the live record, or nil when there is none.
	GetIdempotency(ctx context.Context, portalID, keyHash string) (*Record, error)
	// PutIdempotency writes rec unless one exists (then ErrRace).
	PutIdempotency(ctx context.Context, rec Record) error
}
