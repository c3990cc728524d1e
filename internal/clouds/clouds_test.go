package clouds

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/simulator/simkit"
)

func TestProvidersAreTheLinkedSimulators(t *testing.T) {
	assert.Equal(t, []string{"alirds", "otcrds", "spanner", "taurusdb"}, Providers())
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
