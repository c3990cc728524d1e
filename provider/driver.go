// Package provider is the portable contract between backupflow's activities and
// the cloud-specific drivers: a small Driver interface, one error taxonomy, a
// registry and the poll policy. Activities only ever see these types.
package provider

import (
	"context"
	"encoding/json"
	"time"

	"github.com/backupflow/backupflow/backup"
)

// Driver backs up databases on one cloud through that cloud's official SDK.
//
// Every method must be safe to call again after a crash at any point: Start
// adopts what an earlier attempt started, Cancel and Delete tolerate work
// already done. Drivers return *Error (see errors.go) for provider answers so
// retries are decided in one place.
type Driver interface {
	// Name is the provider name used in requests ("spanner", "taurusdb", ...).
	Name() string
	// SupportsCopy reports whether the provider has a per-backup copy API.
	SupportsCopy() bool
	// Validate decodes the request section strictly and enforces every
	// documented rule locally, with no provider call. It returns the target.
	// Errors are *Error of class InvalidArgument naming the field and rule.
	// It is the driver's registered validation (Registration.Validate),
	// which ValidateRequest runs without credentials.
	Validate(kind backup.Kind, section json.RawMessage, now time.Time) (Target, error)
	// Preflight checks remote preconditions the provider documents (instance
	// state, replicas, quotas, source readiness) before anything is started.
	Preflight(ctx context.Context, job Job) error
	// Start asks the provider to start the operation. If this owner already
	// started it (a retry after a lost response), Start adopts it.
	Start(ctx context.Context, job Job) (Operation, error)
	// Find returns the operation this owner started earlier, if any; nil when
	// the provider holds nothing of ours. It lets a retry or a cleanup adopt
	// work whose start response was lost.
	Find(ctx context.Context, job Job) (*Operation, error)
	// Poll makes one provider call and reports where the operation is.
	Poll(ctx context.Context, op Operation) (Status, error)
	// Cancel asks the provider to stop the operation. It reports false when
	// the provider has no way to stop it (the caller then waits for the end).
	Cancel(ctx context.Context, op Operation) (bool, error)
	// Delete removes the backup the operation created. Deleting something
	// already gone is not an error. It must work with an Operation rebuilt
	// from a backup's recorded identifiers alone (ID, BackupID, BackupName,
	// Resource and Kind as a Result reports them, no Extra): that is how
	// retention deletes a backup long after its workflow ended.
	Delete(ctx context.Context, op Operation) error
	// Describe returns the final record of the backup the operation created,
	// confirmed through the provider's backup listing.
	Describe(ctx context.Context, op Operation) (backup.Backup, error)
	// List returns every backup the provider holds at resource, the
	// Target.Resource Validate returned for a request of kind (a copy's
	// destination backup lists the backups where that copy lives), following
	// every page of the provider's listing; manual backups only where the
	// provider tells them from its automated ones. The result says what
	// exists, not whose it is: it holds backups somebody else made, so
	// deleting any of them needs the caller's own proof of ownership (the
	// identifiers its create recorded), never a name or time matched here.
	// Some providers list a backup only a while after it ended (their pages
	// in docs/providers say so): a backup missing from the list moments
	// after it was made is not yet proof that it is gone.
	List(ctx context.Context, kind backup.Kind, resource string) ([]backup.Backup, error)
}

// Target is what a validated request points at.
type Target struct {
	// Resource is the database or instance (or destination backup, for a copy).
	Resource string `json:"resource"`
	// BackupName is the backup's name or ID as requested, when the request names it.
	BackupName string `json:"backupName,omitempty"`
}

// Job is one create or copy request, as the activities pass it to a driver.
type Job struct {
	Kind    backup.Kind     `json:"kind"`
	Section json.RawMessage `json:"section"`
	Owner   Owner           `json:"owner"`
}

// Owner identifies the workflow a provider operation belongs to, so a driver
// can tell its own earlier work from somebody else's.
type Owner struct {
	WorkflowID string `json:"workflowId"`
	RunID      string `json:"runId"`
	// StartedAt is when the workflow started; anything of ours began after it.
	StartedAt time.Time `json:"startedAt"`
}

// Operation is a provider operation in flight. It is recorded in workflow
// history, so it must hold only identifiers, never credentials.
type Operation struct {
	// ID is the provider's operation or job ID (Spanner operation name, Huawei
	// job ID, Alibaba BackupJobId); drivers may fall back to the backup ID.
	ID string `json:"id"`
	// BackupID and BackupName identify the backup being made.
	BackupID   string `json:"backupId,omitempty"`
	BackupName string `json:"backupName,omitempty"`
	// Resource is the instance or database, as drivers need it for lookups.
	Resource string `json:"resource"`
	// Kind is create or copy.
	Kind backup.Kind `json:"kind"`
	// Extra holds other identifiers a driver needs to resume (never secrets).
	Extra map[string]string `json:"extra,omitempty"`
	// StartedAt is when the provider says the operation started, if it says.
	StartedAt *time.Time `json:"startedAt,omitempty"`
}

// Phase is where a provider operation is.
type Phase string

const (
	PhaseRunning   Phase = "RUNNING"
	PhaseSucceeded Phase = "SUCCEEDED"
	PhaseFailed    Phase = "FAILED"
	// PhaseCancelled means the provider stopped the operation and removed its backup.
	PhaseCancelled Phase = "CANCELLED"
	// PhaseGone means the provider has no record of the operation's backup any more.
	PhaseGone Phase = "GONE"
)

// Done reports whether the operation has ended.
func (p Phase) Done() bool { return p != PhaseRunning }

// Status is one observation of an operation.
type Status struct {
	Phase Phase `json:"phase"`
	// Percent is the provider's progress, 0-100; negative when unknown.
	Percent float64 `json:"percent"`
	// ProviderState is the provider's own word for the state (CREATING, BUILDING, Uploading, ...).
	ProviderState string `json:"providerState,omitempty"`
	// StartedAt is when the provider started the work, when it says.
	StartedAt *time.Time `json:"startedAt,omitempty"`
	// Message explains a failure.
	Message string `json:"message,omitempty"`
	// RetryAfter is a provider hint for the next look, zero when none.
	RetryAfter time.Duration `json:"retryAfter,omitempty"`
}
