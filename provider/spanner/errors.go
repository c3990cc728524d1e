package spanner

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
)

// busyPhrases mark a FAILED_PRECONDITION that clears by itself: another
// backup creation pending on the database, a source backup (or database)
// not READY yet, a backup still being created or being copied. Spanner does
// not document machine-readable reasons for these, so the message decides.
var busyPhrases = []string{
	"pending", "in progress", "still being created", "being created", "not ready",
	"being copied", "referencing backup", "state creating", "is creating", "concurrent",
}

// classOf maps a gRPC code to the taxonomy. FAILED_PRECONDITION depends on
// the message (see busyPhrases): transient ones are Busy, any other (a
// precondition that will not clear by waiting) is InvalidArgument so the
// workflow fails at once with the provider's code and message.
//
//	OK                  -> (no error)
//	CANCELLED           -> Unavailable   (the call, not the backup, was cancelled: try again)
//	UNKNOWN             -> Internal
//	INVALID_ARGUMENT    -> InvalidArgument
//	DEADLINE_EXCEEDED   -> Unavailable
//	NOT_FOUND           -> NotFound
//	ALREADY_EXISTS      -> AlreadyExists
//	PERMISSION_DENIED   -> Permission
//	RESOURCE_EXHAUSTED  -> Throttled     (RetryInfo's delay becomes RetryAfter)
//	FAILED_PRECONDITION -> Busy | InvalidArgument
//	ABORTED             -> Internal
//	OUT_OF_RANGE        -> InvalidArgument
//	UNIMPLEMENTED       -> Unsupported
//	INTERNAL            -> Internal
//	UNAVAILABLE         -> Unavailable
//	DATA_LOSS           -> Internal
//	UNAUTHENTICATED     -> Permission
func classOf(c codes.Code, message string) provider.Class {
	switch c {
	case codes.InvalidArgument, codes.OutOfRange:
		return provider.InvalidArgument
	case codes.NotFound:
		return provider.NotFound
	case codes.AlreadyExists:
		return provider.AlreadyExists
	case codes.PermissionDenied, codes.Unauthenticated:
		return provider.Permission
	case codes.ResourceExhausted:
		return provider.Throttled
	case codes.FailedPrecondition:
		m := strings.ToLower(message)
		for _, p := range busyPhrases {
			if strings.Contains(m, p) {
				return provider.Busy
			}
		}
		return provider.InvalidArgument
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
		return provider.Unavailable
	case codes.Unimplemented:
		return provider.Unsupported
	}
	// Unknown, Aborted, Internal, DataLoss and codes this table does not know.
	return provider.Internal
}

// mapError classifies any error from the SDK, once. It keeps the canonical
// gRPC code name (FAILED_PRECONDITION), the message, the request ID from a
// google.rpc.RequestInfo detail and the delay from a google.rpc.RetryInfo detail.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	var pe *provider.Error
	if errors.As(err, &pe) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		if _, ok := status.FromError(err); !ok {
			return &provider.Error{Class: provider.Unavailable, Provider: backup.ProviderSpanner,
				Code: code.Code_DEADLINE_EXCEEDED.String(), Message: err.Error(), Err: err}
		}
	}
	st, ok := status.FromError(err)
	if !ok {
		return &provider.Error{Class: provider.Internal, Provider: backup.ProviderSpanner,
			Code: code.Code_UNKNOWN.String(), Message: err.Error(), Err: err}
	}
	out := &provider.Error{
		Class:    classOf(st.Code(), st.Message()),
		Provider: backup.ProviderSpanner,
		Code:     code.Code(st.Code()).String(),
		Message:  st.Message(),
		Err:      err,
	}
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.RequestInfo:
			out.RequestID = d.GetRequestId()
		case *errdetails.RetryInfo:
			out.RetryAfter = d.GetRetryDelay().AsDuration()
		}
	}
	return out
}

// isCode reports whether err is a gRPC status error with code c.
func isCode(err error, c codes.Code) bool {
	st, ok := status.FromError(err)
	return ok && st.Code() == c
}
