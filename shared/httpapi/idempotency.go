package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/clock"
	"github.com/clientele/clientele/shared/idempotency"
)

// keys is the middleware of Idempotency-Key on staff POSTs: a key's first
// request does the work and its answer is kept for a day (sealed, when
// sealed is set); a repeat with the same fingerprint gets that answer,
// another fingerprint is 422, and a repeat while the first is at work 409.
type keys struct {
	store  idempotency.Store
	log    *slog.Logger
	clock  clock.Clock
	sealed *Answers // seals kept answers; nil keeps them as they are
}

// wrap puts h behind the middleware; with lock, the key is locked while h
// runs (HandleLocked).
func (k *keys) wrap(h HandlerFunc, lock bool) HandlerFunc {
	return func(ctx context.Context, r *Request) (*Response, error) {
		switch {
		case r.Event.RequestContext.HTTP.Method != http.MethodPost || r.Header("Idempotency-Key") == "":
			return h(ctx, r)
		case lock:
			return k.locked(ctx, r, h)
		}
		return k.idempotent(ctx, r, h)
	}
}

// idempotent serves a POST with an Idempotency-Key: a live record with the
// same fingerprint is replayed, another fingerprint is 422, and otherwise the
// handler runs and its 2xx answer is recorded, in the handler's own
// transaction when it supports that (see Request.Record).
func (k *keys) idempotent(ctx context.Context, r *Request, h HandlerFunc) (*Response, error) {
	rec, now, err := k.keyRecord(r)
	if err != nil {
		return nil, err
	}
	if resp, err := k.replay(ctx, rec, now); resp != nil || err != nil {
		return resp, err
	}
	r.pending, r.sealed = &rec, k.sealed
	resp, err := h(ctx, r)
	if errors.Is(err, idempotency.ErrRace) {
		// A concurrent request with this key committed first (answer as it
		// did) or is still at work (409: retry for its answer).
		if resp, err := k.replay(ctx, rec, now); resp != nil || err != nil {
			return resp, err
		}
		return nil, errInProgress
	}
	if err != nil || resp.StatusCode >= 300 {
		// The state this request failed on may be a concurrent request's
		// work under the same key, committed with its record meanwhile:
		// answer as that one did.
		if prev, perr := k.replay(ctx, rec, now); prev != nil && perr == nil {
			return prev, nil
		}
		return resp, err
	}
	if r.recorded {
		return resp, nil
	}
	final := r.Record(resp)
	if err := k.store.PutIdempotency(ctx, *final); err != nil && !errors.Is(err, idempotency.ErrRace) {
		// The work is done; failing the answer now would invite a retry
		// that does it twice. Log and answer.
		k.log.WarnContext(ctx, "idempotency record not written", "request_id", r.ID, "error", err)
	}
	return resp, nil
}

// keyRecord is the record a keyed request would leave.
func (k *keys) keyRecord(r *Request) (idempotency.Record, time.Time, error) {
	key := r.Header("Idempotency-Key")
	if len(key) > 255 {
		return idempotency.Record{}, time.Time{}, &clientele.Error{Code: clientele.Invalid, Message: "Idempotency-Key is too long",
			Fields: []clientele.FieldError{{Field: "Idempotency-Key", Message: "must be at most 255 characters"}}}
	}
	body, err := r.Body()
	if err != nil {
		return idempotency.Record{}, time.Time{}, err
	}
	now := k.clock.Now()
	return idempotency.Record{
		PortalID:    r.Principal.PortalID,
		KeyHash:     hash(r.Principal.Subject, key),
		Fingerprint: hash(r.Event.RequestContext.HTTP.Method, r.Event.RawPath, r.Event.RawQueryString, string(body)),
		ExpiresAt:   now.Add(idempotency.TTL),
	}, now, nil
}

// locked serves a HandleLocked POST with an Idempotency-Key.
func (k *keys) locked(ctx context.Context, r *Request, h HandlerFunc) (*Response, error) {
	rec, now, err := k.keyRecord(r)
	if err != nil {
		return nil, err
	}
	if resp, err := k.replay(ctx, rec, now); resp != nil || err != nil {
		return resp, err
	}
	lock := rec
	lock.ExpiresAt = now.Add(idempotency.LockTTL)
	if err := k.store.PutIdempotency(ctx, lock); errors.Is(err, idempotency.ErrRace) {
		if resp, err := k.replay(ctx, rec, now); resp != nil || err != nil {
			return resp, err
		}
		return nil, errInProgress
	} else if err != nil {
		return nil, err
	}
	resp, err := h(ctx, r)
	if err != nil || resp.StatusCode >= 300 {
		if rerr := k.store.ReleaseIdempotency(context.WithoutCancel(ctx), lock); rerr != nil {
			k.log.WarnContext(ctx, "idempotency lock not released; it lapses", "request_id", r.ID, "error", rerr)
		}
		return resp, err
	}
	r.pending, r.sealed = &rec, k.sealed
	if err := k.store.ReplaceIdempotency(context.WithoutCancel(ctx), *r.Record(resp)); err != nil {
		// The work is done; the lock lapses and the key then does the work
		// again only for requests that find neither record nor lock.
		k.log.WarnContext(ctx, "idempotency record not written", "request_id", r.ID, "error", err)
	}
	return resp, nil
}

var errInProgress = &clientele.Error{Code: clientele.Conflict, Kind: "in-progress", RetryAfter: time.Second,
	Message: "a request with this Idempotency-Key is in progress; retry when it has finished to get its answer"}

func (k *keys) replay(ctx context.Context, rec idempotency.Record, now time.Time) (*Response, error) {
	prev, err := k.store.GetIdempotency(ctx, rec.PortalID, rec.KeyHash)
	if err != nil || prev == nil || !prev.ExpiresAt.After(now) {
		return nil, err
	}
	if prev.Fingerprint != rec.Fingerprint {
		return nil, clientele.Errorf(clientele.KeyReused,
			"this Idempotency-Key was used with another request; use a new key for a new request")
	}
	if prev.InProgress() {
		return nil, errInProgress
	}
	body, err := k.sealed.open(rec.PortalID, rec.KeyHash, prev.Body)
	if err != nil {
		// CURSOR_SECRET changed within the record's day: the answer is
		// lost, and doing the work again could do it twice.
		return nil, &clientele.Error{Code: clientele.Conflict, Err: err,
			Message: "this Idempotency-Key was used, and its answer can no longer be read; use a new key for a new request"}
	}
	resp := &Response{StatusCode: prev.Status, Body: body, Headers: map[string]string{}}
	for k, v := range prev.Headers {
		resp.Headers[k] = v
	}
	resp.Headers["Idempotent-Replayed"] = "true"
	return resp, nil
}

func hash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}
