package cli

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/plan"
)

const planExample = "../docs/examples/plans.yaml"

// TestPlanExampleIsValidCoversEveryProviderAndIsInTheREADME keeps the
// documented plan file honest: it validates with every provider's rules, has
// a target on every cloud provider, and the README shows it as it is.
func TestPlanExampleIsValidCoversEveryProviderAndIsInTheREADME(t *testing.T) {
	code, out, errOut := run(t, nil, nil, "plan", "validate", "-f", planExample)
	require.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "valid")

	raw, err := os.ReadFile(planExample)
	require.NoError(t, err)
	f, err := plan.Parse(raw)
	require.NoError(t, err)
	var covered []string
	for _, p := range f.Plans {
		for _, tg := range p.Targets {
			covered = append(covered, tg.Request.Provider)
		}
	}
	for _, p := range backup.Providers() {
		if p == backup.ProviderMemory {
			continue // tests and the demo only
		}
		assert.Contains(t, covered, p, "docs/examples/plans.yaml needs a target on %s", p)
	}
	assert.True(t, slices.ContainsFunc(f.Plans, func(p plan.Plan) bool {
		return slices.ContainsFunc(p.Targets, func(t plan.Target) bool { return t.Copy != nil })
	}), "the example shows a copy step")

	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(readme), "```yaml\n"+string(raw)+"```"),
		"README's Backup plans section shows docs/examples/plans.yaml verbatim")
}
