package reliability

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/testenv"
	"github.com/backupflow/backupflow/plan"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/simulator/simkit"
	_ "github.com/backupflow/backupflow/wiring" // the drivers' rules name a request's target
)

// TestWorkerKilledDuringRetention: one plan with a target on every provider
// makes runs backups, dated a day apart, under a retention that keeps them
// all; somebody else adds a backup of the same resource, named as the plan
// names its own. Then the plan asks to keep only the newest, and retention
// runs while the worker process is SIGKILLed at random moments of its
// deletions (slow provider calls, answers held on the way back) and
// restarted. The first kill lands after a delete applied at a provider and
// before its answer reached the worker, so the next attempt deletes a backup
// already gone.
//
// Then, per provider: exactly the plan's older backups are gone and the
// inventory marks exactly those deleted; the newest, the foreign backup and
// everything there before remain; no delete call ever named anything but a
// backup retention let go; each was deleted exactly once, and every other
// delete call on it came after and changed nothing (counted as repeated).
func TestWorkerKilledDuringRetention(t *testing.T) {
	t.Parallel()
	rng := newRNG(t)
	runs := count(5, 8)
	maxKills := count(3, 8)
	const (
		latency = 300 * time.Millisecond // every provider call, on the way in
		hold    = 300 * time.Millisecond // every answer, on the way out
	)

	opts := simkit.Options{Duration: 500 * time.Millisecond}
	set := startClouds(t, opts)
	e := testenv.Start(t, true)
	env, proxies := proxied(t, set, workerEnv(set, e.Server.GetFrontendHostPort(), e.Namespace))
	w := newWorkerProcess(t, env)
	w.Start()
	before := inventories(set)

	var targets []plan.Target
	for i, c := range set {
		targets = append(targets, plan.Target{Name: c.Provider, Request: backup.Request{Provider: c.Provider, Section: c.PlanSection(i)}})
	}
	keepAll := retentionPlan(plan.Retention{KeepLast: 100, KeepLastGood: 1}, targets)
	keepNewest := retentionPlan(plan.Retention{KeepLast: 1, KeepLastGood: 1}, targets)
	day := time.Now().UTC().Truncate(time.Hour).AddDate(0, 0, -runs)
	for i := range runs - 1 {
		runRetentionPlan(t, e, keepAll, day.AddDate(0, 0, i))
	}

	// The last run records the stricter policy while a hold keeps every
	// backup, so its own retention pass deletes nothing and the deletions
	// all happen in the pass the kills hit.
	everything := plan.Hold{By: "reliability", Reason: "keep the deletions for the crash window", At: time.Now()}
	for _, tg := range targets {
		changeHold(t, e, tg.Name, plan.HoldChange{Hold: everything})
	}
	runRetentionPlan(t, e, keepNewest, day.AddDate(0, 0, runs-1))
	for _, tg := range targets {
		require.Eventually(t, func() bool {
			inv := queryInventory(t, e, tg.Name)
			return inv.LastRetention != nil && len(inv.LastRetention.Decisions) == runs
		}, time.Minute, 20*time.Millisecond, "%s: the last run's retention pass", tg.Name)
	}

	// Somebody else's backup of each target's resource, named as a run of
	// the plan on the day before its first would name it, made after the
	// plan's runs (some providers run one backup of a resource at a time)
	// and still running while retention lists the resource.
	foreign := map[string]string{}
	for i, c := range set {
		req, err := plan.Expand(targets[i].Request, keepAll.VarsFor(targets[i].Name, day.AddDate(0, 0, -1)))
		require.NoError(t, err)
		target, err := provider.ValidateRequest(c.Provider, backup.KindCreate, req.Section, time.Now())
		require.NoError(t, err, c.Provider)
		foreign[c.Provider] = c.Simulator.AddForeign(target)
	}
	for _, c := range set {
		require.Empty(t, c.Simulator.Deletes(), "%s: nothing deleted while held", c.Provider)
		c.Simulator.SetLatency(latency)
		proxies[c.Provider].SetHold(hold)
	}

	ctx := testenv.Context(t, 3*time.Minute)
	retained := map[string]client.WorkflowUpdateHandle{}
	for _, tg := range targets {
		changeHold(t, e, tg.Name, plan.HoldChange{Remove: true, Hold: plan.Hold{}})
		h, err := e.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: plan.InventoryID(keepNewest.Name, tg.Name), UpdateName: plan.RetainUpdate,
			Args: []any{plan.RetainRequest{}}, WaitForStage: client.WorkflowUpdateStageAccepted,
		})
		require.NoError(t, err, tg.Name)
		retained[tg.Name] = h
	}

	// Kill while deletions run: first once a delete has applied and its
	// answer is held, then at random moments of calls in flight.
	applied := func() (n int) {
		for _, c := range set {
			for _, d := range c.Simulator.Deletes() {
				if d.Applied {
					n++
				}
			}
		}
		return n
	}
	toDelete := len(set) * (runs - 1)
	var log []string
	for i := 0; i < maxKills && applied() < toDelete; i++ {
		what := "a random moment of a call in flight"
		if i == 0 {
			what = waitFor(ctx, 30*time.Second, "a delete applied, its answer held", func() bool {
				for _, c := range set {
					if slices.ContainsFunc(c.Simulator.Deletes(), func(d simkit.Delete) bool { return d.Applied }) && proxies[c.Provider].Held() > 0 {
						return true
					}
				}
				return false
			})
		} else {
			waitFor(ctx, 30*time.Second, "a call in flight", func() bool {
				return slices.ContainsFunc(set, func(c *simkit.Cloud) bool { return proxies[c.Provider].Waiting() > 0 })
			})
			wait(ctx, between(rng, 0, latency+hold))
		}
		done := applied()
		if done == toDelete {
			break
		}
		w.Kill()
		down := between(rng, 0, time.Second)
		log = append(log, fmt.Sprintf("kill %d at %s, %d of %d deletes applied, down %s", i+1, what, done, toDelete, down.Round(time.Millisecond)))
		wait(ctx, down)
		w.Start()
	}
	for _, l := range log {
		t.Log(l)
	}

	reports := map[string]plan.RetentionReport{}
	for name, h := range retained {
		var rep plan.RetentionReport
		require.NoError(t, h.Get(ctx, &rep), "%s: the retention update ends after the restarts", name)
		reports[name] = rep
	}
	for _, c := range set {
		c.Simulator.SetLatency(0)
		proxies[c.Provider].SetHold(0)
	}

	calls, repeated := 0, 0
	for _, c := range set {
		inv := queryInventory(t, e, c.Provider)
		var plans []string
		for _, en := range inv.Entries {
			require.Equal(t, plan.OutcomeSucceeded, en.Outcome, "%s: %+v", c.Provider, en)
			plans = append(plans, en.BackupID)
		}
		require.Len(t, plans, runs, "%s: one backup per run", c.Provider)
		newest, older := plans[runs-1], plans[:runs-1]
		theirs := currentID(c, foreign[c.Provider])

		var marked []string
		for _, en := range inv.Entries {
			if en.DeletedAt != nil {
				marked = append(marked, en.BackupID)
			}
		}
		assert.Equal(t, older, marked, "%s: the inventory marks exactly the older backups deleted", c.Provider)
		assert.ElementsMatch(t, older, reports[c.Provider].Deleted, "%s: the pass reports them deleted", c.Provider)
		assert.Empty(t, reports[c.Provider].Refused, "%s: the pass refused nothing", c.Provider)

		now := c.Simulator.Inventory()
		for _, id := range older {
			assert.NotContains(t, now, id, "%s: %s, which retention let go, is still there", c.Provider, id)
		}
		assert.Contains(t, now, newest, "%s: the newest backup stays", c.Provider)
		assert.Contains(t, now, theirs, "%s: the foreign backup stays", c.Provider)
		survivors(t, c, before[c.Provider])

		deletes := c.Simulator.Deletes()
		calls += len(deletes)
		seen := map[string]bool{}
		for _, d := range deletes {
			require.Contains(t, older, d.BackupID, "%s: a delete call named %s, which retention never let go (newest %s, foreign %s)", c.Provider, d.BackupID, newest, theirs)
			switch {
			case d.Applied:
				assert.False(t, seen[d.BackupID], "%s: %s deleted twice", c.Provider, d.BackupID)
				seen[d.BackupID] = true
			case seen[d.BackupID]:
				repeated++ // a retried attempt after its answer was lost: the backup is gone
			default:
				t.Errorf("%s: a delete of %s was refused before it ever applied", c.Provider, d.BackupID)
			}
		}
		assert.Len(t, seen, runs-1, "%s: each backup retention let go was deleted once", c.Provider)
		t.Logf("%s: %d backups, %d deleted, %d delete calls, foreign %s kept", c.Provider, runs, len(seen), len(deletes), theirs)
	}
	t.Logf("FIGURES retention-crash: providers=%d backups=%d kills=%d restarts=%d delete-calls=%d deleted=%d repeated-deletes=%d",
		len(set), len(set)*runs, w.Kills, w.Starts-1, calls, toDelete, repeated)
	require.NotEmpty(t, log, "no kill landed during the deletions")
	assert.Contains(t, log[0], "answer held", "the first kill lost a delete's answer")
}

// retentionPlan is a daily plan of targets under r.
func retentionPlan(r plan.Retention, targets []plan.Target) plan.Plan {
	return plan.Plan{
		Name:             "retention-crash",
		Schedule:         plan.Schedule{Every: plan.Duration(24 * time.Hour)},
		StartWindow:      plan.Duration(time.Hour),
		CompletionWindow: plan.Duration(time.Hour),
		Retention:        r,
		Targets:          targets,
	}
}

// runRetentionPlan runs p once, as of at, and requires every target's backup.
func runRetentionPlan(t *testing.T, e *testenv.Env, p plan.Plan, at time.Time) {
	t.Helper()
	ctx := testenv.Context(t, 2*time.Minute)
	run, err := e.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:        fmt.Sprintf("plan-run/%s/%s", p.Name, at.Format(time.RFC3339)),
		TaskQueue: backup.TaskQueue,
	}, plan.RunWorkflow, plan.Run{Plan: p, ScheduledAt: at})
	require.NoError(t, err)
	var res plan.RunResult
	require.NoError(t, run.Get(ctx, &res))
	require.Equal(t, map[plan.Outcome]int{plan.OutcomeSucceeded: len(p.Targets)}, res.Outcomes, "run of %s: %+v", at, res.Entries)
}

func changeHold(t *testing.T, e *testenv.Env, target string, c plan.HoldChange) {
	t.Helper()
	ctx := testenv.Context(t, time.Minute)
	h, err := e.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: plan.InventoryID("retention-crash", target), UpdateName: plan.HoldUpdate,
		Args: []any{c}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	require.NoError(t, err, target)
	require.NoError(t, h.Get(ctx, nil), target)
}

func queryInventory(t *testing.T, e *testenv.Env, target string) plan.Inventory {
	t.Helper()
	ctx := testenv.Context(t, time.Minute)
	v, err := e.Client.QueryWorkflow(ctx, plan.InventoryID("retention-crash", target), "", plan.InventoryQuery)
	require.NoError(t, err, target)
	var inv plan.Inventory
	require.NoError(t, v.Get(&inv), target)
	return inv
}
