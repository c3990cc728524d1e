package backup

import (
	"errors"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
)

// Class is backupflow's error taxonomy: every error a backup can end with
// has exactly one. Provider drivers map their provider's answers into the
// provider classes (package provider re-exports them); the workflows add the
// workflow-level ones. A failed workflow's ApplicationError has the class as
// its type; FailureOf reads the class back from whatever a client receives.
//
// Each constant's doc comment says what the class means, whether and how
// backupflow retries it, and which provider codes map to it. README.md's
// "Errors" table is those comments (a test holds the two together).
type Class string

// Provider classes: what a driver maps a provider's answer into.
const (
	// InvalidArgument means the request breaks a rule the provider or backupflow documents (the message names the field and the rule), so it is never retried; for example Spanner INVALID_ARGUMENT and OUT_OF_RANGE, Alibaba InvalidParameter and MissingParameter, Huawei/OTC DBS.280127 and unmapped 4xx answers.
	InvalidArgument Class = "InvalidArgument"
	// NotFound means the database, instance or source backup does not exist (or the credentials cannot see it), so it is never retried; for example Spanner NOT_FOUND, Alibaba InvalidDBInstanceId.NotFound and InvalidBackupSetID.NotFound, Huawei/OTC DBS.200002 and HTTP 404.
	NotFound Class = "NotFound"
	// AlreadyExists means a backup of the requested name exists that this workflow cannot prove it made (one it can prove is adopted instead), so it is never retried and never deleted; for example Spanner ALREADY_EXISTS, Huawei/OTC DBS.201201, TaurusDB DBS.201209.
	AlreadyExists Class = "AlreadyExists"
	// Busy means a precondition that clears by itself (the instance is busy, another backup runs, the source backup is not ready), retried with exponential back-off from 30 s (at most 5 min) or after the provider's hint when that is longer; for example Spanner FAILED_PRECONDITION naming a pending operation, Alibaba IncorrectDBInstanceState and BackupJobExists, Huawei/OTC DBS.200011, DBS.201205 and HTTP 409, OTC instance state REBOOTING.
	Busy Class = "Busy"
	// FailedPrecondition means the resource is in a state only a person can change (stopped, locked, abnormal), so it is never retried and the message names the state; for example Spanner FAILED_PRECONDITION, Alibaba IncorrectDBInstanceLockMode, OTC instance states SHUTDOWN and FAILED.
	FailedPrecondition Class = "FailedPrecondition"
	// Quota means a provider limit that waiting minutes will not lift (such as a daily backup count), so it is never retried; for example Alibaba BackupTimesExceeded and QuotaExceeded.*, Huawei/OTC RDS.3003 and HTTP 413.
	Quota Class = "Quota"
	// Permission means the provider refused the credentials or denied the call, so it is never retried; for example Spanner PERMISSION_DENIED and UNAUTHENTICATED, Alibaba Forbidden.RAM, InvalidAccessKeyId.NotFound and SignatureDoesNotMatch, Huawei/OTC APIGW.0301, APIGW.0307 and HTTP 401/403.
	Permission Class = "Permission"
	// Throttled means the provider asks for fewer calls, retried after the provider's hint or with exponential back-off from 5 s (at most 5 min), whichever is longer; for example Spanner RESOURCE_EXHAUSTED (with RetryInfo), Alibaba Throttling and Throttling.User, Huawei/OTC APIGW.0308 and HTTP 429.
	Throttled Class = "Throttled"
	// Unavailable means the provider could not be reached or answered with a transient fault (5xx, a timeout, a lost connection, any error a driver cannot classify), retried with exponential back-off from 1 s (at most 5 min) or after the provider's hint when that is longer; for example Spanner UNAVAILABLE, DEADLINE_EXCEEDED and CANCELLED, Alibaba ServiceUnavailable and SignatureNonceUsed, Huawei/OTC HTTP 408 and 5xx.
	Unavailable Class = "Unavailable"
	// Internal means the provider or the driver got something wrong (an answer that cannot be decoded, a server fault), retried with exponential back-off from 1 s (at most 5 min); for example Spanner INTERNAL, UNKNOWN, ABORTED and DATA_LOSS, Alibaba InternalError and HTTP 500, Huawei/OTC a create answer without a backup ID.
	Internal Class = "Internal"
	// Unsupported means the provider has no API for what was asked (copy on TaurusDB, Alibaba RDS and OTC RDS), so it is never retried; for example Spanner UNIMPLEMENTED.
	Unsupported Class = "Unsupported"
	// BackupFailed means the provider ran the backup and reported that it failed, or it was cancelled or deleted outside backupflow, so it is never retried and cleanup removes what is left; for example a Spanner operation that ended with an error, Alibaba backup status Failed, Huawei/OTC backup status FAILED and TaurusDB job status Failed.
	BackupFailed Class = "BackupFailed"
)

// Workflow-level classes: how a backup workflow can end besides a provider
// class. No provider code maps to them.
const (
	// Timeout means a step ran out of its time (the resource stayed busy past the start limit, the backup outlived the wait limit, or a workflow timeout set by whoever started it ran out), so the backup is not retried but fails after cleanup.
	Timeout Class = "Timeout"
	// CleanupFailed means the backup was cancelled but removing what the provider held for it failed after the cleanup's own retries, so it is not retried again and the message says what is left behind.
	CleanupFailed Class = "CleanupFailed"
	// Cancelled means the backup was cancelled (the cancel signal or a Temporal cancel) and cleaned up, so it is never retried and the workflow ends Canceled with the cleanup report as its details.
	Cancelled Class = "Cancelled"
	// Terminated means someone terminated the workflow through Temporal, so no cleanup ran and it is never retried.
	Terminated Class = "Terminated"
)

// classes is every class above, in their order.
var classes = []Class{InvalidArgument, NotFound, AlreadyExists, Busy, FailedPrecondition, Quota, Permission,
	Throttled, Unavailable, Internal, Unsupported, BackupFailed, Timeout, CleanupFailed, Cancelled, Terminated}

// Classes returns every class of the taxonomy.
func Classes() []Class { return slices.Clone(classes) }

// Known reports whether c is one of the taxonomy's classes; metrics label
// anything else MetricUnknown so a stray class cannot grow a label set.
func (c Class) Known() bool { return slices.Contains(classes, c) }

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

// FailureOf is backupflow's one classifier of what a backup ended with. It
// takes any error the Temporal SDK returns for a backup workflow (from
// Handle.Result, WorkflowRun.Get: a *temporal.WorkflowExecutionError around
// how the workflow ended) or any error a workflow sees from its activities,
// and returns the class and the message to show:
//
//   - a workflow that ended cancelled (*temporal.CanceledError): Cancelled,
//     with the cleanup report's reason when it has one;
//   - a workflow that was terminated (*temporal.TerminatedError): Terminated;
//   - otherwise the first *temporal.TimeoutError or *temporal.ApplicationError
//     in the chain, from the outside in: Timeout with the timeout's text, or
//     the application error's type as the class with its own message (without
//     the causes below it). A workflow's failure puts its class outermost, so
//     a failure after a timed-out cleanup reads CleanupFailed, and a step that
//     timed out reads Timeout, not its last attempt's class.
//
// The class is empty when err is not a backup's outcome (a connection error,
// an interrupted wait, an unreadable result) or carries no class, and then
// message is err.Error() (for a workflow's end, without the SDK's wrapper
// naming the workflow); both are empty for nil. The class is always the type
// the failure carries; Known reports whether it belongs to the taxonomy.
func FailureOf(err error) (class Class, message string) {
	if err == nil {
		return "", ""
	}
	top := err
	var ended *temporal.WorkflowExecutionError
	if errors.As(err, &ended) && ended.Unwrap() != nil {
		top = ended.Unwrap() // how the workflow ended, not what an activity saw on the way
	}
	switch e := top.(type) {
	case *temporal.CanceledError:
		var report CleanupReport
		if e.HasDetails() && e.Details(&report) == nil && report.Reason != "" {
			return Cancelled, report.Reason
		}
		return Cancelled, e.Error()
	case *temporal.TerminatedError:
		return Terminated, e.Error()
	}
	for cur := top; cur != nil; cur = errors.Unwrap(cur) {
		switch e := cur.(type) {
		case *temporal.TimeoutError:
			return Timeout, e.Error()
		case *temporal.ApplicationError:
			return Class(e.Type()), e.Message()
		}
	}
	return "", top.Error()
}
