package reliability

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/testenv"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/simulator/simkit"
)

// maxCallsWithWrongCredentials bounds the provider calls one backup makes
// with credentials the provider refuses: the first step that calls the
// provider fails once (Preflight, or Start where Preflight makes no call),
// and the cleanup after a failed start looks once for anything created.
// An IAM token request may precede either. Anything more is a retry.
const maxCallsWithWrongCredentials = 4

// TestWrongCredentials runs one backup per provider on a worker (a separate
// process) whose every credential is wrong. Each backup must fail at once
// with a non-retryable Permission error — one attempt of each activity, a
// handful of provider calls, not a retry storm — and neither the right nor
// the wrong credentials may appear in the histories, the worker's log
// (at debug level) or its metrics, and neither may any signature fragment
// (leakPatterns). TestSecretsUnderNetworkFaults does the same for network
// failures, with the CLI's output too.
func TestWrongCredentials(t *testing.T) {
	t.Parallel()
	set := startClouds(t, simkit.Options{Duration: 2 * time.Second})
	e := testenv.Start(t, true)
	env := workerEnv(set, e.Server.GetFrontendHostPort(), e.Namespace)
	secrets := secretValues(t, set)
	var wrong []string
	for p, keys := range secretVars(t, set) {
		for _, k := range keys {
			env[k] = "wrong-" + strings.ToLower(p) + "-" + env[k]
			wrong = append(wrong, env[k])
		}
	}
	w := newWorkerProcess(t, env)
	w.Start()
	bc := e.BackupClient()
	ctx := testenv.Context(t, 2*time.Minute)

	for _, c := range set {
		t.Run(c.Provider, func(t *testing.T) {
			callsBefore := c.Simulator.Calls()
			h, err := bc.StartCreate(ctx, backup.Request{Provider: c.Provider, Section: c.CreateSection(3)})
			require.NoError(t, err)
			_, err = h.Result(ctx)
			var app *temporal.ApplicationError
			require.True(t, errors.As(err, &app), "fails with an application error: %v", err)
			assert.Equal(t, string(provider.Permission), app.Type(), "%v", err)
			assert.True(t, app.NonRetryable())
			calls := c.Simulator.Calls() - callsBefore
			assert.LessOrEqual(t, calls, maxCallsWithWrongCredentials, "provider calls")
			assert.Positive(t, calls, "the provider refused the credentials itself")

			hist, err := history(ctx, e.Client, h.WorkflowID, h.RunID)
			require.NoError(t, err)
			attempts := testenv.Attempts(t, hist)
			require.NotEmpty(t, attempts)
			for _, a := range attempts {
				assert.EqualValues(t, 1, a, "an activity or local activity was retried: %v", attempts)
			}
			text := historyText(t, hist)
			assertNoLeaks(t, "the history of "+h.WorkflowID, text, secrets)
			assertNoLeaks(t, "the history of "+h.WorkflowID, text, wrong)
			t.Logf("%s: %d provider calls; %s", c.Provider, calls, app.Error())
		})
	}
	w.stop()
	for _, s := range [][]string{secrets, wrong} {
		assertNoLeaks(t, "the worker's log", []byte(w.Log.String()), s)
		assertNoLeaks(t, "the worker's metrics", []byte(w.Metrics.String()), s)
	}
	require.Contains(t, w.Metrics.String(), "backupflow_provider_errors_total{", "the metrics were scraped")
}
