package pages

import (
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/httpapi"
)

// Error renders a failed page request as an HTML page with the status the
// API would answer (httpapi.Status: the one mapping of codes to statuses).
// The text is fixed per status, never the error's own: a 5xx shows no cause.
func Error(err error) *httpapi.Response {
	status := httpapi.Status(err)
	if status == 0 {
		status = http.StatusInternalServerError
	}
	title, text := "Something went wrong", "Something went wrong on our side. Please try again in a moment."
	switch status {
	case http.StatusBadRequest:
		title, text = "This form could not be read", "The form sent fields this page does not have. Go back, reload the page and try again."
	case http.StatusForbidden:
		title, text = "This form has expired", "For your security, forms work only for a while and only on this site. Go back, reload the page and try again."
	case http.StatusNotFound:
		title, text = "Page not found", "There is no page at this address."
	case http.StatusRequestEntityTooLarge:
		title, text = "This form is too large", "Go back and send less text."
	case http.StatusUnsupportedMediaType:
		title, text = "This form could not be read", "Send the form from its page."
	case http.StatusTooManyRequests:
		title, text = "Too many attempts", "Wait a few minutes, then try again."
	case http.StatusServiceUnavailable:
		title, text = "Temporarily unavailable", "We could not complete this just now. Please try again in a moment."
	}
	resp := Page(status, title, Heading(title)+Para(text))
	if e, ok := errors.AsType[*clientele.Error](err); ok && (e.Code == clientele.Gated || e.Code == clientele.Unavailable) {
		resp.Headers["Retry-After"] = strconv.Itoa(max(1, int(math.Ceil(e.RetryAfter.Seconds()))))
	}
	return resp
}
