package cli

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/plan"
)

const statusUsage = `Usage:
  backupflow status [--plan <plan>] [--output text|json]

For every applied plan (or one) and each of its targets: provider and
resource, RPO, the last good backup and its age, the RPO state, the last
run's outcome, the next run, paused, holds and the backups kept.
Inventories are queried: a worker must be running.

Exit codes: 0 every RPO is met (or none is set); 6 an RPO is breached;
7 no breach, but a target's RPO state is unknown (its inventory or the
applied plan could not be read); 2 and 5 as for every command.
`

// RPO states of a target, as status and report show them.
const (
	// RPOStateMet: the newest good backup is within the RPO (or, before
	// the first one, the RPO has not yet passed since runs began).
	RPOStateMet = "met"
	// RPOStateBreached: no good backup within the RPO.
	RPOStateBreached = "breached"
	// RPOStateNone: the target has no RPO.
	RPOStateNone = "none"
	// RPOStateUnknown: the inventory (or the applied plan) could not be read.
	RPOStateUnknown = "unknown"
)

// StatusReport is status's outcome; its JSON document is stable:
//
//	{"now": time, "plans": [{"plan", "scheduleId", "paused", "note"?, "nextRun"?, "error"?,
//	  "targets": [{"target", "provider", "resource", "rpo" ("1d" or "none"),
//	    "rpoState" (met|breached|none|unknown), "breachedSince"?, "breachAt"?,
//	    "lastGood"?: {"backupId", "backupName"?, "createTime", "ageSeconds", "age"},
//	    "lastRun"?: {"outcome", "scheduledAt", "failure"?},
//	    "holds": {"count", "by": []}, "kept": {"create", "copy"},
//	    "inventory" (ok|none|unreadable), "error"?}]}],
//	 "summary": {"targets", "met", "breached", "none", "unknown"},
//	 "error"?, "field"?, "exitCode"}
//
// Times are RFC 3339 in UTC; plans are sorted by name, targets in plan order.
type StatusReport struct {
	Now     time.Time     `json:"now"`
	Plans   []PlanStatus  `json:"plans"`
	Summary StatusSummary `json:"summary"`
	outcome
}

// StatusSummary counts targets by RPO state; Unknown also counts the
// plans that could not be read (whose targets are not listed).
type StatusSummary struct {
	Targets  int `json:"targets"`
	Met      int `json:"met"`
	Breached int `json:"breached"`
	None     int `json:"none"`
	Unknown  int `json:"unknown"`
}

// PlanStatus is one plan in status.
type PlanStatus struct {
	Plan       string     `json:"plan"`
	ScheduleID string     `json:"scheduleId"`
	Paused     bool       `json:"paused"`
	Note       string     `json:"note,omitempty"`
	NextRun    *time.Time `json:"nextRun,omitempty"`
	// Error says why the plan (or the plan as applied) could not be read;
	// its targets are then unknown.
	Error   string         `json:"error,omitempty"`
	Targets []TargetStatus `json:"targets"`
}

// Inventory states in TargetStatus.
const (
	InventoryOK         = "ok"
	InventoryNone       = "none" // no run recorded yet
	InventoryUnreadable = "unreadable"
)

// TargetStatus is one target in status.
type TargetStatus struct {
	Target   string `json:"target"`
	Provider string `json:"provider"`
	Resource string `json:"resource"`
	// RPO is the target's RPO as plan files write it, or "none".
	RPO      string `json:"rpo"`
	RPOState string `json:"rpoState"`
	// BreachedSince is set while the RPO is breached; BreachAt, while it
	// is met, is when it will be unless a good backup comes first.
	BreachedSince *time.Time      `json:"breachedSince,omitempty"`
	BreachAt      *time.Time      `json:"breachAt,omitempty"`
	LastGood      *LastGoodBackup `json:"lastGood,omitempty"`
	LastRun       *LastRun        `json:"lastRun,omitempty"`
	Holds         HoldCount       `json:"holds"`
	Kept          KeptCount       `json:"kept"`
	Inventory     string          `json:"inventory"`
	Error         string          `json:"error,omitempty"`
}

// LastGoodBackup is the newest good backup the provider still holds.
type LastGoodBackup struct {
	BackupID   string    `json:"backupId"`
	BackupName string    `json:"backupName,omitempty"`
	CreateTime time.Time `json:"createTime"`
	AgeSeconds int64     `json:"ageSeconds"`
	Age        string    `json:"age"`
}

// LastRun is the outcome of the latest create the plan ran for a target.
type LastRun struct {
	Outcome     plan.Outcome `json:"outcome"`
	ScheduledAt time.Time    `json:"scheduledAt"`
	Failure     string       `json:"failure,omitempty"`
}

// HoldCount is how many holds a target has and who placed them.
type HoldCount struct {
	Count int      `json:"count"`
	By    []string `json:"by"`
}

// KeptCount counts the backups an inventory still holds, by kind.
type KeptCount struct {
	Create int `json:"create"`
	Copy   int `json:"copy"`
}

// planRead is what was read of one plan: its description, or why not.
type planRead struct {
	name string
	desc *plan.Description
	err  error
}

// now is the command's clock.
func (c *Command) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// readPlans describes one plan or every applied plan. A plan named with
// --plan that does not exist is the command's error; a listed plan that
// cannot be described is reported with its error.
func readPlans(ctx context.Context, pc *plan.Client, name string) ([]planRead, error) {
	if name != "" {
		d, err := pc.Describe(ctx, name)
		if err != nil {
			return nil, err
		}
		return []planRead{{name: name, desc: d}}, nil
	}
	list, err := pc.List(ctx)
	if err != nil {
		return nil, err
	}
	reads := make([]planRead, 0, len(list))
	for _, s := range list {
		d, err := pc.Describe(ctx, s.Name)
		reads = append(reads, planRead{name: s.Name, desc: d, err: err})
	}
	return reads, nil
}

// status runs "backupflow status".
func (c *Command) status(ctx context.Context, args []string, o *options) Output {
	var name string
	pos, err := c.flags("status", "[--plan <plan>] [flags]", args, o, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "plan", "", "only this plan (default: every applied plan)")
	})
	if out := flagOutcome(err); out != nil {
		return out
	}
	if len(pos) > 0 {
		return errorReport(&InputError{Message: fmt.Sprintf("unexpected argument %q: name a plan with --plan\n\n%s", pos[0], statusUsage)})
	}
	pc, closeClient, err := c.planClient(ctx, *o)
	if err != nil {
		return errorReport(err)
	}
	defer closeClient()
	reads, err := readPlans(ctx, pc, name)
	if err != nil {
		rep := &StatusReport{Now: c.now().UTC(), Plans: []PlanStatus{}}
		rep.fail(err)
		return rep
	}
	return buildStatus(reads, c.now())
}

// buildStatus computes every target's status at now and the exit code.
func buildStatus(reads []planRead, now time.Time) *StatusReport {
	rep := &StatusReport{Now: now.UTC(), Plans: []PlanStatus{}}
	for _, r := range reads {
		ps := PlanStatus{Plan: r.name, ScheduleID: plan.ScheduleID(r.name), Targets: []TargetStatus{}}
		d := r.desc
		switch {
		case r.err != nil:
			ps.Error = r.err.Error()
		case d.PlanError != "":
			ps.Error = "the applied plan is unreadable: " + d.PlanError
		}
		if d != nil {
			ps.Paused, ps.Note = d.Paused, d.Note
			if len(d.NextRuns) > 0 {
				next := d.NextRuns[0].UTC()
				ps.NextRun = &next
			}
		}
		if ps.Error == "" {
			for _, ti := range d.Inventories {
				ps.Targets = append(ps.Targets, targetStatus(d, ti, now))
			}
		}
		rep.Plans = append(rep.Plans, ps)
	}
	rep.count()
	return rep
}

// count fills in the summary and the exit code: a breach wins over an
// unknown state, and either fails the check.
func (r *StatusReport) count() {
	s := StatusSummary{}
	for _, p := range r.Plans {
		if p.Error != "" {
			s.Unknown++
		}
		for _, t := range p.Targets {
			s.Targets++
			switch t.RPOState {
			case RPOStateMet:
				s.Met++
			case RPOStateBreached:
				s.Breached++
			case RPOStateNone:
				s.None++
			default:
				s.Unknown++
			}
		}
	}
	r.Summary = s
	switch {
	case s.Breached > 0:
		r.ExitCode = ExitBreached
	case s.Unknown > 0:
		r.ExitCode = ExitUnknown
	default:
		r.ExitCode = ExitOK
	}
}

// appliedTarget finds a target of the applied plan.
func appliedTarget(d *plan.Description, name string) (plan.Plan, plan.Target, bool) {
	if d == nil || d.Plan == nil {
		return plan.Plan{}, plan.Target{}, false
	}
	i := slices.IndexFunc(d.Plan.Targets, func(t plan.Target) bool { return t.Name == name })
	if i < 0 {
		return *d.Plan, plan.Target{}, false
	}
	return *d.Plan, d.Plan.Targets[i], true
}

// lastCreate is the latest entry of kind create, nil when there is none.
func lastCreate(inv *plan.Inventory) *plan.Entry {
	if inv == nil {
		return nil
	}
	var last *plan.Entry
	for i := range inv.Entries {
		e := &inv.Entries[i]
		if e.Kind == backup.KindCreate && (last == nil || !e.ScheduledAt.Before(last.ScheduledAt)) {
			last = e
		}
	}
	return last
}

// targetOf names a target's provider and resource: as its latest run
// recorded them, else as the applied plan's request names them.
func targetOf(d *plan.Description, ti plan.TargetInventory) (provider, resource string, rpo plan.Duration) {
	p, t, ok := appliedTarget(d, ti.Target)
	if ok {
		provider, resource, rpo = t.Request.Provider, t.Request.NamedResource(backup.KindCreate), p.RPOOf(t)
	} else if ti.Inventory != nil {
		rpo = ti.Inventory.RPO
	}
	if e := lastCreate(ti.Inventory); e != nil {
		if e.Provider != "" {
			provider = e.Provider
		}
		if e.Resource != "" {
			resource = e.Resource
		}
	}
	return provider, resource, rpo
}

// rpoView is a target's RPO state at a time.
type rpoView struct {
	state                   string
	breachedSince, breachAt *time.Time
}

// viewRPO judges a target's RPO at now. The inventory's open breach counts;
// so does a deadline that has passed though the inventory has not yet
// recorded it (its worker may be down). Before any good backup the RPO is
// counted from the inventory's first run, or, with no inventory at all,
// from the schedule's creation: a plan that never ran breaches too.
func viewRPO(rpo plan.Duration, inv *plan.Inventory, created, now time.Time) rpoView {
	if rpo <= 0 {
		return rpoView{state: RPOStateNone}
	}
	// The inventory's own deadline, under the applied plan's RPO; an
	// inventory recorded before it kept Since counts from its first entry,
	// and none at all from the schedule's creation.
	var view plan.Inventory
	if inv != nil {
		view = *inv
	}
	if view.Since.IsZero() && len(view.Entries) > 0 {
		view.Since = view.Entries[0].ScheduledAt
	}
	if view.Since.IsZero() {
		view.Since = created
	}
	view.RPO = rpo
	deadline, _ := view.BreachAt()
	if inv != nil && inv.Breached() {
		since := inv.Breaches[len(inv.Breaches)-1].Since.UTC()
		if !deadline.IsZero() && deadline.Before(since) {
			since = deadline.UTC()
		}
		return rpoView{state: RPOStateBreached, breachedSince: &since}
	}
	if deadline.IsZero() {
		return rpoView{state: RPOStateMet}
	}
	deadline = deadline.UTC()
	if !now.Before(deadline) {
		return rpoView{state: RPOStateBreached, breachedSince: &deadline}
	}
	return rpoView{state: RPOStateMet, breachAt: &deadline}
}

func inventoryLastGood(inv *plan.Inventory) *plan.Entry {
	if inv == nil {
		return nil
	}
	return inv.LastGood()
}

func rpoText(rpo plan.Duration) string {
	if rpo <= 0 {
		return RPOStateNone
	}
	return rpo.String()
}

// ageText writes an age to the minute (to the second under a minute), in
// plan duration form: "2d4h10m".
func ageText(d time.Duration) string {
	if d < time.Minute {
		return plan.Duration(d.Truncate(time.Second)).String()
	}
	return plan.Duration(d.Truncate(time.Minute)).String()
}

func targetStatus(d *plan.Description, ti plan.TargetInventory, now time.Time) TargetStatus {
	provider, resource, rpo := targetOf(d, ti)
	ts := TargetStatus{
		Target: ti.Target, Provider: provider, Resource: resource, RPO: rpoText(rpo),
		Holds: HoldCount{By: []string{}}, Inventory: InventoryOK,
	}
	switch {
	case ti.Error != "":
		ts.Inventory, ts.RPOState, ts.Error = InventoryUnreadable, RPOStateUnknown, ti.Error
		return ts
	case ti.Inventory == nil:
		ts.Inventory = InventoryNone
	}
	inv := ti.Inventory
	v := viewRPO(rpo, inv, d.CreatedAt, now)
	ts.RPOState, ts.BreachedSince, ts.BreachAt = v.state, v.breachedSince, v.breachAt
	if inv == nil {
		return ts
	}
	if g := inv.LastGood(); g != nil {
		at := g.GoodAt().UTC()
		age := max(now.Sub(at), 0)
		ts.LastGood = &LastGoodBackup{BackupID: g.BackupID, BackupName: g.BackupName, CreateTime: at,
			AgeSeconds: int64(age / time.Second), Age: ageText(age)}
	}
	if e := lastCreate(inv); e != nil {
		ts.LastRun = &LastRun{Outcome: e.Outcome, ScheduledAt: e.ScheduledAt.UTC(), Failure: e.Failure}
	}
	ts.Holds.Count = len(inv.Holds)
	for _, h := range inv.Holds {
		if !slices.Contains(ts.Holds.By, h.By) {
			ts.Holds.By = append(ts.Holds.By, h.By)
		}
	}
	slices.Sort(ts.Holds.By)
	for _, e := range inv.Entries {
		if e.BackupID == "" || e.DeletedAt != nil {
			continue
		}
		if e.Kind == backup.KindCopy {
			ts.Kept.Copy++
		} else {
			ts.Kept.Create++
		}
	}
	return ts
}

func (r *StatusReport) errorText() string {
	var breached, unknown []string
	for _, p := range r.Plans {
		if p.Error != "" {
			unknown = append(unknown, fmt.Sprintf("plan %s: RPO state unknown: %s", p.Plan, p.Error))
		}
		for _, t := range p.Targets {
			switch t.RPOState {
			case RPOStateBreached:
				breached = append(breached, fmt.Sprintf("plan %s target %s: RPO %s breached since %s", p.Plan, t.Target, t.RPO, t.BreachedSince.Format(time.RFC3339)))
			case RPOStateUnknown:
				unknown = append(unknown, fmt.Sprintf("plan %s target %s: RPO state unknown: %s", p.Plan, t.Target, t.Error))
			}
		}
	}
	lines := append(breached, unknown...)
	if r.Error != "" {
		lines = append([]string{r.Error}, lines...)
	}
	return strings.Join(lines, "\n")
}

// statusRank puts breached targets first, then unknown ones.
func statusRank(state string) int {
	switch state {
	case RPOStateBreached:
		return 0
	case RPOStateUnknown:
		return 1
	}
	return 2
}

func (r *StatusReport) writeText(w io.Writer) {
	if r.Error != "" {
		return // only the error, already on stderr
	}
	if len(r.Plans) == 0 {
		fmt.Fprintln(w, "no plans applied")
		return
	}
	when := func(t time.Time) string { return t.Local().Format(time.RFC3339) }
	type row struct {
		rank  int
		cells []string
	}
	var rows []row
	for _, p := range r.Plans {
		next, paused := "-", "no"
		if p.NextRun != nil {
			next = when(*p.NextRun)
		}
		if p.Paused {
			paused = "yes"
		}
		if p.Error != "" {
			rows = append(rows, row{1, []string{p.Plan, "-", "-", "-", "unknown", "-", "-", "-", next, paused, "-", "-"}})
			continue
		}
		for _, t := range p.Targets {
			state := t.RPOState
			switch {
			case t.RPOState == RPOStateBreached:
				state = "BREACHED since " + when(*t.BreachedSince)
			case t.Inventory == InventoryNone:
				state += " (no run yet)"
			}
			good, age := "-", "-"
			if g := t.LastGood; g != nil {
				good, age = g.BackupID+" "+when(g.CreateTime), g.Age
			}
			last := "-"
			if l := t.LastRun; l != nil {
				last = string(l.Outcome) + " " + when(l.ScheduledAt)
			}
			holds := "0"
			if t.Holds.Count > 0 {
				holds = fmt.Sprintf("%d (%s)", t.Holds.Count, strings.Join(t.Holds.By, ", "))
			}
			kept := fmt.Sprintf("%d", t.Kept.Create)
			if t.Kept.Copy > 0 {
				kept += " + " + count(t.Kept.Copy, "copy", "copies")
			}
			resource := t.Provider + "/" + t.Resource
			if t.Inventory == InventoryUnreadable {
				good, age, last, holds, kept = "?", "?", "?", "?", "?"
			}
			rows = append(rows, row{statusRank(t.RPOState), []string{p.Plan, t.Target, resource, t.RPO, state, good, age, last, next, paused, holds, kept}})
		}
	}
	// Breached first, then unknown; within a rank, plans and targets keep their order.
	slices.SortStableFunc(rows, func(a, b row) int { return cmp.Compare(a.rank, b.rank) })
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PLAN\tTARGET\tRESOURCE\tRPO\tRPO STATE\tLAST GOOD\tAGE\tLAST RUN\tNEXT RUN\tPAUSED\tHOLDS\tKEPT")
	for _, rw := range rows {
		fmt.Fprintln(tw, strings.Join(rw.cells, "\t"))
	}
	_ = tw.Flush()
	s := r.Summary
	fmt.Fprintf(w, "%s: %d met, %d breached, %d without RPO, %d unknown\n", count(s.Targets, "target", "targets"), s.Met, s.Breached, s.None, s.Unknown)
	for _, p := range r.Plans {
		if p.Error != "" {
			fmt.Fprintf(w, "plan %s: %s\n", p.Plan, p.Error)
		}
		for _, t := range p.Targets {
			if t.Error != "" {
				fmt.Fprintf(w, "plan %s target %s: inventory unreadable: %s\n", p.Plan, t.Target, t.Error)
			}
		}
	}
}
