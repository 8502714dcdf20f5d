// Package apierr is Vigil's one application error type and the one place
// where an error's code is mapped to an HTTP status and a gRPC code.
//
// Every package may import it: it depends on nothing of Vigil's. Components
// return *Error (or wrap one) when the caller must learn something specific
// (bad input, a limit, overload); anything else is an internal error.
package apierr

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"google.golang.org/grpc/codes"
)

// Code classifies an error for the client.
type Code string

// Codes, from the client's point of view.
const (
	Internal             Code = "internal"               // a bug or an unexpected failure: 500 / INTERNAL
	Invalid              Code = "invalid"                // malformed or semantically wrong input: 400 / INVALID_ARGUMENT
	NotFound             Code = "not_found"              // 404 / NOT_FOUND
	TooLarge             Code = "too_large"              // body or message over a size limit: 413 / INVALID_ARGUMENT (not retryable)
	Limit                Code = "limit"                  // a per-tenant/per-metric limit rejected the data; retrying the same data will not help: 400 / INVALID_ARGUMENT
	Overloaded           Code = "overloaded"             // transient overload, retry later: 429 / RESOURCE_EXHAUSTED
	Unavailable          Code = "unavailable"            // not ready or shutting down, retry later: 503 / UNAVAILABLE
	Timeout              Code = "timeout"                // the operation ran out of time: 503 / DEADLINE_EXCEEDED
	Canceled             Code = "canceled"               // the client went away: 499 / CANCELED
	Conflict             Code = "conflict"               // 409 / ALREADY_EXISTS
	Unprocessable        Code = "unprocessable"          // syntactically valid but cannot be executed: 422 / INVALID_ARGUMENT
	UnsupportedMediaType Code = "unsupported_media_type" // a body in a format the endpoint does not take: 415 / INVALID_ARGUMENT
)

// Error is an error with a code the client can act on.
type Error struct {
	Code    Code
	Message string
	// RetryAfter, when set on Overloaded or Unavailable, is sent as the
	// Retry-After header (HTTP) or a RetryInfo detail (gRPC).
	RetryAfter time.Duration
	Err        error // optional cause
}

func (e *Error) Error() string {
	if e.Err != nil && e.Message == "" {
		return e.Err.Error()
	}
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an *Error with a formatted message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with code and message wrapping err.
func Wrap(code Code, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// CodeOf returns the code of the first *Error in err's chain, or Internal.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// RetryAfterOf returns the RetryAfter of the first *Error in err's chain.
func RetryAfterOf(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// Retryable reports whether a client should retry the same request later.
func Retryable(err error) bool {
	switch CodeOf(err) {
	case Overloaded, Unavailable, Timeout:
		return true
	}
	return false
}

// HTTPStatus maps err to an HTTP status code.
func HTTPStatus(err error) int {
	switch CodeOf(err) {
	case Invalid, Limit:
		return http.StatusBadRequest
	case NotFound:
		return http.StatusNotFound
	case TooLarge:
		return http.StatusRequestEntityTooLarge
	case Overloaded:
		return http.StatusTooManyRequests
	case Unavailable, Timeout:
		return http.StatusServiceUnavailable
	case Canceled:
		return 499
	case Conflict:
		return http.StatusConflict
	case Unprocessable:
		return http.StatusUnprocessableEntity
	case UnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	}
	return http.StatusInternalServerError
}

// GRPCCode maps err to a gRPC status code, following the OTLP spec's
// retryable/non-retryable split.
func GRPCCode(err error) codes.Code {
	switch CodeOf(err) {
	case Invalid, Limit, TooLarge, Unprocessable, UnsupportedMediaType:
		return codes.InvalidArgument
	case NotFound:
		return codes.NotFound
	case Overloaded:
		return codes.ResourceExhausted
	case Unavailable:
		return codes.Unavailable
	case Timeout:
		return codes.DeadlineExceeded
	case Canceled:
		return codes.Canceled
	case Conflict:
		return codes.AlreadyExists
	}
	return codes.Internal
}
