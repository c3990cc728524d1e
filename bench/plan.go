package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/plan"
)

// The plan section's fixed shape: the child-run batch size PlanRun uses
// (workflows/planrun.go) and how many histories are read at once.
const (
	planRunBatch    = 100
	planCountersMax = 8
	planName        = "bench"
	// planPollEvery is how often the bench re-reads a condition it waits on
	// (the schedule's recent actions, an inventory's history).
	planPollEvery = 200 * time.Millisecond
	// inventoryEventLimit is the history length at which PlanInventory
	// continues as new (workflows/inventory.go).
	inventoryEventLimit = 2000
)

// Parts of a plan's cost per target and day.
const (
	partSchedule  = "schedule"
	partRun       = "run (PlanRun and its child runs)"
	partBackup    = "backup (CreateBackup)"
	partInventory = "inventory (PlanInventory)"
)

type planOptions struct {
	targets, sample, runs int
	rateLimit             float64
	rateBurst             int
	timeout               time.Duration
}

// planCost is one part's history events and actions per target for one run.
type planCost struct {
	Part string
	// Histories counted, and whether they were a sample of the part's workflows.
	Histories int
	Sampled   bool
	// Counts are summed over the histories counted (for an inventory: what
	// the run added to its history).
	Counts historyCount
	// PerTarget is what one target costs: Counts ÷ targets, or the mean of a sample.
	Events, Actions float64
	// Note says how the part was counted when not from histories.
	Note string
}

// planRound is one triggered run of the plan.
type planRound struct {
	Label string
	// From the Trigger call to the first and the last provider create call,
	// and to the PlanRun's result.
	FirstStart, AllStarted, Completed time.Duration
	StartP50                          time.Duration
	Started                           int
	Outcomes                          map[plan.Outcome]int
	// ProviderCalls are the worker's provider calls from the trigger until
	// the sampled inventories have recorded the round, by call.
	ProviderCalls       map[string]float64
	ServerCPU, BenchCPU time.Duration
	Costs               []planCost
}

func (r planRound) calls() float64 {
	n := 0.0
	for _, v := range r.ProviderCalls {
		n += v
	}
	return n
}

// planFailure is a plan size whose run did not complete.
type planFailure struct {
	Targets   int
	PlanBytes int
	Err       string
	Command   string
	At        time.Time
}

type planResult struct {
	Targets, Sample, ChildRuns int
	RateLimit                  float64
	RateBurst                  int
	// PlanBytes is the plan's JSON size: the schedule's action input and
	// every PlanRun's input carry it.
	PlanBytes int
	Rounds    []planRound
	// CountWall is the time spent reading histories.
	CountWall time.Duration
	Wall      time.Duration
}

// startLowerBound is the shortest time the worker's call limiter allows for
// every target's create call: targets ÷ calls per second.
func (r planResult) startLowerBound() time.Duration {
	return time.Duration(float64(r.Targets) / r.RateLimit * float64(time.Second))
}

// benchPlan is a daily plan over n memory targets, each its own resource,
// whose backups are done at their first poll. Retention keeps one backup,
// so from the second run on every run deletes the run before's backup.
func benchPlan(n int) (plan.Plan, error) {
	p := plan.Plan{
		Name:             planName,
		Schedule:         plan.Schedule{Every: plan.Duration(24 * time.Hour)},
		StartWindow:      plan.Duration(time.Hour),
		CompletionWindow: plan.Duration(6 * time.Hour),
		Retention:        plan.Retention{KeepLast: 1, KeepLastGood: 1},
		// Runs only when triggered.
		Paused: true,
	}
	for i := range n {
		req, err := backup.NewRequest(&backup.MemoryCreate{Target: fmt.Sprintf("plan-db-%05d", i), Name: "nightly-" + plan.PlaceholderUnix})
		if err != nil {
			return p, err
		}
		p.Targets = append(p.Targets, plan.Target{Name: fmt.Sprintf("t%05d", i), Request: req})
	}
	return p, nil
}

// measurePlan applies a plan over o.targets targets as a paused schedule
// and triggers it o.runs times, one after the other, on a worker whose
// provider calls are limited to o.rateLimit per second. Each round measures
// the time from the trigger to the provider's create calls and to the
// run's result, then counts the histories the round made.
func measurePlan(ctx context.Context, s *server, c client.Client, o planOptions) (planResult, error) {
	began := time.Now()
	res := planResult{Targets: o.targets, Sample: min(o.sample, o.targets), ChildRuns: childRuns(o.targets), RateLimit: o.rateLimit, RateBurst: o.rateBurst}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	cfg, err := workerConfig(s, s.Namespace, "bench-plan", nil)
	if err != nil {
		return res, err
	}
	cfg.Ops.ProviderRateLimit, cfg.Ops.ProviderRateBurst = o.rateLimit, o.rateBurst
	w, err := startConfiguredInProcess(c, cfg)
	if err != nil {
		return res, err
	}
	defer w.stop()
	p, err := benchPlan(o.targets)
	if err != nil {
		return res, err
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return res, err
	}
	res.PlanBytes = len(raw)
	pc := &plan.Client{Temporal: c, TaskQueue: w.queue}
	if _, err := pc.Apply(ctx, p); err != nil {
		return res, err
	}
	sched := c.ScheduleClient().GetHandle(ctx, plan.ScheduleID(planName))
	backupIDs, inventoryIDs := sampleIDs(p, res.Sample)
	var inventoryBefore map[string]historyCount
	for round := range o.runs {
		r := planRound{Label: fmt.Sprintf("run %d", round+1)}
		w.starts.reset()
		calls0, err := providerCalls(w)
		if err != nil {
			return res, err
		}
		server0, _ := cpuTime(s.pid())
		bench0, _ := cpuTime(selfPID)
		progress("plan: %s: triggering the plan over %d targets", r.Label, o.targets)
		triggered := time.Now()
		if err := pc.Trigger(ctx, planName); err != nil {
			return res, err
		}
		ref, err := awaitScheduledRun(ctx, sched, round+1)
		if err != nil {
			return res, err
		}
		var out plan.RunResult
		runCtx, stopRun := context.WithCancelCause(ctx)
		stopWatching := watchRun(runCtx, c, ref, w.starts, o.targets, r.Label, stopRun)
		err = c.GetWorkflow(runCtx, ref.WorkflowID, ref.RunID).Get(runCtx, &out)
		stopWatching()
		switch cause := context.Cause(runCtx); {
		case err != nil && cause != nil:
			err = cause
		case err != nil:
			err = fmt.Errorf("%w (%s)", err, runFailures(ctx, c, ref))
		}
		stopRun(nil)
		if err != nil {
			return res, fmt.Errorf("%s: plan run %s: %w", r.Label, ref.WorkflowID, err)
		}
		r.Completed = time.Since(triggered)
		r.Outcomes = out.Outcomes
		starts := w.starts.since(triggered)
		r.Started = len(starts)
		if len(starts) > 0 {
			r.FirstStart, r.AllStarted, r.StartP50 = starts[0], starts[len(starts)-1], starts[len(starts)/2]
		}
		server1, _ := cpuTime(s.pid())
		bench1, _ := cpuTime(selfPID)
		r.ServerCPU, r.BenchCPU = server1-server0, bench1-bench0
		progress("plan: %s: all %d creates %s after the trigger, run completed after %s (%v)", r.Label, r.Started, secs(r.AllStarted), secs(r.Completed), r.Outcomes)
		if out.Outcomes[plan.OutcomeSucceeded] != o.targets {
			return res, fmt.Errorf("%s: %d of %d targets succeeded: %v", r.Label, out.Outcomes[plan.OutcomeSucceeded], o.targets, out.Outcomes)
		}

		counting := time.Now()
		inventories, err := awaitInventories(ctx, c, inventoryIDs, round+1)
		if err != nil {
			return res, err
		}
		// Retention's deletes go on after the run's result: count the
		// calls once the sampled inventories have recorded the run.
		calls1, err := providerCalls(w)
		if err != nil {
			return res, err
		}
		r.ProviderCalls = map[string]float64{}
		for k, v := range calls1 {
			if d := v - calls0[k]; d > 0 {
				r.ProviderCalls[k] = d
			}
		}
		r.Costs, err = roundCosts(ctx, c, ref.WorkflowID, o.targets, backupIDs, inventories, inventoryBefore)
		if err != nil {
			return res, err
		}
		inventoryBefore = inventories
		res.CountWall += time.Since(counting)
		res.Rounds = append(res.Rounds, r)
	}
	res.Wall = time.Since(began)
	return res, nil
}

func childRuns(targets int) int {
	if targets <= planRunBatch {
		return 0
	}
	return (targets + planRunBatch - 1) / planRunBatch
}

// sampleIDs picks up to n targets spread evenly over the plan and returns
// their backup and inventory workflow IDs.
func sampleIDs(p plan.Plan, n int) (backups, inventories []string) {
	for i := range n {
		t := p.Targets[i*len(p.Targets)/n]
		if id, err := t.Request.WorkflowID(backup.KindCreate); err == nil {
			backups = append(backups, id)
		}
		inventories = append(inventories, plan.InventoryID(p.Name, t.Name))
	}
	return backups, inventories
}

// stuckTaskAttempts is how many failed attempts of a plan run's workflow
// task make the bench give up on the run: it would retry for ever.
const stuckTaskAttempts = 3

// watchRun prints how many creates the provider has received every 30
// seconds, and stops the run's wait (stop, with the reason) when the plan
// run's workflow task keeps failing; until the returned function is called.
func watchRun(ctx context.Context, c client.Client, ref plan.RunRef, starts *stamps, targets int, label string, stop context.CancelCauseFunc) (done func()) {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				starts.mu.Lock()
				n := len(starts.at)
				starts.mu.Unlock()
				progress("plan: %s: %d of %d creates received", label, n, targets)
				if err := stuckTask(ctx, c, ref); err != nil {
					stop(err)
					return
				}
			}
		}
	})
	return func() { close(quit); wg.Wait() }
}

// stuckTask says why the run's workflow task keeps failing, or nil.
func stuckTask(ctx context.Context, c client.Client, ref plan.RunRef) error {
	desc, err := c.DescribeWorkflowExecution(ctx, ref.WorkflowID, ref.RunID)
	if err != nil || desc.GetPendingWorkflowTask().GetAttempt() < stuckTaskAttempts {
		return nil
	}
	return fmt.Errorf("its workflow task failed %d times (%s)", desc.GetPendingWorkflowTask().GetAttempt(), runFailures(ctx, c, ref))
}

// runFailures says how the run's last workflow task failed and why it was
// terminated, from its history.
func runFailures(ctx context.Context, c client.Client, ref plan.RunRef) string {
	why := "no WorkflowTaskFailed event"
	it := c.GetWorkflowHistory(ctx, ref.WorkflowID, ref.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return why + "; history: " + err.Error()
		}
		if a := ev.GetWorkflowTaskFailedEventAttributes(); a != nil {
			why = fmt.Sprintf("last workflow task failure %s: %s", a.GetCause(), a.GetFailure().GetMessage())
		}
		if a := ev.GetWorkflowExecutionTerminatedEventAttributes(); a != nil {
			why += fmt.Sprintf("; terminated: %s", a.GetReason())
		}
	}
	return why
}

// awaitScheduledRun waits until the schedule has started its n-th run and returns it.
func awaitScheduledRun(ctx context.Context, h client.ScheduleHandle, n int) (plan.RunRef, error) {
	for {
		desc, err := h.Describe(ctx)
		if err != nil {
			return plan.RunRef{}, err
		}
		if a := desc.Info.RecentActions; len(a) >= n && a[len(a)-1].StartWorkflowResult != nil {
			r := a[len(a)-1].StartWorkflowResult
			return plan.RunRef{WorkflowID: r.WorkflowID, RunID: r.FirstExecutionRunID}, nil
		}
		select {
		case <-ctx.Done():
			return plan.RunRef{}, fmt.Errorf("the schedule did not start run %d: %w", n, ctx.Err())
		case <-time.After(planPollEvery):
		}
	}
}

// awaitInventories waits until each inventory has handled the round's
// record (n records, and a retention timer started after the last) and
// returns its history's counts.
func awaitInventories(ctx context.Context, c client.Client, ids []string, n int) (map[string]historyCount, error) {
	out := make(map[string]historyCount, len(ids))
	var mu sync.Mutex
	err := forEach(ids, func(id string) error {
		for {
			h, settled, err := countInventory(ctx, c, id)
			if err != nil {
				return err
			}
			if settled && h.Signals >= n {
				mu.Lock()
				out[id] = h
				mu.Unlock()
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("inventory %s did not record run %d: %w", id, n, ctx.Err())
			case <-time.After(planPollEvery):
			}
		}
	})
	return out, err
}

// countInventory counts an inventory's history; settled says the workflow
// is waiting again: its last event is a retention timer started after the
// last record signal, or a completed workflow task after one.
func countInventory(ctx context.Context, c client.Client, id string) (historyCount, bool, error) {
	var h historyCount
	it := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	scheduled := map[int64]string{}
	waiting := false
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return h, false, err
		}
		h.count(ev, scheduled)
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			waiting = true
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
		default:
			waiting = false
		}
	}
	return h, waiting, nil
}

// roundCosts counts one round's histories: every PlanRun (the parent and
// its child runs), the sampled backups' latest runs, and what the round
// added to the sampled inventories (before is nil for the first round).
func roundCosts(ctx context.Context, c client.Client, runID string, targets int, backupIDs []string, inventories, before map[string]historyCount) ([]planCost, error) {
	perTarget := func(part string, h historyCount, n int, sampled bool) planCost {
		return planCost{Part: part, Histories: n, Sampled: sampled, Counts: h,
			Events: float64(h.Events) / float64(max(targets, 1)), Actions: float64(h.actions()) / float64(max(targets, 1))}
	}
	sampleMean := func(part string, h historyCount, n int) planCost {
		pc := perTarget(part, h, n, n < targets)
		pc.Events, pc.Actions = float64(h.Events)/float64(max(n, 1)), float64(h.actions())/float64(max(n, 1))
		return pc
	}
	runIDs := []string{runID}
	for i := range childRuns(targets) {
		runIDs = append(runIDs, fmt.Sprintf("%s/part-%d", runID, i+1))
	}
	runs, err := sumHistories(ctx, c, runIDs)
	if err != nil {
		return nil, err
	}
	backups, err := sumHistories(ctx, c, backupIDs)
	if err != nil {
		return nil, err
	}
	var inv historyCount
	for id, h := range inventories {
		inv.plus(h)
		if b, ok := before[id]; ok {
			inv.minus(b)
		}
	}
	schedule := planCost{Part: partSchedule, Actions: 1 / float64(max(targets, 1)),
		Note: "one schedule action per run (Temporal Cloud bills a scheduled start as the schedule's action plus the workflow start, counted under run); the schedule's own state is Temporal's, not a history counted here"}
	return []planCost{
		schedule,
		perTarget(partRun, runs, len(runIDs), false),
		sampleMean(partBackup, backups, len(backupIDs)),
		sampleMean(partInventory, inv, len(inventories)),
	}, nil
}

// sumHistories counts the latest run of each workflow and adds the counts up.
func sumHistories(ctx context.Context, c client.Client, ids []string) (historyCount, error) {
	var sum historyCount
	var mu sync.Mutex
	err := forEach(ids, func(id string) error {
		h, err := countHistory(ctx, c, id, "")
		if err != nil {
			return fmt.Errorf("history of %s: %w", id, err)
		}
		mu.Lock()
		sum.plus(h)
		mu.Unlock()
		return nil
	})
	return sum, err
}

// forEach runs f on every id, planCountersMax at a time, and returns the first error.
func forEach(ids []string, f func(string) error) error {
	next := make(chan string)
	errs := make([]error, planCountersMax)
	var wg sync.WaitGroup
	for i := range planCountersMax {
		wg.Go(func() {
			for id := range next {
				if errs[i] == nil {
					errs[i] = f(id)
				}
			}
		})
	}
	for _, id := range ids {
		next <- id
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

// providerCalls reads the worker's backupflow_provider_calls_total by call.
func providerCalls(w *inProcess) (map[string]float64, error) {
	families, err := w.app.Metrics.Registry.Gather()
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "backupflow_provider_calls_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			call := "?"
			for _, l := range m.GetLabel() {
				if l.GetName() == "call" {
					call = l.GetValue()
				}
			}
			out[call] += m.GetCounter().GetValue()
		}
	}
	return out, nil
}

// plus and minus add and subtract another count, field by field.
func (h *historyCount) plus(o historyCount)  { h.combine(o, 1) }
func (h *historyCount) minus(o historyCount) { h.combine(o, -1) }

func (h *historyCount) combine(o historyCount, sign int) {
	h.Events += sign * o.Events
	h.WorkflowStarts += sign * o.WorkflowStarts
	h.ActivityAttempts += sign * o.ActivityAttempts
	h.LocalActivities += sign * o.LocalActivities
	h.Timers += sign * o.Timers
	h.Signals += sign * o.Signals
	h.Upserts += sign * o.Upserts
	h.WorkflowTasks += sign * o.WorkflowTasks
}

// reset forgets every stamp, so the next round records its own.
func (s *stamps) reset() {
	s.mu.Lock()
	s.at = map[string]time.Time{}
	s.mu.Unlock()
}

// since returns each stamp's time after t, sorted.
func (s *stamps) since(t time.Time) []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]time.Duration, 0, len(s.at))
	for _, at := range s.at {
		out = append(out, at.Sub(t))
	}
	slices.Sort(out)
	return out
}

// steadyRound is the round whose counts stand for a day of a plan that has
// run before: the last one (the first also starts every inventory).
func (r planResult) steadyRound() (planRound, bool) {
	if len(r.Rounds) == 0 {
		return planRound{}, false
	}
	return r.Rounds[len(r.Rounds)-1], true
}
