// Package postgres is the production-shaped tier's integration test: the
// Temporal server that the dev stack embeds, on a real PostgreSQL (a private
// cluster from the operating system's packages, see internal/pgtest) with SQL
// advanced visibility, and backupflow's search attributes registered through
// the operator API. The soak over the same server is reliability's TestSoak.
package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/cli"
	"github.com/backupflow/backupflow/deploy/dev/devserver"
	"github.com/backupflow/backupflow/internal/clouds"
	"github.com/backupflow/backupflow/internal/pgtest"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/simulator/simkit"
	"github.com/backupflow/backupflow/wiring"
)

// indexed is what visibility should say about one workflow.
type indexed struct {
	id, kind, provider, resource string
	state                        backup.State
}

// TestListFiltersOnSQLVisibility starts backups in every indexed state
// (SUCCEEDED, FAILED, RUNNING, CANCELLING, CANCELLED), of both kinds, over
// every provider, on a PostgreSQL-backed server, then runs `backupflow list`
// with every combination of the filters it offers (--kind, --provider,
// --resource, --state, each unset or set to every value in use plus one in
// use by nothing) and checks that each returns exactly the workflows that
// match: SQL visibility indexes the search attributes as backupflow sets them.
func TestListFiltersOnSQLVisibility(t *testing.T) {
	t0 := time.Now()
	pg := pgtest.Start(t)
	srv := pg.StartTemporal(t, "temporal", devserver.Options{})
	t.Logf("PostgreSQL and Temporal on it started in %s", time.Since(t0).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c, err := srv.Dial(client.Options{})
	require.NoError(t, err)
	defer c.Close()

	info, err := c.WorkflowService().GetClusterInfo(ctx, &workflowservice.GetClusterInfoRequest{})
	require.NoError(t, err)
	assert.Contains(t, info.GetPersistenceStore(), "postgres12")
	assert.Contains(t, info.GetVisibilityStore(), "postgres12", "SQL advanced visibility on PostgreSQL")
	sa, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: srv.Namespace()})
	require.NoError(t, err)
	for _, n := range backup.SearchAttributeNames {
		assert.Equal(t, enumspb.INDEXED_VALUE_TYPE_KEYWORD, sa.GetCustomAttributes()[n], "search attribute %s", n)
	}

	// Simulated backups run for an hour unless the test moves a simulator's
	// clock on, so each workflow is held in the state the test wants.
	set, err := clouds.Start(simkit.Options{Duration: time.Hour})
	require.NoError(t, err)
	defer set.Close()
	cfg := startWorker(t, srv, set)
	reg, err := wiring.NewRegistry(cfg, nil)
	require.NoError(t, err)
	bc := backup.NewClient(c)

	var want []indexed
	start := func(kind backup.Kind, cloud *simkit.Cloud, section json.RawMessage) *backup.Handle {
		t.Helper()
		req := backup.Request{Provider: cloud.Provider, Section: section}
		h, err := bc.Start(ctx, kind, req)
		require.NoError(t, err)
		want = append(want, indexed{id: h.WorkflowID, kind: string(kind), provider: cloud.Provider, resource: req.NamedResource(kind)})
		return h
	}
	settle := func(h *backup.Handle, state backup.State) {
		t.Helper()
		want[slices.IndexFunc(want, func(w indexed) bool { return w.id == h.WorkflowID })].state = state
	}
	atProvider := func(h *backup.Handle) {
		t.Helper()
		require.Eventually(t, func() bool {
			p, err := h.Progress(ctx)
			return err == nil && p.Operation != ""
		}, time.Minute, 50*time.Millisecond, "%s: the provider is making the backup", h.WorkflowID)
	}
	cancelled := func(h *backup.Handle) backup.State {
		t.Helper()
		require.NoError(t, h.Cancel(ctx, "list test"))
		var state backup.State
		require.Eventually(t, func() bool {
			p, err := h.Progress(ctx)
			state = p.State.Indexed()
			// CANCELLING lasts only while cleanup waits for the provider to end the backup.
			return err == nil && (state == backup.StateCancelling && p.Waiting != "" || state == backup.StateCancelled)
		}, time.Minute, 50*time.Millisecond, "%s: the cancel took effect", h.WorkflowID)
		return state
	}

	for _, cloud := range set {
		d, err := reg.Driver(cloud.Provider)
		require.NoError(t, err)
		// SUCCEEDED: the provider finishes once its clock moves past the end.
		ok := start(backup.KindCreate, cloud, cloud.CreateSection(0))
		atProvider(ok)
		cloud.Simulator.Advance(2 * time.Hour)
		res, err := ok.Result(ctx)
		require.NoError(t, err, cloud.Provider)
		settle(ok, backup.StateSucceeded)
		if cloud.CopySection != nil {
			cp := start(backup.KindCopy, cloud, cloud.CopySection(0, res.Backup.ID))
			atProvider(cp)
			cloud.Simulator.Advance(2 * time.Hour)
			_, err := cp.Result(ctx)
			require.NoError(t, err, "%s copy", cloud.Provider)
			settle(cp, backup.StateSucceeded)
		}
		// FAILED: a request the driver refuses, which still names its resource.
		bad := start(backup.KindCreate, cloud, invalidNamingResource(t, d, cloud))
		_, err = bad.Result(ctx)
		require.Error(t, err, "%s: a request the driver refuses", cloud.Provider)
		settle(bad, backup.StateFailed)
		// CANCELLED: cancelled while the provider makes it; where the
		// provider cannot stop a backup, cleanup waits for the end.
		gone := start(backup.KindCreate, cloud, cloud.CreateSection(2))
		atProvider(gone)
		if cancelled(gone) == backup.StateCancelling {
			cloud.Simulator.Advance(2 * time.Hour)
		}
		_, err = gone.Result(ctx)
		require.Error(t, err)
		settle(gone, backup.StateCancelled)
		// RUNNING, and CANCELLING: from here on the provider throttles every
		// call with an hour's hint, so the running backup's polls and the
		// cancelled one's cleanup both wait, in those states.
		running := start(backup.KindCreate, cloud, cloud.CreateSection(3))
		atProvider(running)
		settle(running, backup.StateRunning)
		stopping := start(backup.KindCreate, cloud, cloud.CreateSection(4))
		atProvider(stopping)
		cloud.Simulator.FailNext(provider.Throttled, 1000, time.Hour)
		require.NoError(t, stopping.Cancel(ctx, "list test"))
		require.Eventually(t, func() bool {
			p, err := stopping.Progress(ctx)
			return err == nil && p.State.Indexed() == backup.StateCancelling && p.Waiting != ""
		}, time.Minute, 50*time.Millisecond, "%s: cleanup waits on the throttling provider", stopping.WorkflowID)
		settle(stopping, backup.StateCancelling)
	}
	states := map[backup.State]bool{}
	for _, w := range want {
		states[w.state] = true
	}
	require.Len(t, states, len(backup.IndexedStates), "every indexed state is in use: %v", want)

	run := func(args ...string) cli.ListReport {
		var out, errOut bytes.Buffer
		cmd := &cli.Command{
			Env:    map[string]string{"TEMPORAL_ADDRESS": srv.FrontendAddress(), "TEMPORAL_NAMESPACE": srv.Namespace()},
			Stdout: &out, Stderr: &errOut, Stdin: bytes.NewReader(nil),
		}
		code := cmd.Run(ctx, append([]string{"list", "--output", "json", "--limit", "1000"}, args...))
		require.Equal(t, cli.ExitOK, code, "backupflow list %v: %s", args, errOut.String())
		var rep cli.ListReport
		require.NoError(t, json.Unmarshal(out.Bytes(), &rep), out.String())
		return rep
	}
	// Visibility is written after the fact: wait until it shows every
	// workflow in its state, then every filter must be exact at once.
	var mismatch []string
	require.Eventually(t, func() bool {
		got := map[string]string{}
		for _, l := range run().Workflows {
			got[l.WorkflowID] = l.State
		}
		mismatch = nil
		for _, w := range want {
			if got[w.id] != string(w.state) {
				mismatch = append(mismatch, fmt.Sprintf("%s: %q, want %q", w.id, got[w.id], w.state))
			}
		}
		return len(mismatch) == 0 && len(got) == len(want)
	}, time.Minute, 100*time.Millisecond, "visibility shows every workflow in its state: %v", &mismatch)

	kinds := []string{"", string(backup.KindCreate), string(backup.KindCopy)}
	provs := append([]string{""}, clouds.Providers()...)
	// Two resources in use (of the first provider and of the last) and one not.
	resources := []string{"", want[0].resource, want[len(want)-1].resource, "no-such-resource"}
	statesToTry := []string{""}
	for _, s := range backup.IndexedStates {
		statesToTry = append(statesToTry, string(s))
	}
	queries := 0
	for _, k := range kinds {
		for _, p := range provs {
			for _, r := range resources {
				for _, s := range statesToTry {
					var args []string
					for _, f := range [][2]string{{"--kind", k}, {"--provider", p}, {"--resource", r}, {"--state", s}} {
						if f[1] != "" {
							args = append(args, f[0], f[1])
						}
					}
					rep := run(args...)
					got := []string{}
					for _, l := range rep.Workflows {
						got = append(got, l.WorkflowID)
					}
					sort.Strings(got)
					assert.Equal(t, matching(want, k, p, r, s), got, "backupflow list %v (query %s)", args, rep.Query)
					queries++
				}
			}
		}
	}
	t.Logf("FIGURES postgres-list: workflows=%d list-invocations=%d wall=%s", len(want), queries, time.Since(t0).Round(time.Second))
}

// matching lists, sorted, the IDs of the workflows a filter should return.
func matching(all []indexed, kind, provider, resource, state string) []string {
	out := []string{}
	for _, w := range all {
		if (kind == "" || w.kind == kind) && (provider == "" || w.provider == provider) &&
			(resource == "" || w.resource == resource) && (state == "" || string(w.state) == state) {
			out = append(out, w.id)
		}
	}
	sort.Strings(out)
	return out
}

// invalidNamingResource derives from a valid create section one the driver
// refuses (one field left out) but which still names its resource, so the
// workflow has its ID and BackupResource and ends FAILED.
func invalidNamingResource(t *testing.T, d provider.Driver, cloud *simkit.Cloud) json.RawMessage {
	t.Helper()
	valid := cloud.CreateSection(1)
	var fields map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(valid, &fields))
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		section := maps.Clone(fields)
		delete(section, k)
		raw, err := json.Marshal(section)
		require.NoError(t, err)
		req := backup.Request{Provider: cloud.Provider, Section: raw}
		if req.NamedResource(backup.KindCreate) == "" {
			continue
		}
		if _, err := d.Validate(backup.KindCreate, raw, time.Now()); err != nil {
			return raw
		}
	}
	t.Fatalf("%s: every field of the create section names the resource or is optional", cloud.Provider)
	return nil
}

// startWorker runs a worker assembled as production assembles it, on the
// simulators' environment, until the test ends.
func startWorker(t *testing.T, srv *devserver.Server, set clouds.Set) wiring.Config {
	t.Helper()
	env := set.Env()
	env["BACKUPFLOW_LOG_LEVEL"] = "warn"
	cfg, err := wiring.ParseConfig(env)
	require.NoError(t, err)
	cfg.Temporal.Address, cfg.Temporal.Namespace = srv.FrontendAddress(), srv.Namespace()
	cfg.Worker.StopTimeout = 2 * time.Second
	cfg.Poll = wiring.PollConfig{Min: 50 * time.Millisecond, Max: 500 * time.Millisecond, DelayFloor: 500 * time.Millisecond, DelayFraction: 0.05}
	c, err := srv.Dial(client.Options{})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	app, err := wiring.InitializeWorkerWithClient(cfg, c, nil)
	require.NoError(t, err)
	require.NoError(t, app.Worker.Start())
	t.Cleanup(app.Worker.Stop)
	return cfg
}
