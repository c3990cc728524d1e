package reliability

import (
	"errors"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/clouds"
	"github.com/backupflow/backupflow/internal/testenv"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/simulator/simkit"
)

// Where a provider keeps no ownership marker with a backup
// (simkit.Cloud.ProofByCreateResponseOnly), a create whose answer is lost (a
// dropped connection, a killed worker) cannot be adopted: by design the
// workflow fails with AlreadyExists naming the backup, or a cancel's cleanup
// finds it, and the cleanup report keeps it as "ownership not proven". The
// tests count such a run as "kept, unproven" when the backup it kept is
// exactly an extra backup at the provider, never as a duplicate or an orphan.

// failedUnproven returns the backups a run kept as unproven when it failed
// with AlreadyExists after its cleanup; ok is false for any other end.
func failedUnproven(err error) (kept []string, ok bool) {
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != string(provider.AlreadyExists) || !app.HasDetails() {
		return nil, false
	}
	var report backup.CleanupReport
	if app.Details(&report) != nil {
		return nil, false
	}
	kept = unprovenIn(report)
	return kept, len(kept) > 0
}

// unprovenIn lists the backups a cleanup report kept as unproven.
func unprovenIn(report backup.CleanupReport) []string {
	var ids []string
	for _, k := range report.Kept {
		if k.Reason == provider.ReasonNotProven {
			ids = append(ids, k.ID)
		}
	}
	return ids
}

// currentID is the ID a cloud's inventory lists now for a backup named id
// earlier: a simulator whose backups change ID over their life (a task's ID
// while it runs, the backup's once done) says so with CurrentID.
func currentID(c *simkit.Cloud, id string) string {
	if r, ok := c.Simulator.(interface{ CurrentID(string) string }); ok {
		return r.CurrentID(id)
	}
	return id
}

// keptUnproven checks the backups one provider's runs kept as unproven (one
// list per run) and returns them as the provider lists them now, sorted.
// Each such run keeps exactly one backup, made during the test (in created)
// and no workflow's result, and no two runs keep the same one.
func keptUnproven(t *testing.T, c *simkit.Cloud, kept [][]string, created, results []string) []string {
	t.Helper()
	var out []string
	for _, ids := range kept {
		assert.Len(t, ids, 1, "%s: a run keeps exactly the backup its lost create made: %v", c.Provider, ids)
		for _, id := range ids {
			out = append(out, currentID(c, id))
		}
	}
	sort.Strings(out)
	assert.Equal(t, len(out), len(slices.Compact(slices.Clone(out))), "%s: two runs kept the same backup: %v", c.Provider, out)
	for _, id := range out {
		assert.Contains(t, created, id, "%s: a kept backup is one the test made", c.Provider)
		assert.NotContains(t, results, id, "%s: a kept backup is no workflow's result", c.Provider)
	}
	return out
}

// union is a and b together, sorted.
func union(a, b []string) []string {
	out := append(slices.Clone(a), b...)
	sort.Strings(out)
	return out
}

// survivors checks that everything a provider held before the test is still
// there: the tests delete only what their workflows made.
func survivors(t *testing.T, c *simkit.Cloud, before []string) {
	t.Helper()
	now := c.Simulator.Inventory()
	for _, id := range before {
		assert.Contains(t, now, currentID(c, id), "%s: %s, there before the test, was deleted", c.Provider, id)
	}
}

// TestLostCreateIsKept: for every provider that keeps no ownership marker, a
// create whose answer is lost ends its workflow FAILED with AlreadyExists,
// the cleanup report keeping exactly the backup the lost create made, and the
// other tests' accounting counts that backup as kept, unproven.
func TestLostCreateIsKept(t *testing.T) {
	t.Parallel()
	set := startClouds(t, simkit.Options{Duration: 2 * time.Second})
	var noMarker clouds.Set
	for _, c := range set {
		if c.ProofByCreateResponseOnly {
			noMarker = append(noMarker, c)
		}
	}
	if len(noMarker) == 0 {
		t.Skip("every provider keeps an ownership marker")
	}
	e := testenv.Start(t, true)
	e.StartWorker(t, e.ConfigFromEnv(t, set.Env()))
	ctx := testenv.Context(t, 2*time.Minute)
	before := inventories(set)
	for _, c := range noMarker {
		c.Simulator.LoseNextCreate()
		h, err := e.BackupClient().StartCreate(ctx, backup.Request{Provider: c.Provider, Section: c.CreateSection(0)})
		require.NoError(t, err)
		_, err = h.Result(ctx)
		ids, ok := failedUnproven(err)
		require.True(t, ok, "%s: fails AlreadyExists keeping the backup: %v", c.Provider, err)
		created := added(before[c.Provider], c.Simulator.Inventory())
		require.Len(t, created, 1, "%s: the lost create applied, and nothing more was made", c.Provider)
		assert.Equal(t, created, keptUnproven(t, c, [][]string{ids}, created, nil), "%s", c.Provider)
		assert.Contains(t, err.Error(), ids[0], "%s: the failure names the backup", c.Provider)
		survivors(t, c, before[c.Provider])

		p, err := h.Progress(ctx)
		require.NoError(t, err)
		assert.Equal(t, backup.StateFailed, p.State)
		require.NotNil(t, p.Cleanup, "%s: the cleanup report is in the outcome", c.Provider)
		assert.Empty(t, p.Cleanup.Deleted, "%s: nothing deleted", c.Provider)
		assert.Equal(t, ids, unprovenIn(*p.Cleanup))
	}
}
