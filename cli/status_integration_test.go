package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/testenv"
	"github.com/backupflow/backupflow/plan"
)

// rpoPlanFile is one plan with an RPO of two days: a target whose backups
// succeed and, in failingPlanFile, one whose backups fail.
const rpoPlanFile = `
version: 1
plans:
  - name: guarded
    schedule:
      cron: "0 2 * * *"
    startWindow: 1h
    completionWindow: 1h
    rpo: 2d
    retention:
      keepLast: 5
      keepLastGood: 1
    targets:
      - name: orders
        request:
          provider: memory
          memory:
            resource: orders-db
            name: orders-${time}
            durationSeconds: 0.1
`

const failingPlanFile = `
version: 1
plans:
  - name: doomed
    schedule:
      cron: "0 2 * * *"
    startWindow: 1h
    completionWindow: 1h
    rpo: 2d
    retention:
      keepLast: 5
      keepLastGood: 1
    targets:
      - name: ledger
        request:
          provider: memory
          memory:
            resource: ledger-db
            name: ledger-${time}
            durationSeconds: 0.1
            failWith: disk full
`

// runAt runs the CLI in-process against the test server with its clock at now().
func (p *planCLI) runAt(now func() time.Time, args ...string) (int, string, string) {
	p.t.Helper()
	var stdout, stderr bytes.Buffer
	c := &Command{Env: p.env, Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Dial: client.DialContext, Now: now}
	code := c.Run(context.Background(), args)
	return code, stdout.String(), stderr.String()
}

// statusOf runs status --output json at now() and decodes its document.
func (p *planCLI) statusOf(now func() time.Time, args ...string) (int, StatusReport) {
	p.t.Helper()
	code, out, errOut := p.runAt(now, append([]string{"status", "--output", "json"}, args...)...)
	var rep StatusReport
	dec := json.NewDecoder(strings.NewReader(out))
	require.NoError(p.t, dec.Decode(&rep), "stdout %q, stderr %q", out, errOut)
	assert.False(p.t, dec.More(), "exactly one document")
	return code, rep
}

func TestStatusAndReportAfterARun(t *testing.T) {
	p, e := startPlanCLI(t)
	p.applyOnWorker(e, rpoPlanFile)

	// Before any run: no inventory, the RPO counts from the schedule's creation.
	code, rep := p.statusOf(time.Now, "--plan", "guarded")
	require.Equal(t, ExitOK, code)
	require.Len(t, rep.Plans, 1)
	require.Len(t, rep.Plans[0].Targets, 1)
	assert.Equal(t, InventoryNone, rep.Plans[0].Targets[0].Inventory)
	assert.Equal(t, RPOStateMet, rep.Plans[0].Targets[0].RPOState)
	assert.Equal(t, "2d", rep.Plans[0].Targets[0].RPO)

	triggered := time.Now()
	code, _, errOut := p.run("plan", "trigger", "guarded")
	require.Equal(t, ExitOK, code, errOut)
	var orders TargetStatus
	require.Eventually(t, func() bool {
		code, rep := p.statusOf(time.Now, "--plan", "guarded")
		if code != ExitOK || len(rep.Plans) != 1 || len(rep.Plans[0].Targets) != 1 {
			return false
		}
		orders = rep.Plans[0].Targets[0]
		return orders.LastGood != nil
	}, time.Minute, 100*time.Millisecond, "status shows the run's backup as the last good one")
	assert.Equal(t, RPOStateMet, orders.RPOState)
	assert.Equal(t, "memory", orders.Provider)
	assert.Equal(t, "orders-db", orders.Resource)
	assert.NotEmpty(t, orders.LastGood.BackupID)
	assert.WithinDuration(t, triggered, orders.LastGood.CreateTime, time.Minute)
	require.NotNil(t, orders.BreachAt)
	assert.Equal(t, orders.LastGood.CreateTime.Add(2*plan.Day), *orders.BreachAt, "met until two days after the backup")
	require.NotNil(t, orders.LastRun)
	assert.Equal(t, plan.OutcomeSucceeded, orders.LastRun.Outcome)
	assert.Equal(t, KeptCount{Create: 1}, orders.Kept)
	require.Len(t, rep.Plans, 1)

	// Every plan (no --plan; listing is eventually consistent), as text:
	// exit 0, the backup listed as last good.
	var code2 int
	var out, errOut2 string
	require.Eventually(t, func() bool {
		code2, out, errOut2 = p.run("status")
		return strings.Contains(out, "guarded")
	}, 30*time.Second, 100*time.Millisecond, "status lists the plan")
	assert.Equal(t, ExitOK, code2, errOut2)
	rows := tableRows(out)
	require.Len(t, rows, 3, out)
	assert.Equal(t, []string{"guarded", "orders", "memory/orders-db", "2d", "met"}, rows[1][:5])
	assert.Equal(t, orders.LastGood.BackupID+" "+orders.LastGood.CreateTime.Local().Format(time.RFC3339), rows[1][5])
	assert.Equal(t, "1 target: 1 met, 0 breached, 0 without RPO, 0 unknown", strings.Join(rows[2], "  "))
	assert.Empty(t, errOut2)

	// The report for the last day lists the backup made.
	code, out, errOut = p.run("report", "--since", "1d", "--plan", "guarded")
	assert.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "## Plan guarded\n\n### Target orders (memory orders-db)\n\nRPO 2d. 1 backup made, 0 failures, 0 retention deletions, 0 holds, 0 RPO breaches.\n")
	assert.Contains(t, out, " | create | "+orders.LastGood.BackupID+" | orders-")
	code, out, errOut = p.run("report", "--since", "1d", "--format", "csv")
	assert.Equal(t, ExitOK, code, errOut)
	records, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	require.NoError(t, err)
	require.Len(t, records, 2, out)
	assert.Equal(t, CSVHeader, records[0])
	assert.Equal(t, []string{"made", "guarded", "orders", "memory", "orders-db", orders.LastGood.CreateTime.Format(time.RFC3339), "", "create", orders.LastGood.BackupID},
		records[1][:9])
	var audit AuditReport
	require.Equal(t, ExitOK, p.json(&audit, "report", "--since", "1d"))
	require.Len(t, audit.Plans, 1)
	require.Len(t, audit.Plans[0].Targets, 1)
	require.Len(t, audit.Plans[0].Targets[0].Made, 1)
	assert.Equal(t, orders.LastGood.BackupID, audit.Plans[0].Targets[0].Made[0].BackupID)

	// A window before the run: nothing made.
	require.Equal(t, ExitOK, p.json(&audit, "report", "--since", "3d", "--until", "2d"))
	assert.Empty(t, audit.Plans[0].Targets[0].Made)

	// Three days on, the backup is older than the RPO: status fails the check.
	later := func() time.Time { return time.Now().Add(3 * plan.Day) }
	code, rep = p.statusOf(later)
	assert.Equal(t, ExitBreached, code)
	require.NotNil(t, rep.Plans[0].Targets[0].BreachedSince)
	assert.Equal(t, orders.LastGood.CreateTime.Add(2*plan.Day), *rep.Plans[0].Targets[0].BreachedSince)

	// A plan never applied is bad input.
	code, _, errOut = p.run("status", "--plan", "never-applied")
	assert.Equal(t, ExitBadInput, code)
	assert.Contains(t, errOut, "never applied")
}

func TestStatusBreachedByFailingTarget(t *testing.T) {
	p, e := startPlanCLI(t)
	p.applyOnWorker(e, failingPlanFile)
	code, _, errOut := p.run("plan", "trigger", "doomed")
	require.Equal(t, ExitOK, code, errOut)

	var ledger TargetStatus
	require.Eventually(t, func() bool {
		_, rep := p.statusOf(time.Now, "--plan", "doomed")
		if len(rep.Plans) != 1 || len(rep.Plans[0].Targets) != 1 {
			return false
		}
		ledger = rep.Plans[0].Targets[0]
		return ledger.LastRun != nil
	}, time.Minute, 100*time.Millisecond, "the failed run is in the inventory")
	assert.Equal(t, plan.OutcomeFailed, ledger.LastRun.Outcome)
	assert.Contains(t, ledger.LastRun.Failure, "disk full")
	assert.Nil(t, ledger.LastGood)
	assert.Equal(t, RPOStateMet, ledger.RPOState, "no good backup yet, but the RPO has not passed since the first run")

	// Past the RPO with no good backup: breached, exit 6, named on stderr.
	later := func() time.Time { return time.Now().Add(3 * plan.Day) }
	code, out, errOut := p.runAt(later, "status", "--plan", "doomed")
	assert.Equal(t, ExitBreached, code)
	rows := tableRows(out)
	require.Len(t, rows, 3, out)
	assert.Equal(t, []string{"doomed", "ledger", "memory/ledger-db", "2d"}, rows[1][:4])
	assert.True(t, strings.HasPrefix(rows[1][4], "BREACHED since "), rows[1][4])
	assert.True(t, strings.HasPrefix(rows[1][7], "failed "), rows[1][7])
	assert.Contains(t, errOut, "backupflow: plan doomed target ledger: RPO 2d breached since ")

	// The report over the same three days has the failure and the open breach.
	var audit AuditReport
	code, out, errOut = p.runAt(later, "report", "--since", "4d", "--output", "json")
	require.Equal(t, ExitOK, code, errOut)
	require.NoError(t, json.Unmarshal([]byte(out), &audit))
	tgt := audit.Plans[0].Targets[0]
	require.Len(t, tgt.Failures, 1)
	assert.Equal(t, plan.OutcomeFailed, tgt.Failures[0].Outcome)
	assert.Contains(t, tgt.Failures[0].Failure, "disk full")
	require.Len(t, tgt.Breaches, 1)
	assert.True(t, tgt.Breaches[0].Open)
	assert.Equal(t, "2d", tgt.Breaches[0].RPO)
}

// TestStatusFollowsTheInventorysBreach: the inventory itself records the
// breach when its newest good backup ages past the RPO, and the recovery
// when a good backup comes; status and report show both, on the real clock.
func TestStatusFollowsTheInventorysBreach(t *testing.T) {
	p, e := startPlanCLI(t)
	p.applyOnWorker(e, strings.NewReplacer("name: guarded", "name: watched", "orders-db", "watched-db").Replace(rpoPlanFile))

	// A failed run recorded under an RPO of two seconds: plans refuse an RPO
	// their schedule cannot meet, the inventory takes what it is given, so
	// the breach comes within the test.
	ctx := testenv.Context(t, 2*time.Minute)
	policy := plan.Policy{Retention: plan.Retention{KeepLast: 5, KeepLastGood: 1}, RPO: plan.Duration(2 * time.Second)}
	id := plan.InventoryID("watched", "orders")
	failed := plan.Entry{ScheduledAt: time.Now().UTC(), Outcome: plan.OutcomeFailed, Kind: backup.KindCreate, Provider: "memory",
		Resource: "watched-db", Failure: "disk full"}
	_, err := e.Client.SignalWithStartWorkflow(ctx, id, plan.RecordSignal, plan.Record{Entries: []plan.Entry{failed}, Policy: policy},
		client.StartWorkflowOptions{TaskQueue: backup.TaskQueue, TypedSearchAttributes: temporal.NewSearchAttributes(plan.PlanKey.ValueSet("watched"))},
		plan.InventoryWorkflow, plan.InventoryStart{Plan: "watched", Target: "orders", Policy: policy})
	require.NoError(t, err)

	var (
		code int
		rep  StatusReport
	)
	require.Eventually(t, func() bool {
		code, rep = p.statusOf(time.Now, "--plan", "watched")
		return code == ExitBreached
	}, time.Minute, 100*time.Millisecond, "status exits 6 once the inventory records the breach")
	orders := rep.Plans[0].Targets[0]
	assert.Equal(t, RPOStateBreached, orders.RPOState)
	inv := queryInventory(t, e, id)
	require.Len(t, inv.Breaches, 1)
	require.Nil(t, inv.Breaches[0].Until)
	assert.Equal(t, inv.Breaches[0].Since.UTC(), *orders.BreachedSince,
		"the inventory's breach, not the applied plan's two days: status reads the record")
	assert.Equal(t, plan.OutcomeFailed, orders.LastRun.Outcome)
	assert.Nil(t, orders.LastGood)

	// A good backup recorded: the inventory closes the breach, status exits 0.
	req, err := backup.NewRequest(&backup.MemoryCreate{Target: "watched-db", Name: "watched-manual", DurationSeconds: 0.1})
	require.NoError(t, err)
	h, err := e.BackupClient().StartCreate(ctx, req)
	require.NoError(t, err)
	res, err := h.Result(ctx)
	require.NoError(t, err)
	good := plan.Entry{ScheduledAt: time.Now().UTC(), Outcome: plan.OutcomeSucceeded, Kind: backup.KindCreate, Provider: "memory",
		Resource: res.Resource, BackupID: res.Backup.ID, BackupName: res.Backup.Name, OperationID: res.OperationID, CreateTime: res.Backup.CreateTime}
	require.NoError(t, e.Client.SignalWorkflow(ctx, id, "", plan.RecordSignal, plan.Record{Entries: []plan.Entry{good}, Policy: policy}))
	require.Eventually(t, func() bool {
		code, rep = p.statusOf(time.Now, "--plan", "watched")
		return code == ExitOK
	}, time.Minute, 100*time.Millisecond, "status exits 0 once a good backup is recorded")
	orders = rep.Plans[0].Targets[0]
	assert.Equal(t, RPOStateMet, orders.RPOState)
	require.NotNil(t, orders.LastGood)
	assert.Equal(t, res.Backup.ID, orders.LastGood.BackupID)

	// The report has the failure, the backup made and the closed breach.
	var audit AuditReport
	require.Equal(t, ExitOK, p.json(&audit, "report", "--since", "1h", "--plan", "watched"))
	tgt := audit.Plans[0].Targets[0]
	require.Len(t, tgt.Failures, 1)
	assert.Equal(t, "disk full", tgt.Failures[0].Failure)
	require.Len(t, tgt.Made, 1)
	assert.Equal(t, res.Backup.ID, tgt.Made[0].BackupID)
	require.Len(t, tgt.Breaches, 1, "the recorded breach, closed")
	assert.False(t, tgt.Breaches[0].Open)
	require.NotNil(t, tgt.Breaches[0].Until)
	assert.Equal(t, "2s", tgt.Breaches[0].RPO)
	require.NoError(t, e.Client.TerminateWorkflow(ctx, id, "", "test done"))
}

func queryInventory(t *testing.T, e *testenv.Env, id string) plan.Inventory {
	t.Helper()
	v, err := e.Client.QueryWorkflow(testenv.Context(t, 10*time.Second), id, "", plan.InventoryQuery)
	require.NoError(t, err)
	var inv plan.Inventory
	require.NoError(t, v.Get(&inv))
	return inv
}
