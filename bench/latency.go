package main

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/backupflow/backupflow/bench/pollsim"
)

type latencyResult struct {
	N                int
	Backupflow, Bare []time.Duration
}

func quantileDur(ds []time.Duration, q float64) time.Duration {
	xs := make([]float64, len(ds))
	for i, d := range ds {
		xs[i] = float64(d)
	}
	return time.Duration(pollsim.Quantile(xs, q))
}

// measureStartLatency starts workflows one at a time on an otherwise idle
// worker, alternating backupflow and the bare one-activity workflow, and
// measures from just before the start call to the provider receiving the
// create call (backupflow) or the activity running (bare).
func measureStartLatency(ctx context.Context, c client.Client, w *inProcess, n int) (latencyResult, error) {
	res := latencyResult{N: n}
	bc := w.backupClient(c)
	warm := 10
	for i := range n + warm {
		req, err := memoryRequest(fmt.Sprintf("lat-%s-%d", runID, i), 0)
		if err != nil {
			return res, err
		}
		began := time.Now()
		h, err := bc.StartCreate(ctx, req)
		if err != nil {
			return res, err
		}
		if _, err := h.Result(ctx); err != nil {
			return res, err
		}
		at, ok := w.starts.get(h.WorkflowID)
		if !ok {
			return res, fmt.Errorf("the provider never saw a start for %s", h.WorkflowID)
		}
		if i >= warm {
			res.Backupflow = append(res.Backupflow, at.Sub(began))
		}

		id := fmt.Sprintf("lat-bare-%s-%d", runID, i)
		began = time.Now()
		run, err := w.startBaseline(ctx, c, baselineOne, id)
		if err != nil {
			return res, err
		}
		if err := run.Get(ctx, nil); err != nil {
			return res, err
		}
		at, ok = w.stamps.get(id)
		if !ok {
			return res, fmt.Errorf("the bare activity never ran for %s", id)
		}
		if i >= warm {
			res.Bare = append(res.Bare, at.Sub(began))
		}
	}
	progress("start latency: backupflow p50 %s, bare p50 %s", quantileDur(res.Backupflow, 0.5), quantileDur(res.Bare, 0.5))
	return res, nil
}
