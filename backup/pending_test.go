package backup_test

import (
	"crypto/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/ops"
)

// Under a payload codec a pending poll's failure says only "Encoded
// failure": WithPending decodes what it waits for with the worker's data
// converter, and leaves the described failure as it was.
func TestWithPendingDecodesEncryptedFailures(t *testing.T) {
	key := make([]byte, 32)
	_, err := rand.Read(key)
	require.NoError(t, err)
	codec, err := ops.NewCodec(key)
	require.NoError(t, err)
	dc, fc := codec.Converters()
	const waiting = "the provider is still making the backup: 40% (CREATING)"
	failure := fc.ErrorToFailure(temporal.NewApplicationErrorWithOptions(waiting, "StillRunning",
		temporal.ApplicationErrorOptions{Details: []any{backup.PollProgress{Percent: 40, ProviderState: "CREATING"}}}))
	require.Equal(t, "Encoded failure", failure.GetMessage())
	pending := []*workflowpb.PendingActivityInfo{{Attempt: 3, LastFailure: failure}}
	running := backup.Progress{State: backup.StateRunning}

	p := running.WithPending(pending, dc)
	assert.Equal(t, waiting, p.Waiting)
	assert.InDelta(t, 40, p.Percent, 0.001)
	assert.Equal(t, 3, p.Attempts)
	assert.Equal(t, "Encoded failure", failure.GetMessage(), "the caller's failure is not changed")

	// Without the key the message stays the placeholder; nothing breaks.
	p = running.WithPending(pending, converter.GetDefaultDataConverter())
	assert.Equal(t, "Encoded failure", p.Waiting)
}
