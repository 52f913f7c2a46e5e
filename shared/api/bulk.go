package api

import (
	"time"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/httpapi"
)

// noneDone is the answer to a bulk add none of whose items succeeded: errs,
// one per item, and rendered, the answer's list of them. It lists them all
// and is 400 when any item was invalid, 503 (retry) when DynamoDB failed
// every item, base when every item failed with it, and 409 otherwise.
func noneDone(what string, base clientele.Code, errs []error, rendered any) *clientele.Error {
	e := &clientele.Error{Code: clientele.Conflict, Message: "no " + what + " could be added: " + httpapi.Describe(errs[0]).Detail,
		Extra: map[string]any{"failed": rendered}}
	count := map[clientele.Code]int{}
	for _, err := range errs {
		count[clientele.ErrorCode(err)]++
	}
	switch {
	case count[clientele.Invalid] > 0:
		e.Code = clientele.Invalid
	case count[clientele.Unavailable] == len(errs):
		e.Code, e.RetryAfter = clientele.Unavailable, time.Second
	case count[base] == len(errs):
		e.Code = base
	}
	return e
}
