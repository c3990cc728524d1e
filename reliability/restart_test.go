package reliability

import (
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/deploy/dev/devserver"
	"github.com/backupflow/backupflow/internal/testenv"
	"github.com/backupflow/backupflow/simulator/simkit"
)

// TestServerRestart stops and restarts a file-backed (SQLite) Temporal
// server at random moments while backups over every provider are in flight;
// the worker runs as a separate process and rides the outages out. Every
// backup must still complete, exactly once.
func TestServerRestart(t *testing.T) {
	t.Parallel()
	rng := newRNG(t)
	perProvider := count(4, 25)
	restarts := count(2, 8)

	set := startClouds(t, simkit.Options{Duration: 4 * time.Second})
	srv, err := devserver.Start(devserver.Options{DataDir: t.TempDir(), NoUI: true, LogLevel: "error"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	opts := srv.Options() // the same data directory and ports on every restart
	c, err := srv.Dial(client.Options{})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	secrets := secretValues(t, set)

	w := newWorkerProcess(t, workerEnv(set, srv.FrontendAddress(), srv.Namespace()))
	w.Start()
	before := inventories(set)
	runs := startCreates(t, backup.NewClient(c), set, 0, perProvider)
	ctx := testenv.Context(t, 4*time.Minute)
	began := time.Now()

	for i := range restarts {
		up := between(rng, 500*time.Millisecond, 3*time.Second)
		wait(ctx, up)
		require.NoError(t, srv.Stop())
		down := between(rng, 500*time.Millisecond, 3*time.Second)
		wait(ctx, down)
		startedAt := time.Now()
		next, err := devserver.Start(opts)
		require.NoError(t, err, "restart %d", i+1)
		srv = next // the cleanup stops whichever server is current
		t.Logf("restart %d: up %s, down %s, start took %s", i+1, up.Round(time.Millisecond), down.Round(time.Millisecond),
			time.Since(startedAt).Round(time.Millisecond))
	}

	results := map[string][]string{}
	for _, r := range runs {
		res, err := r.Handle.Result(ctx)
		require.NoError(t, err, "%s seed %d", r.Cloud.Provider, r.Seed)
		results[r.Cloud.Provider] = append(results[r.Cloud.Provider], res.Backup.ID)
		t.Logf("%s done at +%s", r.Handle.WorkflowID, time.Since(began).Round(time.Second))
		h, err := history(ctx, c, r.Handle.WorkflowID, r.Handle.RunID)
		require.NoError(t, err)
		assertNoSecrets(t, "the history of "+r.Handle.WorkflowID, historyJSON(t, h), secrets)
	}
	w.stop()
	assertNoSecrets(t, "the worker's log", []byte(w.Log.String()), secrets)
	assertNoSecrets(t, "the worker's metrics", []byte(w.Metrics.String()), secrets)

	extra := 0
	for _, cl := range set {
		created := added(before[cl.Provider], cl.Simulator.Inventory())
		want := results[cl.Provider]
		sort.Strings(want)
		assert.Equal(t, want, created, "%s: exactly the results", cl.Provider)
		extra += len(added(want, created))
	}
	t.Logf("FIGURES server-restart: backups=%d restarts=%d duplicates-or-orphans=%d", len(runs), restarts, extra)
	assert.Zero(t, extra)
}
