package clouds

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/simulator/simkit"
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
