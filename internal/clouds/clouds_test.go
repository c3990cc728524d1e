package clouds

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/plan"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/simulator/simkit"
	_ "github.com/backupflow/backupflow/wiring" // the drivers, whose rules check the sections
)

// Every simulator package (simulator/<name>sim, but the family plumbing) is
// linked in simulators.go, so a new one cannot be forgotten there.
func TestProvidersAreTheLinkedSimulators(t *testing.T) {
	dirs, err := os.ReadDir("../../simulator")
	require.NoError(t, err)
	var packages []string
	for _, d := range dirs {
		name, ok := strings.CutSuffix(d.Name(), "sim")
		if d.IsDir() && ok && name != "huaweicloud" {
			packages = append(packages, name)
		}
	}
	require.Contains(t, packages, "spanner", "the discovery sees the simulator packages")
	assert.Equal(t, packages, Providers(), "simulator/<name>sim packages and the simulators linked in simulators.go")
}

func TestStartSetEnvGet(t *testing.T) {
	set, err := Start(simkit.Options{}, "taurusdb", "spanner")
	require.NoError(t, err)
	t.Cleanup(set.Close)
	require.Len(t, set, 2)

	env := set.Env()
	assert.Equal(t, "spanner,taurusdb", env["BACKUPFLOW_PROVIDERS"])
	for _, c := range set {
		for k, v := range c.Env {
			assert.Equal(t, v, env[k], "%s: %s", c.Provider, k)
		}
		assert.NotNil(t, c.CreateSection(1), c.Provider)
		assert.NotEmpty(t, c.Simulator.Endpoint(), c.Provider)
	}
	sp, err := set.Get("spanner")
	require.NoError(t, err)
	assert.Equal(t, "spanner", sp.Provider)
	assert.NotNil(t, sp.CopySection, "Spanner can copy")
	assert.Equal(t, sp.Simulator.Endpoint(), env["BACKUPFLOW_SPANNER_ENDPOINT"])
	_, err = set.Get("alirds")
	assert.ErrorContains(t, err, "no simulator running for alirds")
}

func TestStartRefusesAnUnknownProvider(t *testing.T) {
	_, err := Start(simkit.Options{}, "spanner", "nowhere")
	assert.ErrorContains(t, err, `no simulator for provider "nowhere"`)
}

// Every simulator gives a plan target's request: it expands for a run, the
// provider's own rules accept it, and runs on different days name their
// backups apart (or, where the provider names none, not at all), on the same
// resource.
func TestEveryCloudHasAPlanSection(t *testing.T) {
	set, err := Start(simkit.Options{})
	require.NoError(t, err)
	t.Cleanup(set.Close)
	day := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	for _, c := range set {
		require.NotNil(t, c.PlanSection, "%s: its register.go sets no PlanSection", c.Provider)
		p := plan.Plan{Name: "nightly", Retention: plan.Retention{KeepLast: 3, KeepLastGood: 1}}
		var targets []provider.Target
		for i := range 2 {
			req, err := plan.Expand(backup.Request{Provider: c.Provider, Section: c.PlanSection(1)}, p.VarsFor("db", day.AddDate(0, 0, i)))
			require.NoError(t, err, c.Provider)
			tg, err := provider.ValidateRequest(c.Provider, backup.KindCreate, req.Section, time.Now())
			require.NoError(t, err, "%s: %s", c.Provider, req.Section)
			targets = append(targets, tg)
		}
		assert.Equal(t, targets[0].Resource, targets[1].Resource, c.Provider)
		if targets[0].BackupName != "" {
			assert.NotEqual(t, targets[0].BackupName, targets[1].BackupName, "%s: two runs name their backups alike", c.Provider)
		}
	}
}
