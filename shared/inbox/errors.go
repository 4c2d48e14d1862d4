// Package inbox is Parley's domain: workspaces, contacts, conversations,
// messages and labels, the rules that govern them, and the use cases the
// HTTP API and the webhooks call. It imports no AWS package; adapters for
// DynamoDB and the providers implement the small interfaces declared here.
package inbox

import (
	"errors"
	"fmt"
)

// Kind classifies an error so that one table (in httpapi) can map it to a
// status code without inspecting messages.
type Kind string

const (
	KindInvalid      Kind = "invalid"
	KindNotFound     Kind = "not_found"
	KindConflict     Kind = "conflict"
	KindForbidden    Kind = "forbidden"
	KindUnauthorized Kind = "unauthorized"
	KindUnavailable  Kind = "unavailable"
	KindInternal     Kind = "internal"
	// KindGone is a request for something kept no longer, such as changes
	// older than the change log.
	KindGone Kind = "gone"
	// KindPreconditionFailed is an If-Match naming a version that is no
	// longer the stored one: nothing was written.
	KindPreconditionFailed Kind = "precondition_failed"
)

// Error is a domain error a person can act on. Message is safe to show to
// API callers; Err (the cause) never is.
type Error struct {
	Kind    Kind
	Message string
	// Field names the request field at fault, when there is one.
	Field string
	Err   error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Kind, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Kind, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error of the given kind.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Invalid reports a bad value in a named request field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Internal wraps an unexpected failure; its text is never shown to callers.
func Internal(err error) *Error {
	return &Error{Kind: KindInternal, Message: "internal error", Err: err}
}

// ErrorKind returns the kind of err, or KindInternal for foreign errors.
func ErrorKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// IsKind reports whether err is a domain error of the given kind.
func IsKind(err error, kind Kind) bool { return err != nil && ErrorKind(err) == kind }
