package provider

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Class is the error taxonomy every driver maps its provider's errors into.
type Class string

const (
	InvalidArgument Class = "InvalidArgument"
	NotFound        Class = "NotFound"
	AlreadyExists   Class = "AlreadyExists"
	// Busy: a precondition that will clear by itself (instance busy, another
	// backup running, source not ready yet). Retried with a long backoff.
	Busy Class = "Busy"
	// FailedPrecondition: the resource is in a state only a person can
	// change (instance stopped, locked, deleted from under us). Not retried:
	// the message names the state and what to do.
	FailedPrecondition Class = "FailedPrecondition"
	Quota              Class = "Quota"
	Permission         Class = "Permission"
	Throttled          Class = "Throttled"
	// Unavailable covers 5xx, timeouts and lost connections.
	Unavailable Class = "Unavailable"
	Internal    Class = "Internal"
	// Unsupported: the provider has no API for what was asked (copy on RDS).
	Unsupported Class = "Unsupported"
	// BackupFailed: the provider ran the backup and reported failure.
	BackupFailed Class = "BackupFailed"
)

// Known reports whether c is one of the classes above; metrics label
// anything else "unknown" so a stray class cannot grow a label set.
func (c Class) Known() bool {
	switch c {
	case InvalidArgument, NotFound, AlreadyExists, Busy, FailedPrecondition, Quota, Permission, Throttled, Unavailable, Internal,
		Unsupported, BackupFailed:
		return true
	}
	return false
}

// Retryable reports whether errors of this class are worth retrying.
func (c Class) Retryable() bool {
	switch c {
	case Busy, Throttled, Unavailable, Internal:
		return true
	}
	return false
}

// RetryDelay is the wait before retry number attempt (1-based) of an error
// of this class when the provider gave no hint: exponential from the class's
// base, capped at 5 minutes. Activities always state the delay explicitly, so
// the activity retry policy's own backoff never applies.
func (c Class) RetryDelay(attempt int) time.Duration {
	base := time.Second
	switch c {
	case Busy:
		base = 30 * time.Second // a busy instance or a pending backup takes a while to clear
	case Throttled:
		base = 5 * time.Second
	}
	d := base << min(max(attempt-1, 0), 16)
	return min(d, 5*time.Minute)
}

// Error is a provider answer, classified. It keeps the provider's own code,
// message and request ID so operators can quote them to the provider.
type Error struct {
	Class    Class  `json:"class"`
	Provider string `json:"provider,omitempty"`
	// Code is the provider's error code (gRPC code, DBS.200011, Throttling.User ...).
	Code      string `json:"code,omitempty"`
	Message   string `json:"message"`
	RequestID string `json:"requestId,omitempty"`
	// HTTPStatus is the HTTP status, when the provider speaks HTTP.
	HTTPStatus int `json:"httpStatus,omitempty"`
	// Field and Rule name the request field at fault and the rule it broke.
	Field string `json:"field,omitempty"`
	Rule  string `json:"rule,omitempty"`
	// RetryAfter is the provider's hint for when to try again.
	RetryAfter time.Duration `json:"retryAfter,omitempty"`
	// Unproven lists backups found where the owner's would be that carry no
	// proof of ownership (see NotOurs): never adopted, never deleted.
	Unproven []string `json:"unproven,omitempty"`
	Err      error    `json:"-"`
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = fmt.Sprintf("%s: %s", e.Field, msg)
	}
	// The provider is named once: a field path such as "alirds.DBInstanceId"
	// already names it.
	if e.Provider != "" && !strings.HasPrefix(e.Field, e.Provider+".") {
		msg = e.Provider + ": " + msg
	}
	if e.Code != "" {
		msg += " (code " + e.Code
		if e.RequestID != "" {
			msg += ", request " + e.RequestID
		}
		msg += ")"
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Invalid returns the error for a request field that breaks a documented rule.
func Invalid(field, rule string, args ...any) *Error {
	if len(args) > 0 {
		rule = fmt.Sprintf(rule, args...)
	}
	return &Error{Class: InvalidArgument, Field: field, Rule: rule, Message: rule}
}

// Errorf returns a classified error with a formatted message.
func Errorf(class Class, format string, args ...any) *Error {
	return &Error{Class: class, Message: fmt.Sprintf(format, args...)}
}

// ClassOf returns the class of err, or "" when err is not a classified error.
func ClassOf(err error) Class {
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return ""
}

// IsClass reports whether err is a classified error of class c.
func IsClass(err error, c Class) bool { return ClassOf(err) == c }
