package reliability

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/server/common/log"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/deploy/dev/devserver"
	"github.com/backupflow/backupflow/internal/pgtest"
	"github.com/backupflow/backupflow/internal/testenv"
	"github.com/backupflow/backupflow/simulator/simkit"
	"github.com/backupflow/backupflow/wiring"
)

// SoakReportEnv, set to a directory, makes TestSoak write soak.md and
// soak.json there (go tool task soak sets it to reports/).
const SoakReportEnv = "BACKUPFLOW_SOAK_REPORT"

// soakRun is one backup of the soak and how it ends.
type soakRun struct {
	started
	startAt time.Duration // after the chaos began
	// cancelAfter is set for runs the soak cancels, that long after their start.
	cancelAfter time.Duration
	cancelHow   string
	cancelErr   error
}

// SoakFigures is what a soak run reports (reports/soak.json).
type SoakFigures struct {
	Full             bool    `json:"full"`
	Providers        int     `json:"providers"`
	Workers          int     `json:"workers"`
	Backups          int     `json:"backups"`
	Succeeded        int     `json:"succeeded"`
	Cancels          int     `json:"cancels"`
	Kills            int     `json:"kills"`
	ServerRestarts   int     `json:"serverRestarts"`
	FaultRate        float64 `json:"faultRate"`
	FaultsInjected   int     `json:"faultsInjected"`
	ProviderCalls    int     `json:"providerCalls"`
	KeptUnproven     int     `json:"keptUnproven"`
	KeptNamedTwice   int     `json:"keptNamedTwice"`
	Lost             int     `json:"lost"`
	Duplicates       int     `json:"duplicates"`
	Orphans          int     `json:"orphans"`
	Foreign          int     `json:"foreignBackups"`
	DeletedNotOurs   int     `json:"deletedNotOurs"`
	RecoveryMeasured int     `json:"recoveryMeasured"`
	RecoveryMedianS  float64 `json:"recoveryMedianSeconds"`
	RecoveryMaxS     float64 `json:"recoveryMaxSeconds"`
	ChaosS           float64 `json:"chaosSeconds"`
	WallS            float64 `json:"wallSeconds"`
}

// TestSoak is the production-shaped soak: backupflow's embedded Temporal
// server on a real PostgreSQL (a private cluster, internal/pgtest) with SQL
// visibility, three worker processes (the real worker binary), and every
// provider's simulator. While backups start over a chaos window, workers are
// SIGKILLed one at a time at random moments and restarted, the Temporal
// server is stopped and restarted once mid-flight, 30 % of provider calls
// fail (5xx, throttling, answers lost after the call applied), and half the
// backups are cancelled at random moments, by signal or by Temporal cancel.
//
// Then: no run is lost (each run not cancelled succeeds, or where the
// provider keeps no ownership marker fails AlreadyExists keeping its lost
// create as unproven; each cancelled run ends CANCELLED with a cleanup
// report), no duplicate and no orphan (the backups at each provider are
// exactly the results plus the kept ones), nothing there before is deleted,
// and no credential is in a worker's log or metrics. It measures how soon a
// killed worker's in-flight activities run again on another worker.
//
// go test runs the short counts (about two minutes); go tool task soak runs
// the full ones (BACKUPFLOW_SOAK=1) and writes reports/soak.{md,json}.
func TestSoak(t *testing.T) {
	// Not parallel: three worker processes, PostgreSQL and a server of its
	// own would starve the suite's timing-sensitive tests on 2 cores; it
	// runs before them instead.
	began := time.Now()
	rng := newRNG(t)
	fig := SoakFigures{Full: soak(), Workers: 3, FaultRate: 0.30}
	perProvider := count(16, 50)
	kills := count(6, 20)
	const backupDuration = 4 * time.Second
	// A cancel lands within half a backup's length of its start, so before
	// the provider can finish it.
	cancelWithin := backupDuration / 2
	// Starts spread over the chaos window, which the kills fill.
	startSpread := time.Duration(count(40, 240)) * time.Second

	pg := pgtest.Start(t)
	srv := pg.StartTemporal(t, "temporal", devserver.Options{Logger: log.NewNoopLogger()})
	set := startClouds(t, simkit.Options{Duration: backupDuration})
	fig.Providers = len(set)
	c, err := srv.Dial(client.Options{})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	bc := backup.NewClient(c)
	secrets := secretValues(t, set)
	env := workerEnv(set, srv.FrontendAddress(), srv.Namespace())
	env["BACKUPFLOW_LOG_LEVEL"] = "info" // three workers, hundreds of backups: debug would be megabytes
	workers := make([]*workerProcess, fig.Workers)
	for i := range workers {
		workers[i] = newWorkerProcess(t, env)
		workers[i].Start()
	}

	// The plan: every provider's resources in a random order, half of them cancelled.
	var runs []*soakRun
	for _, cl := range set {
		for i := range perProvider {
			runs = append(runs, &soakRun{started: started{Cloud: cl, Seed: i}})
		}
	}
	rng.Shuffle(len(runs), func(i, j int) { runs[i], runs[j] = runs[j], runs[i] })
	for i, r := range runs {
		r.startAt = startSpread * time.Duration(i) / time.Duration(len(runs))
		if i%2 == 1 {
			r.cancelAfter = between(rng, time.Millisecond, cancelWithin)
			r.cancelHow = "signal"
			if rng.IntN(2) == 0 {
				r.cancelHow = "temporal cancel"
			}
		}
	}
	fig.Backups = len(runs)

	// Somebody else's backups, on resources the soak does not back up:
	// nothing may delete them.
	cfg, err := wiring.ParseConfig(set.Env())
	require.NoError(t, err)
	for _, cl := range set {
		d := drivers(t, set, cfg)[cl.Provider]
		for seed := perProvider; seed < perProvider+3; seed++ {
			target, err := d.Validate(backup.KindCreate, cl.CreateSection(seed), time.Now())
			require.NoError(t, err, "%s seed %d", cl.Provider, seed)
			cl.Simulator.AddForeign(target)
			fig.Foreign++
		}
	}
	before := inventories(set)
	callsBefore, faultsBefore := map[string]int{}, map[string]int{}
	for _, cl := range set {
		callsBefore[cl.Provider], faultsBefore[cl.Provider] = cl.Simulator.Calls(), cl.Simulator.Faults()
		cl.Simulator.SetFaultRate(fig.FaultRate, int64(rng.Uint64()>>1))
		// Calls take a while, so kills find activities in flight.
		cl.Simulator.SetLatency(700 * time.Millisecond)
	}
	ctx := testenv.Context(t, startSpread+10*time.Minute)
	chaosBegan := time.Now()

	// Starter: each run at its moment; cancelled runs are cancelled by
	// their own goroutine. The server may be restarting, so calls retry.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var live []*soakRun
	startErrs := make(chan error, len(runs))
	wg.Add(1)
	go func() {
		defer wg.Done()
		for _, r := range runs {
			wait(ctx, time.Until(chaosBegan.Add(r.startAt)))
			req := backup.Request{Provider: r.Cloud.Provider, Section: r.Cloud.CreateSection(r.Seed)}
			err := retryTransient(ctx, func() error {
				h, err := bc.StartCreate(ctx, req)
				if err == nil {
					r.Handle = h
				}
				return err
			})
			if err != nil {
				startErrs <- fmt.Errorf("%s seed %d: start: %w", r.Cloud.Provider, r.Seed, err)
				continue
			}
			mu.Lock()
			live = append(live, r)
			mu.Unlock()
			if r.cancelAfter > 0 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					wait(ctx, r.cancelAfter)
					r.cancelErr = retryTransient(ctx, func() error {
						if r.cancelHow == "signal" {
							return r.Handle.Cancel(ctx, "soak")
						}
						return c.CancelWorkflow(ctx, r.Handle.WorkflowID, r.Handle.RunID)
					})
				}()
			}
		}
	}()

	// Chaos: kill a random worker at random moments, measure how soon its
	// in-flight activities run elsewhere, restart it; restart the server once.
	var recoveries []time.Duration
	var recMu sync.Mutex
	var measuring sync.WaitGroup
	restartAt := kills / 2
	for k := range kills {
		wait(ctx, between(rng, 2*time.Second, 6*time.Second))
		if k == restartAt {
			opts := srv.Options()
			require.NoError(t, srv.Stop())
			wait(ctx, between(rng, 500*time.Millisecond, 3*time.Second))
			srv, err = devserver.Start(opts)
			require.NoError(t, err, "server restart")
			t.Cleanup(func() { _ = srv.Stop() })
			fig.ServerRestarts++
		}
		victim := workers[rng.IntN(len(workers))]
		mu.Lock()
		candidates := slices.Clone(live)
		mu.Unlock()
		victimID := victim.Identity()
		inflight := inFlightActivities(ctx, c, candidates, victimID, rng)
		victim.Kill()
		killedAt := time.Now()
		fig.Kills++
		measuring.Add(1)
		go func() {
			defer measuring.Done()
			for _, d := range retriedElsewhere(ctx, c, inflight, victimID, killedAt) {
				recMu.Lock()
				recoveries = append(recoveries, d)
				recMu.Unlock()
			}
		}()
		wait(ctx, between(rng, 0, 2*time.Second))
		victim.Start()
	}
	wg.Wait() // every run started, every cancel sent
	for _, cl := range set {
		cl.Simulator.SetFaultRate(0, 0)
		cl.Simulator.SetLatency(0)
	}
	fig.ChaosS = time.Since(chaosBegan).Seconds()
	close(startErrs)
	for err := range startErrs {
		t.Error(err)
	}
	require.False(t, t.Failed())

	results, kept := map[string][]string{}, map[string][][]string{}
	for _, r := range runs {
		res, err := r.Handle.Result(ctx)
		what := fmt.Sprintf("%s seed %d (%s)", r.Cloud.Provider, r.Seed, r.Handle.WorkflowID)
		if r.cancelAfter > 0 {
			fig.Cancels++
			var canceled *temporal.CanceledError
			if !assert.NoError(t, r.cancelErr, "%s: %s", what, r.cancelHow) || !assert.True(t, errors.As(err, &canceled), "%s: ends CANCELLED, got %v", what, err) {
				fig.Lost++
				continue
			}
			report, ok := backup.CleanupOf(err)
			if !assert.True(t, ok, "%s: a cleanup report", what) {
				fig.Lost++
				continue
			}
			if ids := unprovenIn(report); len(ids) > 0 && r.Cloud.ProofByCreateResponseOnly {
				kept[r.Cloud.Provider] = append(kept[r.Cloud.Provider], fig.distinctKept(t, r.Cloud, what, ids))
			}
			continue
		}
		if ids, ok := failedUnproven(err); ok && r.Cloud.ProofByCreateResponseOnly {
			kept[r.Cloud.Provider] = append(kept[r.Cloud.Provider], fig.distinctKept(t, r.Cloud, what, ids))
			continue
		}
		if !assert.NoError(t, err, what) {
			fig.Lost++
			continue
		}
		fig.Succeeded++
		results[r.Cloud.Provider] = append(results[r.Cloud.Provider], res.Backup.ID)
	}
	measuring.Wait()
	for _, w := range workers {
		w.stop()
		assertNoSecrets(t, "a worker's log", []byte(w.Log.String()), secrets)
		assertNoSecrets(t, "a worker's metrics", []byte(w.Metrics.String()), secrets)
	}

	for _, cl := range set {
		created := added(before[cl.Provider], cl.Simulator.Inventory())
		want := results[cl.Provider]
		sort.Strings(want)
		keptHere := keptUnproven(t, cl, kept[cl.Provider], created, want)
		fig.KeptUnproven += len(keptHere)
		assert.Equal(t, union(want, keptHere), created,
			"%s: the backups at the provider are exactly the results and the backups kept as unproven", cl.Provider)
		// A backup at the provider that no run returned or kept is tracked by
		// nothing: one a cancel left behind, or a second one for a request.
		fig.Orphans += len(added(union(want, keptHere), created))
		// Two runs returning one backup: a request without a backup of its own.
		fig.Duplicates += len(want) - len(slices.Compact(slices.Clone(want)))
		// A result the provider does not hold is a lost backup.
		fig.Lost += len(added(created, want))
		for _, id := range before[cl.Provider] {
			if !slices.Contains(cl.Simulator.Inventory(), currentID(cl, id)) {
				fig.DeletedNotOurs++
			}
		}
		survivors(t, cl, before[cl.Provider])
		fig.ProviderCalls += cl.Simulator.Calls() - callsBefore[cl.Provider]
		fig.FaultsInjected += cl.Simulator.Faults() - faultsBefore[cl.Provider]
	}
	slices.Sort(recoveries)
	fig.RecoveryMeasured = len(recoveries)
	if len(recoveries) > 0 {
		fig.RecoveryMedianS = recoveries[len(recoveries)/2].Seconds()
		fig.RecoveryMaxS = recoveries[len(recoveries)-1].Seconds()
	}
	fig.WallS = time.Since(began).Seconds()
	t.Logf("FIGURES soak: backups=%d succeeded=%d cancels=%d kills=%d server-restarts=%d fault-rate=%.0f%% faults=%d provider-calls=%d kept-unproven=%d (named twice %d) lost=%d duplicates=%d orphans=%d deleted-not-ours=%d/%d recovery-after-kill median=%.1fs max=%.1fs (%d activities) chaos=%.0fs wall=%.0fs",
		fig.Backups, fig.Succeeded, fig.Cancels, fig.Kills, fig.ServerRestarts, fig.FaultRate*100, fig.FaultsInjected, fig.ProviderCalls,
		fig.KeptUnproven, fig.KeptNamedTwice, fig.Lost, fig.Duplicates, fig.Orphans, fig.DeletedNotOurs, fig.Foreign, fig.RecoveryMedianS, fig.RecoveryMaxS,
		fig.RecoveryMeasured, fig.ChaosS, fig.WallS)
	writeSoakReport(t, fig)

	assert.Zero(t, fig.Lost, "lost")
	assert.Zero(t, fig.Duplicates, "duplicates")
	assert.Zero(t, fig.Orphans, "orphans")
	assert.Zero(t, fig.DeletedNotOurs, "deleted, not ours")
	assert.Equal(t, kills, fig.Kills)
	assert.Equal(t, 1, fig.ServerRestarts)
	assert.Equal(t, len(runs)/2, fig.Cancels)
	assert.Positive(t, fig.FaultsInjected)
	assert.Positive(t, fig.RecoveryMeasured, "some kill caught an activity in flight")
	assert.GreaterOrEqual(t, len(slices.Concat(slices.Collect(maps.Values(before))...)), fig.Foreign, "somebody else's backups were there")
}

// distinctKept is a run's kept backups as the provider lists them now, each
// once. A report may name one backup twice, by the ID it had while being
// made (Alibaba's task ID) and by its final ID; that is counted in
// KeptNamedTwice and reported, and the backup is still one backup.
func (f *SoakFigures) distinctKept(t *testing.T, c *simkit.Cloud, what string, ids []string) []string {
	var out []string
	for _, id := range ids {
		if cur := currentID(c, id); !slices.Contains(out, cur) {
			out = append(out, cur)
		}
	}
	if len(out) < len(ids) {
		f.KeptNamedTwice++
		t.Logf("%s: its cleanup report keeps one backup under %d IDs: %v", what, len(ids), ids)
	}
	return out
}

// retryTransient retries call while the server is away (a restart), for at most a minute.
func retryTransient(ctx context.Context, call func() error) error {
	deadline := time.Now().Add(time.Minute)
	for {
		err := call()
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil || !transient(err) {
			return err
		}
		wait(ctx, 200*time.Millisecond)
	}
}

// transient reports errors of a server that is restarting: unreachable,
// shutting down, or not answering in time.
func transient(err error) bool {
	var unavailable *serviceerror.Unavailable
	var deadline *serviceerror.DeadlineExceeded
	return errors.As(err, &unavailable) || errors.As(err, &deadline) || errors.Is(err, context.DeadlineExceeded)
}

// activityAttempt is one activity attempt in flight on a worker.
type activityAttempt struct {
	workflowID, runID, activityID string
	attempt                       int32
}

// inFlightActivities lists activity attempts running on the worker with
// identity, among up to 40 of the live runs picked at random.
func inFlightActivities(ctx context.Context, c client.Client, live []*soakRun, identity string, rng *rand.Rand) []activityAttempt {
	rng.Shuffle(len(live), func(i, j int) { live[i], live[j] = live[j], live[i] })
	var out []activityAttempt
	for _, r := range live[:min(len(live), 40)] {
		dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		desc, err := c.DescribeWorkflowExecution(dctx, r.Handle.WorkflowID, r.Handle.RunID)
		cancel()
		if err != nil {
			continue
		}
		for _, pa := range desc.GetPendingActivities() {
			if pa.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED && strings.HasPrefix(pa.GetLastWorkerIdentity(), identity) {
				out = append(out, activityAttempt{r.Handle.WorkflowID, r.Handle.RunID, pa.GetActivityId(), pa.GetAttempt()})
			}
		}
	}
	return out
}

// retriedElsewhere waits (at most 90 s) until each killed attempt's retry
// has started on a worker other than the killed process, and returns how
// long after the kill each did. An activity that completed or whose workflow
// ended before the kill took effect is not counted.
func retriedElsewhere(ctx context.Context, c client.Client, killed []activityAttempt, victimID string, killedAt time.Time) []time.Duration {
	var out []time.Duration
	pending := slices.Clone(killed)
	deadline := killedAt.Add(90 * time.Second)
	for len(pending) > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		var still []activityAttempt
		for _, a := range pending {
			dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			desc, err := c.DescribeWorkflowExecution(dctx, a.workflowID, a.runID)
			cancel()
			if err != nil {
				still = append(still, a) // the server may be restarting
				continue
			}
			var pa *workflowpb.PendingActivityInfo
			for _, p := range desc.GetPendingActivities() {
				if p.GetActivityId() == a.activityID {
					pa = p
				}
			}
			if pa == nil {
				continue // it ended
			}
			if pa.GetAttempt() > a.attempt && pa.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED && !strings.HasPrefix(pa.GetLastWorkerIdentity(), victimID) {
				out = append(out, pa.GetLastStartedTime().AsTime().Sub(killedAt))
				continue
			}
			still = append(still, a)
		}
		pending = still
		wait(ctx, 250*time.Millisecond)
	}
	return out
}

// writeSoakReport writes soak.md and soak.json into the directory SoakReportEnv names.
func writeSoakReport(t *testing.T, f SoakFigures) {
	t.Helper()
	dir := os.Getenv(SoakReportEnv)
	if dir == "" {
		return
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	raw, err := json.MarshalIndent(f, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "soak.json"), append(raw, '\n'), 0o644))
	counts := "short (the counts go test runs)"
	if f.Full {
		counts = "full (BACKUPFLOW_SOAK=1, go tool task soak)"
	}
	md := fmt.Sprintf(`# Soak

Written by `+"`go tool task soak`"+` (reliability/soak_test.go, TestSoak). Counts: %s.

Temporal (backupflow's embedded server) on a private PostgreSQL cluster with SQL visibility, %d worker
processes of the real worker binary, %d providers' simulators on 127.0.0.1. During the chaos window
workers were SIGKILLed one at a time at random moments and restarted, the Temporal server was stopped and
restarted mid-flight, %.0f %% of provider calls failed at random (5xx, throttling, answers lost after the call
applied), and half the backups were cancelled at random moments (signal or Temporal cancel).

| figure | value |
| --- | --- |
| backups | %d (%d succeeded, %d cancelled; %d backups kept as unproven by failed or cancelled runs) |
| cleanup reports naming one kept backup twice (its task ID and its backup ID) | %d |
| worker SIGKILLs | %d |
| server restarts | %d |
| provider faults injected | %d of %d calls |
| lost (a run without its required end, or a result the provider does not hold) | %d |
| duplicates (two runs returning one backup) | %d |
| orphans (a backup at a provider that no run returned or kept: a cancel's leftover or a second create) | %d |
| deleted, not ours (of %d backups there before, made by somebody else) | %d |
| recovery after a kill (kill to the retry running on another worker) | median %.1f s, max %.1f s, over %d activities |
| chaos window | %.0f s |
| wall time | %.0f s |

"Kept as unproven" are backups whose create answer a fault or a kill lost, on providers that keep no
ownership marker: by design the run fails AlreadyExists (or its cleanup keeps the backup) and the backup is
kept, never deleted (README, Security). The seed is in the test log (BACKUPFLOW_RELIABILITY_SEED replays it).
Recovery is measured on up to 40 live backups per kill.
`, counts, f.Workers, f.Providers, f.FaultRate*100, f.Backups, f.Succeeded, f.Cancels, f.KeptUnproven, f.KeptNamedTwice, f.Kills, f.ServerRestarts,
		f.FaultsInjected, f.ProviderCalls, f.Lost, f.Duplicates, f.Orphans, f.Foreign, f.DeletedNotOurs,
		f.RecoveryMedianS, f.RecoveryMaxS, f.RecoveryMeasured, f.ChaosS, f.WallS)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "soak.md"), []byte(md), 0o644))
}
