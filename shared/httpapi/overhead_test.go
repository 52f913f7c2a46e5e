package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/clock"
	"github.com/clientele/clientele/shared/httpapi"
)

// The per-request overhead of the API without DynamoDB: decode, validate,
// authorize, encode, for three representative routes, served by this
// router and, beside it, the common alternative: net/http handlers behind
// github.com/awslabs/aws-lambda-go-api-proxy. Both do the same work: strict
// JSON decoding, the same domain validation, the role check, the same JSON
// answers and ETag, and the same request log line. Run:
//
//	go test -run '^$' -bench OverheadRatio -benchtime 1x ./shared/httpapi

var (
	benchNow     = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	benchCompany = clientele.Company{ID: "01JD0Q8F3G5H7K9M1N3P5R7T9V", Name: "Acme Corp", Type: "business", ProjectIDs: []string{},
		CreatedAt: benchNow, UpdatedAt: benchNow, Version: 3}
	benchUser = clientele.User{ID: "01JD0QD5E7F9G1H3J5K7M9N1PQ", Email: "ann@acme.example", CompanyID: benchCompany.ID,
		ProfileID: "client", Status: "invited", PortalAccess: true, Projects: []clientele.UserProject{}, CreatedAt: benchNow, UpdatedAt: benchNow, Version: 2}
)

type benchRoute struct {
	name, routeKey, method, path, body string
	status                             int
}

var benchRoutes = []benchRoute{
	{"create company", "POST /v1/companies", "POST", "/v1/companies",
		`{"name":"Acme Corp","type":"business","contactEmail":"billing@acme.example","website":"https://acme.example"}`, 201},
	{"get company", "GET /v1/companies/{companyId}", "GET", "/v1/companies/" + benchCompany.ID, "", 200},
	{"patch user", "PATCH /v1/users/{userId}", "PATCH", "/v1/users/" + benchUser.ID, `{"name":"Ann Lee","title":"CTO","portalRate":99}`, 200},
}

func benchEvent(r benchRoute) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: r.routeKey, RawPath: r.path, Body: r.body,
		Headers: map[string]string{"content-type": "application/json", "authorization": "Bearer x"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "bench", DomainName: "api.example.com", Stage: "$default", RouteKey: r.routeKey,
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: r.method, Path: r.path},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{
				Claims: map[string]string{"sub": "s", "portal_id": "demo", "role": "admin"}}},
		},
	}
	if r.path != "/v1/companies" {
		ev.PathParameters = map[string]string{}
		if r.method == "GET" {
			ev.PathParameters["companyId"] = benchCompany.ID
		} else {
			ev.PathParameters["userId"] = benchUser.ID
		}
	}
	return ev
}

// ours is this router with the three handlers and the functions' logger
// (slog.JSONHandler, as config.Logger gives every function).
func ours(logTo io.Writer) *httpapi.Router {
	rt := httpapi.NewRouter(slog.New(slog.NewJSONHandler(logTo, &slog.HandlerOptions{Level: slog.LevelInfo})), nil, clock.System{})
	rt.Handle("POST /v1/companies", httpapi.Write, func(_ context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		var in clientele.CompanyInput
		if err := r.Decode(&in); err != nil {
			return nil, err
		}
		c, err := clientele.NewCompany(in, "", benchCompany.ID, benchNow)
		if err != nil {
			return nil, err
		}
		return httpapi.Created("/v1/companies/"+c.ID, c.Version, c), nil
	})
	rt.Handle("GET /v1/companies/{companyId}", httpapi.Read, func(_ context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if !clientele.ValidID(r.Param("companyId")) {
			return nil, clientele.Errorf(clientele.NotFound, "no such company")
		}
		return httpapi.WithETag(httpapi.JSON(200, benchCompany), benchCompany.Version), nil
	})
	rt.Handle("PATCH /v1/users/{userId}", httpapi.Write, func(_ context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if !clientele.ValidID(r.Param("userId")) {
			return nil, clientele.Errorf(clientele.NotFound, "no such user")
		}
		var p clientele.UserPatch
		if err := r.Decode(&p); err != nil {
			return nil, err
		}
		u, _, err := p.Apply(benchUser, nil)
		if err != nil {
			return nil, err
		}
		return httpapi.WithETag(httpapi.JSON(200, u), u.Version), nil
	})
	return rt
}

// proxied is the same served the common way: a net/http mux behind the
// API Gateway proxy adapter, claims read from the proxied context.
func proxied(logTo io.Writer) *httpadapter.HandlerAdapterV2 {
	role := func(r *http.Request) (string, bool) {
		ctx, ok := core.GetAPIGatewayV2ContextFromContext(r.Context())
		if !ok || ctx.Authorizer == nil || ctx.Authorizer.JWT == nil || ctx.Authorizer.JWT.Claims["portal_id"] == "" {
			return "", false
		}
		return ctx.Authorizer.JWT.Claims["role"], true
	}
	writeJSON := func(w http.ResponseWriter, status, version int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("ETag", `"`+strconv.Itoa(version)+`"`)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	problem := func(w http.ResponseWriter, err error) {
		status := http.StatusInternalServerError
		var e *clientele.Error
		if errors.As(err, &e) && e.Code == clientele.Invalid {
			status = http.StatusBadRequest
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "detail": err.Error()})
	}
	decode := func(r *http.Request, v any) error {
		dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
		dec.DisallowUnknownFields()
		return dec.Decode(v)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/companies", func(w http.ResponseWriter, r *http.Request) {
		if rl, ok := role(r); !ok || rl == "member" {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		var in clientele.CompanyInput
		if err := decode(r, &in); err != nil {
			problem(w, err)
			return
		}
		c, err := clientele.NewCompany(in, "", benchCompany.ID, benchNow)
		if err != nil {
			problem(w, err)
			return
		}
		w.Header().Set("Location", "/v1/companies/"+c.ID)
		writeJSON(w, http.StatusCreated, c.Version, c)
	})
	mux.HandleFunc("GET /v1/companies/{companyId}", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := role(r); !ok || !clientele.ValidID(r.PathValue("companyId")) {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		writeJSON(w, http.StatusOK, benchCompany.Version, benchCompany)
	})
	mux.HandleFunc("PATCH /v1/users/{userId}", func(w http.ResponseWriter, r *http.Request) {
		if rl, ok := role(r); !ok || rl == "member" || !clientele.ValidID(r.PathValue("userId")) {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		var p clientele.UserPatch
		if err := decode(r, &p); err != nil {
			problem(w, err)
			return
		}
		u, _, err := p.Apply(benchUser, nil)
		if err != nil {
			problem(w, err)
			return
		}
		writeJSON(w, http.StatusOK, u.Version, u)
	})
	// The same one log line per request as this router writes, as an
	// access-log middleware would (a production API logs every request).
	log := slog.New(slog.NewJSONHandler(logTo, nil))
	logged := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: 200}
		mux.ServeHTTP(sw, r)
		ctx, _ := core.GetAPIGatewayV2ContextFromContext(r.Context())
		portal := ""
		if ctx.Authorizer != nil && ctx.Authorizer.JWT != nil {
			portal = ctx.Authorizer.JWT.Claims["portal_id"]
		}
		log.LogAttrs(r.Context(), slog.LevelInfo, "request", slog.String("request_id", ctx.RequestID), slog.String("route", ctx.RouteKey),
			slog.Int("status", sw.status), slog.Float64("latency_ms", float64(time.Since(start).Microseconds())/1000),
			slog.Int64("ddb_requests", 0), slog.Float64("ddb_ms", 0), slog.String("portal", portal))
	})
	return httpadapter.NewV2(logged)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

// TestOverheadHandlersAgree: the two sides of the benchmark answer the same
// statuses and JSON bodies and log the same line (but its time and
// latency), so they are compared on equal work.
func TestOverheadHandlersAgree(t *testing.T) {
	var ourLog, theirLog bytes.Buffer
	rt, px := ours(&ourLog), proxied(&theirLog)
	for _, r := range benchRoutes {
		t.Run(r.name, func(t *testing.T) {
			ourLog.Reset()
			theirLog.Reset()
			a, _ := rt.Invoke(context.Background(), benchEvent(r))
			b, err := px.ProxyWithContext(context.Background(), benchEvent(r))
			if err != nil {
				t.Fatal(err)
			}
			if a.StatusCode != r.status || b.StatusCode != r.status {
				t.Fatalf("status %d and %d, want %d (%s / %s)", a.StatusCode, b.StatusCode, r.status, a.Body, b.Body)
			}
			var x, y any
			if json.Unmarshal([]byte(a.Body), &x) != nil || json.Unmarshal([]byte(b.Body), &y) != nil {
				t.Fatalf("bodies %q %q", a.Body, b.Body)
			}
			xs, _ := json.Marshal(x)
			ys, _ := json.Marshal(y)
			if string(xs) != string(ys) {
				t.Fatalf("bodies differ:\n%s\n%s", xs, ys)
			}
			var ol, tl map[string]any
			if json.Unmarshal(ourLog.Bytes(), &ol) != nil || json.Unmarshal(theirLog.Bytes(), &tl) != nil {
				t.Fatalf("log lines %q %q", ourLog.String(), theirLog.String())
			}
			for _, k := range []string{"time", "latency_ms"} {
				if _, ok := ol[k]; !ok {
					t.Fatalf("our line has no %s: %s", k, ourLog.String())
				}
				delete(ol, k)
				delete(tl, k)
			}
			if !reflect.DeepEqual(ol, tl) {
				t.Fatalf("log lines differ:\n%s%s", ourLog.String(), theirLog.String())
			}
		})
	}
}

func benchOurs(r benchRoute) func(*testing.B) {
	rt, ev := ours(io.Discard), benchEvent(r)
	return func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if resp, _ := rt.Invoke(context.Background(), ev); resp.StatusCode != r.status {
				b.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
			}
		}
	}
}

func benchProxied(r benchRoute) func(*testing.B) {
	px, ev := proxied(io.Discard), benchEvent(r)
	return func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if resp, err := px.ProxyWithContext(context.Background(), ev); err != nil || resp.StatusCode != r.status {
				b.Fatalf("status %d: %v", resp.StatusCode, err)
			}
		}
	}
}

// BenchmarkOverhead: each route, each way, for benchstat.
func BenchmarkOverhead(b *testing.B) {
	for _, r := range benchRoutes {
		b.Run(r.name+"/clientele", benchOurs(r))
		b.Run(r.name+"/api-proxy", benchProxied(r))
	}
}

// BenchmarkOverheadRatio measures both ways of each route side by side in
// one run (alternating rounds, the best round of each) and reports
// clientele's ns/op and allocs/op as a fraction of the proxy's; the goal is
// at most 0.5. The rounds are short (a few ms) and many, so that on a
// machine doing other work each side still gets undisturbed rounds: long
// rounds would favour the faster side, whose rounds are hit less often.
// (testing.Benchmark cannot run inside a benchmark, so the rounds are timed
// here.)
func BenchmarkOverheadRatio(b *testing.B) {
	const rounds, perRound = 101, 1000
	for _, r := range benchRoutes {
		b.Run(r.name, func(b *testing.B) {
			rt, px, ev := ours(io.Discard), proxied(io.Discard), benchEvent(r)
			o := func() { _, _ = rt.Invoke(context.Background(), ev) }
			p := func() { _, _ = px.ProxyWithContext(context.Background(), ev) }
			best := func(f func(), cur float64) float64 {
				start := time.Now()
				for range perRound {
					f()
				}
				return min(cur, float64(time.Since(start).Nanoseconds())/perRound)
			}
			on, pn := math.Inf(1), math.Inf(1)
			for b.Loop() {
				for range rounds {
					on, pn = best(o, on), best(p, pn)
				}
			}
			oa, pa := testing.AllocsPerRun(1000, o), testing.AllocsPerRun(1000, p)
			b.ReportMetric(on, "clientele-ns/op")
			b.ReportMetric(pn, "proxy-ns/op")
			b.ReportMetric(on/pn, "ns-ratio")
			b.ReportMetric(oa, "clientele-allocs/op")
			b.ReportMetric(pa, "proxy-allocs/op")
			b.ReportMetric(oa/pa, "allocs-ratio")
		})
	}
}
