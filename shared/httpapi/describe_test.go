package httpapi

import (
	"errors"
	"testing"

	"github.com/clientele/clientele/shared/clientele"
)

// TestDescribe: the one mapping from domain errors to problems, which the
// bulk answers list per item and ProblemBody renders.
func TestDescribe(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want Description
	}{
		{"invalid", clientele.Errorf(clientele.Invalid, "bad"), Description{400, "/problems/validation", "Invalid request", "bad"}},
		{"a kind of conflict", &clientele.Error{Code: clientele.Conflict, Kind: "seat-limit", Message: "full"}, Description{409, "/problems/seat-limit", "Conflict", "full"}},
		{"gated", clientele.Errorf(clientele.Gated, "later"), Description{429, "/problems/rate-limited", "Too many requests", "later"}},
		{"internal hides its message", &clientele.Error{Code: clientele.Internal, Message: "db password wrong"}, Description{500, "/problems/internal", "Internal error", "An unexpected error occurred. Quote the X-Request-Id when reporting it."}},
		{"not a domain error", errors.New("boom"), Description{500, "/problems/internal", "Internal error", "An unexpected error occurred. Quote the X-Request-Id when reporting it."}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := Describe(tt.err)
			if got != tt.want {
				t.Fatalf("Describe = %+v, want %+v", got, tt.want)
			}
			b := ProblemBody(tt.err)
			if b["status"] != got.Status || b["type"] != got.Type || b["title"] != got.Title || b["detail"] != got.Detail {
				t.Fatalf("ProblemBody %v disagrees with Describe %+v", b, got)
			}
		})
	}
}
