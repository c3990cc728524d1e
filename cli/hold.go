package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/plan"
)

const holdUsage = `Usage:
  backupflow hold add    --plan <plan> [--target <target>] [--backup <id>] --reason <text> [--by <who>]
  backupflow hold remove --plan <plan> [--target <target>] [--backup <id>]
  backupflow hold list   --plan <plan>

A hold keeps backups from deletion by retention and cleanup until it is
removed: one backup (--backup, with --target), every backup of a target
(--target), or of every target of the plan. A hold records who placed it
(--by, default $USER) and why (--reason); remove takes the hold away by the
same --target and --backup.
Holds live in the targets' inventories: a worker must be running, and a
target has an inventory once the plan has run for it.
`

// HoldReport is the outcome of hold add, remove and list: each target's
// holds as they are afterwards.
type HoldReport struct {
	Command string             `json:"command"`
	Plan    string             `json:"plan"`
	Holds   []plan.TargetHolds `json:"holds"`
	outcome
}

func (r *HoldReport) writeText(w io.Writer) {
	if r.Error != "" && len(r.Holds) == 0 {
		return
	}
	switch r.Command {
	case "add":
		fmt.Fprintf(w, "held on plan %s\n", r.Plan)
	case "remove":
		fmt.Fprintf(w, "removed the hold on plan %s\n", r.Plan)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tBACKUP\tBY\tSINCE\tREASON")
	for _, t := range r.Holds {
		if len(t.Holds) == 0 {
			fmt.Fprintf(tw, "%s\t(no holds)\t\t\t\n", t.Target)
		}
		for _, h := range t.Holds {
			held := h.BackupID
			if held == "" {
				held = "(all backups)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Target, held, h.By, h.At.Local().Format(time.RFC3339), h.Reason)
		}
	}
	_ = tw.Flush()
}

// holdRequest is what hold's flags ask for.
type holdRequest struct {
	plan, target, backupID, reason, by string
}

// check refuses what the inventories would (or could not) take.
func (h holdRequest) check(sub string) error {
	switch {
	case strings.TrimSpace(h.plan) == "":
		return &InputError{Field: "--plan", Message: "is required: the plan whose backups to hold"}
	case sub == "list":
		return nil
	case h.backupID != "" && h.target == "":
		return &InputError{Field: "--backup", Message: "needs --target: a backup belongs to one target"}
	case sub == "remove":
		return nil
	case strings.TrimSpace(h.reason) == "":
		return &InputError{Field: "--reason", Message: "is required: say why, it is kept with the hold"}
	case strings.TrimSpace(h.by) == "":
		return &InputError{Field: "--by", Message: "is required when $USER is not set: who holds"}
	}
	return nil
}

// hold runs "backupflow hold add|remove|list".
func (c *Command) hold(ctx context.Context, args []string, o *options) Output {
	if len(args) == 0 {
		return errorReport(&InputError{Message: "hold needs a subcommand: add, remove or list\n\n" + holdUsage})
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(c.Stdout, holdUsage)
		return helpShown{}
	case "add", "remove", "list":
	default:
		return errorReport(&InputError{Message: fmt.Sprintf("unknown hold subcommand %q; one of add, remove, list", sub)})
	}
	var h holdRequest
	synopsis := map[string]string{
		"add":    "--plan <plan> [--target <target>] [--backup <id>] --reason <text> [--by <who>] [flags]",
		"remove": "--plan <plan> [--target <target>] [--backup <id>] [flags]",
		"list":   "--plan <plan> [flags]",
	}[sub]
	pos, err := c.flags("hold "+sub, synopsis, rest, o, func(fs *flag.FlagSet) {
		fs.StringVar(&h.plan, "plan", "", "the plan")
		if sub == "list" {
			return
		}
		fs.StringVar(&h.target, "target", "", "one target of the plan (default: every target)")
		fs.StringVar(&h.backupID, "backup", "", "one backup, by the ID its inventory records (needs --target; default: all of the target's)")
		if sub == "add" {
			fs.StringVar(&h.reason, "reason", "", "why (required)")
			fs.StringVar(&h.by, "by", c.Env["USER"], "who holds (default $USER)")
		}
	})
	if out := flagOutcome(err); out != nil {
		return out
	}
	if len(pos) > 0 {
		return errorReport(&InputError{Message: fmt.Sprintf("unexpected argument %q: name the plan with --plan", pos[0])})
	}
	if err := h.check(sub); err != nil {
		return errorReport(err)
	}
	pc, closeClient, err := c.planClient(ctx, *o)
	if err != nil {
		return errorReport(err)
	}
	defer closeClient()
	rep := &HoldReport{Command: sub, Plan: h.plan, Holds: []plan.TargetHolds{}}
	if sub == "list" {
		if rep.Holds, err = pc.Holds(ctx, h.plan); err != nil {
			rep.Holds = []plan.TargetHolds{}
			rep.fail(err)
		}
		return rep
	}
	change := plan.HoldChange{Remove: sub == "remove", Hold: plan.Hold{BackupID: h.backupID, By: h.by, Reason: h.reason}}
	inventories, err := pc.Hold(ctx, h.plan, h.target, change)
	for _, inv := range inventories {
		rep.Holds = append(rep.Holds, plan.TargetHolds{Target: inv.Target, Holds: append([]plan.Hold{}, inv.Holds...)})
	}
	if err != nil {
		rep.fail(refusedHold(err))
	}
	return rep
}

// refusedHold makes an inventory's refusal of a hold change (a backup it
// does not hold, a hold without who or why) bad input: the inventory's
// validator names the field.
func refusedHold(err error) error {
	var app *temporal.ApplicationError
	if errors.As(err, &app) && (app.Type() == string(backup.InvalidArgument) || app.Type() == string(backup.NotFound)) {
		return &InputError{Message: err.Error()}
	}
	return err
}
