package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/backupflow/backupflow/activities"
	"github.com/backupflow/backupflow/backup"
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
