package cli

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/backupflow/backupflow/internal/testenv"
	"github.com/backupflow/backupflow/plan"
	"github.com/backupflow/backupflow/provider/memory"
)

// planCLI runs the CLI in-process against one real Temporal server.
type planCLI struct {
	t   *testing.T
	env map[string]string
}

func startPlanCLI(t *testing.T) (*planCLI, *testenv.Env) {
	t.Helper()
	e := testenv.Start(t, true)
	return &planCLI{t: t, env: map[string]string{
		"TEMPORAL_ADDRESS":   e.Server.GetFrontendHostPort(),
		"TEMPORAL_NAMESPACE": e.Namespace,
		"USER":               "alice",
	}}, e
}

// applyOnWorker starts a worker with the memory provider and applies the
// plan file.
func (p *planCLI) applyOnWorker(e *testenv.Env, file string) {
	p.t.Helper()
	const token = "plan-cli-test"
	e.StartWorker(p.t, e.Config(p.t), memory.NewCloud(token).Driver(token))
	code, _, errOut := p.run("plan", "apply", "-f", writePlanFile(p.t, file))
	require.Equal(p.t, ExitOK, code, errOut)
}

func (p *planCLI) run(args ...string) (int, string, string) {
	p.t.Helper()
	return run(p.t, p.env, client.DialContext, args...)
}

// json runs a command with --output json and decodes its one document.
func (p *planCLI) json(v any, args ...string) int {
	p.t.Helper()
	code, out, errOut := p.run(append(args, "--output", "json")...)
	// A fresh value: decoding into a reused one keeps fields a document omits.
	reflect.ValueOf(v).Elem().SetZero()
	dec := json.NewDecoder(strings.NewReader(out))
	require.NoError(p.t, dec.Decode(v), "stdout %q, stderr %q", out, errOut)
	assert.False(p.t, dec.More(), "exactly one document")
	return code
}

func changedFields(ch plan.Change) []string {
	var names []string
	for _, f := range ch.Fields {
		names = append(names, f.Field)
	}
	return names
}

func TestPlanDiffApplyAndEdit(t *testing.T) {
	p, _ := startPlanCLI(t)
	file := writePlanFile(t, planFile)

	var diff ChangeReport
	require.Equal(t, ExitOK, p.json(&diff, "plan", "diff", "-f", file))
	require.Len(t, diff.Changes, 2)
	for _, ch := range diff.Changes {
		assert.Equal(t, plan.ChangeCreate, ch.Kind)
	}
	code, out, _ := p.run("plan", "diff", "-f", file)
	assert.Equal(t, ExitOK, code)
	assert.Contains(t, out, "plan nightly: would create schedule backupflow-plan-nightly\n  spec: cron 0 2 * * *\n  timeZone: Europe/Berlin\n")

	code, out, errOut := p.run("plan", "apply", "-f", file)
	require.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "plan nightly: created schedule backupflow-plan-nightly")
	assert.Contains(t, out, "plan hourly: created schedule backupflow-plan-hourly")
	code, out, _ = p.run("plan", "apply", "-f", file)
	assert.Equal(t, ExitOK, code)
	assert.Equal(t, "plan nightly: unchanged\nplan hourly: unchanged\n", out, "a second apply changes nothing")

	edited := writePlanFile(t, strings.Replace(planFile, "timeZone: Europe/Berlin", "timeZone: Europe/Berlin\n      jitter: 5m", 1))
	require.Equal(t, ExitOK, p.json(&diff, "plan", "diff", "-f", edited))
	require.Len(t, diff.Changes, 2)
	assert.Equal(t, plan.ChangeUpdate, diff.Changes[0].Kind)
	assert.Equal(t, []plan.FieldChange{{Field: "jitter", From: "0s", To: "5m"}}, diff.Changes[0].Fields)
	assert.Equal(t, plan.ChangeNone, diff.Changes[1].Kind)
	code, out, _ = p.run("plan", "diff", "-f", edited)
	assert.Equal(t, ExitOK, code, "a diff with changes succeeds")
	assert.Equal(t, "plan nightly: would update schedule backupflow-plan-nightly\n  jitter: 0s -> 5m\nplan hourly: no change\n", out)

	var applied ChangeReport
	require.Equal(t, ExitOK, p.json(&applied, "plan", "apply", "-f", edited))
	assert.Equal(t, diff.Changes, applied.Changes, "apply does what diff said")
	require.Equal(t, ExitOK, p.json(&diff, "plan", "diff", "-f", edited))
	for _, ch := range diff.Changes {
		assert.Equal(t, plan.ChangeNone, ch.Kind, "%s: %v", ch.Plan, changedFields(ch))
	}

	// A refused file changes nothing and lists every problem.
	broken := writePlanFile(t, strings.Replace(planFile, "every: 1h", "every: 1s", 1))
	code, _, errOut = p.run("plan", "apply", "-f", broken)
	assert.Equal(t, ExitBadInput, code)
	assert.Contains(t, errOut, `plan "hourly": schedule.every:`)
	require.Equal(t, ExitOK, p.json(&diff, "plan", "diff", "-f", edited))
	assert.Equal(t, plan.ChangeNone, diff.Changes[1].Kind, "nothing of the refused file was applied")
}

func TestPlanListDescribePauseResumeTriggerDelete(t *testing.T) {
	p, e := startPlanCLI(t)
	file := writePlanFile(t, planFile)
	code, _, errOut := p.run("plan", "apply", "-f", file)
	require.Equal(t, ExitOK, code, errOut)

	var list PlanListReport
	require.Eventually(t, func() bool {
		return p.json(&list, "plan", "list") == ExitOK && len(list.Plans) == 2
	}, 30*time.Second, 50*time.Millisecond, "list shows both plans")
	assert.Equal(t, "hourly", list.Plans[0].Name)
	assert.Equal(t, "every 1h", list.Plans[0].Spec)
	code, out, _ := p.run("plan", "list")
	assert.Equal(t, ExitOK, code)
	assert.Contains(t, out, "PLAN")
	assert.Contains(t, out, "nightly")

	var described PlanActionReport
	require.Equal(t, ExitOK, p.json(&described, "plan", "describe", "nightly"))
	require.Len(t, described.Plans, 1)
	d := described.Plans[0].Description
	require.NotNil(t, d)
	assert.Equal(t, "cron 0 2 * * *", d.Spec)
	assert.Equal(t, "Europe/Berlin", d.TimeZone)
	require.NotNil(t, d.Plan)
	assert.Equal(t, "orders", d.Plan.Targets[0].Name)
	code, out, _ = p.run("plan", "describe", "nightly")
	assert.Equal(t, ExitOK, code)
	assert.Contains(t, out, "target orders")
	assert.Contains(t, out, "no inventory yet")

	// Pause every plan of the file, resume one.
	code, out, _ = p.run("plan", "pause", "-f", file, "--note", "storage migration")
	assert.Equal(t, ExitOK, code)
	assert.Contains(t, out, "paused plan nightly (backupflow-plan-nightly): storage migration")
	assert.Contains(t, out, "paused plan hourly")
	require.Equal(t, ExitOK, p.json(&described, "plan", "describe", "-f", file))
	require.Len(t, described.Plans, 2)
	for _, pl := range described.Plans {
		assert.True(t, pl.Description.Paused, pl.Plan)
		assert.Equal(t, "storage migration", pl.Description.Note)
	}
	code, _, _ = p.run("plan", "resume", "nightly")
	assert.Equal(t, ExitOK, code)
	require.Equal(t, ExitOK, p.json(&described, "plan", "describe", "-f", file))
	assert.False(t, described.Plans[0].Description.Paused, "nightly resumed")
	assert.True(t, described.Plans[1].Description.Paused, "hourly still paused")

	// Trigger starts a PlanRun (no worker: it waits for one).
	code, out, _ = p.run("plan", "trigger", "hourly")
	assert.Equal(t, ExitOK, code)
	assert.Contains(t, out, "triggered a run of plan hourly")
	ctx := testenv.Context(t, time.Minute)
	require.Eventually(t, func() bool {
		resp, err := e.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: "WorkflowType = 'PlanRun'"})
		if err != nil {
			return false
		}
		for _, ex := range resp.GetExecutions() {
			if ex.GetType().GetName() == plan.RunWorkflow && strings.HasPrefix(ex.GetExecution().GetWorkflowId(), "plan-run/hourly") {
				return true
			}
		}
		return false
	}, 30*time.Second, 50*time.Millisecond, "a PlanRun workflow of hourly exists")

	// Delete removes the schedule and says what it kept.
	code, out, _ = p.run("plan", "delete", "nightly")
	assert.Equal(t, ExitOK, code)
	assert.Contains(t, out, "deleted schedule backupflow-plan-nightly of plan nightly; no backup and no inventory was deleted")
	code, _, errOut = p.run("plan", "describe", "nightly")
	assert.Equal(t, ExitBadInput, code)
	assert.Contains(t, errOut, `plan "nightly" has no schedule backupflow-plan-nightly: it was never applied, or it was deleted`)
	code, _, _ = p.run("plan", "trigger", "never-applied")
	assert.Equal(t, ExitBadInput, code)
	code, _, _ = p.run("plan", "describe", "hourly")
	assert.Equal(t, ExitOK, code, "the other plan stays")
}

func TestHoldWithoutAnInventory(t *testing.T) {
	p, _ := startPlanCLI(t)
	code, _, errOut := p.run("plan", "apply", "-f", writePlanFile(t, planFile))
	require.Equal(t, ExitOK, code, errOut)

	var holds HoldReport
	require.Equal(t, ExitOK, p.json(&holds, "hold", "list", "--plan", "nightly"))
	assert.Equal(t, []plan.TargetHolds{{Target: "orders", Holds: []plan.Hold{}}}, holds.Holds, "no run yet: no holds")

	code, _, errOut = p.run("hold", "add", "--plan", "nightly", "--target", "orders", "--reason", "audit")
	assert.Equal(t, ExitBadInput, code)
	assert.Contains(t, errOut, `plan "nightly" target "orders" has no inventory (plan-inventory/nightly/orders) yet`)
	code, _, errOut = p.run("hold", "add", "--plan", "never-applied", "--reason", "audit")
	assert.Equal(t, ExitBadInput, code)
	assert.Contains(t, errOut, "never applied")
}

// heldPlanFile is one plan with two memory targets whose backups end fast.
const heldPlanFile = `
version: 1
plans:
  - name: held
    schedule:
      cron: "0 2 * * *"
    startWindow: 1h
    completionWindow: 1h
    retention:
      keepLast: 5
      keepLastGood: 1
    targets:
      - name: orders
        request:
          provider: memory
          memory:
            resource: orders-db
            name: orders-${date}
            durationSeconds: 0.1
      - name: users
        request:
          provider: memory
          memory:
            resource: users-db
            name: users-${date}
            durationSeconds: 0.1
`

func TestHoldsOnARunPlan(t *testing.T) {
	p, e := startPlanCLI(t)
	p.applyOnWorker(e, heldPlanFile)
	code, _, errOut := p.run("plan", "trigger", "held")
	require.Equal(t, ExitOK, code, errOut)

	// The run records each target's backup in its inventory.
	var described PlanActionReport
	backupOf := map[string]string{}
	require.Eventually(t, func() bool {
		if p.json(&described, "plan", "describe", "held") != ExitOK {
			return false
		}
		for _, ti := range described.Plans[0].Description.Inventories {
			if ti.Inventory != nil && len(ti.Inventory.Entries) == 1 && ti.Inventory.Entries[0].Outcome.Good() {
				backupOf[ti.Target] = ti.Inventory.Entries[0].BackupID
			}
		}
		return len(backupOf) == 2
	}, time.Minute, 100*time.Millisecond, "both targets have a good backup in their inventory")
	code, out, _ := p.run("plan", "describe", "held")
	assert.Equal(t, ExitOK, code)
	assert.Contains(t, out, "1 entry, 1 good backup kept, 0 deleted by retention, 0 holds; last succeeded")

	// One backup of one target.
	var holds HoldReport
	require.Equal(t, ExitOK, p.json(&holds, "hold", "add", "--plan", "held", "--target", "orders",
		"--backup", backupOf["orders"], "--reason", "legal hold 42"))
	require.Len(t, holds.Holds, 1)
	require.Len(t, holds.Holds[0].Holds, 1)
	h := holds.Holds[0].Holds[0]
	assert.Equal(t, backupOf["orders"], h.BackupID)
	assert.Equal(t, "alice", h.By, "--by defaults to $USER")
	assert.Equal(t, "legal hold 42", h.Reason)
	assert.False(t, h.At.IsZero())

	// Every target, by someone else.
	code, out, errOut = p.run("hold", "add", "--plan", "held", "--reason", "audit", "--by", "bob")
	require.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "held on plan held")
	require.Equal(t, ExitOK, p.json(&holds, "hold", "list", "--plan", "held"))
	require.Len(t, holds.Holds, 2)
	assert.Equal(t, "orders", holds.Holds[0].Target)
	assert.Len(t, holds.Holds[0].Holds, 2, "the backup's hold and the target's")
	assert.Equal(t, "users", holds.Holds[1].Target)
	require.Len(t, holds.Holds[1].Holds, 1)
	assert.Equal(t, plan.Hold{By: "bob", Reason: "audit", At: holds.Holds[1].Holds[0].At}, holds.Holds[1].Holds[0])
	code, out, _ = p.run("hold", "list", "--plan", "held")
	assert.Equal(t, ExitOK, code)
	assert.Contains(t, out, "(all backups)")
	assert.Contains(t, out, backupOf["orders"])

	// The inventory refuses a backup it does not hold: bad input.
	code, _, errOut = p.run("hold", "add", "--plan", "held", "--target", "users", "--backup", "not-ours", "--reason", "x")
	assert.Equal(t, ExitBadInput, code)
	assert.Contains(t, errOut, "hold.backupId")

	// Remove the target-wide holds; the backup's stays.
	code, _, errOut = p.run("hold", "remove", "--plan", "held")
	require.Equal(t, ExitOK, code, errOut)
	require.Equal(t, ExitOK, p.json(&holds, "hold", "list", "--plan", "held"))
	require.Len(t, holds.Holds[0].Holds, 1)
	assert.Equal(t, backupOf["orders"], holds.Holds[0].Holds[0].BackupID)
	assert.Empty(t, holds.Holds[1].Holds)
}
