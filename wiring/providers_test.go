package wiring_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/clouds"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/simulator/simkit"
	"github.com/backupflow/backupflow/wiring"
)

// Every list of providers derives from the registrations, or disagrees here:
// the drivers this build links (providers.go), the request sections of the
// public contract (backup, which also bounds the metrics labels), the
// simulators (internal/clouds: dev stack, integration and reliability
// loops, docs examples), docs/providers and the README.
func TestEveryProviderListAgrees(t *testing.T) {
	drivers := wiring.KnownProviders()
	require.Contains(t, drivers, backup.ProviderMemory)
	var cloudDrivers []string
	for _, d := range drivers {
		if d != backup.ProviderMemory {
			cloudDrivers = append(cloudDrivers, d)
		}
	}
	require.NotEmpty(t, cloudDrivers)

	assert.Equal(t, cloudDrivers, backup.Providers(), "backup's request sections (metrics labels, CLI, Go client) and the linked drivers")
	for _, d := range drivers {
		assert.True(t, backup.IsProvider(d), "%s has a request section, so its metrics label is not %q", d, backup.MetricUnknown)
	}
	assert.Equal(t, cloudDrivers, clouds.Providers(), "the simulators (internal/clouds) and the linked drivers")

	docs, err := filepath.Glob("../docs/providers/*.md")
	require.NoError(t, err)
	var documented []string
	for _, d := range docs {
		documented = append(documented, strings.TrimSuffix(filepath.Base(d), ".md"))
	}
	slices.Sort(documented)
	assert.Equal(t, cloudDrivers, documented, "docs/providers/<name>.md for every provider")

	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	var table []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z0-9]+)` \\| .*\\| .*\\| .*\\| .*\\| .*\\|$").FindAllSubmatch(readme, -1) {
		table = append(table, string(m[1]))
	}
	slices.Sort(table)
	assert.Equal(t, cloudDrivers, table, "the README's provider table")
}

// Each driver reads only variables under its own prefix, and the README's
// configuration table names every one of them.
func TestEveryDriverVariableIsDocumented(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	for _, r := range provider.Registered() {
		if r.Name == backup.ProviderMemory {
			continue
		}
		prefix := provider.EnvPrefix(r.Name)
		row := regexp.MustCompile("(?m)^\\| `" + regexp.QuoteMeta(prefix) + "\\*` \\|.*$").Find(readme)
		if !assert.NotNil(t, row, "the README's configuration table has a %s* row", prefix) {
			continue
		}
		require.NotEmpty(t, r.Variables, r.Name)
		for _, v := range r.Variables {
			require.True(t, strings.HasPrefix(v, prefix), v)
			name := strings.TrimPrefix(v, prefix)
			documented := strings.Contains(string(row), "`"+name+"`") ||
				strings.Contains(string(row), "`"+strings.TrimSuffix(name, "_FILE")+"[_FILE]`")
			assert.True(t, documented, "the README's %s* row names %s", prefix, v)
		}
	}
}

// A provider's copy section exists exactly when its driver supports copy and
// its simulator offers copy requests; each driver builds from its
// simulator's environment through its registration, as the dev stack's
// worker builds it.
func TestCopySupportAgrees(t *testing.T) {
	set, err := clouds.Start(simkit.Options{})
	require.NoError(t, err)
	t.Cleanup(set.Close)
	env := set.Env()
	for _, c := range set {
		r, ok := provider.Lookup(c.Provider)
		require.True(t, ok, c.Provider)
		d, err := r.New(env)
		require.NoError(t, err, c.Provider)
		assert.Equal(t, d.SupportsCopy(), backup.HasSection(c.Provider, backup.KindCopy), "%s: driver's SupportsCopy and backup's copy section", c.Provider)
		assert.Equal(t, d.SupportsCopy(), c.CopySection != nil, "%s: driver's SupportsCopy and the simulator's copy requests", c.Provider)
	}
}

// A Go service that imports backup links nothing a driver brings in (no
// cloud SDK): backup's dependencies hold no package that a driver package
// depends on beyond what package provider itself does.
func TestBackupLinksNoCloudSDK(t *testing.T) {
	deps := func(pkgs ...string) map[string]bool {
		out, err := exec.Command("go", append([]string{"list", "-deps"}, pkgs...)...).Output()
		require.NoError(t, err, "go list -deps %v", pkgs)
		set := map[string]bool{}
		for _, p := range strings.Fields(string(out)) {
			set[p] = true
		}
		return set
	}
	const module = "github.com/backupflow/backupflow/"
	contract := deps(module + "backup")
	core := deps(module + "provider")
	drivers := deps(module + "provider/...")
	var driverOnly int
	for p := range drivers {
		if core[p] {
			continue
		}
		driverOnly++
		assert.False(t, contract[p], "backup links %s, which only drivers need", p)
	}
	assert.Greater(t, driverOnly, 100, "the drivers bring in their SDKs")
}
