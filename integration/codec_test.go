package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/testenv"
	"github.com/backupflow/backupflow/provider/memory"
	"github.com/backupflow/backupflow/wiring"
)

// With an encrypting payload codec, memos and poll details are ciphertext:
// the typed client must read them with the same converter, or an identical
// re-submission looks like a conflict and the live percent disappears.
func TestClientUnderPayloadCodec(t *testing.T) {
	e := testenv.Start(t, true)
	keyFile := filepath.Join(t.TempDir(), "codec.key")
	require.NoError(t, os.WriteFile(keyFile, []byte(strings.Repeat("ab", 32)), 0o600))
	dc, err := wiring.DataConverter(keyFile)
	require.NoError(t, err)
	c := e.Server.NewClientWithOptions(client.Options{Namespace: e.Namespace, DataConverter: dc})
	t.Cleanup(c.Close)

	cloud := memory.NewCloud(token)
	app, err := wiring.InitializeWorkerWithClient(e.Config(t, "memory"), c, wiring.ExtraDrivers{cloud.Driver(token)})
	require.NoError(t, err)
	require.NoError(t, app.Worker.Start())
	t.Cleanup(app.Worker.Stop)

	bc := backup.NewClient(c)
	bc.DataConverter = dc
	ctx := testenv.Context(t, time.Minute)
	req := memoryRequest(t, "sealed-db", "b", 600)
	first, err := bc.StartCreate(ctx, req)
	require.NoError(t, err)
	again, err := bc.StartCreate(ctx, req)
	require.NoError(t, err, "an identical re-submission attaches under a codec too")
	assert.True(t, again.Attached)

	require.Eventually(t, func() bool {
		p, err := first.Progress(ctx)
		return err == nil && p.State == backup.StateRunning && p.Percent > 0
	}, 20*time.Second, 50*time.Millisecond, "the live percent is decoded through the codec")
	require.NoError(t, first.Cancel(ctx, "done"))
	_, err = first.Result(ctx)
	_, ok := backup.CleanupOf(err)
	assert.True(t, ok)
}
