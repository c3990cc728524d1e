package workflows

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/backupflow/backupflow/activities"
	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/notify"
	"github.com/backupflow/backupflow/plan"
)

// TestInventoryCountsABackupGoneOnlyAfterADayMissing: listings can lag
// behind a new backup, so one missing from a listing is checked again on
// later passes and recorded as gone only after goneAfter; it is never deleted.
func TestInventoryCountsABackupGoneOnlyAfterADayMissing(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterActivity(&activities.Activities{})
	env.RegisterActivity(&activities.Inventories{})
	env.OnActivity(a.ListBackups, mock.Anything, mock.Anything).Return(activities.ListOutput{}, nil)
	// No DeleteBackup expectation: a call would fail the test.

	start := time.Date(2026, 1, 10, 2, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	old := plan.Entry{ScheduledAt: start.AddDate(0, 0, -2), Outcome: plan.OutcomeSucceeded, Kind: backup.KindCreate,
		Provider: "memory", Resource: "db", BackupID: "mem-1"}
	newest := old
	newest.ScheduledAt, newest.BackupID = start.AddDate(0, 0, -1), "mem-2"
	policy := plan.Policy{Retention: plan.Retention{KeepLast: 1, KeepLastGood: 1}}

	var passes []plan.RetentionReport
	retain := func() {
		env.UpdateWorkflow(plan.RetainUpdate, "", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("rejected: %v", err) },
			OnAccept: func() {},
			OnComplete: func(v any, err error) {
				require.NoError(t, err)
				passes = append(passes, v.(plan.RetentionReport))
			},
		}, plan.RetainRequest{})
	}
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(plan.RecordSignal, plan.Record{Entries: []plan.Entry{old, newest}, Policy: policy})
	}, time.Minute)
	env.RegisterDelayedCallback(retain, 2*time.Minute)
	env.RegisterDelayedCallback(retain, 12*time.Hour)
	var inv plan.Inventory
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(plan.InventoryQuery)
		require.NoError(t, err)
		require.NoError(t, v.Get(&inv))
		env.CancelWorkflow()
	}, 26*time.Hour)
	env.ExecuteWorkflow(PlanInventory, plan.InventoryStart{Plan: "p", Target: "db", Policy: policy})

	require.Len(t, passes, 2)
	for _, p := range passes {
		assert.Empty(t, p.Deleted)
		require.Len(t, p.Refused, 1)
		assert.Contains(t, p.Refused[0].Reason, "checked again")
	}
	// The daily pass, a day after the record's, finds it missing for a day.
	require.NotNil(t, inv.LastRetention)
	require.Len(t, inv.LastRetention.Refused, 1)
	assert.Contains(t, inv.LastRetention.Refused[0].Reason, "recorded as gone")
	assert.Equal(t, start.Add(24*time.Hour+time.Minute), inv.LastRetention.At, "retention runs daily on its own")
	require.Len(t, inv.Entries, 2)
	assert.NotNil(t, inv.Entries[0].DeletedAt, "gone after a day missing")
	assert.Nil(t, inv.Entries[1].DeletedAt, "the newest is kept, never looked up")
}

// TestInventoryWatchesTheRPO: the breach is recorded the moment the newest
// good backup ages past the RPO (a timer, no polling), and closed when a
// good backup lands; each emits its event once.
func TestInventoryWatchesTheRPO(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterActivity(&activities.Activities{})
	env.RegisterActivity(&activities.Inventories{})
	env.RegisterActivity(&activities.Notifier{})
	start := time.Date(2026, 1, 10, 2, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	at := func(d time.Duration) *time.Time { x := start.Add(d); return &x }
	entry := func(id string, created time.Duration) plan.Entry {
		return plan.Entry{ScheduledAt: *at(created), Outcome: plan.OutcomeSucceeded, Kind: backup.KindCreate,
			Provider: "memory", Resource: "db", BackupID: id, CreateTime: at(created)}
	}
	first, second := entry("mem-1", 0), entry("mem-2", 27*time.Hour)
	env.OnActivity(a.ListBackups, mock.Anything, mock.Anything).Return(activities.ListOutput{Backups: []backup.Backup{
		{ID: "mem-1", CreateTime: first.CreateTime}, {ID: "mem-2", CreateTime: second.CreateTime}}}, nil)
	env.OnActivity(inv.RPOIndexed, mock.Anything).Return(true, nil)
	var emitted []notify.Event
	env.OnActivity(nt.Emit, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.EmitInput) (activities.EmitOutput, error) {
		emitted = append(emitted, in.Events...)
		return activities.EmitOutput{Started: len(in.Events)}, nil
	})
	policy := plan.Policy{Retention: plan.Retention{KeepLast: 5, KeepLastGood: 1}, RPO: plan.Duration(26 * time.Hour)}

	query := func() plan.Inventory {
		v, err := env.QueryWorkflow(plan.InventoryQuery)
		require.NoError(t, err)
		var got plan.Inventory
		require.NoError(t, v.Get(&got))
		return got
	}
	var before, during, after plan.Inventory
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(plan.RecordSignal, plan.Record{Entries: []plan.Entry{first}, Policy: policy})
	}, time.Minute)
	env.RegisterDelayedCallback(func() { before = query() }, 26*time.Hour-time.Second)
	env.RegisterDelayedCallback(func() { during = query() }, 26*time.Hour+time.Second)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(plan.RecordSignal, plan.Record{Entries: []plan.Entry{second}, Policy: policy})
	}, 27*time.Hour)
	env.RegisterDelayedCallback(func() {
		after = query()
		env.CancelWorkflow()
	}, 28*time.Hour)
	env.ExecuteWorkflow(PlanInventory, plan.InventoryStart{Plan: "p", Target: "db", Policy: policy})

	assert.Empty(t, before.Breaches, "a second before the RPO: met")
	assert.Equal(t, start.Add(time.Minute), before.Since)
	require.Len(t, during.Breaches, 1)
	assert.Equal(t, start.Add(26*time.Hour), during.Breaches[0].Since, "breached when the backup aged out")
	assert.Nil(t, during.Breaches[0].Until)
	assert.Equal(t, first.CreateTime, during.Breaches[0].LastGood)
	assert.True(t, during.Breached())
	require.Len(t, after.Breaches, 1)
	assert.Equal(t, at(27*time.Hour), after.Breaches[0].Until, "recovered when the good backup was recorded")
	assert.False(t, after.Breached())

	var types []notify.Type
	for _, e := range emitted {
		types = append(types, e.Type)
	}
	assert.Equal(t, []notify.Type{notify.RPOBreached, notify.RPORecovered}, types)
	var d notify.Data
	require.NoError(t, json.Unmarshal(emitted[0].Data, &d))
	assert.Equal(t, notify.Data{Plan: "p", Target: "db", Provider: "memory", Resource: "db", RPOSeconds: 26 * 3600,
		LastGood: first.CreateTime, BreachedSince: at(26 * time.Hour)}, d)
	assert.NotEqual(t, emitted[0].ID, emitted[1].ID)
}
