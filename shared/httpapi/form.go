package httpapi

import (
	"maps"
	"mime"
	"net/url"
	"slices"
	"strings"

	"github.com/clientele/clientele/shared/clientele"
)

// MaxForm is the largest form body accepted: the pages' forms hold a few
// short fields, so anything near this size is not one of them.
const MaxForm = 8 << 10

// Form reads an application/x-www-form-urlencoded body of at most MaxForm
// bytes that holds only the named fields, each at most once; a missing field
// reads as "". Unknown and repeated fields are rejected like unknown JSON
// fields: the pages own their forms, so a browser never sends either, and a
// field the handler would ignore is a bug or a probe worth refusing.
func (r *Request) Form(fields ...string) (map[string]string, error) {
	mt, _, err := mime.ParseMediaType(r.Header("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, clientele.Errorf(clientele.UnsupportedMedia, "the body must be application/x-www-form-urlencoded")
	}
	body, err := r.Body()
	if err != nil {
		return nil, err
	}
	if len(body) > MaxForm {
		return nil, clientele.Errorf(clientele.TooLarge, "the form is larger than %d bytes", MaxForm)
	}
	values, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, clientele.Errorf(clientele.Invalid, "the form is not valid application/x-www-form-urlencoded")
	}
	out := make(map[string]string, len(fields))
	var f clientele.Fields
	for _, name := range slices.Sorted(maps.Keys(values)) {
		vs := values[name]
		switch {
		case !slices.Contains(fields, name):
			f.Add(name, "is not a known field")
		case len(vs) > 1:
			f.Add(name, "must be sent once")
		default:
			out[name] = vs[0]
		}
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Cookie returns the value of a request cookie, "" when absent. API Gateway
// (payload v2) passes the Cookie header split into Cookies, "name=value"
// each; the first cookie of a name wins, as in net/http.
func (r *Request) Cookie(name string) string {
	for _, c := range r.Event.Cookies {
		k, v, ok := strings.Cut(strings.TrimSpace(c), "=")
		if ok && k == name {
			return v
		}
	}
	return ""
}

// Secure reports whether the caller reached the API over https (API Gateway
// always; the local stack over plain http).
func (r *Request) Secure() bool { return r.Header("X-Forwarded-Proto") != "http" }
