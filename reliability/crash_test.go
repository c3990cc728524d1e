package reliability

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/internal/testenv"
	"github.com/backupflow/backupflow/simulator/simkit"
)

// TestWorkerCrash runs many backups over every provider on a worker that runs
// as a separate OS process, SIGKILLs it at random moments and restarts it.
//
// The first kill lands while a create is accepted at a provider and its
// answer has not reached the worker (the hold proxy holds answers); the
// second while a create waits at the provider (simulator latency); the rest
// at random moments. Then every workflow must succeed, each request must
// exist exactly once at its simulator, nothing else may have been created
// and nothing there before deleted. The one exception is by design: where a
// provider keeps no ownership marker, a create whose answer a kill lost
// cannot be adopted, so its workflow fails with AlreadyExists and keeps that
// backup (counted as "kept, unproven", see unproven_test.go).
func TestWorkerCrash(t *testing.T) {
	t.Parallel()
	rng := newRNG(t)
	perProvider := count(5, 40)
	kills := count(4, 12)

	set := startClouds(t, simkit.Options{Duration: 4 * time.Second})
	e := testenv.Start(t, true)
	secrets := secretValues(t, set)
	env, proxies := proxied(t, set, workerEnv(set, e.Server.GetFrontendHostPort(), e.Namespace))
	w := newWorkerProcess(t, env)
	w.Start()

	before := inventories(set)
	callsBefore := map[string]int{}
	for _, c := range set {
		callsBefore[c.Provider] = c.Simulator.Calls()
	}
	// Slow every call on the way in and every answer on the way out, so
	// creates spend seconds in flight.
	for _, c := range set {
		c.Simulator.SetLatency(500 * time.Millisecond)
		proxies[c.Provider].SetHold(time.Second)
	}

	runs := startCreates(t, e.BackupClient(), set, 0, perProvider)
	t.Logf("started %d backups (%d per provider, %d providers)", len(runs), perProvider, len(set))

	ctx := testenv.Context(t, 5*time.Minute)
	var log []string
	for i := range kills {
		what := "a random moment"
		switch i {
		case 0:
			what = waitFor(ctx, 20*time.Second, "a create accepted, its answer held", func() bool {
				for _, c := range set {
					if len(c.Simulator.Inventory()) > len(before[c.Provider]) && proxies[c.Provider].Held() > 0 {
						return true
					}
				}
				return false
			})
		case 1:
			what = waitFor(ctx, 20*time.Second, "a call waiting at a provider", func() bool {
				for _, p := range proxies {
					if p.Waiting() > 0 {
						return true
					}
				}
				return false
			})
		default:
			wait(ctx, between(rng, 500*time.Millisecond, 4*time.Second))
		}
		w.Kill()
		down := between(rng, 0, 1500*time.Millisecond)
		log = append(log, fmt.Sprintf("kill %d at %s, down %s", i+1, what, down.Round(time.Millisecond)))
		wait(ctx, down)
		w.Start()
	}
	for _, l := range log {
		t.Log(l)
	}
	for _, c := range set {
		c.Simulator.SetLatency(0)
		proxies[c.Provider].SetHold(0)
	}

	results, kept := map[string][]string{}, map[string][][]string{}
	adopted, retriedStarts := 0, 0
	for _, r := range runs {
		res, err := r.Handle.Result(ctx)
		if ids, ok := failedUnproven(err); ok && r.Cloud.ProofByCreateResponseOnly {
			t.Logf("%s seed %d: failed AlreadyExists, keeping %v as unproven", r.Cloud.Provider, r.Seed, ids)
			kept[r.Cloud.Provider] = append(kept[r.Cloud.Provider], ids)
		} else {
			require.NoError(t, err, "%s seed %d (%s)", r.Cloud.Provider, r.Seed, r.Handle.WorkflowID)
			results[r.Cloud.Provider] = append(results[r.Cloud.Provider], res.Backup.ID)
		}
		h, err := history(ctx, e.Client, r.Handle.WorkflowID, r.Handle.RunID)
		require.NoError(t, err)
		assertNoSecrets(t, "the history of "+r.Handle.WorkflowID, historyJSON(t, h), secrets)
		attempts, adoptedHere := startAttempts(t, h)
		if attempts > 1 {
			retriedStarts++
		}
		if adoptedHere {
			adopted++
		}
	}
	w.stop()
	assertNoSecrets(t, "the worker's log", []byte(w.Log.String()), secrets)
	assertNoSecrets(t, "the worker's metrics", []byte(w.Metrics.String()), secrets)
	require.Contains(t, w.Metrics.String(), "backupflow_provider_calls_total{", "the metrics were scraped")

	duplicates, orphans, unproven := 0, 0, 0
	for _, c := range set {
		created := added(before[c.Provider], c.Simulator.Inventory())
		want := results[c.Provider]
		sort.Strings(want)
		keptHere := keptUnproven(t, c, kept[c.Provider], created, want)
		assert.Equal(t, perProvider, len(want)+len(kept[c.Provider]), "%s: every run ends with a result or a kept backup", c.Provider)
		assert.Equal(t, union(want, keptHere), created,
			"%s: the backups at the provider are exactly the workflows' results and the backups kept as unproven", c.Provider)
		// One resource per request: an extra backup no run kept duplicates one.
		duplicates += len(added(keptHere, added(want, created)))
		orphans += len(added(created, want)) // results the provider does not hold
		unproven += len(keptHere)
		survivors(t, c, before[c.Provider])
		t.Logf("%s: %d backups (%d kept, unproven), %d provider calls", c.Provider, len(created), len(keptHere), c.Simulator.Calls()-callsBefore[c.Provider])
	}
	t.Logf("FIGURES crash: backups=%d kills=%d restarts=%d starts-retried=%d adopted=%d kept-unproven=%d duplicates=%d missing=%d",
		len(runs), w.Kills, w.Starts-1, retriedStarts, adopted, unproven, duplicates, orphans)
	assert.Zero(t, duplicates)
	assert.Zero(t, orphans)
	assert.Equal(t, kills, w.Kills)
	// The first kill left a create applied at the provider and unanswered:
	// some retried start must have found it, and adopted it (a marker
	// proved it ours) or kept it (nothing could).
	assert.Positive(t, adopted+unproven, "no start adopted or kept an earlier attempt's create: the crash window was not exercised")
	assert.True(t, strings.Contains(log[0], "answer held"), log[0])
	assert.True(t, strings.Contains(log[1], "waiting at a provider"), log[1])
}

// waitFor polls cond every 5 ms for up to limit and says what it saw.
func waitFor(ctx context.Context, limit time.Duration, what string, cond func() bool) string {
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if cond() {
			return what
		}
		<-tick.C
	}
	return "a random moment (waited " + limit.String() + " for " + what + ")"
}
