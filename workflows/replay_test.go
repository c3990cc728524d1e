package workflows

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/backupflow/backupflow/activities"
	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/plan"
)

// TestReplayRecordedHistories replays every committed history with the
// current workflow code: a change that breaks determinism for a running
// backup fails here. Histories come from real runs on a real server.
// testdata/histories/current is what `go tool task histories` regenerates;
// every other directory there holds an earlier version's histories, kept
// forever (move current to a new name before a change that alters history).
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "the replay corpus is missing")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(CreateBackup, workflow.RegisterOptions{Name: backup.CreateBackupWorkflow})
			r.RegisterWorkflowWithOptions(CopyBackup, workflow.RegisterOptions{Name: backup.CopyBackupWorkflow})
			r.RegisterWorkflowWithOptions(PlanRun, workflow.RegisterOptions{Name: plan.RunWorkflow})
			r.RegisterWorkflowWithOptions(PlanInventory, workflow.RegisterOptions{Name: plan.InventoryWorkflow})
			r.RegisterWorkflowWithOptions(Notify, workflow.RegisterOptions{Name: activities.NotifyWorkflow})
			require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(nil, f))
		})
	}
}

// TestReplayCorpusCoversEveryOutcome keeps the corpus honest: for every
// version, both workflow types, and success, failure and cancel.
func TestReplayCorpusCoversEveryOutcome(t *testing.T) {
	versions, err := os.ReadDir(filepath.Join("testdata", "histories"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(versions), 2, "current and at least one earlier version")
	for _, v := range versions {
		for _, pattern := range []string{"create-*-success.json", "copy-*-success.json", "create-*-cancel-signal.json",
			"create-*-cancel-temporal.json", "create-*-failure.json", "create-*-invalid.json"} {
			files, err := filepath.Glob(filepath.Join("testdata", "histories", v.Name(), pattern))
			require.NoError(t, err)
			require.NotEmpty(t, files, "%s: no history matches %s", v.Name(), pattern)
		}
	}
	// Plans came later: the current version and every one after it.
	for _, pattern := range []string{"plan-run-*-success.json", "plan-run-*-expired.json", "plan-inventory-*-hold.json",
		"plan-inventory-*-rpo.json", "notify-*-delivered.json", "notify-*-dead-letter.json"} {
		files, err := filepath.Glob(filepath.Join("testdata", "histories", "current", pattern))
		require.NoError(t, err)
		require.NotEmpty(t, files, "current: no history matches %s", pattern)
	}
}
