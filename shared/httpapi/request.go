package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clientele/clientele/shared/auth"
	"github.com/clientele/clientele/shared/calls"
	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/idempotency"
)

// MaxBody is the largest request body accepted.
const MaxBody = 1 << 20

// List limits.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// Request is one API request as a handler sees it.
type Request struct {
	Event     *events.APIGatewayV2HTTPRequest
	ID        string
	Principal auth.Principal
	pending   *idempotency.Record // set when the POST carries an unused Idempotency-Key
	recorded  bool                // the handler wrote the record in its own transaction
	sealed    *Answers            // the router's, which seals the record's body
	ctx       requestContext
}

// requestContext is the context a request is served with: it counts the
// DynamoDB calls (calls.Counter) and carries the request (FromContext).
type requestContext struct {
	calls.Counter
	r *Request
}

func (c *requestContext) Value(k any) any {
	if k == (requestKey{}) {
		return c.r
	}
	return c.Counter.Value(k)
}

// Header returns a request header (API Gateway lower-cases their names).
func (r *Request) Header(name string) string {
	return r.Event.Headers[strings.ToLower(name)]
}

// Param returns a path parameter.
func (r *Request) Param(name string) string { return r.Event.PathParameters[name] }

// Query returns a query string parameter.
func (r *Request) Query(name string) string { return r.Event.QueryStringParameters[name] }

// BaseURL is the scheme and host the caller used to reach the API.
func (r *Request) BaseURL() string {
	proto := r.Header("X-Forwarded-Proto")
	if proto != "http" {
		proto = "https"
	}
	return proto + "://" + r.Event.RequestContext.DomainName
}

// IfMatch parses the If-Match header.
func (r *Request) IfMatch() (Precondition, error) { return ParseIfMatch(r.Header("If-Match")) }

// Limit parses ?limit= (default 50, 1..200).
func (r *Request) Limit() (int, error) {
	s := r.Query("limit")
	if s == "" {
		return DefaultLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxLimit {
		return 0, &clientele.Error{Code: clientele.Invalid, Message: "limit is out of range",
			Fields: []clientele.FieldError{{Field: "limit", Message: fmt.Sprintf("must be an integer from 1 to %d", MaxLimit)}}}
	}
	return n, nil
}

// Bool parses a boolean query parameter (absent is false).
func (r *Request) Bool(name string) (bool, error) {
	switch r.Query(name) {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, &clientele.Error{Code: clientele.Invalid, Message: name + " must be true or false",
		Fields: []clientele.FieldError{{Field: name, Message: "must be true or false"}}}
}

// Body returns the raw body, enforcing the size limit.
func (r *Request) Body() ([]byte, error) {
	body := []byte(r.Event.Body)
	if r.Event.IsBase64Encoded {
		if base64.StdEncoding.DecodedLen(len(body)) > MaxBody+3 {
			return nil, tooLarge()
		}
		var err error
		if body, err = base64.StdEncoding.DecodeString(r.Event.Body); err != nil {
			return nil, clientele.Errorf(clientele.Invalid, "the body is not valid base64")
		}
	}
	if len(body) > MaxBody {
		return nil, tooLarge()
	}
	return body, nil
}

func tooLarge() error {
	return clientele.Errorf(clientele.TooLarge, "the body is larger than %d bytes", MaxBody)
}

// Decode reads a JSON object body into v, strictly: application/json only,
// at most 1 MiB, unknown fields and trailing data rejected.
func (r *Request) Decode(v any) error {
	body, err := r.Body()
	if err != nil {
		return err
	}
	if !isJSON(r.Header("Content-Type")) {
		return clientele.Errorf(clientele.UnsupportedMedia, "the body must be application/json")
	}
	return DecodeJSON(body, v)
}

// isJSON reports whether a Content-Type is application/json, without
// parsing the common spellings.
func isJSON(ct string) bool {
	switch ct {
	case "application/json", "application/json; charset=utf-8", "application/json;charset=UTF-8":
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// DecodeJSON decodes one JSON object strictly into v.
func DecodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return clientele.Errorf(clientele.Invalid, "a JSON body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return clientele.Errorf(clientele.Invalid, "the body must hold exactly one JSON object")
	}
	return nil
}

func decodeError(err error) error {
	field := func(name, msg string) error {
		return &clientele.Error{Code: clientele.Invalid, Message: "the request has invalid fields",
			Fields: []clientele.FieldError{{Field: name, Message: msg}}}
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return clientele.Errorf(clientele.Invalid, "the body is not valid JSON (at byte %d)", syn.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return clientele.Errorf(clientele.Invalid, "the body is not valid JSON (it ends early)")
	case errors.As(err, &typ) && typ.Field == "":
		return clientele.Errorf(clientele.Invalid, "the body must be a JSON object")
	case errors.As(err, &typ):
		return field(typ.Field, "must be "+jsonKind(typ.Type.Kind().String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no typed error for unknown fields.
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return field(name, "is not a known field")
	}
	return clientele.Errorf(clientele.Invalid, "the body could not be decoded")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "a number"
	}
	return "of another type"
}

// Record is for a handler that writes its change in one transaction: it
// returns the idempotency record of resp to write in that same transaction
// (nil when the request has no Idempotency-Key), so that the work and the
// record commit together or not at all.
func (r *Request) Record(resp *Response) *idempotency.Record {
	if r.pending == nil {
		return nil
	}
	rec := *r.pending
	rec.Status, rec.Body = resp.StatusCode, r.sealed.seal(rec.PortalID, rec.KeyHash, resp.Body)
	rec.Headers = make(map[string]string, len(resp.Headers))
	for k, v := range resp.Headers {
		rec.Headers[k] = v
	}
	r.recorded = true
	return &rec
}

type requestKey struct{}

// FromContext returns the request being served, if any.
func FromContext(ctx context.Context) (*Request, bool) {
	r, ok := ctx.Value(requestKey{}).(*Request)
	return r, ok
}
