package integration

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/testenv"
)

// indexed reads a finished workflow's three search attributes.
func indexed(t *testing.T, e *coreEnv, ctx context.Context, workflowID, runID string) map[string]string {
	t.Helper()
	desc, err := e.Client.DescribeWorkflowExecution(ctx, workflowID, runID)
	require.NoError(t, err)
	got := map[string]string{}
	for _, name := range backup.SearchAttributeNames {
		if v, ok := backup.Keyword(desc.GetWorkflowExecutionInfo(), name); ok {
			got[name] = v
		}
	}
	return got
}

// upserts lists the BackupState values a history wrote, in order, and
// counts the upsert events (the SDK's own TemporalChangeVersion included).
func upserts(t *testing.T, h *historypb.History) (states []string, events int) {
	t.Helper()
	for _, ev := range h.GetEvents() {
		if ev.GetEventType() != enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES {
			continue
		}
		events++
		if p, ok := ev.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields()[backup.SearchAttributeState]; ok {
			var s string
			require.NoError(t, json.Unmarshal(p.GetData(), &s))
			states = append(states, s)
		}
	}
	return states, events
}

func TestSearchAttributes(t *testing.T) {
	e := startCore(t)
	ctx := testenv.Context(t, time.Minute)
	want := func(resource, state string) map[string]string {
		return map[string]string{backup.SearchAttributeProvider: "memory", backup.SearchAttributeResource: resource, backup.SearchAttributeState: state}
	}

	t.Run("typed client sets them at the start", func(t *testing.T) {
		h, err := e.client.StartCreate(ctx, memoryRequest(t, "sa-db", "b", 0))
		require.NoError(t, err)
		_, err = h.Result(ctx)
		require.NoError(t, err)
		hist := e.History(t, h.WorkflowID, h.RunID)
		start := hist.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes().GetSearchAttributes().GetIndexedFields()
		assert.Contains(t, start, backup.SearchAttributeState, "set by the start request")
		states, n := upserts(t, hist)
		assert.Equal(t, []string{"SUCCEEDED"}, states, "one write of BackupState: the outcome")
		assert.Equal(t, 2, n, "plus the SDK's TemporalChangeVersion for the one version marker (limit-every-call)")
		assert.Equal(t, want("sa-db", "SUCCEEDED"), indexed(t, e, ctx, h.WorkflowID, h.RunID))
	})

	t.Run("a backup failing in Validate is found as FAILED", func(t *testing.T) {
		h, err := e.client.StartCreate(ctx, memoryRequest(t, "sa-bad-db", "Bad Name", 0))
		require.NoError(t, err)
		_, err = h.Result(ctx)
		require.Error(t, err)
		assert.Equal(t, want("sa-bad-db", "FAILED"), indexed(t, e, ctx, h.WorkflowID, h.RunID))
	})

	t.Run("started without them, as the Temporal CLI does", func(t *testing.T) {
		input := `{"provider":"memory","memory":{"resource":"sa-cli-db","name":"b"}}`
		run, err := e.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "cli-started", TaskQueue: backup.TaskQueue},
			backup.CreateBackupWorkflow, json.RawMessage(input))
		require.NoError(t, err)
		require.NoError(t, run.Get(ctx, nil))
		hist := e.History(t, run.GetID(), run.GetRunID())
		states, n := upserts(t, hist)
		assert.Equal(t, []string{"RUNNING", "SUCCEEDED"}, states, "the workflow sets them in its first task, then the outcome")
		assert.Equal(t, 3, n, "plus the SDK's TemporalChangeVersion for the one version marker (limit-every-call)")
		assert.Equal(t, want("sa-cli-db", "SUCCEEDED"), indexed(t, e, ctx, run.GetID(), run.GetRunID()))
		e.RecordHistory(t, "create-memory-cli-success", run.GetID(), run.GetRunID())
	})
}

func TestClientStartsWithoutRegisteredSearchAttributes(t *testing.T) {
	e := testenv.Start(t, false)
	ctx := testenv.Context(t, time.Minute)
	// No worker: the start alone is under test.
	h, err := e.BackupClient().StartCreate(ctx, memoryRequest(t, "bare-ns-db", "b", 0))
	require.NoError(t, err, "the client starts without them when the namespace lacks them")
	desc, err := e.Client.DescribeWorkflowExecution(ctx, h.WorkflowID, h.RunID)
	require.NoError(t, err)
	assert.Empty(t, desc.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields())
}
