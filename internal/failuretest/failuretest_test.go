package failuretest_test

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/backupflow/backupflow/internal/failuretest"
)

func TestEndedCarriesTheCauseChain(t *testing.T) {
	cause := temporal.NewNonRetryableApplicationError("disk full", "BackupFailed", nil)
	err := failuretest.Ended(t, failuretest.ActivityError("PollOperation", cause))
	var activity *temporal.ActivityError
	require.ErrorAs(t, err, &activity)
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	assert.Equal(t, "BackupFailed", app.Type())

	var terminated *temporal.TerminatedError
	assert.True(t, errors.As(failuretest.Terminated(), &terminated))
}

// No binary links a test-support package (this one, providertest, testenv,
// ...): their helpers are for tests only.
func TestNoBinaryLinksATestPackage(t *testing.T) {
	const module = "github.com/backupflow/backupflow/"
	out, err := exec.Command("go", "list", "-deps", module+"worker", module+"starter", module+"deploy/dev").Output()
	require.NoError(t, err)
	var linked int
	for _, p := range strings.Fields(string(out)) {
		if !strings.HasPrefix(p, module) {
			continue
		}
		linked++
		last := p[strings.LastIndex(p, "/")+1:]
		assert.False(t, strings.HasSuffix(last, "test") || last == "testenv", "a binary links the test package %s", p)
	}
	assert.Greater(t, linked, 10, "go list sees the module's packages")
}
