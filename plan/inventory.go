package plan

import (
	"time"

	"github.com/backupflow/backupflow/backup"
)

// Outcome is how one target's part of a run ended.
type Outcome string

const (
	// OutcomeSucceeded: the backup was made; the only good outcome.
	OutcomeSucceeded Outcome = "succeeded"
	// OutcomeFailed: the backup failed (a failed backup the provider kept
	// has a BackupID, and retention deletes it unless held).
	OutcomeFailed Outcome = "failed"
	// OutcomeCancelled: the run was cancelled and its backup cleaned up.
	OutcomeCancelled Outcome = "cancelled"
	// OutcomeMissed: the run could not start within the start window.
	OutcomeMissed Outcome = "missed"
	// OutcomeExpired: the backup was still running at the completion
	// window's end and was cancelled with cleanup.
	OutcomeExpired Outcome = "expired"
	// OutcomeConflict: another backup of the same resource was running.
	OutcomeConflict Outcome = "conflict"
)

// Good reports whether the outcome left a usable backup.
func (o Outcome) Good() bool { return o == OutcomeSucceeded }

// Entry is one backup (or attempt) a plan run made for a target. Entries
// with a BackupID came from backupflow's own create or copy answer: that
// is the proof of ownership retention relies on.
type Entry struct {
	// ScheduledAt is the run's nominal time; it orders entries.
	ScheduledAt time.Time `json:"scheduledAt"`
	Outcome     Outcome   `json:"outcome"`
	// Kind is create, or copy for a target's copy entries.
	Kind       backup.Kind `json:"kind"`
	Provider   string      `json:"provider"`
	Resource   string      `json:"resource"`
	WorkflowID string      `json:"workflowId,omitempty"`
	RunID      string      `json:"runId,omitempty"`
	// BackupID, BackupName and OperationID are as the provider named them.
	BackupID    string     `json:"backupId,omitempty"`
	BackupName  string     `json:"backupName,omitempty"`
	OperationID string     `json:"operationId,omitempty"`
	CreateTime  *time.Time `json:"createTime,omitempty"`
	// Failure says why a run did not leave a good backup.
	Failure string `json:"failure,omitempty"`
	// DeletedAt is set once retention deleted the backup, or found it gone;
	// DeletedReason says which (the rules that let it go, or gone).
	DeletedAt     *time.Time `json:"deletedAt,omitempty"`
	DeletedReason string     `json:"deletedReason,omitempty"`
	// MissingSince is when retention first found the backup missing from
	// the provider's listing. Listings can lag behind a new backup, so it
	// counts as gone only once it has been missing for a day.
	MissingSince *time.Time `json:"missingSince,omitempty"`
}

// Key is the entry's identity within an inventory.
func (e Entry) Key() string {
	if e.BackupID != "" {
		return string(e.Kind) + ":" + e.BackupID
	}
	return string(e.Kind) + "@" + e.ScheduledAt.UTC().Format(time.RFC3339Nano)
}

// Hold keeps a backup (or, with BackupID empty, every backup of the target)
// from deletion by retention and by cleanup until it is removed.
type Hold struct {
	// BackupID is the held backup; empty holds all of the target's backups.
	BackupID string    `json:"backupId,omitempty"`
	By       string    `json:"by"`
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
}

// HoldChange is HoldUpdate's payload.
type HoldChange struct {
	Remove bool `json:"remove,omitempty"`
	Hold   Hold `json:"hold"`
}

// Record is RecordSignal's payload: the entries one run produced for the
// target, and the plan's retention as of that run.
type Record struct {
	Entries []Entry `json:"entries"`
	Policy  Policy  `json:"policy"`
}

// Policy is what an inventory needs of its plan to run retention.
type Policy struct {
	Retention Retention `json:"retention"`
	// CopyRetention applies to the target's copies, when it has a copy step.
	CopyRetention *Retention `json:"copyRetention,omitempty"`
	// TimeZone places daily, weekly, monthly and yearly periods.
	TimeZone string `json:"timeZone,omitempty"`
	// RPO is the target's recovery point objective (0: none).
	RPO Duration `json:"rpo,omitempty"`
}

// PolicyOf is what target t's inventory needs of plan p.
func (p Plan) PolicyOf(t Target) Policy {
	pol := Policy{Retention: p.Retention, TimeZone: p.Schedule.TimeZone, RPO: p.RPOOf(t)}
	if t.Copy != nil {
		r := t.Copy.Retention
		pol.CopyRetention = &r
	}
	return pol
}

// InventoryStart is InventoryWorkflow's input.
type InventoryStart struct {
	Plan   string `json:"plan"`
	Target string `json:"target"`
	// State is carried over when the inventory continues as new.
	State *Inventory `json:"state,omitempty"`
	// Policy is the latest retention the plan asked for.
	Policy Policy `json:"policy"`
}

// RetainRequest is RetainUpdate's payload.
type RetainRequest struct {
	// DryRun decides and reports without deleting anything.
	DryRun bool `json:"dryRun,omitempty"`
	// Policy, on a dry run, replaces the recorded policy: what would a
	// changed plan delete? A real pass always uses the recorded one.
	Policy *Policy `json:"policy,omitempty"`
}

// Decision is retention's verdict on one backup, with its reason.
type Decision struct {
	BackupID string      `json:"backupId"`
	Kind     backup.Kind `json:"kind"`
	Delete   bool        `json:"delete"`
	Reason   string      `json:"reason"`
}

// RetentionReport is what one retention pass decided and did.
type RetentionReport struct {
	At        time.Time  `json:"at"`
	DryRun    bool       `json:"dryRun,omitempty"`
	Decisions []Decision `json:"decisions"`
	// Deleted and Refused list what was deleted and what retention wanted
	// to delete but did not (not confirmed by the provider's listing, held,
	// or the delete failed), with why.
	Deleted []string   `json:"deleted,omitempty"`
	Refused []Decision `json:"refused,omitempty"`
}

// Inventory is InventoryQuery's answer.
type Inventory struct {
	Plan    string  `json:"plan"`
	Target  string  `json:"target"`
	Entries []Entry `json:"entries"`
	Holds   []Hold  `json:"holds,omitempty"`
	// LastRetention is the latest retention pass.
	LastRetention *RetentionReport `json:"lastRetention,omitempty"`
	// Since is when the inventory recorded its first run: a target that
	// never had a good backup is measured against its RPO from then.
	Since time.Time `json:"since,omitzero"`
	// RPO is the target's recovery point objective (0: none), as of the
	// latest recorded run.
	RPO Duration `json:"rpo,omitempty"`
	// Breaches lists the times the target was past its RPO, oldest first;
	// the last one is open (Until nil) while it still is.
	Breaches []Breach `json:"breaches,omitempty"`
}

// Breach is one stretch of time a target had no good backup within its RPO.
type Breach struct {
	Since time.Time  `json:"since"`
	Until *time.Time `json:"until,omitempty"`
	// LastGood is the create time of the newest good backup when the
	// breach began (nil: the target never had one).
	LastGood *time.Time `json:"lastGood,omitempty"`
	RPO      Duration   `json:"rpo"`
}

// LastGood is the newest good backup (not a copy) the provider still
// holds as far as the inventory knows: succeeded, not deleted, and seen in
// the provider's latest listing (not missing from it). Nil when none.
func (inv Inventory) LastGood() *Entry {
	for i := len(inv.Entries) - 1; i >= 0; i-- {
		e := inv.Entries[i]
		if e.Kind == backup.KindCreate && e.Outcome.Good() && e.BackupID != "" && e.DeletedAt == nil && e.MissingSince == nil {
			return &e
		}
	}
	return nil
}

// GoodAt is when entry e's backup was taken: its create time, or the
// run's nominal time when the provider gave none.
func (e Entry) GoodAt() time.Time {
	if e.CreateTime != nil {
		return *e.CreateTime
	}
	return e.ScheduledAt
}

// Breached reports whether the inventory's last breach is still open.
func (inv Inventory) Breached() bool {
	return len(inv.Breaches) > 0 && inv.Breaches[len(inv.Breaches)-1].Until == nil
}

// BreachAt is when the target passes its RPO unless a new good backup
// comes first; ok is false without an RPO or before the first record.
func (inv Inventory) BreachAt() (at time.Time, ok bool) {
	if inv.RPO <= 0 {
		return time.Time{}, false
	}
	if g := inv.LastGood(); g != nil {
		return g.GoodAt().Add(time.Duration(inv.RPO)), true
	}
	if inv.Since.IsZero() {
		return time.Time{}, false
	}
	return inv.Since.Add(time.Duration(inv.RPO)), true
}

// RPOState is what an inventory shows of its RPO in its memo (MemoRPO),
// for the RPO watch's metrics and for status.
type RPOState struct {
	Provider string     `json:"provider,omitempty"`
	Resource string     `json:"resource,omitempty"`
	RPO      Duration   `json:"rpo"`
	LastGood *time.Time `json:"lastGood,omitempty"`
	// BreachedSince is set while the RPO is breached.
	BreachedSince *time.Time `json:"breachedSince,omitempty"`
}

// Equal reports whether s and o show the same state.
func (s RPOState) Equal(o RPOState) bool {
	same := func(a, b *time.Time) bool { return a == nil && b == nil || a != nil && b != nil && a.Equal(*b) }
	return s.Provider == o.Provider && s.Resource == o.Resource && s.RPO == o.RPO &&
		same(s.LastGood, o.LastGood) && same(s.BreachedSince, o.BreachedSince)
}
