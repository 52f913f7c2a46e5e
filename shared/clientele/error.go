// Package clientele holds the domain of Clientele: the types of portals,
// companies and projects, the rules that apply to them, and the one error type
// every layer returns. It knows nothing about HTTP or DynamoDB.
package clientele

import (
	"errors"
	"fmt"
	"time"
)

// Code classifies an Error. Each code maps to exactly one HTTP status, in
// package httpapi; nothing else decides a status.
type Code string

// The error codes.
const (
	Invalid            Code = "invalid"             // 400
	Unauthorized       Code = "unauthorized"        // 401
	Forbidden          Code = "forbidden"           // 403
	NotFound           Code = "not_found"           // 404
	Conflict           Code = "conflict"            // 409
	PreconditionFailed Code = "precondition_failed" // 412
	TooLarge           Code = "too_large"           // 413
	UnsupportedMedia   Code = "unsupported_media"   // 415
	Gone               Code = "gone"                // 410
	KeyReused          Code = "key_reused"          // 422
	Gated              Code = "gated"               // 429
	Unavailable        Code = "unavailable"         // 503
	Internal           Code = "internal"            // 500
)

// FieldError names one invalid field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is the error type of the domain. Message is safe to show to callers;
// Err (the cause) never is.
type Error struct {
	Code       Code
	Kind       string // a more specific problem type than the code's, e.g. "seat-limit"
	Message    string
	Fields     []FieldError
	RetryAfter time.Duration  // for Gated and Unavailable
	Extra      map[string]any // extension members of the problem body
	Err        error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an Error with a formatted, caller-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an Error of the given code that keeps err as its hidden cause.
func Wrap(code Code, err error, message string) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

// internalDetail is all a caller is told of an Internal error.
const internalDetail = "An unexpected error occurred. Quote the X-Request-Id when reporting it."

// Detail is what a caller may be told of err: an *Error's message, and a
// generic text for an Internal error or one that is not an *Error, whose
// cause is logged, never shown. Problems and the items of bulk answers say
// it.
func Detail(err error) string {
	if e, ok := errors.AsType[*Error](err); ok && e.Code != Internal {
		return e.Message
	}
	return internalDetail
}

// ErrorCode returns the code of err, Internal for errors that are not *Error.
func ErrorCode(err error) Code {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return Internal
}

// Fields collects field errors while validating a request.
type Fields []FieldError

// Add records that field is invalid.
func (f *Fields) Add(field, format string, args ...any) {
	*f = append(*f, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err returns an Invalid error listing the fields, or nil when there are none.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Code: Invalid, Message: "the request has invalid fields", Fields: f}
}
