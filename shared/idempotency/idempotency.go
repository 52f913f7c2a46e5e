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

// LockTTL bounds how long a request that does its work in several steps
// holds its key (longer than any function's timeout): a crashed one's lock
// lapses and the key can be retried.
const LockTTL = 2 * time.Minute

// Record is the first successful response to a keyed request, or, with
// Status 0, the lock of a request still running.
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
	// ReplaceIdempotency writes rec over the lock its request holds.
	ReplaceIdempotency(ctx context.Context, rec Record) error
	// ReleaseIdempotency deletes the lock of rec's key, if it is still one.
	ReleaseIdempotency(ctx context.Context, rec Record) error
}

// InProgress reports whether the record is a running request's lock.
func (r Record) InProgress() bool { return r.Status == 0 }
