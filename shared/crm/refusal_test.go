package crm

import (
	"errors"
	"testing"

	"github.com/clientele/clientele/shared/clientele"
)

// TestDomainError: the CRM's failures are the caller's refusals; refused
// credentials mean reconnecting when they are the stored ones.
func TestDomainError(t *testing.T) {
	for _, tc := range []struct {
		err    error
		stored bool
		code   clientele.Code
		kind   string
	}{
		{&Unavailable{RetryAfter: 7e9, Reason: "rate limited"}, true, clientele.Unavailable, "crm-unavailable"},
		{ErrNotFound, true, clientele.NotFound, ""},
		{ErrUnauthorized, true, clientele.Conflict, "crm-disconnected"},
		{ErrBadCredentials, false, clientele.Invalid, ""},
		{clientele.ErrSecretUnreadable, true, clientele.Conflict, "crm-disconnected"},
	} {
		ce, ok := errors.AsType[*clientele.Error](DomainError(tc.err, tc.stored))
		if !ok || ce.Code != tc.code || ce.Kind != tc.kind || !errors.Is(ce, tc.err) {
			t.Errorf("%v (stored %v): %+v", tc.err, tc.stored, ce)
		}
	}
	if DomainError(nil, true) != nil {
		t.Errorf("no error is an error")
	}
}
