package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/plan"
	"github.com/backupflow/backupflow/provider"
)

const planUsage = `Usage:
  backupflow plan validate -f <file>             check a plan file offline (no Temporal)
  backupflow plan diff     -f <file>             what apply would change, field by field
  backupflow plan apply    -f <file>             create or update each plan's schedule
  backupflow plan list                           every applied plan
  backupflow plan describe (<plan> | -f <file>)  schedule, runs, the plan as applied, inventories
  backupflow plan pause    (<plan> | -f <file>) [--note <text>]
  backupflow plan resume   (<plan> | -f <file>) [--note <text>]
  backupflow plan trigger  (<plan> | -f <file>)  start a run now
  backupflow plan delete   (<plan> | -f <file>)  remove the schedule; backups and inventories stay
  backupflow plan retain   <plan> [--target <t>] [--dry-run] [-f <file>]
                                                 run retention now; --dry-run deletes nothing

-f reads a plan file (YAML or JSON; - reads stdin) with one or more plans;
with pause, resume, trigger, describe and delete it acts on every plan in it.
`

// planSubcommands are plan's subcommands, in usage order.
var planSubcommands = []string{"validate", "diff", "apply", "list", "describe", "pause", "resume", "trigger", "delete", "retain"}

// plan runs "backupflow plan <subcommand>".
func (c *Command) plan(ctx context.Context, args []string, o *options) Output {
	if len(args) == 0 {
		return errorReport(&InputError{Message: "plan needs a subcommand: " + strings.Join(planSubcommands, ", ") + "\n\n" + planUsage})
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(c.Stdout, planUsage)
		return helpShown{}
	case "validate":
		return c.planValidate(rest, o)
	case "diff", "apply":
		return c.planChange(ctx, sub, rest, o)
	case "list":
		return c.planList(ctx, rest, o)
	case "describe", "pause", "resume", "trigger", "delete":
		return c.planAct(ctx, sub, rest, o)
	case "retain":
		return c.planRetain(ctx, rest, o)
	}
	return errorReport(&InputError{Message: fmt.Sprintf("unknown plan subcommand %q; one of %s", sub, strings.Join(planSubcommands, ", "))})
}

// fileFlag registers -f and --file for the same path.
func fileFlag(fs *flag.FlagSet, path *string) {
	fs.StringVar(path, "f", "", "the plan file (YAML or JSON); - reads stdin")
	fs.StringVar(path, "file", "", "same as -f")
}

// readPlanFile reads the file -f names.
func (c *Command) readPlanFile(path string) ([]byte, error) {
	switch path {
	case "":
		return nil, &InputError{Field: "-f", Message: "a plan file is required: -f <file>"}
	case "-":
		b, err := io.ReadAll(c.Stdin)
		if err != nil {
			return nil, &InputError{Field: "-f", Message: "read stdin: " + err.Error()}
		}
		return b, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &InputError{Field: "-f", Message: err.Error()}
	}
	return b, nil
}

// PlanProblem is one reason a plan file was refused: where (plan, target,
// field, empty when not inside one) and the rule broken.
type PlanProblem struct {
	Plan   string `json:"plan,omitempty"`
	Target string `json:"target,omitempty"`
	Field  string `json:"field,omitempty"`
	Rule   string `json:"rule"`
}

func (p PlanProblem) String() string {
	return (&plan.FieldError{Plan: p.Plan, Target: p.Target, Field: p.Field, Rule: p.Rule}).Error()
}

// problemsOf lists every problem Parse or Validate reported (they join one
// error per problem).
func problemsOf(err error) []PlanProblem {
	var out []PlanProblem
	var walk func(error)
	walk = func(err error) {
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range joined.Unwrap() {
				walk(e)
			}
			return
		}
		var fe *plan.FieldError
		var pe *plan.PathError
		switch {
		case errors.As(err, &fe):
			out = append(out, PlanProblem{Plan: fe.Plan, Target: fe.Target, Field: fe.Field, Rule: fe.Rule})
		case errors.As(err, &pe):
			out = append(out, PlanProblem{Field: pe.Path, Rule: pe.Problem})
		default:
			out = append(out, PlanProblem{Rule: err.Error()})
		}
	}
	walk(err)
	return out
}

// checkSection checks a provider section by its driver's documented rules,
// offline, for plan.File.Validate.
func checkSection(name string, kind backup.Kind, section json.RawMessage) error {
	_, err := provider.ValidateRequest(name, kind, section, plan.SampleTime)
	var pe *provider.Error
	if errors.As(err, &pe) && pe.Field != "" {
		rule := pe.Rule
		if rule == "" {
			rule = pe.Message
		}
		return &plan.FieldError{Field: pe.Field, Rule: rule}
	}
	return err
}

// loadPlans reads, parses and validates a plan file; a refused file is a
// *ValidationReport listing every problem.
func (c *Command) loadPlans(path string) (plan.File, *ValidationReport) {
	rep := &ValidationReport{File: path, Plans: []string{}}
	raw, err := c.readPlanFile(path)
	if err != nil {
		rep.fail(err)
		return plan.File{}, rep
	}
	f, err := plan.Parse(raw)
	if err == nil {
		err = f.Validate(checkSection)
	}
	if err != nil {
		rep.Problems = problemsOf(err)
		rep.ExitCode = ExitBadInput
		rep.Error = fmt.Sprintf("%s: %d problems", path, len(rep.Problems))
		if len(rep.Problems) == 1 {
			rep.Error = path + ": 1 problem"
		}
		return f, rep
	}
	for _, p := range f.Plans {
		rep.Plans = append(rep.Plans, p.Name)
	}
	return f, rep
}

// outcome is what every plan and hold report shares: the error that
// stopped the command (with the flag or field at fault) and the exit code.
type outcome struct {
	Error    string `json:"error,omitempty"`
	Field    string `json:"field,omitempty"`
	ExitCode int    `json:"exitCode"`
}

func (o *outcome) exitCode() int     { return o.ExitCode }
func (o *outcome) errorText() string { return o.Error }

// fail records err as errorReport classifies it (bad input, a plan never
// applied: 2; anything else: 5).
func (o *outcome) fail(err error) {
	rep := errorReport(err)
	o.Error, o.Field, o.ExitCode = rep.Error, rep.Field, rep.ExitCode
}

// ValidationReport is plan validate's outcome (and diff's and apply's when
// the file is refused).
type ValidationReport struct {
	File string `json:"file"`
	// Plans names the plans of a valid file.
	Plans    []string      `json:"plans"`
	Problems []PlanProblem `json:"problems,omitempty"`
	outcome
}

func (r *ValidationReport) errorText() string {
	if len(r.Problems) == 0 {
		return r.Error
	}
	lines := []string{r.Error + ":"}
	for _, p := range r.Problems {
		lines = append(lines, "  "+p.String())
	}
	return strings.Join(lines, "\n")
}

func (r *ValidationReport) writeText(w io.Writer) {
	if r.ExitCode == ExitOK {
		fmt.Fprintf(w, "%s: valid, %d plans: %s\n", r.File, len(r.Plans), strings.Join(r.Plans, ", "))
	}
}

func (c *Command) planValidate(args []string, o *options) Output {
	var path string
	pos, err := c.flags("plan validate", "-f <file> [flags]", args, o, func(fs *flag.FlagSet) { fileFlag(fs, &path) })
	if out := flagOutcome(err); out != nil {
		return out
	}
	if len(pos) > 0 {
		return errorReport(&InputError{Message: fmt.Sprintf("unexpected argument %q: give the plan file with -f", pos[0])})
	}
	_, rep := c.loadPlans(path)
	return rep
}

// planClient connects to Temporal and returns the plan client; the caller
// closes it with closeClient.
func (c *Command) planClient(ctx context.Context, o options) (*plan.Client, func(), error) {
	bc, closeClient, err := c.connect(ctx, o)
	if err != nil {
		return nil, nil, err
	}
	return &plan.Client{Temporal: bc.Temporal, TaskQueue: bc.TaskQueue, DataConverter: bc.DataConverter}, closeClient, nil
}

// ChangeReport is plan diff's and apply's outcome: one change per plan, in
// file order, up to the first that failed.
type ChangeReport struct {
	Command string        `json:"command"`
	Changes []plan.Change `json:"changes"`
	outcome
}

func (r *ChangeReport) writeText(w io.Writer) {
	applied := r.Command == "apply"
	for _, ch := range r.Changes {
		switch {
		case ch.Kind == plan.ChangeNone && applied:
			fmt.Fprintf(w, "plan %s: unchanged\n", ch.Plan)
		case ch.Kind == plan.ChangeNone:
			fmt.Fprintf(w, "plan %s: no change\n", ch.Plan)
		case applied:
			fmt.Fprintf(w, "plan %s: %sd schedule %s\n", ch.Plan, ch.Kind, ch.ScheduleID)
		default:
			fmt.Fprintf(w, "plan %s: would %s schedule %s\n", ch.Plan, ch.Kind, ch.ScheduleID)
		}
		for _, f := range ch.Fields {
			if ch.Kind == plan.ChangeCreate {
				fmt.Fprintf(w, "  %s: %s\n", f.Field, f.To)
			} else {
				fmt.Fprintf(w, "  %s: %s -> %s\n", f.Field, orNone(f.From), orNone(f.To))
			}
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// planChange runs diff and apply: the file is validated first, then each
// plan is compared with (or applied to) its schedule.
func (c *Command) planChange(ctx context.Context, sub string, args []string, o *options) Output {
	var path string
	pos, err := c.flags("plan "+sub, "-f <file> [flags]", args, o, func(fs *flag.FlagSet) { fileFlag(fs, &path) })
	if out := flagOutcome(err); out != nil {
		return out
	}
	if len(pos) > 0 {
		return errorReport(&InputError{Message: fmt.Sprintf("unexpected argument %q: give the plan file with -f", pos[0])})
	}
	f, invalid := c.loadPlans(path)
	if invalid.ExitCode != ExitOK {
		return invalid
	}
	pc, closeClient, err := c.planClient(ctx, *o)
	if err != nil {
		return errorReport(err)
	}
	defer closeClient()
	rep := &ChangeReport{Command: sub, Changes: []plan.Change{}}
	for _, p := range f.Plans {
		var ch plan.Change
		var err error
		if sub == "apply" {
			ch, err = pc.Apply(ctx, p)
		} else {
			ch, err = pc.Diff(ctx, p)
		}
		if err != nil {
			rep.fail(err)
			break
		}
		rep.Changes = append(rep.Changes, ch)
	}
	return rep
}

// PlanListReport is plan list's outcome.
type PlanListReport struct {
	Plans []plan.Summary `json:"plans"`
	outcome
}

func (r *PlanListReport) writeText(w io.Writer) {
	if len(r.Plans) == 0 {
		if r.Error == "" {
			fmt.Fprintln(w, "no plans applied")
		}
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PLAN\tSCHEDULE\tPAUSED\tNEXT RUN\tLAST RUN")
	for _, p := range r.Plans {
		next, last := "-", "-"
		if p.NextRun != nil {
			next = p.NextRun.Local().Format(time.RFC3339)
		}
		if p.LastRun != nil {
			last = p.LastRun.StartedAt.Local().Format(time.RFC3339) + " " + p.LastRun.WorkflowID
		}
		fmt.Fprintf(tw, "%s\t%s\t%t\t%s\t%s\n", p.Name, p.Spec, p.Paused, next, last)
	}
	_ = tw.Flush()
}

// planList lists applied plans through Temporal visibility (eventually
// consistent: a plan just applied or deleted may show a moment later).
func (c *Command) planList(ctx context.Context, args []string, o *options) Output {
	pos, err := c.flags("plan list", "[flags]", args, o, nil)
	if out := flagOutcome(err); out != nil {
		return out
	}
	if len(pos) > 0 {
		return errorReport(&InputError{Message: fmt.Sprintf("unexpected argument %q", pos[0])})
	}
	pc, closeClient, err := c.planClient(ctx, *o)
	if err != nil {
		return errorReport(err)
	}
	defer closeClient()
	rep := &PlanListReport{Plans: []plan.Summary{}}
	if rep.Plans, err = pc.List(ctx); err != nil {
		rep.Plans = []plan.Summary{}
		rep.fail(err)
	}
	return rep
}

// DeleteKeeps is what plan delete says it leaves alone.
const DeleteKeeps = "no backup and no inventory was deleted: the plan's backups stay, " +
	"with their inventories, until retention (of a plan that has them) or an operator removes them"

// PlanActionReport is the outcome of describe, pause, resume, trigger and
// delete: one entry per plan, up to the first that failed.
type PlanActionReport struct {
	Command string        `json:"command"`
	Plans   []PlanActedOn `json:"plans"`
	outcome
}

// PlanActedOn is one plan a command acted on.
type PlanActedOn struct {
	Plan       string `json:"plan"`
	ScheduleID string `json:"scheduleId"`
	// Note is pause's and resume's note; for delete, what was kept.
	Note        string            `json:"note,omitempty"`
	Description *plan.Description `json:"description,omitempty"`
}

func (r *PlanActionReport) writeText(w io.Writer) {
	for i, p := range r.Plans {
		switch r.Command {
		case "describe":
			if i > 0 {
				fmt.Fprintln(w)
			}
			writeDescription(w, p.Description)
		case "pause":
			fmt.Fprintf(w, "paused plan %s (%s): %s\n", p.Plan, p.ScheduleID, p.Note)
			fmt.Fprintf(w, "  applying a plan file in which %s is not paused resumes it\n", p.Plan)
		case "resume":
			fmt.Fprintf(w, "resumed plan %s (%s): %s\n", p.Plan, p.ScheduleID, p.Note)
		case "trigger":
			fmt.Fprintf(w, "triggered a run of plan %s (%s); see it with: backupflow plan describe %s\n", p.Plan, p.ScheduleID, p.Plan)
		case "delete":
			fmt.Fprintf(w, "deleted schedule %s of plan %s; %s\n", p.ScheduleID, p.Plan, p.Note)
		}
	}
}

// writeDescription writes one plan's description as aligned rows.
func writeDescription(w io.Writer, d *plan.Description) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t%s\n", k, fmt.Sprintf(format, args...)) }
	when := func(t time.Time) string { return t.Local().Format(time.RFC3339) }
	row("plan", "%s", d.Name)
	row("schedule", "%s", d.ScheduleID)
	row("spec", "%s in %s", d.Spec, d.TimeZone)
	if d.Jitter != 0 {
		row("jitter", "%s", d.Jitter)
	}
	row("overlap", "%s", d.Overlap)
	row("catch-up window", "%s", d.CatchupWindow)
	paused := fmt.Sprint(d.Paused)
	if d.Note != "" {
		paused += " (" + d.Note + ")"
	}
	row("paused", "%s", paused)
	for i, t := range d.NextRuns {
		if i == 3 {
			break
		}
		row("next run", "%s", when(t))
	}
	for _, r := range d.RecentRuns[max(0, len(d.RecentRuns)-5):] {
		row("recent run", "%s %s", when(r.StartedAt), r.WorkflowID)
	}
	for _, r := range d.Running {
		row("running", "%s", r.WorkflowID)
	}
	if d.PlanError != "" {
		row("applied plan", "unreadable: %s", d.PlanError)
	}
	if d.Plan != nil {
		row("completion window", "%s", d.Plan.CompletionWindow)
	}
	for _, ti := range d.Inventories {
		row("target "+ti.Target, "%s", inventoryText(ti))
	}
	_ = tw.Flush()
}

// inventoryText sums up one target's inventory.
func inventoryText(ti plan.TargetInventory) string {
	switch {
	case ti.Error != "":
		return "inventory unreadable: " + ti.Error
	case ti.Inventory == nil:
		return "no inventory yet (the plan's first run makes it)"
	}
	inv := ti.Inventory
	good, deleted := 0, 0
	for _, e := range inv.Entries {
		if e.Outcome.Good() && e.DeletedAt == nil {
			good++
		}
		if e.DeletedAt != nil {
			deleted++
		}
	}
	text := fmt.Sprintf("%s, %s kept, %d deleted by retention, %s",
		count(len(inv.Entries), "entry", "entries"), count(good, "good backup", "good backups"), deleted, count(len(inv.Holds), "hold", "holds"))
	if n := len(inv.Entries); n > 0 {
		last := inv.Entries[n-1]
		text += fmt.Sprintf("; last %s at %s", last.Outcome, last.ScheduledAt.Local().Format(time.RFC3339))
	}
	return text
}

// count writes n with the noun's singular or plural.
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// planAct runs describe, pause, resume, trigger and delete on one named
// plan or on every plan of a file.
func (c *Command) planAct(ctx context.Context, sub string, args []string, o *options) Output {
	var path, note string
	pos, err := c.flags("plan "+sub, "(<plan> | -f <file>) [flags]", args, o, func(fs *flag.FlagSet) {
		fileFlag(fs, &path)
		if sub == "pause" || sub == "resume" {
			fs.StringVar(&note, "note", sub+"d with backupflow plan "+sub, "why, kept in the schedule's note")
		}
	})
	if out := flagOutcome(err); out != nil {
		return out
	}
	var names []string
	switch {
	case path != "" && len(pos) > 0:
		return errorReport(&InputError{Field: "-f", Message: "give a plan name or -f <file>, not both"})
	case path != "":
		raw, err := c.readPlanFile(path)
		if err != nil {
			return errorReport(err)
		}
		f, err := plan.Parse(raw)
		if err != nil {
			rep := &ValidationReport{File: path, Plans: []string{}, Problems: problemsOf(err)}
			rep.Error, rep.ExitCode = path+": not a plan file", ExitBadInput
			return rep
		}
		for i, p := range f.Plans {
			if p.Name == "" {
				return errorReport(&InputError{Field: fmt.Sprintf("plans[%d].name", i), Message: "is required"})
			}
			names = append(names, p.Name)
		}
	case len(pos) == 1 && pos[0] != "":
		names = pos
	default:
		return errorReport(&InputError{Message: fmt.Sprintf("expected one plan name or -f <file>, got %d arguments", len(pos))})
	}
	pc, closeClient, err := c.planClient(ctx, *o)
	if err != nil {
		return errorReport(err)
	}
	defer closeClient()
	rep := &PlanActionReport{Command: sub, Plans: []PlanActedOn{}}
	for _, name := range names {
		done := PlanActedOn{Plan: name, ScheduleID: plan.ScheduleID(name)}
		var err error
		switch sub {
		case "describe":
			done.Description, err = pc.Describe(ctx, name)
		case "pause":
			done.Note, err = note, pc.Pause(ctx, name, note)
		case "resume":
			done.Note, err = note, pc.Resume(ctx, name, note)
		case "trigger":
			err = pc.Trigger(ctx, name)
		case "delete":
			done.Note, err = DeleteKeeps, pc.Delete(ctx, name)
		}
		if err != nil {
			rep.fail(err)
			break
		}
		rep.Plans = append(rep.Plans, done)
	}
	return rep
}
