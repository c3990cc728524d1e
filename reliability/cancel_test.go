package reliability

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/testenv"
	"github.com/backupflow/backupflow/simulator/simkit"
)

// TestCancellation cancels backups over every provider at seeded random
// moments — by the cancel signal or by Temporal's own cancel — while calls
// are slowed so that cancels land in every stage (validating, starting with a
// create in flight, running). Every cancelled workflow must end CANCELLED
// with a cleanup report, and no backup it created may remain at any provider,
// nor anything there before be deleted. Where a provider keeps no ownership
// marker, a cancel that lands while a create is in flight leaves cleanup
// without the create's answer: it keeps that backup as unproven, which is
// counted as "kept, unproven" (unproven_test.go), not as left behind.
func TestCancellation(t *testing.T) {
	t.Parallel()
	rng := newRNG(t)
	perProvider := count(6, 40)

	// Cancels come within cancelWithin of the start; a backup runs twice as
	// long, so every cancel lands before the end (the soak's many concurrent
	// workflows progress more slowly, so it spreads its cancels wider).
	cancelWithin := time.Duration(count(4, 12)) * time.Second
	set := startClouds(t, simkit.Options{Duration: 2 * cancelWithin})
	e := testenv.Start(t, true)
	e.StartWorker(t, e.ConfigFromEnv(t, set.Env()))
	bc := e.BackupClient()
	secrets := secretValues(t, set)
	before := inventories(set)
	for _, c := range set {
		c.Simulator.SetLatency(300 * time.Millisecond) // creates (and every call) take a while
	}
	ctx := testenv.Context(t, 4*time.Minute)

	type cancelled struct {
		started
		how   string
		after time.Duration
		stage backup.State
	}
	var runs []cancelled
	for _, c := range set {
		for i := range perProvider {
			how := "signal"
			if rng.IntN(2) == 1 {
				how = "temporal cancel"
			}
			after := between(rng, 0, cancelWithin)
			if rng.IntN(4) == 0 {
				after = 0 // at once: while the request is being validated
			}
			runs = append(runs, cancelled{started: started{Cloud: c, Seed: i}, how: how, after: after})
		}
	}
	// Each run: start, wait its moment, read its stage, cancel.
	var wg sync.WaitGroup
	starting := make(chan struct{}, 8)
	for i := range runs {
		r := &runs[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			starting <- struct{}{} // a few starts at a time: the server is in this process, on 2 cores
			h, err := bc.StartCreate(ctx, backup.Request{Provider: r.Cloud.Provider, Section: r.Cloud.CreateSection(r.Seed)})
			<-starting
			if err != nil {
				t.Errorf("%s seed %d: start: %v", r.Cloud.Provider, r.Seed, err)
				return
			}
			r.Handle = h
			if r.after == 0 {
				// A query would wait for the running workflow task (Validate
				// is a local activity in it), so cancel at once, unasked.
				r.stage = "AT-START"
			} else {
				wait(ctx, r.after)
				// The stage is for the log; a slow answer must not delay the cancel.
				qctx, cancel := context.WithTimeout(ctx, time.Second)
				r.stage = "UNANSWERED"
				if p, err := h.Progress(qctx); err == nil {
					r.stage = p.State
				}
				cancel()
			}
			if r.how == "signal" {
				err = h.Cancel(ctx, "reliability test")
			} else {
				err = e.Client.CancelWorkflow(ctx, h.WorkflowID, h.RunID)
			}
			if err != nil {
				t.Errorf("%s seed %d: %s: %v", r.Cloud.Provider, r.Seed, r.how, err)
			}
		}()
	}
	wg.Wait()
	require.False(t, t.Failed())

	stages := map[string]int{}
	created := 0
	kept := map[string][][]string{}
	for _, r := range runs {
		_, err := r.Handle.Result(ctx)
		var canceled *temporal.CanceledError
		require.True(t, errors.As(err, &canceled), "%s seed %d (%s at %s, %s): ends CANCELLED, got %v",
			r.Cloud.Provider, r.Seed, r.how, r.after, r.stage, err)
		report, ok := backup.CleanupOf(err)
		require.True(t, ok, "%s seed %d: a cleanup report", r.Cloud.Provider, r.Seed)
		desc, err := e.Client.DescribeWorkflowExecution(ctx, r.Handle.WorkflowID, r.Handle.RunID)
		require.NoError(t, err)
		assert.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED, desc.GetWorkflowExecutionInfo().GetStatus())
		// The client set the search attributes at the start, so even a
		// backup cancelled before Validate ended is found by its state.
		state, _ := backup.Keyword(desc.GetWorkflowExecutionInfo(), backup.SearchAttributeState)
		assert.Equal(t, string(backup.StateCancelled), state, "%s seed %d: BackupState", r.Cloud.Provider, r.Seed)
		if report.Created {
			created++
		}
		if ids := unprovenIn(report); len(ids) > 0 && r.Cloud.ProofByCreateResponseOnly {
			t.Logf("%s seed %d: cleanup kept %v as unproven", r.Cloud.Provider, r.Seed, ids)
			kept[r.Cloud.Provider] = append(kept[r.Cloud.Provider], ids)
		}
		stages[fmt.Sprintf("%s/%s", r.stage, r.how)]++
		h, err := history(ctx, e.Client, r.Handle.WorkflowID, r.Handle.RunID)
		require.NoError(t, err)
		assertNoSecrets(t, "the history of "+r.Handle.WorkflowID, historyJSON(t, h), secrets)
	}
	orphans, unproven := 0, 0
	for _, c := range set {
		c.Simulator.SetLatency(0)
		left := added(before[c.Provider], c.Simulator.Inventory())
		keptHere := keptUnproven(t, c, kept[c.Provider], left, nil)
		assert.Equal(t, keptHere, left, "%s: backups left behind by cancelled workflows (other than those kept as unproven)", c.Provider)
		orphans += len(added(keptHere, left))
		unproven += len(keptHere)
		survivors(t, c, before[c.Provider])
	}
	t.Logf("stages at cancel (state/how): %v", stages)
	t.Logf("FIGURES cancellation: cancellations=%d had-created=%d kept-unproven=%d orphans=%d", len(runs), created, unproven, orphans)
	assert.Positive(t, created, "some cancels came after the provider had started the backup")
	assert.Less(t, created, len(runs), "some cancels came before the provider had started anything")
}
