package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/backupflow/backupflow/activities"
	"github.com/backupflow/backupflow/notify"
)

// TestNotifyRetriesAFailingSinkThenDeadLetters: a sink answering 500 every
// time is retried with backoff while the other sink gets the event at
// once; then the failing one gets a dead letter, and the workflow still
// completes. (The SDK's test environment stops unlimited retries after 10
// attempts, about 8.5 simulated minutes here; on a server they go on until
// GiveUpAfter, as integration/notify_test.go shows.)
func TestNotifyRetriesAFailingSinkThenDeadLetters(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterActivity(&activities.Notifier{})
	start := time.Date(2026, 1, 10, 2, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	var attempts []time.Time
	env.OnActivity(nt.Deliver, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.DeliverInput) error {
		if in.Sink == "chat" {
			return nil
		}
		attempts = append(attempts, env.Now())
		return temporal.NewApplicationError("sink ops-webhook answered 500 Internal Server Error", "SinkUnavailable")
	})
	e := notify.New(notify.BackupFailed, "create/memory/db", "db", "", start, notify.Data{Resource: "db"}, "create/memory/db", "run-1")
	env.ExecuteWorkflow(Notify, activities.NotifyInput{Event: e, Sinks: []string{"ops-webhook", "chat"}, GiveUpAfter: time.Hour})

	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError(), "a sink never fails the workflow")
	var res activities.NotifyResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, []string{"chat"}, res.Delivered)
	require.Len(t, res.DeadLetters, 1)
	assert.Equal(t, "ops-webhook", res.DeadLetters[0].Sink)
	require.GreaterOrEqual(t, len(attempts), 5, "retried")
	assert.Less(t, attempts[len(attempts)-1].Sub(start), time.Hour, "no attempt after the give-up time")
	for i := 2; i < len(attempts); i++ {
		assert.Greater(t, attempts[i].Sub(attempts[i-1]), attempts[i-1].Sub(attempts[i-2]), "backing off")
	}
	t.Logf("%d attempts over %s", len(attempts), attempts[len(attempts)-1].Sub(start))
}
