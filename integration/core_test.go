// Package integration runs the workflows end to end on a real in-process
// Temporal server, with workers assembled by the production Wire injector.
package integration

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/testenv"
	"github.com/backupflow/backupflow/provider/memory"
)

const token = "test-token"

func memoryRequest(t *testing.T, resource, name string, seconds float64) backup.Request {
	req, err := backup.NewRequest(&backup.MemoryCreate{Target: resource, Name: name, DurationSeconds: seconds})
	require.NoError(t, err)
	return req
}

type coreEnv struct {
	*testenv.Env
	cloud  *memory.Cloud
	client *backup.Client
	// lastRun is the plan run runPlan ran last.
	lastRun client.WorkflowRun
}

func startCore(t *testing.T) *coreEnv {
	e := testenv.Start(t, true)
	cloud := memory.NewCloud(token)
	e.StartWorker(t, e.Config(t), cloud.Driver(token))
	return &coreEnv{Env: e, cloud: cloud, client: e.BackupClient()}
}

func TestCreateAndCopyEndToEnd(t *testing.T) {
	e := startCore(t)
	ctx := testenv.Context(t, time.Minute)

	h, err := e.client.StartCreate(ctx, memoryRequest(t, "orders-db", "nightly", 1))
	require.NoError(t, err)
	assert.Equal(t, "create/memory/orders-db", h.WorkflowID)
	res, err := h.Result(ctx)
	require.NoError(t, err)
	assert.Equal(t, "memory", res.Provider)
	assert.Equal(t, "orders-db", res.Resource)
	assert.Equal(t, "READY", res.Backup.State)
	assert.NotEmpty(t, res.Backup.Record)
	assert.GreaterOrEqual(t, res.Attempts, 3)
	assert.Equal(t, []string{res.Backup.ID}, e.cloud.Inventory(), "exactly one backup")
	e.RecordHistory(t, "create-memory-success", h.WorkflowID, h.RunID)

	copyReq, err := backup.NewRequest(&backup.MemoryCopy{Source: res.Backup.ID, Target: "dr-site", Name: "nightly-copy", DurationSeconds: 1})
	require.NoError(t, err)
	ch, err := e.client.StartCopy(ctx, copyReq)
	require.NoError(t, err)
	cres, err := ch.Result(ctx)
	require.NoError(t, err)
	assert.Equal(t, backup.KindCopy, cres.Kind)
	assert.NotEqual(t, res.Backup.ID, cres.Backup.ID)
	assert.Len(t, e.cloud.Inventory(), 2)
	e.RecordHistory(t, "copy-memory-success", ch.WorkflowID, ch.RunID)

	// The UI can filter on the search attributes (visibility is eventually consistent).
	require.Eventually(t, func() bool {
		resp, err := e.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: e.Namespace,
			Query:     fmt.Sprintf("%s = 'memory' AND %s = 'SUCCEEDED'", backup.SearchAttributeProvider, backup.SearchAttributeState),
		})
		return err == nil && len(resp.GetExecutions()) == 2
	}, 20*time.Second, 100*time.Millisecond)
}

func waitRunning(t *testing.T, h *backup.Handle) {
	ctx := testenv.Context(t, 30*time.Second)
	require.Eventually(t, func() bool {
		p, err := h.Progress(ctx)
		return err == nil && p.State == backup.StateRunning
	}, 20*time.Second, 50*time.Millisecond)
}

func TestCancelBySignalAndByTemporal(t *testing.T) {
	e := startCore(t)
	for _, how := range []string{"signal", "temporal"} {
		t.Run(how, func(t *testing.T) {
			ctx := testenv.Context(t, time.Minute)
			h, err := e.client.StartCreate(ctx, memoryRequest(t, "cancel-"+how, "long", 600))
			require.NoError(t, err)
			waitRunning(t, h)
			require.Len(t, e.cloud.Inventory(), 1, "the backup is running at the provider")
			// The first poll finds 0 %; the live percent of a later one comes
			// from the pending poll, since unfinished polls are not in history.
			require.Eventually(t, func() bool {
				p, err := h.Progress(ctx)
				return err == nil && p.State == backup.StateRunning && p.Percent > 0
			}, 20*time.Second, 50*time.Millisecond, "the live percent comes from the pending poll")

			if how == "signal" {
				require.NoError(t, h.Cancel(ctx, "maintenance window closed"))
			} else {
				require.NoError(t, e.Client.CancelWorkflow(ctx, h.WorkflowID, h.RunID))
			}
			_, err = h.Result(ctx)
			var canceled *temporal.CanceledError
			require.True(t, errors.As(err, &canceled), "ends CANCELLED: %v", err)
			report, ok := backup.CleanupOf(err)
			require.True(t, ok)
			assert.True(t, report.Created)
			assert.True(t, report.CancelledAtProvider)
			assert.Empty(t, e.cloud.Inventory(), "nothing left at the provider")

			desc, err := e.Client.DescribeWorkflowExecution(ctx, h.WorkflowID, h.RunID)
			require.NoError(t, err)
			assert.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED, desc.GetWorkflowExecutionInfo().GetStatus())
			e.RecordHistory(t, "create-memory-cancel-"+how, h.WorkflowID, h.RunID)
		})
	}
}

// The server fires retry timers with about a second of precision, so 50 polls
// take ~50 s; the test runs in parallel with the others.
func TestHistoryDoesNotGrowWithPolls(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t, true)
	cloud := memory.NewCloud(token)
	cfg := e.Config(t)
	// A fixed 1 s poll interval turns a 50 s backup into ~50 polls.
	cfg.Poll.Min, cfg.Poll.Max, cfg.Poll.DelayFloor = time.Second, time.Second, time.Second
	e.StartWorker(t, cfg, cloud.Driver(token))
	client := e.BackupClient()
	ctx := testenv.Context(t, 3*time.Minute)

	run := func(resource string, seconds float64) (int, int) {
		h, err := client.StartCreate(ctx, memoryRequest(t, resource, "b", seconds))
		require.NoError(t, err)
		res, err := h.Result(ctx)
		require.NoError(t, err)
		return len(e.History(t, h.WorkflowID, h.RunID).Events), res.Attempts
	}
	onePollEvents, onePollAttempts := run("instant", 0)
	manyPollEvents, manyPollAttempts := run("slow", 50)
	t.Logf("history events: %d with %d attempts, %d with %d attempts", onePollEvents, onePollAttempts, manyPollEvents, manyPollAttempts)
	require.Equal(t, 3, onePollAttempts, "start, one poll, finalize")
	require.GreaterOrEqual(t, manyPollAttempts, 40, "about 50 polls")
	assert.Equal(t, onePollEvents, manyPollEvents, "history does not grow per poll")
	assert.LessOrEqual(t, manyPollEvents, 25)
}

func TestAdoptsAfterLostStartResponse(t *testing.T) {
	e := startCore(t)
	ctx := testenv.Context(t, time.Minute)
	e.cloud.LoseNextCreate()
	h, err := e.client.StartCreate(ctx, memoryRequest(t, "lossy-db", "b1", 0.5))
	require.NoError(t, err)
	res, err := h.Result(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{res.Backup.ID}, e.cloud.Inventory(), "the retry adopted the first backup instead of creating a second")
	assert.GreaterOrEqual(t, res.Attempts, 4, "two start attempts")
}

func TestOnePendingBackupPerResource(t *testing.T) {
	e := startCore(t)
	ctx := testenv.Context(t, time.Minute)
	first, err := e.client.StartCreate(ctx, memoryRequest(t, "shared-db", "first", 600))
	require.NoError(t, err)

	again, err := e.client.StartCreate(ctx, memoryRequest(t, "shared-db", "first", 600))
	require.NoError(t, err, "an identical re-submission attaches")
	assert.True(t, again.Attached)
	assert.Equal(t, first.RunID, again.RunID)

	_, err = e.client.StartCreate(ctx, memoryRequest(t, "shared-db", "second", 600))
	var conflict *backup.ConflictError
	require.True(t, errors.As(err, &conflict), "a different request conflicts: %v", err)
	assert.Equal(t, first.WorkflowID, conflict.WorkflowID)
	assert.Contains(t, err.Error(), first.WorkflowID)

	require.NoError(t, first.Cancel(ctx, "test done"))
	_, err = first.Result(ctx)
	_, ok := backup.CleanupOf(err)
	require.True(t, ok)
	assert.Empty(t, e.cloud.Inventory())
}

func TestInvalidRequestFailsBeforeAnyProviderCall(t *testing.T) {
	e := startCore(t)
	ctx := testenv.Context(t, time.Minute)
	cases := map[string]struct {
		input string
		field string
	}{
		"bad name":      {`{"provider":"memory","memory":{"resource":"db","name":"Bad Name"}}`, "memory.name"},
		"unknown field": {`{"provider":"memory","memory":{"resource":"db","name":"b"},"memroy":{}}`, "memroy"},
		"no provider":   {`{"memory":{"resource":"db","name":"b"}}`, "provider"},
		"unknown":       {`{"provider":"oracle","oracle":{}}`, "provider"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var req backup.Request
			require.NoError(t, json.Unmarshal([]byte(c.input), &req))
			// Started the way `temporal workflow start --input` does: any ID, raw JSON.
			run, err := e.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: backup.TaskQueue}, backup.CreateBackupWorkflow, json.RawMessage(c.input))
			require.NoError(t, err)
			err = run.Get(ctx, nil)
			var app *temporal.ApplicationError
			require.True(t, errors.As(err, &app), "%v", err)
			assert.Equal(t, "InvalidArgument", app.Type())
			assert.True(t, app.NonRetryable())
			assert.Contains(t, app.Error(), c.field)
		})
	}
	assert.Zero(t, e.cloud.Calls(), "no provider call for a bad request")
}

func TestWorksWithoutSearchAttributes(t *testing.T) {
	e := testenv.Start(t, false)
	cloud := memory.NewCloud(token)
	e.StartWorker(t, e.Config(t), cloud.Driver(token))
	ctx := testenv.Context(t, time.Minute)
	h, err := e.BackupClient().StartCreate(ctx, memoryRequest(t, "bare-ns-db", "b", 0.2))
	require.NoError(t, err)
	_, err = h.Result(ctx)
	require.NoError(t, err, "a namespace without the search attributes must not break backups")
}

func TestProviderReportedFailureCleansUp(t *testing.T) {
	e := startCore(t)
	ctx := testenv.Context(t, time.Minute)
	req, err := backup.NewRequest(&backup.MemoryCreate{Target: "flaky-db", Name: "doomed", DurationSeconds: 0.2, FailWith: "disk full"})
	require.NoError(t, err)
	h, err := e.client.StartCreate(ctx, req)
	require.NoError(t, err)
	_, err = h.Result(ctx)
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "%v", err)
	assert.Equal(t, "BackupFailed", app.Type())
	assert.Contains(t, app.Error(), "disk full")
	assert.Empty(t, e.cloud.Inventory(), "the failed backup's record was removed")
	p, err := h.Progress(ctx)
	require.NoError(t, err)
	assert.Equal(t, backup.StateFailed, p.State)
	require.NotNil(t, p.Cleanup)
	assert.Len(t, p.Cleanup.Deleted, 1)
	e.RecordHistory(t, "create-memory-failure", h.WorkflowID, h.RunID)
}

func TestWatchReportsProgressUntilTheResult(t *testing.T) {
	e := startCore(t)
	ctx := testenv.Context(t, time.Minute)
	h, err := e.client.StartCreate(ctx, memoryRequest(t, "watched-db", "b", 3))
	require.NoError(t, err)
	var seen []backup.Progress
	res, err := h.Watch(ctx, 100*time.Millisecond, func(p backup.Progress) { seen = append(seen, p) })
	require.NoError(t, err)
	assert.Equal(t, "watched-db", res.Resource)
	require.NotEmpty(t, seen)
	live := false
	for i, p := range seen {
		if i > 0 {
			assert.GreaterOrEqual(t, p.Percent, seen[i-1].Percent, "percent never goes down")
		}
		live = live || (p.State == backup.StateRunning && p.Percent > 0 && p.Percent < 100)
	}
	assert.True(t, live, "a live percent from the pending poll while it ran: %+v", seen)
}
