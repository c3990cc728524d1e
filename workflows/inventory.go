package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/backupflow/backupflow/activities"
	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/notify"
	"github.com/backupflow/backupflow/plan"
	"github.com/backupflow/backupflow/provider"
)

// Inventory limits: retention runs at least this often, and the workflow
// continues as new well before its history gets long. The entries it keeps
// are bounded too: backups still present, plus the latest of the rest (for
// status and audit).
const (
	retentionEvery = 24 * time.Hour
	// keptHistory is how many ended entries (deleted backups, failed runs) stay.
	keptHistory = 100
	// inventoryEventLimit is the history length that makes it continue as new.
	inventoryEventLimit = 2000
	// goneAfter is how long a backup must be missing from the provider's
	// listing before the inventory counts it as gone.
	goneAfter = 24 * time.Hour
	// keptBreaches is how many RPO breaches the inventory remembers.
	keptBreaches = 100
)

// inventoryRPO gates the RPO watch (a timer at the moment the newest good
// backup ages past the RPO, the breach and recovery records, the rpo memo
// and the BackupRPO search attribute) and the inventory's events
// (retention deleted and refused, RPO breached and recovered).
const inventoryRPO = "rpo-and-notifications"

// PlanInventory is the durable record of one plan target: every backup the
// plan made of it (from backupflow's own create and copy answers, which is
// what proves them ours), the holds on them, and retention's decisions.
//
// Retention runs after each recorded run and at least daily. It deletes a
// backup only when the inventory says the plan made it, the provider's
// listing still shows it, the rules let it go, and no hold keeps it; the
// newest KeepLastGood good backups are never deleted.
func PlanInventory(ctx workflow.Context, in plan.InventoryStart) error {
	inv := &inventory{state: plan.Inventory{Plan: in.Plan, Target: in.Target}, policy: in.Policy}
	if in.State != nil {
		inv.state = *in.State
	}
	inv.rpo = workflow.GetVersion(ctx, inventoryRPO, workflow.DefaultVersion, 1) == 1
	inv.retainAt = workflow.Now(ctx).Add(retentionEvery)
	records := workflow.GetSignalChannel(ctx, plan.RecordSignal)
	if err := inv.handle(ctx, records); err != nil {
		return err
	}
	inv.watch(ctx)
	for {
		// One timer at a time: cancelled when a record comes first, since
		// the pass that follows the record restarts the day. With the RPO
		// watch it ends at the next retention pass or the RPO breach,
		// whichever is first.
		timerCtx, cancelTimer := workflow.WithCancel(ctx)
		timer := workflow.NewTimer(timerCtx, inv.nextWake(workflow.Now(ctx)))
		due := false
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(records, func(c workflow.ReceiveChannel, _ bool) {
			var r plan.Record
			c.Receive(ctx, &r)
			inv.record(ctx, r)
			due = true
		})
		sel.AddFuture(timer, func(f workflow.Future) {
			due = f.Get(ctx, nil) == nil && (!inv.rpo || !workflow.Now(ctx).Before(inv.retainAt))
		})
		sel.Select(ctx)
		cancelTimer()
		if ctx.Err() != nil {
			return ctx.Err() // cancelled or terminated: the inventory's state is in its history
		}
		if due {
			inv.retain(ctx, false)
			inv.retainAt = workflow.Now(ctx).Add(retentionEvery)
		}
		inv.watch(ctx)
		if workflow.GetInfo(ctx).GetCurrentHistoryLength() > inventoryEventLimit || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			inv.drain(ctx, records) // no signal is left behind
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return err
			}
			state := inv.state
			return workflow.NewContinueAsNewError(ctx, plan.InventoryWorkflow, plan.InventoryStart{
				Plan: in.Plan, Target: in.Target, State: &state, Policy: inv.policy})
		}
	}
}

type inventory struct {
	state  plan.Inventory
	policy plan.Policy
	// retaining is set while a retention pass runs; passes never overlap.
	retaining bool
	// rpo: this run follows inventoryRPO.
	rpo bool
	// retainAt is when the daily retention pass is next due.
	retainAt time.Time
	// shown is the RPO state last put in the memo and search attribute;
	// indexed says whether the namespace has BackupRPO (nil: not asked yet).
	shown   *plan.RPOState
	indexed *bool
	// events are retention's events, emitted once its pass ends.
	events []notify.Event
}

// drain records every run outcome already delivered.
func (inv *inventory) drain(ctx workflow.Context, records workflow.ReceiveChannel) {
	for {
		var r plan.Record
		if !records.ReceiveAsync(&r) {
			return
		}
		inv.record(ctx, r)
	}
}

// handle registers the query and the updates.
func (inv *inventory) handle(ctx workflow.Context, records workflow.ReceiveChannel) error {
	if err := workflow.SetQueryHandler(ctx, plan.InventoryQuery, func() (plan.Inventory, error) {
		return inv.state, nil
	}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, plan.HoldUpdate,
		func(ctx workflow.Context, c plan.HoldChange) (plan.Inventory, error) {
			inv.changeHold(c)
			return inv.state, nil
		}, workflow.UpdateHandlerOptions{Validator: inv.checkHold}); err != nil {
		return err
	}
	return workflow.SetUpdateHandler(ctx, plan.RetainUpdate, func(ctx workflow.Context, r plan.RetainRequest) (plan.RetentionReport, error) {
		inv.drain(ctx, records) // decide on every outcome recorded before this request
		if r.DryRun && r.Policy != nil {
			return inv.decide(ctx, *r.Policy, true), nil
		}
		return inv.retain(ctx, r.DryRun), nil
	})
}

// checkHold refuses a hold change that names nobody, gives no reason, or
// names a backup this target's inventory does not hold.
func (inv *inventory) checkHold(_ workflow.Context, c plan.HoldChange) error {
	h := c.Hold
	if !c.Remove && (h.By == "" || h.Reason == "") {
		return temporal.NewApplicationError("hold.by and hold.reason: a hold says who placed it and why", string(backup.InvalidArgument))
	}
	if h.BackupID != "" && !slices.ContainsFunc(inv.state.Entries, func(e plan.Entry) bool { return e.BackupID == h.BackupID }) {
		return temporal.NewApplicationError(fmt.Sprintf("hold.backupId: %q is not a backup plan %s made of target %s", h.BackupID, inv.state.Plan, inv.state.Target), string(backup.NotFound))
	}
	return nil
}

func (inv *inventory) changeHold(c plan.HoldChange) {
	same := func(h plan.Hold) bool { return h.BackupID == c.Hold.BackupID }
	inv.state.Holds = slices.DeleteFunc(inv.state.Holds, same)
	if !c.Remove {
		inv.state.Holds = append(inv.state.Holds, c.Hold)
	}
}

// record merges a run's entries (a redelivered record changes nothing) and
// takes the plan's latest policy.
func (inv *inventory) record(ctx workflow.Context, r plan.Record) {
	inv.policy = r.Policy
	if inv.rpo {
		inv.state.RPO = r.Policy.RPO
		if inv.state.Since.IsZero() {
			inv.state.Since = workflow.Now(ctx)
		}
	}
	for _, e := range r.Entries {
		if !slices.ContainsFunc(inv.state.Entries, func(have plan.Entry) bool { return have.Key() == e.Key() }) {
			inv.state.Entries = append(inv.state.Entries, e)
		}
	}
	slices.SortStableFunc(inv.state.Entries, func(a, b plan.Entry) int { return a.ScheduledAt.Compare(b.ScheduledAt) })
	inv.trim()
}

// trim keeps every backup still present and the latest keptHistory others.
func (inv *inventory) trim() {
	ended := 0
	for i := len(inv.state.Entries) - 1; i >= 0; i-- {
		e := inv.state.Entries[i]
		if e.BackupID != "" && e.DeletedAt == nil {
			continue
		}
		if ended++; ended > keptHistory {
			inv.state.Entries = slices.Delete(inv.state.Entries, i, i+1)
		}
	}
}

// retain runs one retention pass, for the target's backups and its copies.
func (inv *inventory) retain(ctx workflow.Context, dryRun bool) plan.RetentionReport {
	_ = workflow.Await(ctx, func() bool { return !inv.retaining })
	inv.retaining = true
	defer func() { inv.retaining = false }()

	report := inv.decide(ctx, inv.policy, dryRun)
	if !dryRun {
		inv.state.LastRetention = &report
		inv.trim()
		if inv.rpo {
			for _, d := range report.Refused {
				inv.retentionEvent(ctx, notify.RetentionRefused, d.Kind, d.BackupID, d.Reason)
			}
		}
		emit(ctx, inv.events...)
		inv.events = nil
	}
	return report
}

// decide runs retention's rules under pol and, unless dryRun, deletes what
// they let go.
func (inv *inventory) decide(ctx workflow.Context, pol plan.Policy, dryRun bool) plan.RetentionReport {
	loc, err := time.LoadLocation(pol.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	report := plan.RetentionReport{At: workflow.Now(ctx), DryRun: dryRun}
	for _, kind := range []backup.Kind{backup.KindCreate, backup.KindCopy} {
		rules := pol.Retention
		if kind == backup.KindCopy {
			if pol.CopyRetention == nil {
				continue
			}
			rules = *pol.CopyRetention
		}
		var mine []plan.Entry
		for _, e := range inv.state.Entries {
			if e.Kind == kind {
				mine = append(mine, e)
			}
		}
		decisions := plan.Decide(mine, inv.state.Holds, rules, loc, report.At)
		report.Decisions = append(report.Decisions, decisions...)
		if !dryRun {
			inv.apply(ctx, decisions, &report)
		}
	}
	return report
}

// apply deletes what the decisions let go, each only once the provider's
// listing confirms the backup is still there as the plan recorded it.
func (inv *inventory) apply(ctx workflow.Context, decisions []plan.Decision, report *plan.RetentionReport) {
	listed := map[string]map[string]backup.Backup{} // provider/resource → ID → backup
	for _, d := range decisions {
		if !d.Delete {
			continue
		}
		i := slices.IndexFunc(inv.state.Entries, func(e plan.Entry) bool { return e.Kind == d.Kind && e.BackupID == d.BackupID })
		if i < 0 {
			continue
		}
		e := inv.state.Entries[i]
		refuse := func(reason string) {
			report.Refused = append(report.Refused, plan.Decision{BackupID: d.BackupID, Kind: d.Kind, Reason: reason})
		}
		if inv.held(e.BackupID) {
			refuse("held") // a hold placed while this pass ran
			continue
		}
		key := e.Provider + "/" + e.Resource
		if _, ok := listed[key]; !ok {
			var out activities.ListOutput
			err := workflow.ExecuteActivity(retentionOptions(ctx, e.Provider), a.ListBackups,
				activities.ListInput{Provider: e.Provider, Kind: e.Kind, Resource: e.Resource}).Get(ctx, &out)
			if err != nil {
				refuse("the provider's listing could not be read: " + failureMessage(err))
				continue
			}
			listed[key] = map[string]backup.Backup{}
			for _, b := range out.Backups {
				listed[key][b.ID] = b
			}
		}
		b, ok := listed[key][e.BackupID]
		if !ok {
			refuse(inv.missing(ctx, i))
			continue
		}
		inv.state.Entries[i].MissingSince = nil
		switch {
		case e.CreateTime != nil && b.CreateTime != nil && !e.CreateTime.Equal(*b.CreateTime):
			refuse(fmt.Sprintf("the listed backup %s was created at %s, not %s as recorded: not the one the plan made", b.ID, b.CreateTime.UTC().Format(time.RFC3339), e.CreateTime.UTC().Format(time.RFC3339)))
			continue
		}
		op := provider.Operation{ID: e.OperationID, BackupID: e.BackupID, BackupName: e.BackupName, Resource: e.Resource, Kind: e.Kind}
		err := workflow.ExecuteActivity(retentionOptions(ctx, e.Provider), a.DeleteBackup,
			activities.DeleteInput{Provider: e.Provider, Operation: op}).Get(ctx, nil)
		if err != nil {
			refuse("delete failed: " + failureMessage(err))
			continue
		}
		now := workflow.Now(ctx)
		inv.state.Entries[i].DeletedAt = &now
		report.Deleted = append(report.Deleted, e.BackupID)
		if inv.rpo {
			inv.state.Entries[i].DeletedReason = d.Reason
			inv.retentionEvent(ctx, notify.RetentionDeleted, d.Kind, d.BackupID, d.Reason)
		}
	}
}

// missing notes that entry i is not in the provider's listing and says
// what that means: gone (expired at the provider, or deleted by hand) once
// it has been missing for goneAfter, else a lagging listing, checked again.
func (inv *inventory) missing(ctx workflow.Context, i int) string {
	now := workflow.Now(ctx)
	e := &inv.state.Entries[i]
	if e.MissingSince == nil {
		e.MissingSince = &now
	}
	if now.Sub(*e.MissingSince) < goneAfter {
		return "not in the provider's listing; checked again on the next pass (listings can lag)"
	}
	e.DeletedAt = &now
	reason := "missing from the provider's listing since " + e.MissingSince.UTC().Format(time.RFC3339) + "; recorded as gone"
	if inv.rpo {
		e.DeletedReason = reason
	}
	return reason
}

func (inv *inventory) held(backupID string) bool {
	return slices.ContainsFunc(inv.state.Holds, func(h plan.Hold) bool { return h.BackupID == "" || h.BackupID == backupID })
}

// retentionOptions: a listing or a delete is one provider call, on the
// provider's task queue, so the server's per-provider call limit paces it
// like the backups' calls; busy or throttled providers are retried for a
// while, then the pass reports the refusal and the next pass tries again.
func retentionOptions(ctx workflow.Context, providerName string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:              backup.ProviderTaskQueue(workflow.GetInfo(ctx).TaskQueueName, providerName),
		StartToCloseTimeout:    callTimeout,
		HeartbeatTimeout:       heartbeatTimeout,
		ScheduleToCloseTimeout: time.Hour,
		RetryPolicy:            retryPolicy(),
	})
}

// failureMessage is an activity failure's message, without the SDK's wrapping.
func failureMessage(err error) string {
	_, msg := backup.FailureOf(err)
	return msg
}

// nextWake is how long the inventory sleeps: until the daily retention
// pass, or, with the RPO watch, until the RPO breach if that comes first.
func (inv *inventory) nextWake(now time.Time) time.Duration {
	if !inv.rpo {
		return retentionEvery
	}
	wake := inv.retainAt
	if at, ok := inv.state.BreachAt(); ok && !inv.state.Breached() && at.Before(wake) {
		wake = at
	}
	return max(wake.Sub(now), time.Second)
}

// watch opens a breach once the newest good backup is older than the RPO
// (or, never having had one, the target has been in the plan that long),
// closes it when a good backup lands or the RPO is lifted, and shows the
// state in the memo and search attribute.
func (inv *inventory) watch(ctx workflow.Context) {
	if !inv.rpo {
		return
	}
	now := workflow.Now(ctx)
	s := &inv.state
	at, ok := s.BreachAt()
	switch {
	case ok && !now.Before(at) && !s.Breached():
		b := plan.Breach{Since: at, RPO: s.RPO}
		if g := s.LastGood(); g != nil {
			t := g.GoodAt()
			b.LastGood = &t
		}
		s.Breaches = append(s.Breaches, b)
		if len(s.Breaches) > keptBreaches {
			s.Breaches = slices.Delete(s.Breaches, 0, len(s.Breaches)-keptBreaches)
		}
		inv.rpoEvent(ctx, notify.RPOBreached, b)
	case s.Breached() && (!ok || now.Before(at)):
		b := &s.Breaches[len(s.Breaches)-1]
		b.Until = &now
		inv.rpoEvent(ctx, notify.RPORecovered, *b)
	}
	inv.show(ctx)
}

// rpoState is the RPO state the memo shows.
func (inv *inventory) rpoState() plan.RPOState {
	st := plan.RPOState{RPO: inv.state.RPO}
	for i := len(inv.state.Entries) - 1; i >= 0; i-- {
		if e := inv.state.Entries[i]; e.Kind == backup.KindCreate {
			st.Provider, st.Resource = e.Provider, e.Resource
			break
		}
	}
	if g := inv.state.LastGood(); g != nil {
		t := g.GoodAt()
		st.LastGood = &t
	}
	if inv.state.Breached() {
		since := inv.state.Breaches[len(inv.state.Breaches)-1].Since
		st.BreachedSince = &since
	}
	return st
}

// show puts the RPO state in the memo (for the worker's RPO watch) and in
// the BackupRPO search attribute (for the Web UI and list filters), only
// when it changed, so history grows by an event per change, not per pass.
func (inv *inventory) show(ctx workflow.Context) {
	st := inv.rpoState()
	if st.RPO == 0 && inv.shown == nil {
		return
	}
	if inv.shown != nil && inv.shown.Equal(st) {
		return
	}
	if err := workflow.UpsertMemo(ctx, map[string]any{plan.MemoRPO: st}); err != nil {
		workflow.GetLogger(ctx).Warn("could not set the rpo memo", "error", err)
	}
	value := func(s *plan.RPOState) string {
		switch {
		case s == nil || s.RPO == 0:
			return ""
		case s.BreachedSince != nil:
			return plan.RPOBreached
		}
		return plan.RPOMet
	}
	if now, before := value(&st), value(inv.shown); now != before && inv.indexable(ctx) {
		update := plan.RPOKey.ValueSet(now)
		if now == "" {
			update = plan.RPOKey.ValueUnset()
		}
		if err := workflow.UpsertTypedSearchAttributes(ctx, update); err != nil {
			workflow.GetLogger(ctx).Warn("could not set the BackupRPO search attribute", "error", err)
		}
	}
	inv.shown = &st
}

// indexable asks once per run whether the namespace has BackupRPO.
func (inv *inventory) indexable(ctx workflow.Context) bool {
	if inv.indexed == nil {
		var acts *activities.Inventories // names the activity; inv is the receiver here
		var ok bool
		err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
			StartToCloseTimeout: callTimeout,
			RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
		}), acts.RPOIndexed).Get(ctx, &ok)
		ok = ok && err == nil
		inv.indexed = &ok
	}
	return *inv.indexed
}

func (inv *inventory) rpoEvent(ctx workflow.Context, typ notify.Type, b plan.Breach) {
	st := inv.rpoState()
	since := b.Since
	d := notify.Data{Plan: inv.state.Plan, Target: inv.state.Target, Provider: st.Provider, Resource: st.Resource,
		RPOSeconds: int64(time.Duration(b.RPO) / time.Second), LastGood: st.LastGood, BreachedSince: &since}
	id := plan.InventoryID(inv.state.Plan, inv.state.Target)
	emit(ctx, notify.New(typ, id, st.Resource, inv.state.Plan, workflow.Now(ctx), d, id, since.UTC().Format(time.RFC3339Nano)))
}

// retentionEvent queues a deletion or refusal event for the pass's end. A
// refusal repeated by later passes for the same reason has the same ID, so
// it is delivered once.
func (inv *inventory) retentionEvent(ctx workflow.Context, typ notify.Type, kind backup.Kind, backupID, reason string) {
	var resource, providerName string
	if i := slices.IndexFunc(inv.state.Entries, func(e plan.Entry) bool { return e.Kind == kind && e.BackupID == backupID }); i >= 0 {
		resource, providerName = inv.state.Entries[i].Resource, inv.state.Entries[i].Provider
	}
	d := notify.Data{Plan: inv.state.Plan, Target: inv.state.Target, Provider: providerName, Kind: string(kind), Resource: resource,
		BackupID: backupID, Reason: reason}
	id := plan.InventoryID(inv.state.Plan, inv.state.Target)
	key := []string{id, string(kind), backupID}
	if typ == notify.RetentionRefused {
		key = append(key, reason)
	}
	inv.events = append(inv.events, notify.New(typ, id, resource, inv.state.Plan, workflow.Now(ctx), d, key...))
}
