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

// A FAILED_PRECONDITION that clears by itself (another backup creation
// pending on the database, a source backup or database not READY yet, a
// backup being copied) is Busy; any other is FailedPrecondition (a state only
// a person can change). Spanner documents no machine-readable reason for
// these (docs/providers/spanner.md), so two signals decide, in order:
//
//  1. structured details: a google.rpc.ErrorInfo of domain errorDomain whose
//     reason is in busyReasons (the reason is our guess; the simulator sends it);
//  2. the message: any of busyPhrases (Spanner's wording, not a contract).
const errorDomain = "spanner.googleapis.com"

var busyReasons = map[string]bool{
	"PENDING_BACKUP_CREATION": true, // one pending backup creation per database
}

var busyPhrases = []string{
	"pending", "in progress", "still being created", "being created", "not ready",
	"being copied", "referencing backup", "state creating", "is creating", "concurrent",
}

// busyByDetails reports whether the status carries an ErrorInfo saying the
// precondition will clear by itself.
func busyByDetails(st *status.Status) bool {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == errorDomain && busyReasons[info.GetReason()] {
			return true
		}
	}
	return false
}

func busyByPhrase(message string) bool {
	m := strings.ToLower(message)
	for _, p := range busyPhrases {
		if strings.Contains(m, p) {
			return true
		}
	}
	return false
}

// classOf maps a gRPC status to the taxonomy; docs/providers/spanner.md has
// the table with sources, and a test holds this function to it.
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
//	FAILED_PRECONDITION -> Busy | FailedPrecondition
//	ABORTED             -> Internal
//	OUT_OF_RANGE        -> InvalidArgument
//	UNIMPLEMENTED       -> Unsupported
//	INTERNAL            -> Internal
//	UNAVAILABLE         -> Unavailable
//	DATA_LOSS           -> Internal
//	UNAUTHENTICATED     -> Permission
func classOf(st *status.Status) provider.Class {
	switch st.Code() {
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
		if busyByDetails(st) || busyByPhrase(st.Message()) {
			return provider.Busy
		}
		return provider.FailedPrecondition
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
		return provider.Unavailable
	case codes.Unimplemented:
		return provider.Unsupported
	}
	// Unknown, Aborted, Internal, DataLoss and codes this table does not know.
	return provider.Internal
}

// classify maps any error from the SDK into the taxonomy, once. It keeps the canonical
// gRPC code name (FAILED_PRECONDITION), the message, the request ID from a
// google.rpc.RequestInfo detail and the delay from a google.rpc.RetryInfo detail.
func classify(err error) error {
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
		Class:    classOf(st),
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
