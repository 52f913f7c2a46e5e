package httpapi

import (
	"strconv"
	"strings"

	"github.com/clientele/clientele/shared/clientele"
)

// ETag is the entity tag of a resource at version v.
func ETag(v int) string { return `"` + strconv.Itoa(v) + `"` }

// Precondition is a parsed If-Match header. The zero value has no condition.
type Precondition struct {
	present bool
	any     bool
	tags    []int
}

// ParseIfMatch parses an If-Match header value. Weak tags never match: If-Match
// uses strong comparison (RFC 9110 13.1.1).
func ParseIfMatch(h string) (Precondition, error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return Precondition{}, nil
	}
	p := Precondition{present: true}
	if h == "*" {
		p.any = true
		return p, nil
	}
	for _, t := range strings.Split(h, ",") {
		t = strings.TrimSpace(t)
		if strings.HasPrefix(t, `W/"`) {
			continue
		}
		if len(t) < 3 || t[0] != '"' || t[len(t)-1] != '"' {
			return Precondition{}, &clientele.Error{Code: clientele.Invalid,
				Message: "If-Match must be * or a list of quoted entity tags",
				Fields:  []clientele.FieldError{{Field: "If-Match", Message: "is malformed"}}}
		}
		if v, err := strconv.Atoi(t[1 : len(t)-1]); err == nil {
			p.tags = append(p.tags, v)
		}
	}
	return p, nil
}

// Check returns a PreconditionFailed error unless version satisfies p.
func (p Precondition) Check(version int) error {
	if !p.present || p.any {
		return nil
	}
	for _, t := range p.tags {
		if t == version {
			return nil
		}
	}
	return &clientele.Error{Code: clientele.PreconditionFailed,
		Message: "the resource has changed since you read it (If-Match does not match its ETag)",
		Extra:   map[string]any{"currentETag": ETag(version)}}
}
