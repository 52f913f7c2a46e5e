// Package openapi embeds Clientele's OpenAPI document (openapi.yaml, served
// at /openapi.yaml) and checks HTTP answers against it, so that tests prove
// the handlers and the document agree.
package openapi

import (
	"context"
	_ "embed"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// Spec is the OpenAPI 3.0 document, as YAML.
//
//go:embed openapi.yaml
var Spec []byte

func init() {
	// kin-openapi v0.152.0 already decodes application/problem+json (and any
	// other +json type) as JSON; registering here keeps that true whatever
	// its defaults become. Done in init so no validation can race with it.
	if openapi3filter.RegisteredBodyDecoder("application/problem+json") == nil {
		openapi3filter.RegisterBodyDecoder("application/problem+json", openapi3filter.JSONBodyDecoder)
	}
	// The portal pages and their stylesheet (kin-openapi has no decoder for
	// either): checked as strings.
	for _, ct := range []string{"text/html", "text/css"} {
		if openapi3filter.RegisteredBodyDecoder(ct) == nil {
			openapi3filter.RegisterBodyDecoder(ct, openapi3filter.PlainBodyDecoder)
		}
	}
	// kin-openapi checks no format it was not given: these make every
	// answer (and example) prove it echoes what the document declares.
	openapi3.DefineStringFormatValidator("uri", openapi3.NewCallbackValidator(checkURI))
	openapi3.DefineStringFormatValidator("idn-email", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForEmail))
	// email is ASCII only (RFC 5321), so an internationalised address
	// answered where a schema says email fails.
	openapi3.DefineStringFormatValidator("email", openapi3.NewRegexpFormatValidator(`^[\x21-\x7e]+@[\x21-\x7e]+$`))
}

// checkURI accepts an absolute URI (RFC 3986): a scheme, and none of the
// characters a URI never has (controls, space, non-ASCII, "<>\^`{|}).
func checkURI(s string) error {
	if i := strings.IndexFunc(s, func(r rune) bool {
		return r <= ' ' || r >= 0x7f || strings.ContainsRune("\"<>\\^`{|}", r)
	}); i >= 0 {
		return fmt.Errorf("%q is not allowed in a URI (at byte %d)", []rune(s[i:])[0], i)
	}
	if u, err := url.Parse(s); err != nil || !u.IsAbs() {
		return fmt.Errorf("not an absolute URI")
	}
	return nil
}

// Load parses Spec and validates it as an OpenAPI document (including its
// examples against their schemas). Each call returns a fresh document.
func Load() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(Spec)
	if err != nil {
		return nil, fmt.Errorf("openapi: parse openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi: invalid openapi.yaml: %w", err)
	}
	return doc, nil
}

// Routes returns "METHOD /path" for every operation of doc, sorted: the same
// form as API Gateway route keys ("GET /v1/companies/{companyId}").
func Routes(doc *openapi3.T) []string {
	var out []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, method+" "+path)
		}
	}
	slices.Sort(out)
	return out
}

// Validator checks answers against the document. It is safe for concurrent
// use.
type Validator struct {
	router routers.Router
}

// NewValidator loads the document and builds a router over its paths only:
// the servers are dropped, so requests to any host (an httptest server on a
// random port, the local stack, API Gateway) match by method and path.
func NewValidator() (*Validator, error) {
	doc, err := Load()
	if err != nil {
		return nil, err
	}
	doc.Servers = nil
	for _, item := range doc.Paths.Map() {
		item.Servers = nil
		for _, op := range item.Operations() {
			op.Servers = nil
		}
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi: router: %w", err)
	}
	return &Validator{router: router}, nil
}

// ValidateResponse checks one answer (status, headers and body) against the
// operation that matches req's method and path. It fails when no operation
// matches, when the status or the content type is not documented for it,
// when a required header is missing or a documented header or the body does
// not match its schema, and when a body comes with a response documented
// without one. The error names the method, path and status.
func (v *Validator) ValidateResponse(req *http.Request, status int, header http.Header, body []byte) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s %s → %d: %s", req.Method, req.URL.Path, status, fmt.Sprintf(format, args...))
	}
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		return fail("no operation of the OpenAPI document matches: %v", err)
	}
	ref := route.Operation.Responses.Status(status)
	if ref == nil {
		ref = route.Operation.Responses.Default()
	}
	if ref == nil || ref.Value == nil {
		return fail("status %d is not documented for %s (%s %s)", status, route.Operation.OperationID, route.Method, route.Path)
	}
	// kin-openapi looks headers up by canonical key; a hand-built map may
	// not be canonical.
	h := make(http.Header, len(header))
	for k, vs := range header {
		ck := http.CanonicalHeaderKey(k)
		h[ck] = append(h[ck], vs...)
	}
	resp := ref.Value
	if len(resp.Content) == 0 {
		// openapi3filter ignores the body of a response documented without
		// content; an undocumented body is still a mismatch.
		if len(body) > 0 {
			return fail("%s documents no body for %d, got %d bytes (Content-Type %q)", route.Operation.OperationID, status, len(body), h.Get("Content-Type"))
		}
	} else if ct := h.Get("Content-Type"); ct != "" {
		if _, _, err := mime.ParseMediaType(ct); err != nil {
			return fail("malformed Content-Type %q: %v", ct, err)
		}
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    req,
			PathParams: params,
			Route:      route,
		},
		Status: status,
		Header: h,
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
			// Name the failing value's path and the rule without dumping
			// the whole schema into the message.
			SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()},
		},
	}
	input.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		return fail("%v", err)
	}
	return nil
}
