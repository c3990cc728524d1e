package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"

	"github.com/backupflow/backupflow/plan"
)

const retainUsage = `Usage:
  backupflow plan retain <plan> [--target <t>] [--dry-run] [-f <file>]

Runs a retention pass now on every target of the plan (or on one) and prints
each decision with its reason, what was deleted and what was refused.
--dry-run deletes nothing; with -f it judges by the retention in the file
instead of the applied one: what would applying this file delete?
`

// RetainReport is plan retain's outcome: one pass per target.
type RetainReport struct {
	Plan    string                 `json:"plan"`
	DryRun  bool                   `json:"dryRun"`
	Targets []plan.TargetRetention `json:"targets"`
	outcome
}

func (r *RetainReport) writeText(w io.Writer) {
	for _, t := range r.Targets {
		mode := "retention"
		if r.DryRun {
			mode = "dry run (nothing deleted)"
		}
		fmt.Fprintf(w, "plan %s target %s: %s\n", r.Plan, t.Target, mode)
		for _, d := range t.Report.Decisions {
			verdict := "keep  "
			if d.Delete {
				verdict = "delete"
			}
			fmt.Fprintf(w, "  %s %s %s: %s\n", verdict, d.Kind, d.BackupID, d.Reason)
		}
		for _, id := range t.Report.Deleted {
			fmt.Fprintf(w, "  deleted %s\n", id)
		}
		for _, d := range t.Report.Refused {
			fmt.Fprintf(w, "  refused %s %s: %s\n", d.Kind, d.BackupID, d.Reason)
		}
	}
}

func (c *Command) planRetain(ctx context.Context, args []string, o *options) Output {
	var path, target string
	var dryRun bool
	pos, err := c.flags("plan retain", "<plan> [flags]", args, o, func(fs *flag.FlagSet) {
		fileFlag(fs, &path)
		fs.StringVar(&target, "target", "", "only this target (default: every target of the plan)")
		fs.BoolVar(&dryRun, "dry-run", false, "decide and print, delete nothing")
	})
	if out := flagOutcome(err); out != nil {
		return out
	}
	if len(pos) != 1 || pos[0] == "" {
		return errorReport(&InputError{Message: fmt.Sprintf("expected one plan name, got %d arguments\n\n%s", len(pos), retainUsage)})
	}
	name := pos[0]
	var under *plan.Plan
	if path != "" {
		if !dryRun {
			return errorReport(&InputError{Field: "-f", Message: "judging by a file's retention is a dry run: add --dry-run (apply the file to change the plan)"})
		}
		f, rep := c.loadPlans(path)
		if rep.ExitCode != ExitOK {
			return rep
		}
		i := slices.IndexFunc(f.Plans, func(p plan.Plan) bool { return p.Name == name })
		if i < 0 {
			return errorReport(&InputError{Field: "-f", Message: fmt.Sprintf("%s has no plan %q", path, name)})
		}
		under = &f.Plans[i]
	}
	pc, closeClient, err := c.planClient(ctx, *o)
	if err != nil {
		return errorReport(err)
	}
	defer closeClient()
	rep := &RetainReport{Plan: name, DryRun: dryRun, Targets: []plan.TargetRetention{}}
	rep.Targets, err = pc.Retain(ctx, name, target, plan.RetainRequest{DryRun: dryRun}, under)
	if err != nil {
		rep.fail(err)
	}
	return rep
}
