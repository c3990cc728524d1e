package spannersim

import (
	"math/rand/v2"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/simulator/simkit"
)

// refusal is how an injected fault is answered. FailNext, LoseNextCreate,
// DropNextCreate and SetFaultRate are simkit's; their faults refuse a call
// before it applies: Unavailable -> UNAVAILABLE; Throttled ->
// RESOURCE_EXHAUSTED with a google.rpc.RetryInfo detail of the retry hint
// (when non-zero); Internal -> INTERNAL; Permission -> PERMISSION_DENIED;
// Busy -> FAILED_PRECONDITION about a pending creation (message only, as
// FailNextPendingCreation(false)); anything else UNAVAILABLE. A dropped
// CreateBackup or CopyBackup is refused UNAVAILABLE before it applies; a
// lost one applies and then answers UNAVAILABLE (see intercept).
func refusal(f simkit.Fault) *status.Status {
	if st, ok := f.Answer.(*status.Status); ok {
		return st
	}
	switch f.Class {
	case provider.Throttled:
		st := status.New(codes.ResourceExhausted, "Quota exceeded for quota metric 'Administrative requests' (injected fault).")
		if f.RetryAfter > 0 {
			if d, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(f.RetryAfter)}); err == nil {
				st = d
			}
		}
		return st
	case provider.Internal:
		return injected(codes.Internal)
	case provider.Permission:
		return injected(codes.PermissionDenied)
	case provider.Busy:
		return pendingCreationStatus(false, "injected fault: another backup creation is pending on this database", "")
	}
	return status.New(codes.Unavailable, "The service is currently unavailable (injected fault).")
}

func injected(code codes.Code) *status.Status {
	return status.Newf(code, "injected %s fault", code)
}

// randomFault is a fault SetFaultRate injects: UNAVAILABLE,
// RESOURCE_EXHAUSTED with a RetryInfo hint of 1-5s, or a lost response (the
// call is applied, then UNAVAILABLE is returned).
func randomFault(r *rand.Rand) simkit.Fault {
	kind, hint := r.IntN(3), time.Duration(1+r.IntN(5))*time.Second
	switch kind {
	case 0:
		return simkit.Fault{Class: provider.Unavailable}
	case 1:
		return simkit.Fault{Class: provider.Throttled, RetryAfter: hint}
	}
	return simkit.Fault{Kind: simkit.Lose}
}

func withRequestID(st *status.Status, id string) error {
	if d, err := st.WithDetails(&errdetails.RequestInfo{RequestId: id}); err == nil {
		st = d
	}
	return st.Err()
}

// The structured detail the simulator attaches to the "one pending backup
// creation per database" refusal: a google.rpc.ErrorInfo with this reason
// and domain, and the database in its metadata. Spanner documents no detail
// for it; this is our guess (docs/providers/spanner.md).
const (
	ErrorDomain           = "spanner.googleapis.com"
	PendingCreationReason = "PENDING_BACKUP_CREATION"
)

// pendingCreationStatus is the FAILED_PRECONDITION refusing a second pending
// creation, with the ErrorInfo detail when withDetails.
func pendingCreationStatus(withDetails bool, msg, database string) *status.Status {
	st := status.New(codes.FailedPrecondition, msg)
	if withDetails {
		info := &errdetails.ErrorInfo{Reason: PendingCreationReason, Domain: ErrorDomain, Metadata: map[string]string{"database": database}}
		if d, err := st.WithDetails(info); err == nil {
			st = d
		}
	}
	return st
}

func pendingCreation(msg, database string) error {
	return pendingCreationStatus(true, msg, database).Err()
}

func invalid(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}
