package reliability

import (
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/internal/testenv"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/simulator/simkit"
	"github.com/backupflow/backupflow/wiring"
)

// TestProviderFaults runs backups over every provider while, for a fault
// window, the simulators fail a quarter of all calls at random (5xx,
// throttling with a retry hint, and responses lost after the call was
// applied), latency spikes come and go, and throttling answers carry a hint
// longer than the class back-off.
//
// Every backup must succeed, exactly once, and nothing there before be
// deleted; no attempt may follow a hinted failure sooner than the hint; and
// provider calls stay within a stated bound. Where a provider keeps no
// ownership marker, a create whose answer a fault lost cannot be adopted: its
// workflow fails with AlreadyExists and keeps that backup, counted as "kept,
// unproven" (unproven_test.go).
//
// Hints are checked at the driver boundary: the worker runs in-process with
// the real drivers (built by wiring.NewRegistry from the clouds' environment)
// wrapped in a recorder that notes, for each driver call, the activity attempt
// that made it, its start and end, and the error's class and RetryAfter. The
// drivers turn their SDKs' retries off, so a driver call's start is when its
// first provider call goes out; Temporal schedules the next attempt on the
// server, so "next attempt's first call >= failed call's end + hint" is the
// property on the wire.
func TestProviderFaults(t *testing.T) {
	t.Parallel()
	rng := newRNG(t)
	perProvider := count(4, 30)
	const faultRate = 0.25
	// longHint exceeds Throttled's first class back-off (5 s), so a driver or
	// activity that dropped the provider's hint would retry too soon.
	const longHint = 8 * time.Second

	set := startClouds(t, simkit.Options{Duration: 2 * time.Second})
	e := testenv.Start(t, true)
	cfg := e.ConfigFromEnv(t, set.Env())
	// Few polls per backup: see the call bound below.
	cfg.Poll = wiring.PollConfig{Min: time.Second, Max: 2 * time.Second, DelayFloor: time.Second, DelayFraction: 0.05}
	rec := &recorder{}
	e.StartWorker(t, cfg, recording(t, set, cfg, rec)...)
	secrets := secretValues(t, set)

	before := inventories(set)
	t0 := time.Now() // the fault window opens
	callsBefore, faultsBefore, injectedLong := map[string]int{}, map[string]int{}, map[string]int{}
	for _, c := range set {
		callsBefore[c.Provider], faultsBefore[c.Provider] = c.Simulator.Calls(), c.Simulator.Faults()
		c.Simulator.SetFaultRate(faultRate, int64(rng.Uint64()>>1))
		c.Simulator.FailNext(provider.Throttled, 1, longHint) // the first call: Validate's Preflight, attempt 1
		injectedLong[c.Provider] = 1
	}
	faultWindow := time.Duration(count(15, 90)) * time.Second
	// The run's tail is the back-off scheduled in the window, which the class
	// back-off caps at 5 minutes (provider.Class.RetryDelay), then the steps
	// left (start, polls, finalize) on a loaded 2-core machine.
	ctx := testenv.Context(t, faultWindow+8*time.Minute)
	runs := startCreates(t, e.BackupClient(), set, 0, perProvider)

	// For faultWindow: latency spikes and more long-hint throttles at seeded
	// random moments, on top of the random faults. Then the faults stop, so
	// the run ends within the back-off the window's failures scheduled: the
	// class back-off doubles per attempt (Unavailable 1 s, Throttled 5 s), so
	// a window of W seconds holds at most ~log2(W) failures of one activity
	// and its last scheduled wait is at most ~W + 5 s·2^k (k < log2(W)).
	chaos := rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))
	spikes := 0
	chaosDone := make(chan struct{})
	go func() {
		defer close(chaosDone)
		for time.Since(t0) < faultWindow && ctx.Err() == nil && spikes < 1000 {
			wait(ctx, between(chaos, 200*time.Millisecond, 1500*time.Millisecond))
			c := set[chaos.IntN(len(set))]
			c.Simulator.SetLatency(between(chaos, 300*time.Millisecond, 2*time.Second))
			wait(ctx, between(chaos, 200*time.Millisecond, time.Second))
			c.Simulator.SetLatency(0)
			if spikes%2 == 0 {
				// One long-hint throttle at a time per provider: queued
				// faults would otherwise pile up for whatever call comes
				// next, long after the window.
				c := set[chaos.IntN(len(set))]
				if servedLongHints(rec, c.Provider, longHint) >= injectedLong[c.Provider] {
					c.Simulator.FailNext(provider.Throttled, 1, longHint)
					injectedLong[c.Provider]++
				}
			}
			spikes++
		}
		for _, c := range set {
			c.Simulator.SetFaultRate(0, 0)
		}
	}()

	results, kept := map[string][]string{}, map[string][][]string{}
	maxAttempts := 0
	for _, r := range runs {
		res, err := r.Handle.Result(ctx)
		if ids, ok := failedUnproven(err); ok && r.Cloud.ProofByCreateResponseOnly {
			t.Logf("%s seed %d: failed AlreadyExists, keeping %v as unproven", r.Cloud.Provider, r.Seed, ids)
			kept[r.Cloud.Provider] = append(kept[r.Cloud.Provider], ids)
		} else {
			require.NoError(t, err, "%s seed %d", r.Cloud.Provider, r.Seed)
			results[r.Cloud.Provider] = append(results[r.Cloud.Provider], res.Backup.ID)
			maxAttempts = max(maxAttempts, res.Attempts)
		}
		h, err := history(ctx, e.Client, r.Handle.WorkflowID, r.Handle.RunID)
		require.NoError(t, err)
		assertNoSecrets(t, "the history of "+r.Handle.WorkflowID, historyJSON(t, h), secrets)
	}
	<-chaosDone
	faults, calls, unproven := 0, 0, 0
	for _, c := range set {
		created := added(before[c.Provider], c.Simulator.Inventory())
		want := results[c.Provider]
		sort.Strings(want)
		keptHere := keptUnproven(t, c, kept[c.Provider], created, want)
		unproven += len(keptHere)
		assert.Equal(t, union(want, keptHere), created, "%s: exactly the results and the backups kept as unproven, no duplicates, nothing else", c.Provider)
		survivors(t, c, before[c.Provider])
		n, f := c.Simulator.Calls()-callsBefore[c.Provider], c.Simulator.Faults()-faultsBefore[c.Provider]
		calls += n
		faults += f
		// Call bound. Per backup, without faults, the steps are: Preflight,
		// Start, the polls, Describe; each makes at most maxCallsPerStep
		// provider calls (a list plus a get, a token, a job lookup). With a
		// 2 s backup, polls at least 1 s apart and every wait (retry or poll)
		// ending by the time the backup is done, there are at most
		// Duration/Min + 2 = 4 polls. So stepsPerBackup = 1 + 1 + 4 + 1 = 7.
		// Each step is retried until one of its calls succeeds: with fault
		// rate p a step needs 1/(1-p) calls on average; a retried start also
		// looks for what an earlier attempt created (one more step). Allowing
		// twice the mean for the run's variance, the bound is
		// backups * 7 * maxCallsPerStep * 2 / (1-p) = 56 calls per backup at
		// p = 0.25 — far below a retry storm (a tight loop would make
		// thousands in this test's run time).
		const stepsPerBackup, maxCallsPerStep = 7, 3
		bound := int(float64(perProvider*stepsPerBackup*maxCallsPerStep) * 2 / (1 - faultRate))
		t.Logf("%s: %d backups, %d provider calls (bound %d), %d faults injected", c.Provider, len(created), n, bound, f)
		assert.LessOrEqual(t, n, bound, "%s: provider calls", c.Provider)
		assert.Positive(t, f, "%s: faults were injected", c.Provider)
	}

	retries := hintedRetries(rec.Calls())
	sensitive := 0
	for _, h := range retries {
		assert.True(t, h.Honoured, "retried sooner than the provider's hint: %s", h)
		if h.Failed.RetryAfter > h.ClassBackoff {
			sensitive++
			t.Logf("hint beyond the class back-off: %s", h)
		}
	}
	t.Logf("FIGURES faults: backups=%d kept-unproven=%d fault-window=%s faults=%d latency-spikes=%d provider-calls=%d hinted-retries=%d (hint > class back-off: %d) max-attempts=%d wall=%s",
		len(runs), unproven, faultWindow, faults, spikes, calls, len(retries), sensitive, maxAttempts, time.Since(t0).Round(time.Second))
	assert.NotEmpty(t, retries, "some failures carried a retry hint")
	assert.Positive(t, sensitive, "some hint exceeded the class back-off, so honouring it was tested")
}

// servedLongHints counts the calls to a provider that were answered with the
// long hint (only the queued throttles carry it).
func servedLongHints(rec *recorder, providerName string, hint time.Duration) int {
	n := 0
	for _, c := range rec.Calls() {
		if c.Provider == providerName && c.RetryAfter == hint {
			n++
		}
	}
	return n
}
