package httpapi

import (
	"context"
	"fmt"
	"log/slog"
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
}

// Router dispatches on the API Gateway route key ("GET /v1/companies/{companyId}"),
// so no path is parsed twice and template.yaml stays the single source of routes.
type Router struct {
	routes map[string]route
	log    *slog.Logger
	keys   *keys                 // the Idempotency-Key middleware of staff POSTs
	errors func(error) *Response // renders a failed request; Problem unless set
}

// NewRouter returns an empty router.
func NewRouter(log *slog.Logger, idem idempotency.Store, c clock.Clock) *Router {
	return &Router{routes: map[string]route{}, log: log, keys: &keys{store: idem, log: log, clock: c}, errors: Problem}
}

// RenderErrors makes the router answer failures with render instead of
// problem+json: the HTML pages answer their errors as pages. render must
// treat an unknown error as internal (no cause shown), as Problem does.
func (rt *Router) RenderErrors(render func(error) *Response) { rt.errors = render }

// SealAnswers makes the router keep Idempotency-Key answers sealed by a.
func (rt *Router) SealAnswers(a *Answers) { rt.keys.sealed = a }

// Handle registers h for routeKey.
func (rt *Router) Handle(routeKey string, access Access, h HandlerFunc) {
	rt.handle(routeKey, access, h, false)
}

// HandleLocked registers a POST whose work spans several transactions, so
// that its Idempotency-Key record cannot be written with the work: the key
// is locked while the handler runs, a concurrent request with the same key
// is answered 409 (retry) instead of doing the work again, and the answer is
// recorded after. A failed request releases the key.
func (rt *Router) HandleLocked(routeKey string, access Access, h HandlerFunc) {
	rt.handle(routeKey, access, h, true)
}

// handle registers h, behind the Idempotency-Key middleware unless the
// route is public: with no principal there is no scope for a key, and
// public POSTs are single-use by nature (an invitation link) or safe to
// repeat.
func (rt *Router) handle(routeKey string, access Access, h HandlerFunc, lock bool) {
	if access != Public {
		h = rt.keys.wrap(h, lock)
	}
	rt.routes[routeKey] = route{access: access, handler: h}
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
	return rte.handler(ctx, r)
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
