// Package httpapi adapts API Gateway HTTP API (payload v2) events to
// Clientele's handlers: routing by route key, principals and roles, strict
// JSON decoding, problem+json errors, cursors, ETags, idempotency and the
// request log.
package httpapi

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clientele/clientele/shared/clientele"
)

// Response is what a handler returns.
type Response = events.APIGatewayV2HTTPResponse

type problemKind struct {
	status int
	slug   string
	title  string
}

// kinds maps every error code to its HTTP status: the one place that does.
var kinds = map[clientele.Code]problemKind{
	clientele.Invalid:            {http.StatusBadRequest, "validation", "Invalid request"},
	clientele.Unauthorized:       {http.StatusUnauthorized, "unauthorized", "Unauthorized"},
	clientele.Forbidden:          {http.StatusForbidden, "forbidden", "Forbidden"},
	clientele.NotFound:           {http.StatusNotFound, "not-found", "Not found"},
	clientele.Conflict:           {http.StatusConflict, "conflict", "Conflict"},
	clientele.PreconditionFailed: {http.StatusPreconditionFailed, "precondition-failed", "Precondition failed"},
	clientele.TooLarge:           {http.StatusRequestEntityTooLarge, "payload-too-large", "Payload too large"},
	clientele.UnsupportedMedia:   {http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type"},
	clientele.Gone:               {http.StatusGone, "gone", "Gone"},
	clientele.KeyReused:          {http.StatusUnprocessableEntity, "idempotency-key-reused", "Idempotency key reused"},
	clientele.Gated:              {http.StatusTooManyRequests, "rate-limited", "Too many requests"},
	clientele.Unavailable:        {http.StatusServiceUnavailable, "unavailable", "Service unavailable"},
	clientele.Internal:           {http.StatusInternalServerError, "internal", "Internal error"},
}

// Status returns the HTTP status of err.
func Status(err error) int { return kinds[clientele.ErrorCode(err)].status }

// Problem renders err as application/problem+json. Internal errors get a
// generic detail: their cause is logged, never sent.
func Problem(err error) *Response {
	body := ProblemBody(err)
	status := body["status"].(int)
	r := encode(status, "application/problem+json", body)
	if e, ok := errors.AsType[*clientele.Error](err); ok && (e.Code == clientele.Gated || e.Code == clientele.Unavailable || e.RetryAfter > 0) {
		secs := int(math.Ceil(e.RetryAfter.Seconds()))
		if secs < 1 {
			secs = 1
		}
		r.Headers["Retry-After"] = strconv.Itoa(secs)
	}
	return r
}

// Description is the core of an error's problem: what a bulk answer lists
// for each item that failed.
type Description struct {
	Status              int
	Type, Title, Detail string
}

// Describe is err's problem type, title, status and detail: the one mapping
// from domain errors to problems (Internal errors get a generic detail).
func Describe(err error) Description {
	e := domainError(err)
	k := kinds[e.Code]
	d := Description{Status: k.status, Type: "/problems/" + k.slug, Title: k.title, Detail: clientele.Detail(e)}
	if e.Kind != "" {
		d.Type = "/problems/" + e.Kind
	}
	return d
}

func domainError(err error) *clientele.Error {
	if e, ok := errors.AsType[*clientele.Error](err); ok && kinds[e.Code].status != 0 {
		return e
	}
	return &clientele.Error{Code: clientele.Internal}
}

// ProblemBody is the problem+json object of err: its description, its
// field errors and its extension members.
func ProblemBody(err error) map[string]any {
	e, d := domainError(err), Describe(err)
	body := map[string]any{}
	for k, v := range e.Extra {
		body[k] = v
	}
	body["type"], body["title"], body["status"], body["detail"] = d.Type, d.Title, d.Status, d.Detail
	if len(e.Fields) > 0 {
		body["errors"] = e.Fields
	}
	return body
}

// JSON renders v with the given status.
func JSON(status int, v any) *Response {
	return encode(status, "application/json", v)
}

// NoContent is an empty 204.
func NoContent() *Response {
	return &Response{StatusCode: http.StatusNoContent, Headers: map[string]string{}}
}

func encode(status int, contentType string, v any) *Response {
	b, err := json.Marshal(v)
	if err != nil {
		// Only values of our own types are encoded; failing here is a bug.
		b = []byte(`{"type":"/problems/internal","title":"Internal error","status":500}`)
		status, contentType = http.StatusInternalServerError, "application/problem+json"
	}
	return &Response{StatusCode: status, Body: string(b),
		Headers: map[string]string{"Content-Type": contentType}}
}

// WithETag sets the ETag of a versioned resource.
func WithETag(r *Response, version int) *Response {
	r.Headers["ETag"] = ETag(version)
	return r
}

// Created is a 201 with Location and ETag.
func Created(location string, version int, v any) *Response {
	r := JSON(http.StatusCreated, v)
	r.Headers["Location"] = location
	return WithETag(r, version)
}
