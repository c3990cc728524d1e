package integration

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/testenv"
)

// These tests drive the workflows exactly as the Temporal CLI does (cliStart:
// raw JSON input, a user-chosen ID, no search attributes) and read them as
// the CLI and Web UI do: the progress query and DescribeWorkflowExecution.

// queryProgress is `temporal workflow query --type progress`.
func queryProgress(ctx context.Context, c client.Client, id string) (backup.Progress, error) {
	var p backup.Progress
	v, err := c.QueryWorkflow(ctx, id, "", backup.ProgressQuery)
	if err != nil {
		return p, err
	}
	return p, v.Get(&p)
}

// sampleProgress queries every 100 ms until cond holds or the run ends, and
// returns every answer seen.
func sampleProgress(t *testing.T, ctx context.Context, c client.Client, run client.WorkflowRun, cond func(backup.Progress) bool) []backup.Progress {
	t.Helper()
	done := make(chan struct{})
	go func() { _ = run.Get(ctx, nil); close(done) }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var seen []backup.Progress
	for {
		if p, err := queryProgress(ctx, c, run.GetID()); err == nil {
			seen = append(seen, p)
			if cond(p) {
				return seen
			}
		}
		select {
		case <-done:
			return seen
		case <-ctx.Done():
			t.Fatalf("no answer satisfied the condition before the deadline; saw %d answers", len(seen))
		case <-tick.C:
		}
	}
}

func TestProgressQueryRisesDuringARun(t *testing.T) {
	t.Parallel()
	e := startCore(t)
	ctx := testenv.Context(t, time.Minute)
	run, err := cliStart(ctx, e.Client, backup.CreateBackupWorkflow, "cli-progress",
		[]byte(`{"provider":"memory","memory":{"resource":"cli-progress-db","name":"b","durationSeconds":4}}`), true)
	require.NoError(t, err)
	seen := sampleProgress(t, ctx, e.Client, run, func(backup.Progress) bool { return false })
	require.NoError(t, run.Get(ctx, nil))

	var live []float64
	for _, p := range seen {
		if p.State == backup.StateRunning && p.Percent > 0 && p.Percent < 100 {
			live = append(live, p.Percent)
		}
	}
	t.Logf("%d answers, %d with a live percent: %v", len(seen), len(live), live)
	require.GreaterOrEqual(t, len(live), 2, "the query reports the backup's percent while it runs")
	assert.Greater(t, live[len(live)-1], live[0], "and the percent rises")
	for i := 1; i < len(live); i++ {
		assert.GreaterOrEqual(t, live[i], live[i-1], "never down")
	}
}

func TestCLIStartedBackupsAreFound(t *testing.T) {
	t.Parallel()
	e := startCore(t)
	ctx := testenv.Context(t, time.Minute)

	invalid, err := cliStart(ctx, e.Client, backup.CreateBackupWorkflow, "cli-invalid",
		[]byte(`{"provider":"memory","memory":{"resource":"cli-invalid-db","name":"Bad Name"}}`), true)
	require.NoError(t, err)
	var app *temporal.ApplicationError
	require.True(t, errors.As(invalid.Get(ctx, nil), &app))
	assert.Equal(t, "InvalidArgument", app.Type())

	cancelled, err := cliStart(ctx, e.Client, backup.CreateBackupWorkflow, "cli-cancelled",
		[]byte(`{"provider":"memory","memory":{"resource":"cli-cancelled-db","name":"b","durationSeconds":30}}`), true)
	require.NoError(t, err)
	require.NoError(t, e.Client.CancelWorkflow(ctx, cancelled.GetID(), ""), "temporal workflow cancel, at once")
	var canceledErr *temporal.CanceledError
	require.True(t, errors.As(cancelled.Get(ctx, nil), &canceledErr))

	for _, c := range []struct {
		run      client.WorkflowRun
		resource string
		state    backup.State
	}{{invalid, "cli-invalid-db", backup.StateFailed}, {cancelled, "cli-cancelled-db", backup.StateCancelled}} {
		assert.Equal(t, map[string]string{backup.SearchAttributeProvider: "memory",
			backup.SearchAttributeResource: c.resource, backup.SearchAttributeState: string(c.state)},
			indexed(t, e, ctx, c.run.GetID(), c.run.GetRunID()), c.run.GetID())
		// And as the Web UI and `temporal workflow list --query` find it.
		query := fmt.Sprintf("%s = %q AND %s = %q", backup.SearchAttributeState, c.state, backup.SearchAttributeProvider, "memory")
		assert.Eventually(t, func() bool {
			resp, err := e.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: e.Namespace, Query: query})
			if err != nil {
				return false
			}
			for _, w := range resp.GetExecutions() {
				if w.GetExecution().GetWorkflowId() == c.run.GetID() {
					return true
				}
			}
			return false
		}, 20*time.Second, 100*time.Millisecond, "%s found by %s", c.run.GetID(), query)
	}
	e.RecordHistory(t, "create-memory-cli-invalid", invalid.GetID(), invalid.GetRunID())
	e.RecordHistory(t, "create-memory-cli-cancel-temporal", cancelled.GetID(), cancelled.GetRunID())
}

func TestValidationWaitIsVisible(t *testing.T) {
	t.Parallel()
	e := startCore(t)
	ctx := testenv.Context(t, time.Minute)
	source, err := e.client.StartCreate(ctx, memoryRequest(t, "wait-src-db", "src", 30))
	require.NoError(t, err)
	waitRunning(t, source)
	sp, err := source.Progress(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, sp.BackupID)
	copyInput := fmt.Appendf(nil, `{"provider":"memory","memory":{"source":%q,"resource":"dr","name":"c"}}`, sp.BackupID)
	run, err := cliStart(ctx, e.Client, backup.CopyBackupWorkflow, "cli-copy-waits", copyInput, true)
	require.NoError(t, err)

	seen := sampleProgress(t, ctx, e.Client, run, func(p backup.Progress) bool { return p.NextCheck != nil })
	p := seen[len(seen)-1]
	assert.Equal(t, backup.StateValidating, p.State)
	assert.Contains(t, p.Waiting, "not READY", "the query says what validation waits for")
	require.NotNil(t, p.NextCheck, "and when it looks again")
	assert.True(t, p.NextCheck.After(time.Now()), "the next check is ahead: %s", p.NextCheck)

	// `temporal workflow describe` and the Web UI show the same as a pending activity.
	desc, err := e.Client.DescribeWorkflowExecution(ctx, run.GetID(), "")
	require.NoError(t, err)
	require.Len(t, desc.GetPendingActivities(), 1)
	pa := desc.GetPendingActivities()[0]
	assert.Equal(t, "Validate", pa.GetActivityType().GetName())
	assert.Contains(t, pa.GetLastFailure().GetMessage(), "not READY")
	assert.NotNil(t, pa.GetNextAttemptScheduleTime())

	require.NoError(t, e.client.Handle(run.GetID(), "").Cancel(ctx, "test over"))
	var canceled *temporal.CanceledError
	require.True(t, errors.As(run.Get(ctx, nil), &canceled))
	require.NoError(t, source.Cancel(ctx, "test over"))
	e.RecordHistory(t, "copy-memory-validation-wait-cancel-signal", run.GetID(), run.GetRunID())
}

// TestTemporalCLIConflicts pins what the Temporal CLI does when a target
// already has a backup running, as the README states it.
func TestTemporalCLIConflicts(t *testing.T) {
	t.Parallel()
	e := startCore(t)
	ctx := testenv.Context(t, time.Minute)
	const id = "create/memory/conflict-db"
	first, err := cliStart(ctx, e.Client, backup.CreateBackupWorkflow, id,
		[]byte(`{"provider":"memory","memory":{"resource":"conflict-db","name":"one","durationSeconds":30}}`), true)
	require.NoError(t, err)
	other := []byte(`{"provider":"memory","memory":{"resource":"conflict-db","name":"two"}}`)

	_, err = cliStart(ctx, e.Client, backup.CreateBackupWorkflow, id, other, true)
	assert.True(t, temporal.IsWorkflowExecutionAlreadyStartedError(err), "--fail-existing refuses a second start: %v", err)

	silent, err := cliStart(ctx, e.Client, backup.CreateBackupWorkflow, id, other, false)
	require.NoError(t, err, "without --fail-existing the CLI succeeds...")
	assert.Equal(t, first.GetRunID(), silent.GetRunID(), "...with the running backup, and the other request is dropped")

	require.NoError(t, e.Client.CancelWorkflow(ctx, id, ""))
	var canceled *temporal.CanceledError
	require.True(t, errors.As(first.Get(ctx, nil), &canceled))
	assert.Len(t, e.cloud.Inventory(), 0, "nothing of either request is left")
}
