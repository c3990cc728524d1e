// Package backup is backupflow's public contract: the names, request and result
// types, error taxonomy (Class, FailureOf) and workflow-ID rules shared by the
// worker, the backupflow CLI, the Temporal CLI/UI and other services that
// start backups.
//
// It deliberately imports no cloud SDK, so a service can depend on it cheaply.
package backup

import (
	"strings"

	"go.temporal.io/sdk/temporal"
)

// Names a client needs to talk to backupflow workflows.
const (
	// TaskQueue is the default task queue the worker polls.
	TaskQueue = "backups"

	// CreateBackupWorkflow creates a backup of a database or instance.
	CreateBackupWorkflow = "CreateBackup"
	// CopyBackupWorkflow copies an existing backup (providers with a copy API only).
	CopyBackupWorkflow = "CopyBackup"

	// CancelSignal stops a running backup and cleans up what it created.
	// Payload: CancelRequest, e.g. {"reason": "maintenance window closed"}.
	CancelSignal = "cancel"
	// ProgressQuery returns a Progress.
	ProgressQuery = "progress"
)

// ProviderTaskQueue names the task queue of one provider's activities for
// workflows on taskQueue: "backups" and "spanner" give "backups-spanner".
// Each provider has its own queue so the Temporal server can cap the rate at
// which that provider's activities start across every worker polling it
// (BACKUPFLOW_<PROVIDER>_CALLS_PER_SECOND), however many replicas run.
func ProviderTaskQueue(taskQueue, provider string) string {
	return taskQueue + "-" + provider
}

// Search attributes the workflows keep current so the Web UI can filter on them.
// All are of type Keyword.
const (
	SearchAttributeProvider = "BackupProvider"
	SearchAttributeResource = "BackupResource"
	SearchAttributeState    = "BackupState"
)

// SearchAttributeNames lists every search attribute backupflow uses, for registration.
var SearchAttributeNames = []string{SearchAttributeProvider, SearchAttributeResource, SearchAttributeState}

// Typed keys of the search attributes, for the SDK's typed API.
var (
	ProviderKey = temporal.NewSearchAttributeKeyKeyword(SearchAttributeProvider)
	ResourceKey = temporal.NewSearchAttributeKeyKeyword(SearchAttributeResource)
	StateKey    = temporal.NewSearchAttributeKeyKeyword(SearchAttributeState)
)

// Kind says whether an operation creates a backup or copies one.
type Kind string

const (
	KindCreate Kind = "create"
	KindCopy   Kind = "copy"
)

// WorkflowType is the workflow type that runs operations of this kind.
func (k Kind) WorkflowType() string {
	if k == KindCopy {
		return CopyBackupWorkflow
	}
	return CreateBackupWorkflow
}

// WorkflowID is the ID backupflow gives the workflow that backs up resource
// with provider. One ID per target means Temporal itself refuses a second
// concurrent backup of the same database or instance.
//
//	create/spanner/projects/p/instances/i/databases/d
//	copy/spanner/projects/p/instances/dst/backups/b
func WorkflowID(kind Kind, provider, resource string) string {
	return strings.Join([]string{string(kind), provider, resource}, "/")
}

// CancelRequest is the payload of CancelSignal.
type CancelRequest struct {
	Reason string `json:"reason"`
}
