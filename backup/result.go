package backup

import (
	"encoding/json"
	"time"
)

// State is where a backup workflow is (the progress query's stage). The
// BackupState search attribute holds the coarser State.Indexed.
type State string

const (
	StateValidating State = "VALIDATING"
	StateStarting   State = "STARTING"
	StateRunning    State = "RUNNING"
	StateFinalizing State = "FINALIZING"
	StateCancelling State = "CANCELLING"
	StateSucceeded  State = "SUCCEEDED"
	StateFailed     State = "FAILED"
	StateCancelled  State = "CANCELLED"
)

// IndexedStates are the values of the BackupState search attribute.
var IndexedStates = []State{StateRunning, StateCancelling, StateSucceeded, StateFailed, StateCancelled}

// Indexed is the BackupState search attribute's value for s. The stages of
// a working backup all read RUNNING: every change of a search attribute is a
// visibility write on the server, and VALIDATING, STARTING and FINALIZING
// usually last milliseconds. The progress query has the stage.
func (s State) Indexed() State {
	switch s {
	case StateValidating, StateStarting, StateFinalizing:
		return StateRunning
	}
	return s
}

// Terminal reports whether the workflow has ended in this state.
func (s State) Terminal() bool {
	return s == StateSucceeded || s == StateFailed || s == StateCancelled
}

// Result is what a successful workflow returns.
type Result struct {
	Provider string `json:"provider"`
	Kind     Kind   `json:"kind"`
	// Resource is the database/instance backed up (for a copy, the destination backup).
	Resource string `json:"resource"`
	Backup   Backup `json:"backup"`
	// OperationID is the provider's operation or job ID.
	OperationID string `json:"operationId,omitempty"`
	// Elapsed is the wall time from the workflow's start to its end.
	Elapsed Duration `json:"elapsed"`
	// Attempts counts activity attempts: starts, polls and finalizes.
	Attempts int `json:"attempts"`
}

// Backup is the normalized view of a provider's backup record.
type Backup struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// State is the provider's own final state (READY, COMPLETED, Finished, ...).
	State      string     `json:"state"`
	CreateTime *time.Time `json:"createTime,omitempty"`
	ExpireTime *time.Time `json:"expireTime,omitempty"`
	// SizeBytes is nil when the provider does not report a size.
	SizeBytes *int64 `json:"sizeBytes,omitempty"`
	// Record is the provider's final record, as the provider returned it.
	Record json.RawMessage `json:"record,omitempty"`
}

// Progress is the answer to ProgressQuery.
type Progress struct {
	State    State  `json:"state"`
	Provider string `json:"provider"`
	Resource string `json:"resource,omitempty"`
	// Percent is the provider-reported completion, 0-100, as of the last
	// poll. Polls that find the backup unfinished are not recorded in history
	// (it stays flat); the worker answers the query with the pending poll's
	// figure, so the answer is at most one poll old.
	Percent   float64 `json:"percent"`
	Operation string  `json:"operation,omitempty"`
	BackupID  string  `json:"backupId,omitempty"`
	Attempts  int     `json:"attempts"`
	LastError string  `json:"lastError,omitempty"`
	// Waiting says what the backup is waiting for right now: a busy instance,
	// a source that is not ready, the provider making the backup, a backup
	// that must end before cleanup can delete it. Empty when nothing waits.
	Waiting string `json:"waiting,omitempty"`
	// NextCheck is when the waiting step looks again.
	NextCheck *time.Time `json:"nextCheck,omitempty"`
	// CancelReason is set once a cancel was asked for.
	CancelReason string `json:"cancelReason,omitempty"`
	// Cleanup is set once cleanup after a cancel or failure ran.
	Cleanup *CleanupReport `json:"cleanup,omitempty"`
}

// CleanupReport says what was done to leave nothing behind after a cancel or failure.
// It is the details of the CanceledError a cancelled workflow ends with.
type CleanupReport struct {
	Reason string `json:"reason"`
	// Created reports whether the provider had started anything for this workflow.
	Created bool `json:"created"`
	// CancelledAtProvider reports whether the provider stopped the operation itself.
	CancelledAtProvider bool `json:"cancelledAtProvider"`
	// Deleted lists the backups deleted during cleanup.
	Deleted []string `json:"deleted,omitempty"`
	// Kept lists backups cleanup found where this workflow's would be but
	// left alone, with why (backupflow deletes only what it can prove it made).
	Kept []KeptBackup `json:"kept,omitempty"`
	Note string       `json:"note,omitempty"`
}

// KeptBackup is a backup cleanup left alone, and why.
type KeptBackup struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// PollProgress is the detail of a poll attempt that found the backup
// unfinished; it appears as the pending poll activity's last failure.
type PollProgress struct {
	Percent       float64  `json:"percent"`
	ProviderState string   `json:"providerState,omitempty"`
	NextPoll      Duration `json:"nextPoll"`
}

// Duration marshals as a Go duration string ("1m30s") so JSON stays readable.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return err
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}
