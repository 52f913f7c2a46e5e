package crm

import (
	"errors"
	"strconv"

	"github.com/clientele/clientele/shared/clientele"
)

// DomainError turns a connector's or the sealer's failure into the
// caller's refusal; stored says whether the credentials are the portal's
// stored ones (a refusal then means reconnecting) or the request's (an
// invalid field).
func DomainError(err error, stored bool) error {
	if err == nil {
		return nil
	}
	disconnected := &clientele.Error{Code: clientele.Conflict, Kind: "crm-disconnected", Err: err,
		Message: "the CRM refused the portal's stored credentials (revoked or out of scope); PUT /v1/portal/crm to connect again"}
	if u, ok := errors.AsType[*Unavailable](err); ok {
		return &clientele.Error{Code: clientele.Unavailable, Kind: "crm-unavailable", RetryAfter: u.RetryAfter, Err: err,
			Message: "the CRM is unavailable (" + u.Reason + "); retry after " + strconv.Itoa(int(u.RetryAfter.Seconds())) + " s"}
	}
	switch {
	case errors.Is(err, clientele.ErrSecretUnreadable):
		disconnected.Message = "the portal's stored CRM credentials cannot be read; PUT /v1/portal/crm to connect again"
		return disconnected
	case errors.Is(err, ErrNotFound):
		return clientele.Wrap(clientele.NotFound, err, "no such record in the CRM")
	case errors.Is(err, ErrQueryTooShort):
		return &clientele.Error{Code: clientele.Invalid, Message: "the request has invalid fields", Err: err,
			Fields: []clientele.FieldError{{Field: "q", Message: "must be at least " + strconv.Itoa(MinQuery) + " characters"}}}
	case (errors.Is(err, ErrBadCredentials) || errors.Is(err, ErrUnauthorized)) && stored:
		return disconnected
	case errors.Is(err, ErrBadCredentials), errors.Is(err, ErrUnauthorized):
		return &clientele.Error{Code: clientele.Invalid, Err: err, Message: "the CRM refused the credentials: " + err.Error(),
			Fields: []clientele.FieldError{{Field: "refreshToken", Message: "was refused by the CRM's token exchange, with clientId and clientSecret"}}}
	}
	return err
}
