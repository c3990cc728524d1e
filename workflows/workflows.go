// Package workflows holds CreateBackup and CopyBackup. They never talk to a
// cloud: every provider call is an activity, and nothing here knows which
// provider it is driving.
package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/backupflow/backupflow/activities"
	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/notify"
	"github.com/backupflow/backupflow/plan"
	"github.com/backupflow/backupflow/provider"
)

// a and inv are typed nils used only to name activity methods.
var (
	a   *activities.Activities
	inv *activities.Inventories
)

// CreateBackup creates one backup: validate, start, poll until done, finalize.
func CreateBackup(ctx workflow.Context, req backup.Request) (backup.Result, error) {
	return newRun(ctx, backup.KindCreate, req).execute()
}

// CopyBackup copies one backup, on providers that have a copy API.
func CopyBackup(ctx workflow.Context, req backup.Request) (backup.Result, error) {
	return newRun(ctx, backup.KindCopy, req).execute()
}

// Timeouts. Each activity attempt makes one or two provider calls, so
// attempts are short; waiting happens between attempts, on the server.
const (
	callTimeout = time.Minute
	// heartbeatTimeout is how soon the server notices an attempt whose worker
	// died and retries it elsewhere: activities heartbeat three times per
	// timeout while a provider call runs (activities/heartbeat.go), so a long
	// call keeps its callTimeout while a dead worker costs seconds, not a minute.
	heartbeatTimeout = 10 * time.Second
	// validateLimit bounds how long validation may wait for a busy resource
	// or a source that is not ready.
	validateLimit = 30 * time.Minute
	// WaitLimit bounds how long a backup (and its cleanup) may take.
	WaitLimit = 72 * time.Hour
	// startLimit bounds how long a start may keep finding the resource busy.
	startLimit = 24 * time.Hour
)

// retryPolicy leaves the pacing to the activities: they state every retry's
// delay (NextRetryDelay) from provider hints, the poll policy and the error
// class. The server caps NextRetryDelay at MaximumInterval, so that is high;
// and it computes the delay itself only when an attempt timed out (a worker
// died), where BackoffCoefficient 1 retries after InitialInterval instead of
// 2^attempt seconds deep into a long poll.
func retryPolicy() *temporal.RetryPolicy {
	return &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 1, MaximumInterval: 24 * time.Hour}
}

type run struct {
	root     workflow.Context // Temporal-cancellable
	ctx      workflow.Context // also cancelled by the cancel signal
	kind     backup.Kind
	req      backup.Request
	job      provider.Job
	progress backup.Progress
	attempts int
	// setSearchAttributes is false when the namespace lacks them: known at
	// the start when the starter set them, else learned in Validate.
	setSearchAttributes bool
	// indexed is the BackupState value written so far ("" before the first).
	indexed backup.State
	// everyStage: histories recorded before coarseSearchAttributes wrote
	// BackupState at every stage; they must replay as they ran.
	everyStage bool
	// visible: this run follows visibleFromStart (see there).
	visible bool
	// activityQueue is where the provider's regular activities run: the
	// provider's own task queue (providerTaskQueues), or "" for the
	// workflow's queue in histories recorded before it.
	activityQueue string
	// limitEveryCall: this run follows versionLimitEveryCall (see there).
	limitEveryCall bool
	// notifies: this run emits events (versionNotifications).
	notifies bool
	// plan is the plan that started the backup (its BackupPlan search
	// attribute), "" for one started by hand.
	plan string
	// callsLimited: the provider has a cluster-wide call limit, so
	// validation's preflight and finalize run on activityQueue too.
	callsLimited bool
}

// coarseSearchAttributes gates the change to writing BackupState only when
// State.Indexed changes. Recorded only by workflows started without the search
// attributes (backup.Client sets them), so the common path has no marker.
const coarseSearchAttributes = "coarse-search-attributes"

// visibleFromStart gates two changes that make every backup visible in the
// Temporal CLI and UI whoever started it: a workflow started without the
// search attributes sets them in its first workflow task (so one that fails
// validation or is cancelled at once is still found), and validation that
// finds the resource busy waits in a regular activity (its attempts, reason
// and next check show among the pending activities) instead of in local
// activity retries, which show nowhere. Histories recorded before replay as
// they ran. It implies coarseSearchAttributes.
const visibleFromStart = "visible-from-start"

// providerTaskQueues gates running each provider's regular activities on
// the provider's own task queue (backup.ProviderTaskQueue), where the server
// caps their rate across all workers. Workflows started before stay on the
// workflow's queue, the only one older workers poll.
const providerTaskQueues = "provider-task-queues"

// backupVersion is the backup workflows' one version marker since
// versionLimitEveryCall: its value says which changes a run follows, where
// before each change recorded a marker of its own (two events each).
const backupVersion = "backup-workflow"

const (
	// versionLimitEveryCall: when the provider has a cluster-wide call
	// limit, validation's preflight (it reads the resource) and finalize
	// (it describes the backup) run as regular activities on the provider's
	// task queue, so the server's limit counts every call a backup makes;
	// that costs 11 events, paid only where a limit is set. It implies
	// visibleFromStart and providerTaskQueues, which such runs no longer
	// record.
	versionLimitEveryCall = 1
	// versionNotifications: the run emits backup started, succeeded (or
	// copy succeeded), failed and cancelled events (one marker each).
	versionNotifications = 2
)

func newRun(root workflow.Context, kind backup.Kind, req backup.Request) *run {
	info := workflow.GetInfo(root)
	r := &run{root: root, kind: kind, req: req}
	r.job = provider.Job{Kind: kind, Section: req.Section, Owner: provider.Owner{
		WorkflowID: info.WorkflowExecution.ID,
		RunID:      info.WorkflowExecution.RunID,
		StartedAt:  info.WorkflowStartTime,
	}}
	r.progress = backup.Progress{State: backup.StateValidating, Provider: req.Provider}
	if v := workflow.GetVersion(root, backupVersion, workflow.DefaultVersion, versionNotifications); v >= versionLimitEveryCall {
		r.limitEveryCall, r.visible, r.notifies = true, true, v >= versionNotifications
		r.activityQueue = backup.ProviderTaskQueue(info.TaskQueueName, req.Provider)
	} else {
		r.visible = workflow.GetVersion(root, visibleFromStart, workflow.DefaultVersion, 1) == 1
	}
	if state, ok := workflow.GetTypedSearchAttributes(root).GetKeyword(backup.StateKey); ok {
		r.setSearchAttributes, r.indexed = true, backup.State(state)
		r.plan, _ = workflow.GetTypedSearchAttributes(root).GetKeyword(plan.PlanKey)
	} else if !r.visible {
		r.everyStage = workflow.GetVersion(root, coarseSearchAttributes, workflow.DefaultVersion, 1) == workflow.DefaultVersion
	}
	if !r.limitEveryCall && workflow.GetVersion(root, providerTaskQueues, workflow.DefaultVersion, 1) == 1 {
		r.activityQueue = backup.ProviderTaskQueue(info.TaskQueueName, req.Provider)
	}
	return r
}

// indexFromStart sets the search attributes of a workflow started without
// them, before anything else can end it: the provider and, when the request
// names it, the resource, with BackupState RUNNING. It runs on a context no
// cancel reaches, so a backup cancelled at once is indexed too.
func (r *run) indexFromStart() {
	if !r.visible || r.setSearchAttributes {
		return
	}
	dctx, _ := workflow.NewDisconnectedContext(r.root)
	var index activities.IndexOutput
	err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(dctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: callTimeout,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	}), a.Index, activities.IndexInput{Request: r.req, Kind: r.kind}).Get(dctx, &index)
	if err != nil || !index.Registered {
		return // the namespace lacks them; the worker warned at start-up
	}
	r.setSearchAttributes = true
	r.progress.Resource = index.Resource
	r.setState(r.progress.State)
}

func (r *run) execute() (backup.Result, error) {
	if err := workflow.SetQueryHandler(r.root, backup.ProgressQuery, func() (backup.Progress, error) {
		return r.progress, nil
	}); err != nil {
		return backup.Result{}, err
	}
	var cancelWork workflow.CancelFunc
	r.ctx, cancelWork = workflow.WithCancel(r.root)
	workflow.Go(r.root, func(gctx workflow.Context) {
		var c backup.CancelRequest
		workflow.GetSignalChannel(gctx, backup.CancelSignal).Receive(gctx, &c)
		r.progress.CancelReason = c.Reason
		if c.Reason == "" {
			r.progress.CancelReason = "cancel signal"
		}
		cancelWork()
	})

	r.indexFromStart()
	v, err := r.validate()
	if r.cancelled() {
		return r.cancel(nil)
	}
	if err != nil {
		return r.fail(err)
	}
	r.progress.Resource = v.Target.Resource
	r.setSearchAttributes = r.setSearchAttributes || v.SearchAttributes
	r.setState(backup.StateStarting)

	// Start. If cancelled mid-attempt, wait for the attempt to end so that
	// cleanup sees whatever it created.
	var started activities.StartOutput
	err = workflow.ExecuteActivity(r.activityOptions(startLimit, true), a.StartOperation,
		activities.StartInput{Provider: r.req.Provider, Job: r.job}).Get(r.ctx, &started)
	r.attempts += started.Attempts
	if r.cancelled() {
		return r.cancel(startedBeforeCancel(started, err))
	}
	if err != nil {
		return r.failAndClean(err, nil)
	}
	op := started.Operation
	r.metrics().Counter(backup.MetricBackupsStarted).Inc(1)
	r.notify(notify.BackupStarted, notify.Data{BackupID: op.BackupID})
	r.progress.Operation, r.progress.BackupID = op.ID, op.BackupID
	r.setState(backup.StateRunning)

	// Poll: one activity whose unfinished attempts are benign retries, so
	// history does not grow while the backup runs.
	var polled activities.PollOutput
	err = workflow.ExecuteActivity(r.activityOptions(WaitLimit, false), a.PollOperation,
		activities.OperationInput{Provider: r.req.Provider, Operation: op}).Get(r.ctx, &polled)
	r.attempts += polled.Attempts
	if r.cancelled() {
		return r.cancel(&op)
	}
	if err != nil {
		return r.failAndClean(err, &op)
	}
	r.progress.Percent = 100
	r.setState(backup.StateFinalizing)

	var final activities.FinalizeOutput
	finalize := activities.OperationInput{Provider: r.req.Provider, Operation: op}
	if r.callsLimited {
		err = workflow.ExecuteActivity(r.activityOptions(validateLimit, false), a.Finalize, finalize).Get(r.ctx, &final)
	} else {
		err = workflow.ExecuteLocalActivity(r.localOptions(), a.Finalize, finalize).Get(r.ctx, &final)
	}
	r.attempts += final.Attempts
	if r.cancelled() {
		return r.cancel(&op)
	}
	if err != nil {
		return r.fail(err)
	}
	r.setState(backup.StateSucceeded)
	r.recordSuccess(op, final.Backup)
	return backup.Result{
		Provider:    r.req.Provider,
		Kind:        r.kind,
		Resource:    r.progress.Resource,
		Backup:      final.Backup,
		OperationID: op.ID,
		Elapsed:     backup.Duration(workflow.Now(r.root).Sub(workflow.GetInfo(r.root).WorkflowStartTime)),
		Attempts:    r.attempts,
	}, nil
}

// validate checks the request: as a local activity (it only reads, and it
// keeps history short), and, when that finds the resource busy or a source
// not ready, again as a regular activity that waits between attempts on the
// server, visibly (visibleFromStart). Where the provider's calls are limited
// cluster-wide (limitEveryCall), the local activity checks only what needs
// no call and leaves the preflight to a regular activity on the provider's
// task queue.
func (r *run) validate() (activities.ValidateOutput, error) {
	in := activities.ValidateInput{Request: r.req, Job: r.job, DeferPreflight: r.limitEveryCall}
	var v activities.ValidateOutput
	local := r.localOptions()
	busyStops := retryPolicy()
	busyStops.NonRetryableErrorTypes = []string{string(provider.Busy)}
	if r.visible {
		local = workflow.WithLocalActivityOptions(r.ctx, workflow.LocalActivityOptions{
			StartToCloseTimeout: callTimeout, ScheduleToCloseTimeout: validateLimit, RetryPolicy: busyStops})
	}
	err := workflow.ExecuteLocalActivity(local, a.Validate, in).Get(r.ctx, &v)
	if err == nil && v.PreflightDeferred && !r.cancelled() {
		r.callsLimited = true
		in.DeferPreflight = false
		opts := workflow.GetActivityOptions(r.activityOptions(validateLimit, false))
		opts.RetryPolicy = busyStops
		err = workflow.ExecuteActivity(workflow.WithActivityOptions(r.ctx, opts), a.Validate, in).Get(r.ctx, &v)
	}
	var busy *temporal.ApplicationError
	if !r.visible || !errors.As(err, &busy) || busy.Type() != string(provider.Busy) || r.cancelled() {
		return v, err
	}
	r.progress.Waiting = busy.Message()
	r.showDetails()
	err = workflow.ExecuteActivity(r.activityOptions(validateLimit, false), a.Validate, in).Get(r.ctx, &v)
	r.progress.Waiting = ""
	return v, err
}

func (r *run) localOptions() workflow.Context {
	return workflow.WithLocalActivityOptions(r.ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    callTimeout,
		ScheduleToCloseTimeout: validateLimit,
		RetryPolicy:            retryPolicy(),
	})
}

func (r *run) activityOptions(limit time.Duration, waitForCancellation bool) workflow.Context {
	return workflow.WithActivityOptions(r.ctx, workflow.ActivityOptions{
		TaskQueue:              r.activityQueue,
		StartToCloseTimeout:    callTimeout,
		ScheduleToCloseTimeout: limit,
		HeartbeatTimeout:       heartbeatTimeout,
		RetryPolicy:            retryPolicy(),
		WaitForCancellation:    waitForCancellation,
	})
}

// showDetails puts the stage, and what it waits for when the workflow knows,
// in the workflow's current details, which the Web UI shows on the
// workflow's page. The live figures are in the progress query.
func (r *run) showDetails() {
	d := string(r.progress.State) + " " + r.req.Provider
	if r.progress.Resource != "" {
		d += " " + r.progress.Resource
	}
	if r.progress.Waiting != "" {
		d += "\nwaiting: " + r.progress.Waiting
	}
	if r.progress.LastError != "" {
		d += "\nerror: " + r.progress.LastError
	}
	workflow.SetCurrentDetails(r.root, d)
}

func (r *run) cancelled() bool { return r.ctx.Err() != nil }

func (r *run) setState(s backup.State) {
	r.progress.State = s
	r.showDetails()
	if !r.setSearchAttributes {
		return
	}
	indexed := s.Indexed()
	if r.everyStage {
		indexed = s
	} else if indexed == r.indexed {
		return
	}
	updates := []temporal.SearchAttributeUpdate{backup.StateKey.ValueSet(string(indexed))}
	if r.indexed == "" || r.everyStage {
		updates = append(updates, backup.ProviderKey.ValueSet(r.req.Provider))
		if r.progress.Resource != "" || !r.visible {
			updates = append(updates, backup.ResourceKey.ValueSet(r.progress.Resource))
		}
	}
	r.indexed = indexed
	if err := workflow.UpsertTypedSearchAttributes(r.root, updates...); err != nil {
		workflow.GetLogger(r.root).Warn("could not set search attributes", "error", err)
	}
}

// cleanup runs the Cleanup activity on a context the cancellation cannot reach.
func (r *run) cleanup(op *provider.Operation, reason string) (backup.CleanupReport, error) {
	dctx, _ := workflow.NewDisconnectedContext(r.root)
	dctx = workflow.WithActivityOptions(dctx, workflow.ActivityOptions{
		TaskQueue:              r.activityQueue,
		StartToCloseTimeout:    callTimeout,
		ScheduleToCloseTimeout: WaitLimit,
		HeartbeatTimeout:       heartbeatTimeout,
		RetryPolicy:            retryPolicy(),
	})
	var report backup.CleanupReport
	err := workflow.ExecuteActivity(dctx, a.Cleanup,
		activities.CleanupInput{Provider: r.req.Provider, Job: r.job, Operation: op, Reason: reason}).Get(dctx, &report)
	r.progress.Cleanup = &report
	return report, err
}

// startedBeforeCancel is the operation of a start attempt that ended well
// although a cancel arrived while it ran (on a real server the activity's
// answer wins when it completes before it hears of the cancel). Its answer is
// the proof of ownership cleanup needs to delete the backup; without it
// (nil) cleanup asks the driver to find what the attempt created.
func startedBeforeCancel(started activities.StartOutput, err error) *provider.Operation {
	if err != nil || started.Operation.ID == "" {
		return nil
	}
	return &started.Operation
}

// cancel cleans up and ends the workflow CANCELLED, with the cleanup report
// as the cancellation's details.
func (r *run) cancel(op *provider.Operation) (backup.Result, error) {
	reason := r.progress.CancelReason
	if reason == "" {
		reason = "workflow cancelled"
		r.progress.CancelReason = reason
	}
	r.setState(backup.StateCancelling)
	report, err := r.cleanup(op, reason)
	if err != nil {
		r.progress.LastError = err.Error()
		r.setState(backup.StateFailed)
		r.recordFailure(string(backup.CleanupFailed))
		return backup.Result{}, temporal.NewNonRetryableApplicationError("cancelled, but cleanup failed: "+err.Error(), string(backup.CleanupFailed), err, report)
	}
	r.setState(backup.StateCancelled)
	r.metrics().Counter(backup.MetricBackupsCancelled).Inc(1)
	r.notify(notify.BackupCancelled, notify.Data{Failure: reason})
	return backup.Result{}, temporal.NewCanceledError(report)
}

func (r *run) fail(err error) (backup.Result, error) {
	r.progress.LastError = describe(err)
	r.setState(backup.StateFailed)
	r.recordFailure(failureClass(err))
	return backup.Result{}, err
}

// failAndClean fails the workflow after removing anything the provider holds
// for it (a failed backup's record, or a start whose response was lost).
func (r *run) failAndClean(err error, op *provider.Operation) (backup.Result, error) {
	r.progress.LastError = describe(err)
	report, cerr := r.cleanup(op, "backup failed: "+r.progress.LastError)
	if cerr != nil {
		r.progress.LastError += "; cleanup failed too: " + describe(cerr)
	}
	r.setState(backup.StateFailed)
	r.recordFailure(failureClass(err))
	return backup.Result{}, withCleanup(err, report)
}

// withCleanup puts the cleanup report in the failure's details, so every
// client (and the Temporal UI) sees what was removed, with no worker to
// ask. The failure keeps the class and message of what failed the backup
// (backup.FailureOf); the error is its cause.
func withCleanup(err error, report backup.CleanupReport) error {
	class, msg := backup.FailureOf(err)
	return temporal.NewNonRetryableApplicationError(msg, string(class), err, report)
}

// describe is the message of what failed a backup.
func describe(err error) string {
	_, msg := backup.FailureOf(err)
	return msg
}

// metrics is the SDK's metrics handler (silent during replay) with this
// backup's labels. The provider label is the request's only when it names a
// known provider.
func (r *run) metrics() client.MetricsHandler {
	return workflow.GetMetricsHandler(r.root).WithTags(map[string]string{
		backup.MetricLabelProvider: backup.MetricProvider(r.req.Provider), backup.MetricLabelKind: string(r.kind)})
}

// recordSuccess counts a confirmed backup and its run time at the provider,
// from the operation's start (or the backup's creation) when the provider
// reported one.
func (r *run) recordSuccess(op provider.Operation, b backup.Backup) {
	typ := notify.BackupSucceeded
	if r.kind == backup.KindCopy {
		typ = notify.CopySucceeded
	}
	r.notify(typ, notify.Data{BackupID: b.ID, BackupName: b.Name})
	m := r.metrics()
	m.Counter(backup.MetricBackupsSucceeded).Inc(1)
	start := op.StartedAt
	if start == nil {
		start = b.CreateTime
	}
	if start == nil {
		return
	}
	if d := workflow.Now(r.root).Sub(*start); d >= 0 {
		m.Timer(backup.MetricBackupDuration).Record(d)
	}
}

func (r *run) recordFailure(class string) {
	r.metrics().WithTags(map[string]string{backup.MetricLabelClass: class}).Counter(backup.MetricBackupsFailed).Inc(1)
	r.notify(notify.BackupFailed, notify.Data{Failure: r.progress.LastError, Class: class, BackupID: r.progress.BackupID})
}

// notify emits one of this run's events (versionNotifications); the
// workflow's ID and run ID make its event ID, so a replay or a retried
// emit names the same occurrence.
func (r *run) notify(typ notify.Type, d notify.Data) {
	if !r.notifies {
		return
	}
	id := workflow.GetInfo(r.root).WorkflowExecution
	d.Plan, d.Provider, d.Kind, d.Resource = r.plan, r.req.Provider, string(r.kind), r.progress.Resource
	d.WorkflowID, d.RunID = id.ID, id.RunID
	emit(r.root, notify.New(typ, id.ID, d.Resource, r.plan, workflow.Now(r.root), d, id.ID, id.RunID))
}

// failureClass is the class label of the error a backup failed with: a
// known class (a provider class or Timeout), or MetricUnknown.
func failureClass(err error) string {
	class, _ := backup.FailureOf(err)
	if class.Known() {
		return string(class)
	}
	return backup.MetricUnknown
}
