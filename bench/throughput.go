package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/backupflow/backupflow/bench/pollsim"
)

// throughputRound is one batch of n workflows of one kind.
type throughputRound struct {
	Kind  string
	Round int
	N     int
	// Elapsed runs from the first start to the last result plus Settle.
	Elapsed time.Duration
	// Settle is how long the server kept working after the last result, on
	// what the batch left behind (visibility records, task cleanup).
	Settle time.Duration
	Failed int
	// CPU used during the batch by the server and by the bench process (workers and starters).
	ServerCPU, BenchCPU time.Duration
}

// cpuPerWorkflow is server + worker CPU per workflow.
func (r throughputRound) cpuPerWorkflow() time.Duration {
	return (r.ServerCPU + r.BenchCPU) / time.Duration(max(r.N, 1))
}

func (r throughputRound) rate() float64 { return float64(r.N-r.Failed) / r.Elapsed.Seconds() }

type throughputResult struct {
	N, Rounds, Starters int
	Slots               int
	Runs                []throughputRound
	Backupflow, Bare    float64 // mean workflows per second
}

func (r throughputResult) ratio() float64 { return r.Backupflow / r.Bare }

// pairedRatios are backupflow's rate ÷ the bare rate of the same round: the
// two batches ran back to back, so a change in the machine's load between
// rounds affects both sides of a ratio alike.
func (r throughputResult) pairedRatios(kind string) []float64 {
	bare := map[int]float64{}
	for _, run := range r.Runs {
		if run.Kind == kindBare {
			bare[run.Round] = run.rate()
		}
	}
	var out []float64
	for _, run := range r.Runs {
		if b := bare[run.Round]; run.Kind == kind && b > 0 {
			out = append(out, run.rate()/b)
		}
	}
	return out
}

// medianRatio is the median paired ratio: the throughput figure the target applies to.
func (r throughputResult) medianRatio(kind string) float64 {
	return pollsim.Quantile(r.pairedRatios(kind), 0.5)
}

// medianCPU is the median CPU per workflow of a kind's batches.
func (r throughputResult) medianCPU(kind string) time.Duration {
	var xs []float64
	for _, run := range r.Runs {
		if run.Kind == kind {
			xs = append(xs, float64(run.cpuPerWorkflow()))
		}
	}
	return time.Duration(pollsim.Quantile(xs, 0.5))
}

const (
	kindBackupflow = "backupflow CreateBackup"
	kindBare       = "bare workflow, 2 local + 2 regular no-op activities"
)

// runBatch starts n workflows with `starters` concurrent starters and waits
// for every result; it measures from the first start to the last result.
func runBatch(ctx context.Context, n, starters int, start func(ctx context.Context, i int) (func(context.Context) error, error)) (time.Duration, int, error) {
	var next atomic.Int64
	var failed atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	began := time.Now()
	for range starters {
		wg.Go(func() {
			var waits []func(context.Context) error
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					break
				}
				wait, err := start(ctx, i)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					failed.Add(1)
					continue
				}
				waits = append(waits, wait)
			}
			for _, w := range waits {
				if err := w(ctx); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return time.Since(began), int(failed.Load()), firstErr
}

// measureThroughput runs rounds of one batch of each kind on one worker,
// after a warm-up batch of each. A batch's time includes the server settling
// the work it left behind, so no batch pays for the one before it; and the
// order flips every round (bare first in odd rounds, backupflow first in
// even ones), so the server slowing as its database grows weighs on both
// kinds alike.
func measureThroughput(ctx context.Context, s *server, c client.Client, w *inProcess, n, rounds, starters int) (throughputResult, error) {
	res := throughputResult{N: n, Rounds: rounds, Starters: starters, Slots: w.app.Config.Worker.MaxConcurrentActivities}
	bc := w.backupClient(c)
	batch := func(kind, tag string, n int) (throughputRound, error) {
		start := func(ctx context.Context, i int) (func(context.Context) error, error) {
			run, err := w.startBaseline(ctx, c, baselineFour, fmt.Sprintf("bare-%s-%s-%d", runID, tag, i))
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context) error { return run.Get(ctx, nil) }, nil
		}
		if kind == kindBackupflow {
			start = func(ctx context.Context, i int) (func(context.Context) error, error) {
				req, err := memoryRequest(fmt.Sprintf("tp-%s-%s-%d", runID, tag, i), 0)
				if err != nil {
					return nil, err
				}
				h, err := bc.StartCreate(ctx, req)
				if err != nil {
					return nil, err
				}
				return func(ctx context.Context) error { _, err := h.Result(ctx); return err }, nil
			}
		}
		server0, _ := cpuTime(s.pid())
		bench0, _ := cpuTime(selfPID)
		el, failed, err := runBatch(ctx, n, starters, start)
		settle := s.settle()
		server1, _ := cpuTime(s.pid())
		bench1, _ := cpuTime(selfPID)
		r := throughputRound{Kind: kind, N: n, Elapsed: el + settle, Settle: settle, Failed: failed, ServerCPU: server1 - server0, BenchCPU: bench1 - bench0}
		if failed > 0 {
			return r, fmt.Errorf("%s: %d of %d workflows failed: %w", kind, failed, n, err)
		}
		return r, nil
	}
	kinds := []string{kindBare, kindBackupflow}
	warm := max(n/10, 20)
	for _, k := range kinds {
		if _, err := batch(k, "warm", warm); err != nil {
			return res, err
		}
	}
	sums := map[string]float64{}
	for r := range rounds {
		for _, k := range kinds {
			run, err := batch(k, fmt.Sprint(r), n)
			if err != nil {
				return res, err
			}
			run.Round = r + 1
			res.Runs = append(res.Runs, run)
			sums[k] += run.rate()
			progress("throughput: %s round %d: %d in %s (%.1f/s)", k, r+1, n, run.Elapsed.Round(time.Millisecond), run.rate())
		}
		slices.Reverse(kinds)
	}
	res.Bare, res.Backupflow = sums[kindBare]/float64(rounds), sums[kindBackupflow]/float64(rounds)
	return res, nil
}
