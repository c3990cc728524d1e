// Package notify turns what backupflow does into CloudEvents 1.0 and
// delivers them to the sinks an operator configures: an HTTP webhook
// (structured CloudEvents JSON, signed with HMAC-SHA256) or a
// Slack-compatible incoming webhook (a text message).
//
// Event (this file) is deterministic and safe inside workflow code: the
// workflows build events, and delivery runs in activities, so a failing
// sink never fails or delays a backup.
package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
)

// Counters the Notify workflow adds to through the SDK's metrics handler,
// tagged by sink and event type (the Prometheus exporter adds _total).
const (
	MetricDelivered    = "backupflow_notifications_delivered"
	MetricDeadLettered = "backupflow_notifications_dead_lettered"
)

// Type is an event's CloudEvents type. The trailing version changes only
// when the event's data changes incompatibly.
type Type string

// The event types. docs/notifications.md documents each one's data.
const (
	BackupStarted    Type = "io.backupflow.backup.started.v1"
	BackupSucceeded  Type = "io.backupflow.backup.succeeded.v1"
	BackupFailed     Type = "io.backupflow.backup.failed.v1"
	BackupCancelled  Type = "io.backupflow.backup.cancelled.v1"
	CopySucceeded    Type = "io.backupflow.copy.succeeded.v1"
	RetentionDeleted Type = "io.backupflow.retention.deleted.v1"
	RetentionRefused Type = "io.backupflow.retention.refused.v1"
	RPOBreached      Type = "io.backupflow.rpo.breached.v1"
	RPORecovered     Type = "io.backupflow.rpo.recovered.v1"
	PlanRunMissed    Type = "io.backupflow.planrun.missed.v1"
	PlanRunExpired   Type = "io.backupflow.planrun.expired.v1"
)

// Types lists every event type, for documentation and sink filters.
var Types = []Type{BackupStarted, BackupSucceeded, BackupFailed, BackupCancelled, CopySucceeded,
	RetentionDeleted, RetentionRefused, RPOBreached, RPORecovered, PlanRunMissed, PlanRunExpired}

// Event is one occurrence, with the CloudEvents attributes backupflow
// sets. Its ID is derived from what happened, never random: a receiver
// drops an event it has seen by ID, so redelivery after a crash is harmless.
type Event struct {
	ID   string `json:"id"`
	Type Type   `json:"type"`
	// Source is the workflow the event came from: /backupflow/<workflow ID>.
	Source string `json:"source"`
	// Subject is the database (provider resource) the event is about.
	Subject string    `json:"subject,omitempty"`
	Time    time.Time `json:"time"`
	// Plan is the plan the event belongs to, "" for a backup started by
	// hand; sinks may listen to some plans only.
	Plan string `json:"plan,omitempty"`
	// Data is the event's JSON payload (Data below), content type application/json.
	Data json.RawMessage `json:"data"`
}

// New builds an event. key names the occurrence uniquely within its type
// (for example the workflow and run ID); the event ID is a hash of both.
func New(typ Type, source, subject, plan string, at time.Time, data Data, key ...string) Event {
	// Marshalling a struct of strings, times and numbers is deterministic.
	//workflowcheck:ignore
	raw, err := json.Marshal(data)
	if err != nil {
		raw = []byte("{}") // Data holds only strings, times and numbers
	}
	sum := sha256.Sum256([]byte(string(typ) + "\x00" + strings.Join(key, "\x00")))
	return Event{ID: hex.EncodeToString(sum[:16]), Type: typ, Source: "/backupflow/" + source, Subject: subject,
		Time: at.UTC(), Plan: plan, Data: raw}
}

// Data is every event's payload; each type fills the fields that apply
// (docs/notifications.md). Fields are only ever added within a version.
type Data struct {
	Plan       string `json:"plan,omitempty"`
	Target     string `json:"target,omitempty"`
	Provider   string `json:"provider,omitempty"`
	Kind       string `json:"kind,omitempty"`
	Resource   string `json:"resource,omitempty"`
	WorkflowID string `json:"workflowId,omitempty"`
	RunID      string `json:"runId,omitempty"`
	BackupID   string `json:"backupId,omitempty"`
	BackupName string `json:"backupName,omitempty"`
	// Failure is why it failed, was refused, missed or expired; Class is
	// the failure class (backupflow's error taxonomy) when there is one.
	Failure string `json:"failure,omitempty"`
	Class   string `json:"class,omitempty"`
	// Reason is retention's reason for a deletion or a refusal.
	Reason string `json:"reason,omitempty"`
	// ScheduledAt is a plan run's nominal time.
	ScheduledAt *time.Time `json:"scheduledAt,omitempty"`
	// RPO figures: the objective, the newest good backup's create time, and
	// since when the target was breached.
	RPOSeconds    int64      `json:"rpoSeconds,omitempty"`
	LastGood      *time.Time `json:"lastGood,omitempty"`
	BreachedSince *time.Time `json:"breachedSince,omitempty"`
}
