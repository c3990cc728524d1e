package provider

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/backupflow/backupflow/backup"
)

// Class is the error taxonomy every driver maps its provider's errors into.
// It is backup.Class, defined and documented in package backup (which Go
// services import without any cloud SDK) with the workflow-level classes;
// the constants below are backup's provider classes under their provider
// names, so drivers write provider.Busy.
type Class = backup.Class

// The provider classes; see backup.Class for what each means and how it is retried.
const (
	InvalidArgument    = backup.InvalidArgument
	NotFound           = backup.NotFound
	AlreadyExists      = backup.AlreadyExists
	Busy               = backup.Busy
	FailedPrecondition = backup.FailedPrecondition
	Quota              = backup.Quota
	Permission         = backup.Permission
	Throttled          = backup.Throttled
	Unavailable        = backup.Unavailable
	Internal           = backup.Internal
	Unsupported        = backup.Unsupported
	BackupFailed       = backup.BackupFailed
)

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
