package integration

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/testenv"
	"github.com/backupflow/backupflow/plan"
	"github.com/backupflow/backupflow/provider"
)

// memoryTarget is a plan target on the memory provider whose backups are
// named after the run's time, so every run makes a new one.
func memoryTarget(t *testing.T, name, resource string, seconds float64, failWith string) plan.Target {
	req, err := backup.NewRequest(&backup.MemoryCreate{Target: resource, Name: name + "-${time}", DurationSeconds: seconds, FailWith: failWith})
	require.NoError(t, err)
	return plan.Target{Name: name, Request: req}
}

func testPlan(name string, r plan.Retention, targets ...plan.Target) plan.Plan {
	return plan.Plan{
		Name:             name,
		Schedule:         plan.Schedule{Every: plan.Duration(24 * time.Hour)},
		StartWindow:      plan.Duration(time.Hour),
		CompletionWindow: plan.Duration(time.Hour),
		Retention:        r,
		Targets:          targets,
	}
}

// runPlan runs the plan once, as of at, and waits for it to end.
func (e *coreEnv) runPlan(t *testing.T, p plan.Plan, at time.Time) plan.RunResult {
	t.Helper()
	ctx := testenv.Context(t, 2*time.Minute)
	run, err := e.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:        fmt.Sprintf("plan-run/%s/%s", p.Name, at.UTC().Format(time.RFC3339Nano)),
		TaskQueue: backup.TaskQueue,
	}, plan.RunWorkflow, plan.Run{Plan: p, ScheduledAt: at})
	require.NoError(t, err)
	var res plan.RunResult
	require.NoError(t, run.Get(ctx, &res))
	e.lastRun = run
	return res
}

// recordPlanHistories adds the last run's history and the target's
// inventory's (as far as it has got) to the replay corpus, when recording.
func (e *coreEnv) recordPlanHistories(t *testing.T, name, planName, target string) {
	e.RecordHistory(t, "plan-run-"+name, e.lastRun.GetID(), e.lastRun.GetRunID())
	e.RecordHistory(t, "plan-inventory-"+name, plan.InventoryID(planName, target), "")
}

// retain runs a retention pass on the target's inventory and returns it.
func (e *coreEnv) retain(t *testing.T, planName, target string, dryRun bool) plan.RetentionReport {
	t.Helper()
	ctx := testenv.Context(t, time.Minute)
	h, err := e.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: plan.InventoryID(planName, target), UpdateName: plan.RetainUpdate,
		Args: []any{plan.RetainRequest{DryRun: dryRun}}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	require.NoError(t, err)
	var rep plan.RetentionReport
	require.NoError(t, h.Get(ctx, &rep))
	return rep
}

func (e *coreEnv) inventory(t *testing.T, planName, target string) plan.Inventory {
	t.Helper()
	ctx := testenv.Context(t, time.Minute)
	v, err := e.Client.QueryWorkflow(ctx, plan.InventoryID(planName, target), "", plan.InventoryQuery)
	require.NoError(t, err)
	var inv plan.Inventory
	require.NoError(t, v.Get(&inv))
	return inv
}

func (e *coreEnv) hold(t *testing.T, planName, target string, c plan.HoldChange) error {
	ctx := testenv.Context(t, time.Minute)
	h, err := e.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: plan.InventoryID(planName, target), UpdateName: plan.HoldUpdate,
		Args: []any{c}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return err
	}
	return h.Get(ctx, nil)
}

// live lists the backup IDs the inventory holds as present, oldest first.
func live(inv plan.Inventory) []string {
	var ids []string
	for _, e := range inv.Entries {
		if e.BackupID != "" && e.DeletedAt == nil {
			ids = append(ids, e.BackupID)
		}
	}
	return ids
}

func sorted(s []string) []string { s = slices.Clone(s); sort.Strings(s); return s }

func TestPlanRunBacksUpEveryTargetAndRetains(t *testing.T) {
	e := startCore(t)
	p := testPlan("nightly", plan.Retention{KeepLast: 2, KeepLastGood: 1},
		memoryTarget(t, "orders", "orders-db", 0.2, ""), memoryTarget(t, "users", "users-db", 0.2, ""))
	day := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	for i := range 3 {
		res := e.runPlan(t, p, day.AddDate(0, 0, i))
		assert.Equal(t, map[plan.Outcome]int{plan.OutcomeSucceeded: 2}, res.Outcomes)
		require.Len(t, res.Entries, 2)
		assert.Equal(t, "create/memory/orders-db", res.Entries[0].WorkflowID)
	}
	for _, target := range []string{"orders", "users"} {
		e.retain(t, "nightly", target, false)
		inv := e.inventory(t, "nightly", target)
		require.Len(t, inv.Entries, 3)
		assert.NotNil(t, inv.Entries[0].DeletedAt, "the oldest of three goes under keepLast 2")
		assert.Equal(t, []string{inv.Entries[1].BackupID, inv.Entries[2].BackupID}, live(inv))
	}
	assert.Equal(t, sorted(append(live(e.inventory(t, "nightly", "orders")), live(e.inventory(t, "nightly", "users"))...)),
		sorted(e.cloud.Inventory()), "the provider holds exactly what the inventories say is live")
	e.recordPlanHistories(t, "memory-success", "nightly", "orders")
}

func TestPlanRunPastItsCompletionWindowIsCancelledAndCleanedUp(t *testing.T) {
	e := startCore(t)
	p := testPlan("slow", plan.Retention{KeepLastGood: 1}, memoryTarget(t, "big", "big-db", 3600, ""))
	p.CompletionWindow = plan.Duration(2 * time.Second)
	res := e.runPlan(t, p, time.Now())
	assert.Equal(t, map[plan.Outcome]int{plan.OutcomeExpired: 1}, res.Outcomes)
	assert.Contains(t, res.Entries[0].Failure, "completion window")
	assert.Empty(t, e.cloud.Inventory(), "the expired backup's cleanup deleted what it had started")
	inv := e.inventory(t, "slow", "big")
	require.Len(t, inv.Entries, 1)
	assert.Equal(t, plan.OutcomeExpired, inv.Entries[0].Outcome)
	e.recordPlanHistories(t, "memory-expired", "slow", "big")
}

func TestKeepLastGoodHoldsWhileEveryNewRunFails(t *testing.T) {
	e := startCore(t)
	r := plan.Retention{KeepLast: 1, MaxAge: plan.Duration(time.Hour), KeepLastGood: 2}
	good := testPlan("floor", r, memoryTarget(t, "db", "floor-db", 0, ""))
	bad := testPlan("floor", r, memoryTarget(t, "db", "floor-db", 0, "disk full"))
	day := time.Now().AddDate(0, 0, -10)
	e.runPlan(t, good, day)
	e.runPlan(t, good, day.AddDate(0, 0, 1))
	for i := 2; i < 6; i++ {
		res := e.runPlan(t, bad, day.AddDate(0, 0, i))
		assert.Equal(t, map[plan.Outcome]int{plan.OutcomeFailed: 1}, res.Outcomes)
	}
	rep := e.retain(t, "floor", "db", false)
	assert.Empty(t, rep.Deleted, "maxAge 1h and keepLast 1 would delete both, but they are the last two good backups")
	inv := e.inventory(t, "floor", "db")
	assert.Len(t, live(inv), 2)
	assert.Len(t, e.cloud.Inventory(), 2)
}

func TestHeldBackupSurvivesEveryRule(t *testing.T) {
	e := startCore(t)
	p := testPlan("held", plan.Retention{KeepLast: 1, KeepLastGood: 1}, memoryTarget(t, "db", "held-db", 0, ""))
	day := time.Now().AddDate(0, 0, -5)
	first := e.runPlan(t, p, day).Entries[0].BackupID

	err := e.hold(t, "held", "db", plan.HoldChange{Hold: plan.Hold{BackupID: first}})
	require.Error(t, err, "a hold says who and why")
	assert.Contains(t, err.Error(), "hold.by")
	err = e.hold(t, "held", "db", plan.HoldChange{Hold: plan.Hold{BackupID: "not-ours", By: "auditor", Reason: "x"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "hold.backupId")
	require.NoError(t, e.hold(t, "held", "db", plan.HoldChange{Hold: plan.Hold{BackupID: first, By: "auditor", Reason: "legal case 7", At: time.Now()}}))

	for i := 1; i < 4; i++ {
		e.runPlan(t, p, day.AddDate(0, 0, i))
	}
	e.retain(t, "held", "db", false)
	inv := e.inventory(t, "held", "db")
	assert.Contains(t, live(inv), first, "held")
	assert.Len(t, live(inv), 2, "the held one and the newest")

	require.NoError(t, e.hold(t, "held", "db", plan.HoldChange{Remove: true, Hold: plan.Hold{BackupID: first}}))
	rep := e.retain(t, "held", "db", false)
	assert.Equal(t, []string{first}, rep.Deleted, "released, it goes")
	assert.Equal(t, live(e.inventory(t, "held", "db")), e.cloud.Inventory())
	e.recordPlanHistories(t, "memory-hold", "held", "db")
}

func TestRetentionNeverDeletesWhatThePlanDidNotMake(t *testing.T) {
	e := startCore(t)
	p := testPlan("own", plan.Retention{KeepLast: 1, KeepLastGood: 1}, memoryTarget(t, "db", "own-db", 0, ""))
	day := time.Now().AddDate(0, 0, -5)
	e.runPlan(t, p, day)
	// A backup of the same resource, named as the plan names its own.
	foreign := e.cloud.AddForeign(provider.Target{Resource: "own-db", BackupName: "db-" + day.AddDate(0, 0, -1).UTC().Format("20060102-150405")})
	for i := 1; i < 4; i++ {
		e.runPlan(t, p, day.AddDate(0, 0, i))
	}
	rep := e.retain(t, "own", "db", false)
	assert.NotContains(t, rep.Deleted, foreign)
	assert.Contains(t, e.cloud.Inventory(), foreign, "never deleted")
	assert.Len(t, e.cloud.Inventory(), 2, "the foreign one and the plan's newest")

	dry := e.retain(t, "own", "db", true)
	assert.True(t, dry.DryRun)
	for _, d := range dry.Decisions {
		assert.NotEqual(t, foreign, d.BackupID, "retention never even considers it")
	}
}

func TestRetentionDryRunDeletesNothing(t *testing.T) {
	e := startCore(t)
	p := testPlan("dry", plan.Retention{KeepLast: 5, KeepLastGood: 1}, memoryTarget(t, "db", "dry-db", 0, ""))
	day := time.Now().AddDate(0, 0, -5)
	for i := range 3 {
		e.runPlan(t, p, day.AddDate(0, 0, i))
	}
	e.retain(t, "dry", "db", false)
	require.Len(t, e.cloud.Inventory(), 3, "keepLast 5 keeps all three")

	// What would keepLast 1 delete?
	stricter := plan.Policy{Retention: plan.Retention{KeepLast: 1, KeepLastGood: 1}}
	ctx := testenv.Context(t, time.Minute)
	h, err := e.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: plan.InventoryID("dry", "db"), UpdateName: plan.RetainUpdate,
		Args: []any{plan.RetainRequest{DryRun: true, Policy: &stricter}}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	require.NoError(t, err)
	var dry plan.RetentionReport
	require.NoError(t, h.Get(ctx, &dry))
	assert.True(t, dry.DryRun)
	assert.Empty(t, dry.Deleted)
	var doomed []string
	for _, d := range dry.Decisions {
		if d.Delete {
			doomed = append(doomed, d.BackupID)
			assert.NotEmpty(t, d.Reason)
		}
	}
	inv := e.inventory(t, "dry", "db")
	assert.Equal(t, live(inv)[:2], doomed, "the two older ones, with reasons")
	assert.Len(t, e.cloud.Inventory(), 3, "a dry run deletes nothing")
	assert.False(t, inv.LastRetention.DryRun, "a dry run does not replace the last real pass")
}

// TestRetentionOverASimulatedYear makes a backup every other day for a year
// (the provider's clock advanced with them, the runs dated as scheduled) under
// daily 7, weekly 4, monthly 12, and checks that exactly the expected
// backups are left, computed here by walking the calendar.
func TestRetentionOverASimulatedYear(t *testing.T) {
	t.Parallel()
	e := startCore(t)
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	p := testPlan("year", plan.Retention{Daily: 7, Weekly: 4, Monthly: 12, KeepLastGood: 1}, memoryTarget(t, "db", "year-db", 0, ""))
	p.Schedule = plan.Schedule{Cron: "0 2 * * *", TimeZone: "Europe/Berlin"}
	first := time.Date(2025, 12, 1, 2, 0, 0, 0, berlin)
	e.cloud.Advance(time.Until(first))
	var days []time.Time
	byDay := map[string]string{} // day → backup ID
	for d := first; d.Before(first.AddDate(1, 0, 0)); d = d.AddDate(0, 0, 2) {
		res := e.runPlan(t, p, d)
		require.Equal(t, map[plan.Outcome]int{plan.OutcomeSucceeded: 1}, res.Outcomes, d)
		days = append(days, d)
		byDay[d.Format(time.DateOnly)] = res.Entries[0].BackupID
		e.cloud.Advance(48 * time.Hour)
	}
	require.Len(t, days, 183)

	// Expected: walk back from the newest day; a day's backup is kept when
	// its day, ISO week or month is among the newest 7, 4 or 12 seen.
	want := map[string]bool{}
	seenDays, seenWeeks, seenMonths := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for i := len(days) - 1; i >= 0; i-- {
		d := days[i]
		y, w := d.ISOWeek()
		keys := []struct {
			seen  map[string]bool
			key   string
			limit int
		}{{seenDays, d.Format(time.DateOnly), 7}, {seenWeeks, fmt.Sprint(y, "-W", w), 4}, {seenMonths, d.Format("2006-01"), 12}}
		for _, k := range keys {
			if !k.seen[k.key] && len(k.seen) < k.limit {
				k.seen[k.key] = true
				want[byDay[d.Format(time.DateOnly)]] = true
			}
		}
	}
	var expected []string
	for id := range want {
		expected = append(expected, id)
	}
	e.retain(t, "year", "db", false)
	assert.Equal(t, sorted(expected), sorted(live(e.inventory(t, "year", "db"))))
	assert.Equal(t, sorted(expected), sorted(e.cloud.Inventory()))
}

// applyEvery applies p as a schedule that fires every interval (shorter
// than plan files allow, to see several runs in a test) and removes it when
// the test ends.
func (e *coreEnv) applyEvery(t *testing.T, p plan.Plan, interval time.Duration) client.ScheduleHandle {
	t.Helper()
	p.Schedule = plan.Schedule{Every: plan.Duration(interval)}
	pc := plan.NewClient(e.Client)
	_, err := pc.Apply(testenv.Context(t, time.Minute), p)
	require.NoError(t, err)
	t.Cleanup(func() { _ = pc.Delete(context.Background(), p.Name) })
	return e.Client.ScheduleClient().GetHandle(context.Background(), plan.ScheduleID(p.Name))
}

// describeUntil describes the schedule until ok holds (visibility and the
// scheduler are eventually consistent).
func describeUntil(t *testing.T, h client.ScheduleHandle, within time.Duration, ok func(*client.ScheduleDescription) bool) *client.ScheduleDescription {
	t.Helper()
	var last *client.ScheduleDescription
	require.Eventually(t, func() bool {
		d, err := h.Describe(context.Background())
		if err != nil {
			return false
		}
		last = d
		return ok(d)
	}, within, 200*time.Millisecond)
	return last
}

func TestScheduleRunsThePlanAndRetentionKeepsUp(t *testing.T) {
	e := startCore(t)
	p := testPlan("every2s", plan.Retention{KeepLast: 2, KeepLastGood: 1}, memoryTarget(t, "db", "sched-db", 0, ""))
	h := e.applyEvery(t, p, 2*time.Second)
	d := describeUntil(t, h, time.Minute, func(d *client.ScheduleDescription) bool {
		done := 0
		for _, a := range d.Info.RecentActions {
			if a.StartWorkflowResult != nil {
				done++
			}
		}
		return done >= 4
	})
	require.NoError(t, h.Pause(context.Background(), client.SchedulePauseOptions{Note: "test done"}))
	// Wait for the started runs to end, then look.
	ctx := testenv.Context(t, time.Minute)
	for _, a := range d.Info.RecentActions {
		run := e.Client.GetWorkflow(ctx, a.StartWorkflowResult.WorkflowID, a.StartWorkflowResult.FirstExecutionRunID)
		var res plan.RunResult
		require.NoError(t, run.Get(ctx, &res))
		assert.Equal(t, map[plan.Outcome]int{plan.OutcomeSucceeded: 1}, res.Outcomes)
	}
	e.retain(t, "every2s", "db", false)
	inv := e.inventory(t, "every2s", "db")
	assert.GreaterOrEqual(t, len(inv.Entries), 4, "every scheduled run is in the inventory")
	assert.Len(t, live(inv), 2, "keepLast 2")
	assert.Equal(t, sorted(live(inv)), sorted(e.cloud.Inventory()))
}

func TestScheduleSkipsRunsWhileOneHangs(t *testing.T) {
	e := startCore(t)
	p := testPlan("hang", plan.Retention{KeepLastGood: 1}, memoryTarget(t, "db", "hang-db", 3600, ""))
	h := e.applyEvery(t, p, time.Second)
	d := describeUntil(t, h, time.Minute, func(d *client.ScheduleDescription) bool {
		return d.Info.NumActionsSkippedOverlap >= 3
	})
	assert.Len(t, d.Info.RecentActions, 1, "overlap skip: one run, the hung one, and no pile-up")
	assert.Len(t, d.Info.RunningWorkflows, 1)
	require.NoError(t, h.Delete(context.Background()))
	// Cancelling the run cancels its backup, which cleans up.
	ctx := testenv.Context(t, time.Minute)
	w := d.Info.RunningWorkflows[0]
	require.NoError(t, e.Client.CancelWorkflow(ctx, w.WorkflowID, w.FirstExecutionRunID))
	var res plan.RunResult
	require.Error(t, e.Client.GetWorkflow(ctx, w.WorkflowID, w.FirstExecutionRunID).Get(ctx, &res))
	require.Eventually(t, func() bool { return len(e.cloud.Inventory()) == 0 }, 30*time.Second, 100*time.Millisecond,
		"the hung backup was cancelled and cleaned up")
}

func TestRunStartedPastItsStartWindowIsReportedMissed(t *testing.T) {
	e := startCore(t)
	p := testPlan("late", plan.Retention{KeepLastGood: 1}, memoryTarget(t, "db", "late-db", 6, ""))
	p.Overlap = plan.OverlapBufferOne
	p.StartWindow = plan.Duration(time.Second)
	// The first run takes about 6 s; the run buffered behind it starts
	// seconds after its time, past the 1 s start window.
	e.applyEvery(t, p, 2*time.Second)
	var missed plan.Entry
	require.Eventually(t, func() bool {
		ctx := testenv.Context(t, 10*time.Second)
		v, err := e.Client.QueryWorkflow(ctx, plan.InventoryID("late", "db"), "", plan.InventoryQuery)
		if err != nil {
			return false
		}
		var inv plan.Inventory
		if v.Get(&inv) != nil {
			return false
		}
		for _, en := range inv.Entries {
			if en.Outcome == plan.OutcomeMissed {
				missed = en
				return true
			}
		}
		return false
	}, 90*time.Second, 200*time.Millisecond)
	assert.Contains(t, missed.Failure, "start window")
	assert.Empty(t, missed.BackupID, "a missed run backs nothing up")
}

func TestCopyStepCopiesEachNewBackupWithItsOwnRetention(t *testing.T) {
	e := startCore(t)
	target := memoryTarget(t, "db", "copy-db", 0, "")
	copyReq, err := backup.NewRequest(&backup.MemoryCopy{Source: "${backup}", Target: "dr-site", Name: "db-${time}"})
	require.NoError(t, err)
	target.Copy = &plan.Copy{Request: copyReq, Retention: plan.Retention{KeepLast: 1, KeepLastGood: 1}}
	p := testPlan("dr", plan.Retention{KeepLast: 3, KeepLastGood: 1}, target)
	day := time.Now().AddDate(0, 0, -5)
	for i := range 3 {
		res := e.runPlan(t, p, day.AddDate(0, 0, i))
		assert.Equal(t, map[plan.Outcome]int{plan.OutcomeSucceeded: 2}, res.Outcomes, "the backup and its copy")
		require.Len(t, res.Entries, 2)
		assert.Equal(t, backup.KindCopy, res.Entries[1].Kind)
		assert.Equal(t, "copy/memory/dr-site/db-"+day.AddDate(0, 0, i).UTC().Format("20060102-150405"), res.Entries[1].WorkflowID)
	}
	e.retain(t, "dr", "db", false)
	inv := e.inventory(t, "dr", "db")
	var creates, copies []string
	for _, en := range inv.Entries {
		if en.BackupID == "" || en.DeletedAt != nil {
			continue
		}
		if en.Kind == backup.KindCopy {
			copies = append(copies, en.BackupID)
		} else {
			creates = append(creates, en.BackupID)
		}
	}
	assert.Len(t, creates, 3, "keepLast 3 for the backups")
	assert.Len(t, copies, 1, "keepLast 1 for the copies")
	assert.Equal(t, sorted(append(creates, copies...)), sorted(e.cloud.Inventory()))
}

func TestHoldKeepsARunningBackupFromCleanupAtTheWindowsEnd(t *testing.T) {
	e := startCore(t)
	quick := testPlan("legal", plan.Retention{KeepLastGood: 1},
		memoryTarget(t, "held", "legal-held-db", 0, ""), memoryTarget(t, "free", "legal-free-db", 0, ""))
	day := time.Now().AddDate(0, 0, -1)
	e.runPlan(t, quick, day) // creates both inventories
	require.NoError(t, e.hold(t, "legal", "held", plan.HoldChange{Hold: plan.Hold{By: "counsel", Reason: "litigation", At: time.Now()}}))

	slow := testPlan("legal", plan.Retention{KeepLastGood: 1},
		memoryTarget(t, "held", "legal-held-db", 5, ""), memoryTarget(t, "free", "legal-free-db", 5, ""))
	slow.CompletionWindow = plan.Duration(2 * time.Second)
	res := e.runPlan(t, slow, day.Add(time.Hour))
	require.Len(t, res.Entries, 2)
	assert.Equal(t, plan.OutcomeSucceeded, res.Entries[0].Outcome, "held: it ran on past the window, not cancelled and cleaned up")
	assert.Equal(t, plan.OutcomeExpired, res.Entries[1].Outcome, "not held: cancelled at the window's end")
	assert.Contains(t, e.cloud.Inventory(), res.Entries[0].BackupID)
	assert.Len(t, e.cloud.Inventory(), 3, "both first backups and the held target's second")
}

// TestLargePlanSplitsIntoChildRuns: a run over more targets than one run
// holds hands them to child runs, each given only its own targets, so no
// history grows with the plan.
func TestLargePlanSplitsIntoChildRuns(t *testing.T) {
	t.Parallel()
	e := startCore(t)
	var targets []plan.Target
	for i := range 201 {
		targets = append(targets, memoryTarget(t, fmt.Sprintf("db-%03d", i), fmt.Sprintf("large-%03d", i), 0, ""))
	}
	p := testPlan("large", plan.Retention{KeepLastGood: 1}, targets...)
	res := e.runPlan(t, p, time.Now())
	assert.Equal(t, map[plan.Outcome]int{plan.OutcomeSucceeded: 201}, res.Outcomes)
	assert.Empty(t, res.Entries, "the parent holds counts only")
	assert.Len(t, e.cloud.Inventory(), 201)

	parent := e.History(t, e.lastRun.GetID(), e.lastRun.GetRunID())
	assert.Less(t, len(parent.GetEvents()), 40, "three child runs, not 201 backups, in the parent's history")
	var inputs []int
	for _, ev := range parent.GetEvents() {
		if a := ev.GetStartChildWorkflowExecutionInitiatedEventAttributes(); a != nil {
			var run plan.Run
			require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(a.GetInput(), &run))
			inputs = append(inputs, len(run.Plan.Targets))
		}
	}
	assert.Equal(t, []int{100, 100, 1}, inputs, "each child run gets only its own targets")
}
