package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/testenv"
	"github.com/backupflow/backupflow/plan"
	"github.com/backupflow/backupflow/provider/memory"
)

func TestPlanRetainDryRunUnderAFileDeletesNothing(t *testing.T) {
	p, e := startPlanCLI(t)
	const token = "retain-cli-test"
	cloud := memory.NewCloud(token)
	e.StartWorker(t, e.Config(t), cloud.Driver(token))
	code, _, errOut := p.run("plan", "apply", "-f", writePlanFile(t, heldPlanFile))
	require.Equal(t, ExitOK, code, errOut)

	// Three nightly runs, as the schedule would make them, under keepLast 5.
	f, err := plan.Parse([]byte(heldPlanFile))
	require.NoError(t, err)
	ctx := testenv.Context(t, time.Minute)
	night := time.Date(2026, 5, 1, 2, 0, 0, 0, time.UTC)
	for i := range 3 {
		at := night.AddDate(0, 0, i)
		run, err := e.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "plan-run/held/" + at.Format(time.RFC3339), TaskQueue: backup.TaskQueue},
			plan.RunWorkflow, plan.Run{Plan: f.Plans[0], ScheduledAt: at})
		require.NoError(t, err)
		require.NoError(t, run.Get(ctx, nil))
	}
	require.Len(t, cloud.Inventory(), 6)

	// What would keepLast 1 delete? Two per target, each with its reason; nothing goes.
	stricter := strings.Replace(heldPlanFile, "keepLast: 5", "keepLast: 1", 1)
	var rep RetainReport
	require.Equal(t, ExitOK, p.json(&rep, "plan", "retain", "held", "--dry-run", "-f", writePlanFile(t, stricter)))
	assert.True(t, rep.DryRun)
	require.Len(t, rep.Targets, 2)
	for _, tr := range rep.Targets {
		deletes := 0
		for _, d := range tr.Report.Decisions {
			if d.Delete {
				deletes++
				assert.NotEmpty(t, d.Reason)
			}
		}
		assert.Equal(t, 2, deletes, tr.Target)
		assert.Empty(t, tr.Report.Deleted)
	}
	assert.Len(t, cloud.Inventory(), 6, "a dry run deletes nothing")
	code, out, _ := p.run("plan", "retain", "held", "--target", "orders", "--dry-run", "-f", writePlanFile(t, stricter))
	assert.Equal(t, ExitOK, code)
	assert.Contains(t, out, "dry run (nothing deleted)")
	assert.Contains(t, out, "delete create mem-")

	// A file's retention is for dry runs only; a real pass uses the applied plan.
	code, _, errOut = p.run("plan", "retain", "held", "-f", writePlanFile(t, stricter))
	assert.Equal(t, ExitBadInput, code)
	assert.Contains(t, errOut, "--dry-run")
	require.Equal(t, ExitOK, p.json(&rep, "plan", "retain", "held"))
	assert.False(t, rep.DryRun)
	assert.Len(t, cloud.Inventory(), 6, "the applied keepLast 5 keeps all three of each")
}
