package stack

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/clientele/clientele/infra/local/devjwt"
	"github.com/clientele/clientele/infra/template"
	"github.com/clientele/clientele/shared/clock"
	"github.com/clientele/clientele/shared/ids"
)

// maxPayload is API Gateway's request payload limit.
const maxPayload = 10 << 20

// gatewayRoute is one template route bound to the handler of its function.
type gatewayRoute struct {
	template.Route
	segments []string
	handler  lambda.Handler
}

// gateway emulates an API Gateway HTTP API with payload format 2.0 and a JWT
// authorizer: it matches template.yaml's routes, verifies tokens as the
// authorizer would, and invokes the same handlers the Lambdas run, through
// the same JSON (de)serialisation as the Lambda runtime.
type gateway struct {
	routes   []gatewayRoute
	verifier *devjwt.Verifier
	clock    clock.Clock
	ids      *ids.Generator
}

func (g *gateway) match(method, path string) (*gatewayRoute, map[string]string) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	for i := range g.routes {
		r := &g.routes[i]
		if r.Method != method && r.Method != "ANY" {
			continue
		}
		if params, ok := matchSegments(r.segments, parts); ok {
			return r, params
		}
	}
	return nil, nil
}

func matchSegments(pattern, parts []string) (map[string]string, bool) {
	params := map[string]string{}
	for i, p := range pattern {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "+}") {
			params[p[1:len(p)-2]] = strings.Join(parts[i:], "/")
			return params, true
		}
		if i >= len(parts) {
			return nil, false
		}
		if strings.HasPrefix(p, "{") {
			if parts[i] == "" {
				return nil, false
			}
			params[p[1:len(p)-1]] = parts[i]
		} else if p != parts[i] {
			return nil, false
		}
	}
	return params, len(parts) == len(pattern)
}

// gatewayError answers the way API Gateway itself does: JSON {"message"}.
func gatewayError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, "{\"message\":%q}", msg)
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	// Every answer carries the gateway's request id, its own 404 and 401
	// included, as API Gateway's do.
	reqID := g.ids.New()
	w.Header().Set("Apigw-Requestid", reqID)
	route, params := g.match(req.Method, req.URL.EscapedPath())
	if route == nil {
		gatewayError(w, http.StatusNotFound, "Not Found")
		return
	}
	var claims map[string]string
	if !route.Public {
		var err error
		if claims, err = g.verifier.Verify(req.Header.Get("Authorization")); err != nil {
			if errors.Is(err, devjwt.ErrMissingToken) {
				w.Header().Set("WWW-Authenticate", "Bearer")
			} else {
				w.Header().Set("WWW-Authenticate", fmt.Sprintf("Bearer error=%q error_description=%q", "invalid_token", err.Error()))
			}
			gatewayError(w, http.StatusUnauthorized, "Unauthorized")
			return
		}
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxPayload+1))
	if err != nil {
		gatewayError(w, http.StatusBadRequest, "Bad Request")
		return
	}
	if len(body) > maxPayload {
		gatewayError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	ev := g.event(req, route, params, claims, body, reqID)
	payload, err := json.Marshal(ev)
	if err != nil {
		gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	out, err := route.handler.Invoke(req.Context(), payload)
	var resp events.APIGatewayV2HTTPResponse
	if err == nil {
		err = json.Unmarshal(out, &resp)
	}
	if err != nil {
		gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	writeResponse(w, resp)
}

func (g *gateway) event(req *http.Request, route *gatewayRoute, params, claims map[string]string, body []byte, reqID string) events.APIGatewayV2HTTPRequest {
	now := g.clock.Now()
	headers := map[string]string{}
	for k, v := range req.Header {
		headers[strings.ToLower(k)] = strings.Join(v, ",")
	}
	host, _, _ := net.SplitHostPort(req.RemoteAddr)
	headers["host"] = req.Host
	headers["x-forwarded-proto"] = "http"
	headers["x-forwarded-for"] = host
	var cookies []string
	if c := req.Header.Get("Cookie"); c != "" {
		cookies = strings.Split(c, "; ")
		delete(headers, "cookie")
	}
	var query map[string]string
	if q := req.URL.Query(); len(q) > 0 {
		query = map[string]string{}
		for k, v := range q {
			query[k] = strings.Join(v, ",")
		}
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: route.Key(), RawPath: req.URL.EscapedPath(), RawQueryString: req.URL.RawQuery,
		Cookies: cookies, Headers: headers, QueryStringParameters: query, PathParameters: params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			AccountID: "000000000000", APIID: "local", DomainName: req.Host, DomainPrefix: "local",
			RequestID: reqID, RouteKey: route.Key(), Stage: "$default",
			Time: now.Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: req.Method, Path: req.URL.Path, Protocol: req.Proto, SourceIP: host, UserAgent: req.UserAgent(),
			},
		},
	}
	if len(params) == 0 {
		ev.PathParameters = nil
	}
	if claims != nil {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims, Scopes: nil},
		}
	}
	if len(body) > 0 {
		if isText(req.Header.Get("Content-Type")) {
			ev.Body = string(body)
		} else {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
	}
	return ev
}

// isText mirrors API Gateway: text bodies pass as is, others base64-encoded.
func isText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return contentType == ""
	}
	return strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "json") || strings.HasSuffix(mt, "xml") ||
		mt == "application/x-www-form-urlencoded" || mt == "application/javascript"
}

func writeResponse(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse) {
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	for _, c := range resp.Cookies {
		w.Header().Add("Set-Cookie", c)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		if b, err := base64.StdEncoding.DecodeString(resp.Body); err == nil {
			body = b
		}
	}
	if w.Header().Get("Content-Type") == "" && len(body) > 0 {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
}

// invoker adapts a typed handler to lambda.Handler like the runtime does.
func invoker(fn func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)) lambda.Handler {
	return lambda.NewHandler(fn)
}
