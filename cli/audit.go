package cli

import (
	"cmp"
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/plan"
)

const reportUsage = `Usage:
  backupflow report --since <30d|time> [--until <time>] [--plan <plan>]
                    [--format markdown|csv|json] [--out <file>]

Audit evidence for a window, per plan and target, from the inventories:
backups made, failures (failed, missed, expired, conflict, cancelled) with
their failure text, retention deletions with their reasons, holds (who, why,
since) and RPO breaches overlapping the window. --since and --until take a
duration back from now (30d, 12h, 1d12h) or an RFC 3339 time; --until
defaults to now. Times are written in UTC. --out writes the report to a file
instead of stdout. A worker must be running (inventories are queried).

Exit codes: 0 written; 7 an inventory or an applied plan could not be read
(the report says which and lacks its evidence); 2 and 5 as for every command.
`

// Report formats.
const (
	FormatMarkdown = "markdown"
	FormatCSV      = "csv"
	FormatJSON     = "json"
)

// Sections of the CSV report's section column.
const (
	SectionMade     = "made"
	SectionFailure  = "failure"
	SectionDeletion = "deletion"
	SectionHold     = "hold"
	SectionBreach   = "breach"
	// SectionError is a plan or target whose evidence could not be read.
	SectionError = "error"
)

// CSVHeader is the CSV report's fixed header.
var CSVHeader = []string{"section", "plan", "target", "provider", "resource", "time", "until", "kind", "backup_id", "backup_name", "outcome", "detail", "by", "rpo", "duration"}

// AuditReport is report's outcome: the evidence for [Since, Until) of
// each plan (by name) and target (in plan order). Its JSON document:
//
//	{"since", "until", "generatedAt", "plans": [{"plan", "error"?, "targets": [{"target",
//	  "provider", "resource", "rpo", "error"?, "noInventory"?, "summary": {"made",
//	  "failures", "deletions", "holds", "breaches"}, "made": [{"at", "kind", "backupId",
//	  "backupName"?, "workflowId"?}], "failures": [{"scheduledAt", "kind", "outcome",
//	  "backupId"?, "failure"?}], "deletions": [{"deletedAt", "kind", "backupId",
//	  "backupName"?, "reason"}], "holds": [{"backupId"?, "by", "reason", "at"}],
//	  "breaches": [{"since", "until"?, "open", "rpo", "lastGood"?, "durationSeconds",
//	  "duration"}]}]}], "error"?, "field"?, "exitCode"}
type AuditReport struct {
	Since       time.Time   `json:"since"`
	Until       time.Time   `json:"until"`
	GeneratedAt time.Time   `json:"generatedAt"`
	Plans       []AuditPlan `json:"plans"`
	format      string
	outcome
}

// AuditPlan is one plan's evidence; Error says why it could not be read.
type AuditPlan struct {
	Plan    string        `json:"plan"`
	Error   string        `json:"error,omitempty"`
	Targets []AuditTarget `json:"targets"`
}

// AuditTarget is one target's evidence for the window.
type AuditTarget struct {
	Target   string `json:"target"`
	Provider string `json:"provider"`
	Resource string `json:"resource"`
	RPO      string `json:"rpo"`
	// Error: the inventory could not be read, so the sections are empty
	// for want of evidence, not for want of events.
	Error string `json:"error,omitempty"`
	// NoInventory: the plan has not run for the target yet.
	NoInventory bool            `json:"noInventory,omitempty"`
	Summary     AuditSummary    `json:"summary"`
	Made        []AuditBackup   `json:"made"`
	Failures    []AuditFailure  `json:"failures"`
	Deletions   []AuditDeletion `json:"deletions"`
	Holds       []plan.Hold     `json:"holds"`
	Breaches    []AuditBreach   `json:"breaches"`
}

// AuditSummary counts a target's sections.
type AuditSummary struct {
	Made      int `json:"made"`
	Failures  int `json:"failures"`
	Deletions int `json:"deletions"`
	Holds     int `json:"holds"`
	Breaches  int `json:"breaches"`
}

// AuditBackup is a backup made in the window (at its create time).
type AuditBackup struct {
	At         time.Time   `json:"at"`
	Kind       backup.Kind `json:"kind"`
	BackupID   string      `json:"backupId"`
	BackupName string      `json:"backupName,omitempty"`
	WorkflowID string      `json:"workflowId,omitempty"`
}

// AuditFailure is a run in the window that left no good backup.
type AuditFailure struct {
	ScheduledAt time.Time    `json:"scheduledAt"`
	Kind        backup.Kind  `json:"kind"`
	Outcome     plan.Outcome `json:"outcome"`
	BackupID    string       `json:"backupId,omitempty"`
	Failure     string       `json:"failure,omitempty"`
}

// AuditDeletion is a backup retention deleted (or found gone) in the window.
type AuditDeletion struct {
	DeletedAt  time.Time   `json:"deletedAt"`
	Kind       backup.Kind `json:"kind"`
	BackupID   string      `json:"backupId"`
	BackupName string      `json:"backupName,omitempty"`
	Reason     string      `json:"reason"`
}

// AuditBreach is an RPO breach overlapping the window. Its duration runs
// to Until, or to the report's generation while it is open.
type AuditBreach struct {
	Since           time.Time  `json:"since"`
	Until           *time.Time `json:"until,omitempty"`
	Open            bool       `json:"open"`
	RPO             string     `json:"rpo"`
	LastGood        *time.Time `json:"lastGood,omitempty"`
	DurationSeconds int64      `json:"durationSeconds"`
	Duration        string     `json:"duration"`
}

// parseWhen reads --since or --until: an RFC 3339 time, or a duration
// back from now in plan files' form.
func parseWhen(flagName, s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, &InputError{Field: flagName, Message: "is required: a duration back from now (30d, 12h, 1d12h) or an RFC 3339 time (2026-11-01T00:00:00Z)"}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	d, err := plan.ParseDuration(s)
	if err != nil {
		return time.Time{}, &InputError{Field: flagName, Message: fmt.Sprintf(
			"must be a duration back from now (30d, 12h, 1d12h) or an RFC 3339 time (2026-11-01T00:00:00Z): %v", err)}
	}
	return now.Add(-d.Std()).UTC(), nil
}

// report runs "backupflow report".
func (c *Command) report(ctx context.Context, args []string, o *options) Output {
	var name, sinceText, untilText, format, out string
	pos, err := c.flags("report", "--since <30d|time> [--until <time>] [--plan <plan>] [--format markdown|csv|json] [--out <file>] [flags]", args, o, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "plan", "", "only this plan (default: every applied plan)")
		fs.StringVar(&sinceText, "since", "", "the window's start: a duration back from now (30d, 12h) or an RFC 3339 time (required)")
		fs.StringVar(&untilText, "until", "", "the window's end, in the same forms (default: now)")
		fs.StringVar(&format, "format", "", "markdown (default), csv or json")
		fs.StringVar(&out, "out", "", "write the report to this file instead of stdout")
	})
	if out := flagOutcome(err); out != nil {
		return out
	}
	if len(pos) > 0 {
		return errorReport(&InputError{Message: fmt.Sprintf("unexpected argument %q: name a plan with --plan\n\n%s", pos[0], reportUsage)})
	}
	switch {
	case format == "" && o.output == "json":
		format = FormatJSON
	case format == "":
		format = FormatMarkdown
	case format != FormatMarkdown && format != FormatCSV && format != FormatJSON:
		return errorReport(&InputError{Field: "--format", Message: fmt.Sprintf("must be markdown, csv or json, got %q", format)})
	case o.output == "json" && format != FormatJSON && out == "":
		return errorReport(&InputError{Field: "--format", Message: fmt.Sprintf("--output json prints the report as JSON: give --format json (or leave it out), or --output text for %s", format)})
	}
	now := c.now()
	since, err := parseWhen("--since", sinceText, now)
	if err != nil {
		return errorReport(err)
	}
	until := now.UTC()
	if untilText != "" {
		if until, err = parseWhen("--until", untilText, now); err != nil {
			return errorReport(err)
		}
	}
	if !since.Before(until) {
		return errorReport(&InputError{Field: "--since", Message: fmt.Sprintf("must be before --until: the window %s to %s is empty",
			since.Format(time.RFC3339), until.Format(time.RFC3339))})
	}
	if format == FormatJSON && out == "" {
		o.output = "json" // the document is the outcome, written by Run
	}
	pc, closeClient, err := c.planClient(ctx, *o)
	if err != nil {
		return errorReport(err)
	}
	defer closeClient()
	reads, err := readPlans(ctx, pc, name)
	if err != nil {
		rep := &AuditReport{Since: since, Until: until, GeneratedAt: now.UTC(), Plans: []AuditPlan{}, format: format}
		rep.fail(err)
		return rep
	}
	rep := buildAudit(reads, since, until, now)
	rep.format = format
	if out == "" {
		return rep
	}
	return writeAudit(rep, out)
}

// buildAudit gathers the evidence of [since, until) as of now.
func buildAudit(reads []planRead, since, until, now time.Time) *AuditReport {
	rep := &AuditReport{Since: since.UTC(), Until: until.UTC(), GeneratedAt: now.UTC(), Plans: []AuditPlan{}, format: FormatMarkdown}
	for _, r := range reads {
		ap := AuditPlan{Plan: r.name, Targets: []AuditTarget{}}
		switch {
		case r.err != nil:
			ap.Error = r.err.Error()
		case r.desc.PlanError != "":
			ap.Error = "the applied plan is unreadable: " + r.desc.PlanError
		default:
			for _, ti := range r.desc.Inventories {
				ap.Targets = append(ap.Targets, auditTarget(r.desc, ti, since, until, now))
			}
		}
		if ap.Error != "" {
			rep.ExitCode = ExitUnknown
		}
		for _, t := range ap.Targets {
			if t.Error != "" {
				rep.ExitCode = ExitUnknown
			}
		}
		rep.Plans = append(rep.Plans, ap)
	}
	return rep
}

// inWindow reports whether t is in [since, until).
func inWindow(t, since, until time.Time) bool { return !t.Before(since) && t.Before(until) }

func auditTarget(d *plan.Description, ti plan.TargetInventory, since, until, now time.Time) AuditTarget {
	provider, resource, rpo := targetOf(d, ti)
	at := AuditTarget{
		Target: ti.Target, Provider: provider, Resource: resource, RPO: rpoText(rpo),
		Made: []AuditBackup{}, Failures: []AuditFailure{}, Deletions: []AuditDeletion{}, Holds: []plan.Hold{}, Breaches: []AuditBreach{},
	}
	if ti.Error != "" {
		at.Error = ti.Error
		return at
	}
	inv := ti.Inventory
	if inv == nil {
		at.NoInventory = true
		inv = &plan.Inventory{}
	}
	for _, e := range inv.Entries {
		if e.Outcome.Good() && inWindow(e.GoodAt(), since, until) {
			at.Made = append(at.Made, AuditBackup{At: e.GoodAt().UTC(), Kind: e.Kind, BackupID: e.BackupID, BackupName: e.BackupName, WorkflowID: e.WorkflowID})
		}
		if !e.Outcome.Good() && inWindow(e.ScheduledAt, since, until) {
			at.Failures = append(at.Failures, AuditFailure{ScheduledAt: e.ScheduledAt.UTC(), Kind: e.Kind, Outcome: e.Outcome, BackupID: e.BackupID, Failure: e.Failure})
		}
		if e.DeletedAt != nil && inWindow(*e.DeletedAt, since, until) {
			at.Deletions = append(at.Deletions, AuditDeletion{DeletedAt: e.DeletedAt.UTC(), Kind: e.Kind, BackupID: e.BackupID, BackupName: e.BackupName, Reason: e.DeletedReason})
		}
	}
	// Holds are the current ones placed before the window's end: an
	// inventory keeps no record of holds since removed.
	for _, h := range inv.Holds {
		if h.At.Before(until) {
			h.At = h.At.UTC()
			at.Holds = append(at.Holds, h)
		}
	}
	breaches := slices.Clone(inv.Breaches)
	if v := viewRPO(rpo, ti.Inventory, d.CreatedAt, now); v.state == RPOStateBreached && (ti.Inventory == nil || !ti.Inventory.Breached()) {
		// Past the deadline though the inventory has not recorded it yet.
		var lastGood *time.Time
		if g := inventoryLastGood(ti.Inventory); g != nil {
			t := g.GoodAt()
			lastGood = &t
		}
		breaches = append(breaches, plan.Breach{Since: *v.breachedSince, LastGood: lastGood, RPO: rpo})
	}
	for _, b := range breaches {
		if !b.Since.Before(until) || (b.Until != nil && !b.Until.After(since)) {
			continue
		}
		end := now
		ab := AuditBreach{Since: b.Since.UTC(), Open: b.Until == nil, RPO: rpoText(b.RPO)}
		if b.Until != nil {
			u := b.Until.UTC()
			ab.Until, end = &u, u
		}
		if b.LastGood != nil {
			g := b.LastGood.UTC()
			ab.LastGood = &g
		}
		length := max(end.Sub(b.Since), 0)
		ab.DurationSeconds, ab.Duration = int64(length/time.Second), ageText(length)
		at.Breaches = append(at.Breaches, ab)
	}
	slices.SortStableFunc(at.Made, func(a, b AuditBackup) int {
		return cmp.Or(a.At.Compare(b.At), strings.Compare(string(a.Kind), string(b.Kind)), strings.Compare(a.BackupID, b.BackupID))
	})
	slices.SortStableFunc(at.Failures, func(a, b AuditFailure) int {
		return cmp.Or(a.ScheduledAt.Compare(b.ScheduledAt), strings.Compare(string(a.Kind), string(b.Kind)))
	})
	slices.SortStableFunc(at.Deletions, func(a, b AuditDeletion) int {
		return cmp.Or(a.DeletedAt.Compare(b.DeletedAt), strings.Compare(string(a.Kind), string(b.Kind)), strings.Compare(a.BackupID, b.BackupID))
	})
	slices.SortStableFunc(at.Holds, func(a, b plan.Hold) int {
		return cmp.Or(a.At.Compare(b.At), strings.Compare(a.BackupID, b.BackupID), strings.Compare(a.By, b.By))
	})
	slices.SortStableFunc(at.Breaches, func(a, b AuditBreach) int { return a.Since.Compare(b.Since) })
	at.Summary = AuditSummary{Made: len(at.Made), Failures: len(at.Failures), Deletions: len(at.Deletions), Holds: len(at.Holds), Breaches: len(at.Breaches)}
	return at
}

func (r *AuditReport) errorText() string {
	var lines []string
	if r.Error != "" {
		lines = append(lines, r.Error)
	}
	for _, p := range r.Plans {
		if p.Error != "" {
			lines = append(lines, fmt.Sprintf("plan %s: no evidence: %s", p.Plan, p.Error))
		}
		for _, t := range p.Targets {
			if t.Error != "" {
				lines = append(lines, fmt.Sprintf("plan %s target %s: no evidence, inventory unreadable: %s", p.Plan, t.Target, t.Error))
			}
		}
	}
	return strings.Join(lines, "\n")
}

func (r *AuditReport) writeText(w io.Writer) {
	if r.Error != "" {
		return // only the error, already on stderr
	}
	switch r.format {
	case FormatCSV:
		_ = r.writeCSV(w)
	case FormatJSON:
		_ = writeJSON(w, r)
	default:
		r.writeMarkdown(w)
	}
}

func utc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// mdCell makes text safe in a Markdown table cell: pipes escaped, line
// breaks as spaces.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\r\n", " ")
	return strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// mdTable writes a table, or "None." without rows.
func mdTable(w io.Writer, title string, header []string, rows [][]string) {
	fmt.Fprintf(w, "#### %s\n\n", title)
	if len(rows) == 0 {
		fmt.Fprint(w, "None.\n\n")
		return
	}
	fmt.Fprintf(w, "| %s |\n", strings.Join(header, " | "))
	fmt.Fprintf(w, "|%s\n", strings.Repeat(" --- |", len(header)))
	for _, row := range rows {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = mdCell(orDash(c))
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
	fmt.Fprintln(w)
}

// summaryLine is a target's evidence in one sentence.
func (t AuditTarget) summaryLine() string {
	s := t.Summary
	return fmt.Sprintf("RPO %s. %s made, %s, %s, %s, %s.", t.RPO,
		count(s.Made, "backup", "backups"), count(s.Failures, "failure", "failures"),
		count(s.Deletions, "retention deletion", "retention deletions"), count(s.Holds, "hold", "holds"),
		count(s.Breaches, "RPO breach", "RPO breaches"))
}

func (r *AuditReport) writeMarkdown(w io.Writer) {
	fmt.Fprintf(w, "# Backup audit report\n\nWindow: %s to %s (generated %s; times in UTC).\n\n", utc(r.Since), utc(r.Until), utc(r.GeneratedAt))
	if len(r.Plans) == 0 {
		fmt.Fprint(w, "No plans applied.\n")
		return
	}
	for _, p := range r.Plans {
		fmt.Fprintf(w, "## Plan %s\n\n", mdCell(p.Plan))
		if p.Error != "" {
			fmt.Fprintf(w, "No evidence: %s\n\n", mdCell(p.Error))
			continue
		}
		for _, t := range p.Targets {
			fmt.Fprintf(w, "### Target %s (%s %s)\n\n", mdCell(t.Target), mdCell(t.Provider), mdCell(t.Resource))
			if t.Error != "" {
				fmt.Fprintf(w, "No evidence: the inventory could not be read: %s\n\n", mdCell(t.Error))
				continue
			}
			line := t.summaryLine()
			if t.NoInventory {
				line += " No inventory yet: the plan has not run for this target."
			}
			fmt.Fprintf(w, "%s\n\n", line)
			var rows [][]string
			for _, b := range t.Made {
				rows = append(rows, []string{utc(b.At), string(b.Kind), b.BackupID, b.BackupName})
			}
			mdTable(w, "Backups made", []string{"Created", "Kind", "Backup ID", "Backup name"}, rows)
			rows = nil
			for _, f := range t.Failures {
				rows = append(rows, []string{utc(f.ScheduledAt), string(f.Kind), string(f.Outcome), f.BackupID, f.Failure})
			}
			mdTable(w, "Failures", []string{"Scheduled", "Kind", "Outcome", "Backup ID", "Failure"}, rows)
			rows = nil
			for _, d := range t.Deletions {
				rows = append(rows, []string{utc(d.DeletedAt), string(d.Kind), d.BackupID, d.BackupName, d.Reason})
			}
			mdTable(w, "Retention deletions", []string{"Deleted", "Kind", "Backup ID", "Backup name", "Reason"}, rows)
			rows = nil
			for _, h := range t.Holds {
				held := h.BackupID
				if held == "" {
					held = "(all backups)"
				}
				rows = append(rows, []string{held, h.By, utc(h.At), h.Reason})
			}
			mdTable(w, "Holds", []string{"Backup", "By", "Since", "Reason"}, rows)
			rows = nil
			for _, b := range t.Breaches {
				until := "open"
				if b.Until != nil {
					until = utc(*b.Until)
				}
				rows = append(rows, []string{utc(b.Since), until, b.RPO, b.Duration})
			}
			mdTable(w, "RPO breaches", []string{"Since", "Until", "RPO", "Duration"}, rows)
		}
	}
}

func (r *AuditReport) writeCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	rows := [][]string{CSVHeader}
	for _, p := range r.Plans {
		if p.Error != "" {
			rows = append(rows, []string{SectionError, p.Plan, "", "", "", "", "", "", "", "", "", p.Error, "", "", ""})
			continue
		}
		for _, t := range p.Targets {
			row := func(section string, rest ...string) {
				rows = append(rows, append([]string{section, p.Plan, t.Target, t.Provider, t.Resource}, rest...))
			}
			if t.Error != "" {
				row(SectionError, "", "", "", "", "", "", "inventory unreadable: "+t.Error, "", t.RPO, "")
				continue
			}
			// time, until, kind, backup_id, backup_name, outcome, detail, by, rpo, duration
			for _, b := range t.Made {
				row(SectionMade, utc(b.At), "", string(b.Kind), b.BackupID, b.BackupName, string(plan.OutcomeSucceeded), "", "", t.RPO, "")
			}
			for _, f := range t.Failures {
				row(SectionFailure, utc(f.ScheduledAt), "", string(f.Kind), f.BackupID, "", string(f.Outcome), f.Failure, "", t.RPO, "")
			}
			for _, d := range t.Deletions {
				row(SectionDeletion, utc(d.DeletedAt), "", string(d.Kind), d.BackupID, d.BackupName, "", d.Reason, "", t.RPO, "")
			}
			for _, h := range t.Holds {
				row(SectionHold, utc(h.At), "", "", h.BackupID, "", "", h.Reason, h.By, t.RPO, "")
			}
			for _, b := range t.Breaches {
				until := "open"
				if b.Until != nil {
					until = utc(*b.Until)
				}
				row(SectionBreach, utc(b.Since), until, "", "", "", "", "", "", b.RPO, b.Duration)
			}
		}
	}
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	return cw.Error()
}

// AuditWritten is report's outcome with --out: where the report went.
type AuditWritten struct {
	Out     string    `json:"out"`
	Format  string    `json:"format"`
	Since   time.Time `json:"since"`
	Until   time.Time `json:"until"`
	Plans   int       `json:"plans"`
	Targets int       `json:"targets"`
	report  *AuditReport
	outcome
}

func (a *AuditWritten) errorText() string {
	if a.Error != "" {
		return a.Error
	}
	return a.report.errorText()
}

func (a *AuditWritten) writeText(w io.Writer) {
	if a.Error != "" {
		return
	}
	fmt.Fprintf(w, "wrote the %s report (%s, %s, %s to %s) to %s\n", a.Format, count(a.Plans, "plan", "plans"),
		count(a.Targets, "target", "targets"), utc(a.Since), utc(a.Until), a.Out)
}

// writeAudit writes the report to path, with control characters escaped
// as on a terminal (JSON escapes its own).
func writeAudit(rep *AuditReport, path string) Output {
	var b strings.Builder
	if rep.format == FormatJSON {
		_ = writeJSON(&b, rep)
	} else {
		rep.writeText(&b)
	}
	text := b.String()
	if rep.format != FormatJSON {
		text = escapeControls(text)
	}
	a := &AuditWritten{Out: path, Format: rep.format, Since: rep.Since, Until: rep.Until, Plans: len(rep.Plans), report: rep}
	for _, p := range rep.Plans {
		a.Targets += len(p.Targets)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		a.fail(&InputError{Field: "--out", Message: err.Error()})
		return a
	}
	a.ExitCode = rep.ExitCode
	return a
}
