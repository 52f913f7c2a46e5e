package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clientele/clientele/shared/auth"
	"github.com/clientele/clientele/shared/calls"
	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/clock"
	"github.com/clientele/clientele/shared/idempotency"
)

// HandlerFunc serves one route.
type HandlerFunc func(ctx context.Context, r *Request) (*Response, error)

// Access is who may call a route.
type Access int

// Access levels.
const (
	Read   Access = iota + 1 // any staff role
	Write                    // owner and admin
	Public                   // no staff token: public, or a client session the handler checks
)

type route struct {
	access  Access
	handler HandlerFunc
	lock    bool // an Idempotency-Key is locked while the handler runs
}

// Router dispatches on the API Gateway route key ("GET /v1/companies/{companyId}"),
// so no path is parsed twice and template.yaml stays the single source of routes.
type Router struct {
	routes map[string]route
	log    *slog.Logger
	idem   idempotency.Store
	clock  clock.Clock
	errors func(error) *Response // renders a failed request; Problem unless set
	sealed *Answers              // seals kept answers; nil keeps them as they are
}

// NewRouter returns an empty router.
func NewRouter(log *slog.Logger, idem idempotency.Store, c clock.Clock) *Router {
	return &Router{routes: map[string]route{}, log: log, idem: idem, clock: c, errors: Problem}
}

// RenderErrors makes the router answer failures with render instead of
// problem+json: the HTML pages answer their errors as pages. render must
// treat an unknown error as internal (no cause shown), as Problem does.
func (rt *Router) RenderErrors(render func(error) *Response) { rt.errors = render }

// SealAnswers makes the router keep Idempotency-Key answers sealed by a.
func (rt *Router) SealAnswers(a *Answers) { rt.sealed = a }

// Handle registers h for routeKey.
func (rt *Router) Handle(routeKey string, access Access, h HandlerFunc) {
	rt.routes[routeKey] = route{access: access, handler: h}
}

// HandleLocked registers a POST whose work spans several transactions, so
// that its Idempotency-Key record cannot be written with the work: the key
// is locked while the handler runs, a concurrent request with the same key
// is answered 409 (retry) instead of doing the work again, and the answer is
// recorded after. A failed request releases the key.
func (rt *Router) HandleLocked(routeKey string, access Access, h HandlerFunc) {
	rt.routes[routeKey] = route{access: access, handler: h, lock: true}
}

// Routes returns the registered route keys, sorted.
func (rt *Router) Routes() []string {
	keys := make([]string, 0, len(rt.routes))
	for k := range rt.routes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Invoke is the Lambda handler. It never returns an error: every failure is
// an HTTP answer, so API Gateway never shows its own 500.
func (rt *Router) Invoke(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (resp events.APIGatewayV2HTTPResponse, _ error) {
	start := time.Now()
	r := &Request{Event: &ev, ID: ev.RequestContext.RequestID}
	if r.ID == "" {
		r.ID = fmt.Sprintf("local-%d", start.UnixNano())
	}
	// The request is its own context: it counts DynamoDB calls and answers
	// FromContext, with no allocation of its own.
	r.ctx.Context, r.ctx.r = ctx, r
	ctx = &r.ctx
	var err error
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
			resp = *rt.errors(err)
		}
		if resp.Headers == nil {
			resp.Headers = map[string]string{}
		}
		resp.Headers["X-Request-Id"] = r.ID
		resp.Headers["Cache-Control"] = "no-store"
		rt.logRequest(ctx, r, resp.StatusCode, err, time.Since(start))
	}()
	out, err := rt.serve(ctx, r)
	if err != nil {
		out = rt.errors(err)
	}
	return *out, nil
}

func (rt *Router) serve(ctx context.Context, r *Request) (*Response, error) {
	rte, ok := rt.routes[r.Event.RouteKey]
	if !ok {
		return nil, clientele.Errorf(clientele.NotFound, "no such route")
	}
	if rte.access == Public {
		// No principal, so no Idempotency-Key scope: public POSTs are
		// single-use by nature (an invitation link) or safe to repeat.
		return rte.handler(ctx, r)
	}
	var claims map[string]string
	if a := r.Event.RequestContext.Authorizer; a != nil && a.JWT != nil {
		claims = a.JWT.Claims
	}
	p, err := auth.FromClaims(claims)
	if err != nil {
		return nil, err
	}
	r.Principal = p
	if rte.access == Write && !p.CanWrite() {
		return nil, clientele.Errorf(clientele.Forbidden, "role %s may only read", p.Role)
	}
	if r.Event.RequestContext.HTTP.Method == http.MethodPost && r.Header("Idempotency-Key") != "" {
		if rte.lock {
			return rt.locked(ctx, r, rte.handler)
		}
		return rt.idempotent(ctx, r, rte.handler)
	}
	return rte.handler(ctx, r)
}

// idempotent serves a POST with an Idempotency-Key: a live record with the
// same fingerprint is replayed, another fingerprint is 422, and otherwise the
// handler runs and its 2xx answer is recorded, in the handler's own
// transaction when it supports that (see Request.Record).
func (rt *Router) idempotent(ctx context.Context, r *Request, h HandlerFunc) (*Response, error) {
	rec, now, err := rt.keyRecord(r)
	if err != nil {
		return nil, err
	}
	if resp, err := rt.replay(ctx, rec, now); resp != nil || err != nil {
		return resp, err
	}
	r.pending, r.sealed = &rec, rt.sealed
	resp, err := h(ctx, r)
	if errors.Is(err, idempotency.ErrRace) {
		// A concurrent request with this key committed first (answer as it
		// did) or is still at work (409: retry for its answer).
		if resp, err := rt.replay(ctx, rec, now); resp != nil || err != nil {
			return resp, err
		}
		return nil, errInProgress
	}
	if err != nil || resp.StatusCode >= 300 {
		// The state this request failed on may be a concurrent request's
		// work under the same key, committed with its record meanwhile:
		// answer as that one did.
		if prev, perr := rt.replay(ctx, rec, now); prev != nil && perr == nil {
			return prev, nil
		}
		return resp, err
	}
	if r.recorded {
		return resp, nil
	}
	final := r.Record(resp)
	if err := rt.idem.PutIdempotency(ctx, *final); err != nil && !errors.Is(err, idempotency.ErrRace) {
		// The work is done; failing the answer now would invite a retry
		// that does it twice. Log and answer.
		rt.log.WarnContext(ctx, "idempotency record not written", "request_id", r.ID, "error", err)
	}
	return resp, nil
}

// keyRecord is the record a keyed request would leave.
func (rt *Router) keyRecord(r *Request) (idempotency.Record, time.Time, error) {
	key := r.Header("Idempotency-Key")
	if len(key) > 255 {
		return idempotency.Record{}, time.Time{}, &clientele.Error{Code: clientele.Invalid, Message: "Idempotency-Key is too long",
			Fields: []clientele.FieldError{{Field: "Idempotency-Key", Message: "must be at most 255 characters"}}}
	}
	body, err := r.Body()
	if err != nil {
		return idempotency.Record{}, time.Time{}, err
	}
	now := rt.clock.Now()
	return idempotency.Record{
		PortalID:    r.Principal.PortalID,
		KeyHash:     hash(r.Principal.Subject, key),
		Fingerprint: hash(r.Event.RequestContext.HTTP.Method, r.Event.RawPath, r.Event.RawQueryString, string(body)),
		ExpiresAt:   now.Add(idempotency.TTL),
	}, now, nil
}

// locked serves a HandleLocked POST with an Idempotency-Key.
func (rt *Router) locked(ctx context.Context, r *Request, h HandlerFunc) (*Response, error) {
	rec, now, err := rt.keyRecord(r)
	if err != nil {
		return nil, err
	}
	if resp, err := rt.replay(ctx, rec, now); resp != nil || err != nil {
		return resp, err
	}
	lock := rec
	lock.ExpiresAt = now.Add(idempotency.LockTTL)
	if err := rt.idem.PutIdempotency(ctx, lock); errors.Is(err, idempotency.ErrRace) {
		if resp, err := rt.replay(ctx, rec, now); resp != nil || err != nil {
			return resp, err
		}
		return nil, errInProgress
	} else if err != nil {
		return nil, err
	}
	resp, err := h(ctx, r)
	if err != nil || resp.StatusCode >= 300 {
		if rerr := rt.idem.ReleaseIdempotency(context.WithoutCancel(ctx), lock); rerr != nil {
			rt.log.WarnContext(ctx, "idempotency lock not released; it lapses", "request_id", r.ID, "error", rerr)
		}
		return resp, err
	}
	r.pending, r.sealed = &rec, rt.sealed
	if err := rt.idem.ReplaceIdempotency(context.WithoutCancel(ctx), *r.Record(resp)); err != nil {
		// The work is done; the lock lapses and the key then does the work
		// again only for requests that find neither record nor lock.
		rt.log.WarnContext(ctx, "idempotency record not written", "request_id", r.ID, "error", err)
	}
	return resp, nil
}

var errInProgress = &clientele.Error{Code: clientele.Conflict, Kind: "in-progress", RetryAfter: time.Second,
	Message: "a request with this Idempotency-Key is in progress; retry when it has finished to get its answer"}

func (rt *Router) replay(ctx context.Context, rec idempotency.Record, now time.Time) (*Response, error) {
	prev, err := rt.idem.GetIdempotency(ctx, rec.PortalID, rec.KeyHash)
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
	body, err := rt.sealed.open(rec.PortalID, rec.KeyHash, prev.Body)
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

// logRequest writes the one line per request: never a body, token or email.
func (rt *Router) logRequest(ctx context.Context, r *Request, status int, err error, d time.Duration) {
	level, attrs := slog.LevelInfo, [8]slog.Attr{
		slog.String("request_id", r.ID),
		slog.String("route", r.Event.RouteKey),
		slog.Int("status", status),
		slog.Float64("latency_ms", float64(d.Microseconds())/1000),
		slog.Int64("ddb_requests", calls.Count(ctx)),
		slog.Float64("ddb_ms", float64(calls.Spent(ctx).Microseconds())/1000),
		slog.String("portal", r.Principal.PortalID),
	}
	n := 7
	if status >= 500 {
		level, attrs[7], n = slog.LevelError, slog.String("error", fmt.Sprint(err)), 8
	}
	// A record handed to the handler directly, as slog's own Logger would
	// but without its runtime.Callers: the line has no source position.
	h := rt.log.Handler()
	if !h.Enabled(ctx, level) {
		return
	}
	rec := slog.NewRecord(time.Now(), level, "request", 0)
	rec.AddAttrs(attrs[:n]...)
	if err := h.Handle(ctx, rec); err != nil {
		return // nowhere left to report it
	}
}
