// Package plan is backupflow's policy contract: a plan says which databases
// are backed up when, how long their backups are kept and where copies go.
// It holds the plan file format and its validation, the retention rules and
// the names of the plan workflows, schedules, signals and queries.
//
// Everything here but Client (client.go) is deterministic and safe to use
// inside workflow code and imports no cloud SDK. Client is the client side:
// it applies plans as Temporal Schedules and changes inventories for the
// CLI and other services; do not use it inside workflow code.
package plan

import (
	"time"

	"github.com/backupflow/backupflow/backup"
)

// Names of the plan workflows and their messages.
const (
	// RunWorkflow is one scheduled (or triggered) run of a plan: it backs
	// up every target inside the plan's windows and reports each outcome
	// to the target's inventory. Input: Run.
	RunWorkflow = "PlanRun"
	// InventoryWorkflow is the durable record of one plan target: the
	// backups the plan made, holds, and retention's decisions. It lives as
	// long as the target is in the plan and continues as new to stay small.
	InventoryWorkflow = "PlanInventory"

	// RecordSignal adds run outcomes to an inventory. Payload: Record.
	RecordSignal = "record"
	// HoldUpdate adds or removes a hold. Payload: HoldChange; answer: Inventory.
	HoldUpdate = "hold"
	// RetainUpdate runs retention now. Payload: RetainRequest; answer: RetentionReport.
	RetainUpdate = "retain"
	// InventoryQuery returns the inventory (Inventory).
	InventoryQuery = "inventory"

	// SearchAttributePlan holds the plan name on plan runs, inventories and
	// the backup workflows a plan starts, so the Web UI can filter on it.
	SearchAttributePlan = "BackupPlan"
	// SearchAttributeRPO holds an inventory's RPO state, RPOMet or
	// RPOBreached (absent when the target has no RPO), so the Web UI and the
	// CLI can list every breached target: BackupRPO = "breached".
	SearchAttributeRPO = "BackupRPO"
	// MemoRPO is the inventory's memo key for its RPOState, which the
	// worker's RPO watch reads from the listing without querying each one.
	MemoRPO = "rpo"
)

// Values of SearchAttributeRPO.
const (
	RPOMet      = "met"
	RPOBreached = "breached"
)

// ScheduleID is the Temporal Schedule that triggers the plan's runs.
func ScheduleID(plan string) string { return "backupflow-plan-" + plan }

// InventoryID is the workflow ID of one target's inventory.
func InventoryID(plan, target string) string { return "plan-inventory/" + plan + "/" + target }

// Overlap says what happens when a run is due while the previous one still runs.
type Overlap string

const (
	// OverlapSkip drops the new run (it is reported as skipped).
	OverlapSkip Overlap = "skip"
	// OverlapBufferOne starts the new run once the running one ends; at most one waits.
	OverlapBufferOne Overlap = "bufferOne"
)

// Duration is a length of time written as Go durations ("90m", "36h") or in
// days ("7d"), as plan files read best.
type Duration time.Duration

// Plan is one plan of a plan file.
type Plan struct {
	Name     string   `json:"name"`
	Schedule Schedule `json:"schedule"`
	// StartWindow is how late a run may start; later, it is skipped and
	// reported as missed.
	StartWindow Duration `json:"startWindow"`
	// CompletionWindow is how long a run's backups may take; one still
	// running at its end is cancelled with cleanup and reported as expired.
	CompletionWindow Duration  `json:"completionWindow"`
	Overlap          Overlap   `json:"overlap,omitempty"`
	Retention        Retention `json:"retention"`
	// RPO is the recovery point objective: the oldest the newest good
	// backup of each target may get before the target counts as breached
	// (0: none). A target may set its own.
	RPO     Duration `json:"rpo,omitempty"`
	Targets []Target `json:"targets"`
	// Paused plans are applied with their schedule paused.
	Paused bool `json:"paused,omitempty"`
}

// Schedule says when a plan runs: Cron in TimeZone, or Every.
type Schedule struct {
	Cron     string   `json:"cron,omitempty"`
	TimeZone string   `json:"timeZone,omitempty"`
	Every    Duration `json:"every,omitempty"`
	// Jitter delays each run by a random time up to this long.
	Jitter Duration `json:"jitter,omitempty"`
}

// Target is one database a plan backs up.
type Target struct {
	// Name identifies the target within the plan (its inventory's key).
	Name string `json:"name"`
	// Request is the create request; string fields may use placeholders
	// (see Expand) so each run gets its own backup name and expire time.
	Request backup.Request `json:"request"`
	// Copy, when set, copies each new backup (providers with a copy API).
	Copy *Copy `json:"copy,omitempty"`
	// RPO, when set, replaces the plan's for this target.
	RPO *Duration `json:"rpo,omitempty"`
}

// RPOOf is target t's recovery point objective under plan p (0: none).
func (p Plan) RPOOf(t Target) Duration {
	if t.RPO != nil {
		return *t.RPO
	}
	return p.RPO
}

// Copy copies each backup a target's run made, with its own retention.
type Copy struct {
	// Request is the copy request; placeholders include ${backup} (the new
	// backup's provider ID, which copy APIs take as their source).
	Request   backup.Request `json:"request"`
	Retention Retention      `json:"retention"`
}

// Retention says which backups of a target are kept. A backup is kept when
// any rule keeps it, it is held, or it is among the KeepLastGood most
// recent successful backups; every other backup the plan made is deleted.
type Retention struct {
	// KeepLast keeps the N most recent good backups.
	KeepLast int `json:"keepLast,omitempty"`
	// Daily, Weekly, Monthly and Yearly keep the newest good backup of each
	// of the last N days, ISO weeks, months and years (in the schedule's
	// time zone) that have one.
	Daily   int `json:"daily,omitempty"`
	Weekly  int `json:"weekly,omitempty"`
	Monthly int `json:"monthly,omitempty"`
	Yearly  int `json:"yearly,omitempty"`
	// MaxAge keeps good backups younger than this; older ones go unless
	// another rule, a hold or the floor keeps them.
	MaxAge Duration `json:"maxAge,omitempty"`
	// KeepLastGood is the floor no rule overrides: the K most recent
	// successful backups are always kept, however old (at least 1).
	KeepLastGood int `json:"keepLastGood"`
}

// Run is RunWorkflow's input: the plan as applied (the schedule's action
// carries it, so a run never depends on a file that may have changed).
type Run struct {
	Plan Plan `json:"plan"`
	// ScheduledAt is the run's nominal time; zero means the schedule's
	// (TemporalScheduledStartTime) or, for a manual trigger, the start time.
	ScheduledAt time.Time `json:"scheduledAt,omitempty"`
	// Deadline ends the completion window; zero means the run's start plus
	// the plan's CompletionWindow. A large run hands it to its child runs.
	Deadline time.Time `json:"deadline,omitempty"`
}

// RunResult is what a run returns: how many targets (and copies) ended
// how, and, for a run small enough to hold them, the entries themselves.
type RunResult struct {
	Outcomes map[Outcome]int `json:"outcomes"`
	Entries  []Entry         `json:"entries,omitempty"`
}
