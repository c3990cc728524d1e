package workflows

import (
	"cmp"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/backupflow/backupflow/activities"
	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/notify"
	"github.com/backupflow/backupflow/plan"
)

// runBatch is how many targets one PlanRun backs up itself. A larger plan's
// run splits its targets over child runs of this size, so no history grows
// with the plan: a run's history holds a few events per target it owns.
const runBatch = 100

// scheduledStartKey is the search attribute Temporal Schedules set on the
// workflows they start: the run's nominal time.
var scheduledStartKey = temporal.NewSearchAttributeKeyTime("TemporalScheduledStartTime")

// PlanRun is one run of a plan: it backs up every target (and copies the new
// backups where the plan says so) within the plan's windows, then records
// each outcome in the target's inventory, whose retention runs next.
//
// A run that starts after its start window is reported as missed and backs
// nothing up; backups still running when the completion window ends are
// cancelled, which makes them clean up after themselves, and reported as
// expired. The backups are the ordinary CreateBackup and CopyBackup
// workflows, so exactly-once, cancel, progress and metrics apply unchanged.
func PlanRun(ctx workflow.Context, in plan.Run) (plan.RunResult, error) {
	info := workflow.GetInfo(ctx)
	p := in.Plan
	targets := p.Targets
	scheduledAt, fromSchedule := in.ScheduledAt, false
	if scheduledAt.IsZero() {
		scheduledAt = info.WorkflowStartTime
		if t, ok := workflow.GetTypedSearchAttributes(ctx).GetTime(scheduledStartKey); ok {
			scheduledAt, fromSchedule = t, true
		}
	}
	deadline := in.Deadline
	if deadline.IsZero() {
		deadline = info.WorkflowStartTime.Add(time.Duration(p.CompletionWindow))
	}

	if fromSchedule && p.StartWindow > 0 && info.WorkflowStartTime.Sub(scheduledAt) > time.Duration(p.StartWindow) {
		late := info.WorkflowStartTime.Sub(scheduledAt).Round(time.Second)
		missed := make([][]plan.Entry, len(targets))
		for i, t := range targets {
			missed[i] = []plan.Entry{{ScheduledAt: scheduledAt, Outcome: plan.OutcomeMissed, Kind: backup.KindCreate,
				Provider: t.Request.Provider, Failure: fmt.Sprintf("the run started %s after its scheduled time, past the %s start window", late, time.Duration(p.StartWindow))}}
		}
		return recordRun(ctx, p, targets, missed)
	}

	if len(targets) > runBatch {
		return splitRun(ctx, p, targets, scheduledAt, deadline)
	}

	// The completion window: at the deadline every backup still running is
	// cancelled, and its own cleanup deletes what it made; except on a
	// target under a hold, whose backup runs on (a hold keeps backups from
	// cleanup as from retention).
	results := make([][]plan.Entry, len(targets))
	cancels := make([]workflow.CancelFunc, len(targets))
	expired := make([]bool, len(targets))
	done := 0
	for i, t := range targets {
		work, cancel := workflow.WithCancel(ctx)
		cancels[i] = cancel
		workflow.Go(work, func(gctx workflow.Context) {
			results[i] = backUpTarget(gctx, p, t, scheduledAt, func() bool { return expired[i] })
			done++
		})
	}
	timerCtx, stopTimer := workflow.WithCancel(ctx)
	workflow.Go(timerCtx, func(gctx workflow.Context) {
		if workflow.NewTimer(gctx, deadline.Sub(workflow.Now(gctx))).Get(gctx, nil) != nil {
			return
		}
		held := heldTargets(gctx, p.Name, targets, results)
		for i, t := range targets {
			if results[i] == nil && !held[t.Name] {
				expired[i] = true
				cancels[i]()
			}
		}
	})
	if err := workflow.Await(ctx, func() bool { return done == len(targets) }); err != nil {
		return plan.RunResult{}, err
	}
	stopTimer()
	return recordRun(ctx, p, targets, results)
}

// heldTargets asks the inventories of the targets still running which are
// under a target-wide hold. If that cannot be learned, none are: the run's
// window is kept, and cleanup deletes only what the backup itself made.
func heldTargets(ctx workflow.Context, planName string, targets []plan.Target, results [][]plan.Entry) map[string]bool {
	in := activities.HeldInput{Plan: planName}
	for i, t := range targets {
		if results[i] == nil {
			in.Targets = append(in.Targets, t.Name)
		}
	}
	var held []string
	_ = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    callTimeout,
		ScheduleToCloseTimeout: 2 * time.Minute,
	}), inv.HeldTargets, in).Get(ctx, &held)
	out := map[string]bool{}
	for _, t := range held {
		out[t] = true
	}
	return out
}

// splitRun hands the targets to child runs of runBatch each and adds up their outcomes.
func splitRun(ctx workflow.Context, p plan.Plan, targets []plan.Target, scheduledAt, deadline time.Time) (plan.RunResult, error) {
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	var futures []workflow.ChildWorkflowFuture
	for i := 0; i < len(targets); i += runBatch {
		// Each child gets the plan with its own targets only: the whole plan
		// per child would make the parent's start commands grow with the
		// square of the plan's size.
		part := p
		part.Targets = targets[i:min(i+runBatch, len(targets))]
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:            fmt.Sprintf("%s/part-%d", id, i/runBatch+1),
			ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
			WaitForCancellation:   true,
			TypedSearchAttributes: temporal.NewSearchAttributes(plan.PlanKey.ValueSet(p.Name)),
		})
		futures = append(futures, workflow.ExecuteChildWorkflow(cctx, plan.RunWorkflow,
			plan.Run{Plan: part, ScheduledAt: scheduledAt, Deadline: deadline}))
	}
	total := plan.RunResult{Outcomes: map[plan.Outcome]int{}}
	var errs []error
	for _, f := range futures {
		var part plan.RunResult
		if err := f.Get(ctx, &part); err != nil {
			errs = append(errs, err)
			continue
		}
		// Adding up is the same in any order.
		//workflowcheck:ignore
		for o, n := range part.Outcomes {
			total.Outcomes[o] += n
		}
	}
	return total, errors.Join(errs...)
}

// backUpTarget runs one target's backup, and its copy when the plan has one,
// as child workflows, and says how each ended.
func backUpTarget(ctx workflow.Context, p plan.Plan, t plan.Target, scheduledAt time.Time, expired func() bool) []plan.Entry {
	// The same placeholder values validation checked, expire times included.
	//workflowcheck:ignore
	vars := p.VarsFor(t.Name, scheduledAt)
	created := backUp(ctx, p.Name, backup.KindCreate, t.Request, vars, scheduledAt, expired)
	entries := []plan.Entry{created}
	if t.Copy == nil || created.Outcome != plan.OutcomeSucceeded {
		return entries
	}
	// The copy's source is the new backup's provider ID (Spanner: its full name).
	//workflowcheck:ignore
	copyVars := p.CopyVarsFor(t, scheduledAt, created.BackupID)
	return append(entries, backUp(ctx, p.Name, backup.KindCopy, t.Copy.Request, copyVars, scheduledAt, expired))
}

// backUp runs one CreateBackup or CopyBackup child and turns its end into an entry.
func backUp(ctx workflow.Context, planName string, kind backup.Kind, tmpl backup.Request, vars plan.Vars, scheduledAt time.Time, expired func() bool) plan.Entry {
	e := plan.Entry{ScheduledAt: scheduledAt, Kind: kind, Provider: tmpl.Provider, Outcome: plan.OutcomeFailed}
	// Expanding and decoding the request is deterministic (JSON through
	// reflect, which the analyzer cannot see into).
	//workflowcheck:ignore
	req, id, err := expandRequest(kind, tmpl, vars)
	e.Resource = req.NamedResource(kind) //workflowcheck:ignore
	if err != nil {
		e.Failure = err.Error()
		return e
	}
	e.WorkflowID = id
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            id,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		// A cancelled run (or plan) cancels its backups, which clean up.
		ParentClosePolicy:   enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
		WaitForCancellation: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			backup.ProviderKey.ValueSet(req.Provider),
			backup.ResourceKey.ValueSet(e.Resource),
			backup.StateKey.ValueSet(string(backup.StateRunning)),
			plan.PlanKey.ValueSet(planName),
		),
	})
	f := workflow.ExecuteChildWorkflow(cctx, kind.WorkflowType(), req)
	var started workflow.Execution
	if err := f.GetChildWorkflowExecution().Get(ctx, &started); err != nil {
		e.Failure = err.Error()
		if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
			e.Outcome = plan.OutcomeConflict
			e.Failure = "another backup of " + e.Resource + " was running (" + id + ")"
		}
		return e
	}
	e.RunID = started.RunID
	var res backup.Result
	err = f.Get(ctx, &res)
	var cancelled *temporal.CanceledError
	switch {
	case err == nil:
		e.Outcome = plan.OutcomeSucceeded
		e.BackupID, e.BackupName, e.OperationID = res.Backup.ID, res.Backup.Name, res.OperationID
		e.Resource = cmp.Or(res.Resource, e.Resource)
		e.CreateTime = res.Backup.CreateTime
	case errors.As(err, &cancelled) && expired():
		e.Outcome = plan.OutcomeExpired
		e.Failure = "still running at the end of the completion window; cancelled and cleaned up"
	case errors.As(err, &cancelled):
		e.Outcome = plan.OutcomeCancelled
		e.Failure = "cancelled"
	default:
		class, msg := backup.FailureOf(err)
		e.Failure = string(class) + ": " + msg
	}
	return e
}

// expandRequest fills the run's placeholders in and derives the backup
// workflow's ID (one per resource, as for any backup).
func expandRequest(kind backup.Kind, tmpl backup.Request, vars plan.Vars) (backup.Request, string, error) {
	req, err := plan.Expand(tmpl, vars)
	if err != nil {
		return tmpl, "", err
	}
	id, err := req.WorkflowID(kind)
	return req, id, err
}

// recordRun hands each target's entries (perTarget, in target order) to
// its inventory, and counts outcomes.
func recordRun(ctx workflow.Context, p plan.Plan, targets []plan.Target, perTarget [][]plan.Entry) (plan.RunResult, error) {
	if workflow.GetVersion(ctx, planRunNotifications, workflow.DefaultVersion, 1) == 1 {
		emit(ctx, runEvents(ctx, p.Name, targets, perTarget)...)
	}
	res := plan.RunResult{Outcomes: map[plan.Outcome]int{}}
	in := activities.RecordInput{Plan: p.Name}
	for i, t := range targets {
		for _, e := range perTarget[i] {
			res.Outcomes[e.Outcome]++
			res.Entries = append(res.Entries, e)
		}
		in.Targets = append(in.Targets, activities.TargetRecord{Target: t.Name, Record: plan.Record{Entries: perTarget[i], Policy: p.PolicyOf(t)}})
	}
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    heartbeatTimeout,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute},
	}), inv.RecordRun, in).Get(ctx, nil)
	return res, err
}

// planRunNotifications gates the run's missed and expired events.
const planRunNotifications = "plan-run-notifications"

// runEvents are the events of the targets the run missed or let expire
// (the backups themselves report started, succeeded, failed, cancelled).
func runEvents(ctx workflow.Context, planName string, targets []plan.Target, perTarget [][]plan.Entry) []notify.Event {
	var events []notify.Event
	for i, t := range targets {
		for _, e := range perTarget[i] {
			typ := map[plan.Outcome]notify.Type{plan.OutcomeMissed: notify.PlanRunMissed, plan.OutcomeExpired: notify.PlanRunExpired}[e.Outcome]
			if typ == "" {
				continue
			}
			at := e.ScheduledAt
			d := notify.Data{Plan: planName, Target: t.Name, Provider: e.Provider, Kind: string(e.Kind), Resource: e.Resource,
				WorkflowID: e.WorkflowID, RunID: e.RunID, Failure: e.Failure, ScheduledAt: &at}
			events = append(events, notify.New(typ, workflow.GetInfo(ctx).WorkflowExecution.ID, e.Resource, planName, workflow.Now(ctx), d,
				planName, t.Name, string(e.Kind), at.UTC().Format(time.RFC3339Nano)))
		}
	}
	return events
}
