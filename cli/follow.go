package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/backupflow/backupflow/backup"
)

// follow waits for the backup to end, refreshing its progress every
// interval, and records the outcome in rep.
func (c *Command) follow(ctx context.Context, h *backup.Handle, o options, rep *Report) {
	view := c.progressView(o)
	var last *backup.Progress
	res, err := h.Watch(ctx, o.interval, func(p backup.Progress) {
		last = &p
		if view != nil {
			view.Update(p)
		}
	})
	if ctx.Err() != nil { // interrupted: the backup is not ours to stop
		if view != nil {
			view.Done()
		}
		rep.Progress = last
		rep.ExitCode = ExitError
		rep.Error = "stopped waiting; the backup goes on"
		rep.Hint = "follow it with 'backupflow watch " + rep.WorkflowID + "', stop it with 'backupflow cancel " + rep.WorkflowID + "'"
		return
	}
	// The workflow's own final word: cleanup, last error, attempts.
	qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	if p, err := h.Progress(qctx); err == nil {
		last = &p
	}
	cancel()
	if last != nil {
		rep.Progress = last
	}
	settle(rep, res, err)
	if view != nil && rep.Status != "" {
		final := backup.Progress{State: backup.State(rep.Status)}
		if last != nil {
			final = *last
		}
		if rep.Status == StatusSucceeded {
			final.Percent = 100
		}
		final.State = backup.State(rep.Status)
		view.Update(final)
	}
	if view != nil {
		view.Done()
	}
}

// describeExecution reads what Temporal knows of a workflow's latest run.
func (c *Command) describeExecution(ctx context.Context, bc *backup.Client, id string) (*Report, *backup.Handle, error) {
	desc, err := bc.Temporal.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		if isNotFound(err) {
			return nil, nil, &InputError{Message: fmt.Sprintf("no workflow %s in this namespace", id)}
		}
		return nil, nil, fmt.Errorf("describe %s: %w", id, err)
	}
	info := desc.GetWorkflowExecutionInfo()
	rep := &Report{
		WorkflowID:   id,
		RunID:        info.GetExecution().GetRunId(),
		WorkflowType: info.GetType().GetName(),
		Status:       statusOf(info.GetStatus()),
	}
	if t := info.GetStartTime(); t != nil {
		st := t.AsTime()
		rep.StartTime = &st
	}
	if t := info.GetCloseTime(); t != nil {
		ct := t.AsTime()
		rep.CloseTime = &ct
	}
	return rep, bc.Handle(id, rep.RunID), nil
}

// describe reports a backup's state, and its result or failure once it ended.
func (c *Command) describe(ctx context.Context, args []string, o *options) Output {
	id, bc, closeClient, out := c.oneWorkflow(ctx, "describe", "<workflow-id> [flags]", args, o, nil)
	if out != nil {
		return out
	}
	defer closeClient()
	rep, h, err := c.describeExecution(ctx, bc, id)
	if err != nil {
		return errorReport(err)
	}
	qctx, cancel := context.WithTimeout(ctx, backup.ProgressQueryTimeout)
	p, err := h.Progress(qctx)
	cancel()
	if err == nil {
		rep.Progress = &p
	} else {
		rep.ProgressError = err.Error()
	}
	if rep.Status != StatusRunning {
		res, err := h.Result(ctx)
		status := rep.Status
		settle(rep, res, err)
		if rep.Status == "" { // could not read the outcome; keep Temporal's word
			rep.Status = status
		}
	}
	// describe succeeds when it could describe; the outcome is in status.
	if rep.Error == "" {
		rep.ExitCode = ExitOK
	}
	return rep
}

// ListQuery builds the visibility query for list's filters. Values are
// quoted as string literals, so a value can never change the query's shape.
func ListQuery(kind, provider, resource, state string) (string, error) {
	var clauses []string
	switch kind {
	case "":
		clauses = append(clauses, fmt.Sprintf("WorkflowType IN (%s, %s)", quote(backup.CreateBackupWorkflow), quote(backup.CopyBackupWorkflow)))
	case string(backup.KindCreate), string(backup.KindCopy):
		clauses = append(clauses, "WorkflowType = "+quote(backup.Kind(kind).WorkflowType()))
	default:
		return "", &InputError{Field: "--kind", Message: fmt.Sprintf("must be create or copy, got %q", kind)}
	}
	if provider != "" {
		clauses = append(clauses, backup.SearchAttributeProvider+" = "+quote(provider))
	}
	if resource != "" {
		clauses = append(clauses, backup.SearchAttributeResource+" = "+quote(resource))
	}
	if state != "" {
		s := backup.State(strings.ToUpper(state))
		if !slices.Contains(backup.IndexedStates, s) {
			names := make([]string, len(backup.IndexedStates))
			for i, v := range backup.IndexedStates {
				names[i] = string(v)
			}
			return "", &InputError{Field: "--state", Message: fmt.Sprintf("unknown state %q; one of %s", state, strings.Join(names, ", "))}
		}
		clauses = append(clauses, backup.SearchAttributeState+" = "+quote(string(s)))
	}
	return strings.Join(clauses, " AND "), nil
}

// quote makes a visibility-query string literal. The query parser reads
// backslash escapes inside quotes, so backslashes and quotes are escaped.
func quote(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(v) + "'"
}

// Listed is one backup workflow found by list.
type Listed struct {
	WorkflowID   string     `json:"workflowId"`
	RunID        string     `json:"runId"`
	WorkflowType string     `json:"workflowType"`
	Status       string     `json:"status"`
	Provider     string     `json:"provider,omitempty"`
	Resource     string     `json:"resource,omitempty"`
	State        string     `json:"state,omitempty"`
	StartTime    *time.Time `json:"startTime,omitempty"`
	CloseTime    *time.Time `json:"closeTime,omitempty"`
}

// ListReport is list's outcome.
type ListReport struct {
	Query     string   `json:"query"`
	Workflows []Listed `json:"workflows"`
	ExitCode  int      `json:"exitCode"`
}

func (r *ListReport) exitCode() int     { return r.ExitCode }
func (r *ListReport) errorText() string { return "" }
func (r *ListReport) writeText(w io.Writer) {
	if len(r.Workflows) == 0 {
		fmt.Fprintf(w, "no backup workflows match %s\n", r.Query)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKFLOW ID\tSTATUS\tSTATE\tSTARTED")
	for _, l := range r.Workflows {
		started := ""
		if l.StartTime != nil {
			started = l.StartTime.Local().Format(time.RFC3339)
		}
		state := l.State
		if state == "" {
			state = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", l.WorkflowID, l.Status, state, started)
	}
	_ = tw.Flush()
}

// list finds backup workflows through Temporal visibility (eventually
// consistent: a backup that just started or changed state may show a moment later).
func (c *Command) list(ctx context.Context, args []string, o *options) Output {
	var kind, provider, resource, state string
	var limit int
	pos, err := c.flags("list", "[--provider p] [--resource r] [--state s] [--kind create|copy] [--limit n] [flags]", args, o, func(fs *flag.FlagSet) {
		fs.StringVar(&provider, "provider", "", "only this provider ("+strings.Join(providers, ", ")+")")
		fs.StringVar(&resource, "resource", "", "only this database or instance (the BackupResource search attribute)")
		fs.StringVar(&state, "state", "", "only this state: RUNNING, CANCELLING, SUCCEEDED, FAILED, CANCELLED")
		fs.StringVar(&kind, "kind", "", "only create or copy workflows")
		fs.IntVar(&limit, "limit", 100, "at most this many workflows, newest first")
	})
	if out := flagOutcome(err); out != nil {
		return out
	}
	if len(pos) > 0 {
		return errorReport(&InputError{Message: fmt.Sprintf("unexpected argument %q", pos[0])})
	}
	if limit < 1 {
		return errorReport(&InputError{Field: "--limit", Message: "must be at least 1"})
	}
	query, err := ListQuery(kind, provider, resource, state)
	if err != nil {
		return errorReport(err)
	}
	bc, closeClient, err := c.connect(ctx, *o)
	if err != nil {
		return errorReport(err)
	}
	defer closeClient()
	out := &ListReport{Query: query, Workflows: []Listed{}}
	var token []byte
	for len(out.Workflows) < limit {
		resp, err := bc.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query:         query, // the client fills in its namespace
			PageSize:      int32(min(limit-len(out.Workflows), 1000)),
			NextPageToken: token,
		})
		if err != nil {
			return errorReport(fmt.Errorf("list (%s): %w", query, err))
		}
		for _, e := range resp.GetExecutions() {
			if len(out.Workflows) == limit {
				break
			}
			l := Listed{
				WorkflowID:   e.GetExecution().GetWorkflowId(),
				RunID:        e.GetExecution().GetRunId(),
				WorkflowType: e.GetType().GetName(),
				Status:       statusOf(e.GetStatus()),
			}
			l.Provider, _ = backup.Keyword(e, backup.SearchAttributeProvider)
			l.Resource, _ = backup.Keyword(e, backup.SearchAttributeResource)
			l.State, _ = backup.Keyword(e, backup.SearchAttributeState)
			if t := e.GetStartTime(); t != nil {
				st := t.AsTime()
				l.StartTime = &st
			}
			if t := e.GetCloseTime(); t != nil {
				ct := t.AsTime()
				l.CloseTime = &ct
			}
			out.Workflows = append(out.Workflows, l)
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			break
		}
	}
	return out
}
