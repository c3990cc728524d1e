package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/clouds"
)

// demoSeed picks the fixture resources the demo backs up.
const demoSeed = 1

// demoRun is one demo workflow and how it ended.
type demoRun struct {
	provider   string
	kind       backup.Kind
	workflowID string
	state      backup.State
	backupID   string
	elapsed    time.Duration
	err        error
}

// runDemo starts a CreateBackup per provider and, once the Spanner backup is
// done, a CopyBackup of it; prints their progress and a summary.
func (st *stack) runDemo(ctx context.Context) []demoRun {
	bc := backup.NewClient(st.client)
	bc.DataConverter = st.dataConverter
	t0 := time.Now()
	st.out.printf("\ndemo: a backup per provider, then a copy of the Spanner backup (each simulated backup takes %s)\n\n", st.opts.backupDuration)

	var mu sync.Mutex
	var runs []demoRun
	add := func(r demoRun) {
		mu.Lock()
		defer mu.Unlock()
		runs = append(runs, r)
	}
	var wg sync.WaitGroup
	for _, c := range st.clouds {
		wg.Go(func() {
			created := st.follow(ctx, bc, t0, c.Provider, backup.KindCreate, c.CreateSection(demoSeed))
			add(created)
			if c.CopySection == nil || created.state != backup.StateSucceeded {
				return
			}
			add(st.follow(ctx, bc, t0, c.Provider, backup.KindCopy, c.CopySection(demoSeed, created.backupID)))
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return runs // stopping: no summary
	}
	st.printSummary(runs, time.Since(t0))
	return runs
}

// follow starts one workflow and prints a line whenever its state or
// percent changes, until it ends.
func (st *stack) follow(ctx context.Context, bc *backup.Client, t0 time.Time, provider string, kind backup.Kind, section json.RawMessage) demoRun {
	run := demoRun{provider: provider, kind: kind}
	started := time.Now()
	line := func(state backup.State, percent float64, extra string) {
		st.out.printf("  %7s  %-8s  %-6s  %-10s %3.0f%%%s\n", "+"+time.Since(t0).Round(100*time.Millisecond).String(), provider, kind, state, percent, extra)
	}
	req := backup.Request{Provider: provider, Section: section}
	h, err := bc.Start(ctx, kind, req)
	var conflict *backup.ConflictError
	switch {
	case errors.As(err, &conflict):
		// A demo backup from an earlier start is still running (the state
		// survived a restart): follow it instead.
		h = bc.Handle(conflict.WorkflowID, conflict.RunID)
		st.out.printf("  %-8s  %-6s  following %s, still running from an earlier start\n", provider, kind, conflict.WorkflowID)
	case err != nil:
		run.state, run.err = backup.StateFailed, err
		line(run.state, 0, "  could not start: "+err.Error())
		return run
	case h.Attached:
		st.out.printf("  %-8s  %-6s  following %s, still running from an earlier start\n", provider, kind, h.WorkflowID)
	default:
		st.out.printf("  %7s  %-8s  %-6s  workflow %s\n", "+"+time.Since(t0).Round(100*time.Millisecond).String(), provider, kind, h.WorkflowID)
	}
	run.workflowID = h.WorkflowID

	last := ""
	res, err := h.Watch(ctx, 300*time.Millisecond, func(p backup.Progress) {
		if p.State.Terminal() {
			return // the result says how it ended
		}
		if key := fmt.Sprintf("%s %.0f", p.State, p.Percent); key != last {
			last = key
			line(p.State, p.Percent, "")
		}
	})
	run.elapsed = time.Since(started)
	if err != nil {
		run.state, run.err = backup.StateFailed, err
		if _, ok := backup.CleanupOf(err); ok {
			run.state = backup.StateCancelled
		}
		if ctx.Err() == nil {
			line(run.state, 0, "  "+err.Error())
		}
		return run
	}
	run.state, run.backupID = backup.StateSucceeded, res.Backup.ID
	run.elapsed = time.Duration(res.Elapsed)
	line(run.state, 100, "  backup "+res.Backup.ID)
	return run
}

func (st *stack) printSummary(runs []demoRun, elapsed time.Duration) {
	succeeded := 0
	for _, r := range runs {
		if r.state == backup.StateSucceeded {
			succeeded++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\ndemo finished in %s: %d of %d backups succeeded\n", elapsed.Round(100*time.Millisecond), succeeded, len(runs))
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  PROVIDER\tKIND\tSTATE\tELAPSED\tBACKUP")
	for _, p := range clouds.Providers() {
		for _, k := range []backup.Kind{backup.KindCreate, backup.KindCopy} {
			for _, r := range runs {
				if r.provider != p || r.kind != k {
					continue
				}
				what := r.backupID
				if r.err != nil {
					what = r.err.Error()
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", r.provider, r.kind, r.state, r.elapsed.Round(100*time.Millisecond), what)
			}
		}
	}
	_ = tw.Flush()
	if u := st.server.UIURL(); u != "" {
		fmt.Fprintf(&b, "\nIn the Web UI: %s\n  (try the query  BackupProvider = \"spanner\"  or  BackupState = \"SUCCEEDED\")\n", u)
	}
	fmt.Fprintf(&b, "Still serving; Ctrl-C stops everything.\n")
	st.out.printf("%s", b.String())
}
