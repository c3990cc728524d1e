package integration

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/testenv"
	"github.com/backupflow/backupflow/provider/memory"
)

// An ended backup's progress comes from its stored outcome: it needs no
// worker (a query would wait for one until the deadline).
func TestProgressOfEndedBackupsNeedsNoWorker(t *testing.T) {
	e := testenv.Start(t, true)
	cloud := memory.NewCloud(token)
	app := e.StartWorker(t, e.Config(t), cloud.Driver(token))
	bc := e.BackupClient()
	ctx := testenv.Context(t, time.Minute)
	start := func(section backup.MemoryCreate) *backup.Handle {
		req, err := backup.NewRequest(&section)
		require.NoError(t, err)
		h, err := bc.StartCreate(ctx, req)
		require.NoError(t, err)
		return h
	}
	ok := start(backup.MemoryCreate{Target: "orders-db", Name: "nightly", DurationSeconds: 0.2})
	bad := start(backup.MemoryCreate{Target: "users-db", Name: "nightly", DurationSeconds: 0.2, FailWith: "disk full"})
	slow := start(backup.MemoryCreate{Target: "audit-db", Name: "nightly", DurationSeconds: 3600})
	res, err := ok.Result(ctx)
	require.NoError(t, err)
	_, err = bad.Result(ctx)
	require.Error(t, err)
	waitRunning(t, slow)
	require.NoError(t, slow.Cancel(ctx, "maintenance window"))
	_, err = slow.Result(ctx)
	require.Error(t, err)

	app.Worker.Stop()
	progress := func(h *backup.Handle) backup.Progress {
		qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		p, err := bc.Handle(h.WorkflowID, "").Progress(qctx)
		require.NoError(t, err, "%s: no worker runs, and none is needed", h.WorkflowID)
		return p
	}

	p := progress(ok)
	assert.Equal(t, backup.StateSucceeded, p.State)
	assert.Equal(t, 100.0, p.Percent)
	assert.Equal(t, res.Backup.ID, p.BackupID)
	assert.Equal(t, res.OperationID, p.Operation)
	assert.Equal(t, "memory", p.Provider)
	assert.Equal(t, "orders-db", p.Resource)
	assert.Equal(t, res.Attempts, p.Attempts)

	p = progress(bad)
	assert.Equal(t, backup.StateFailed, p.State)
	assert.Contains(t, p.LastError, "disk full")
	assert.Equal(t, "memory", p.Provider, "from the search attributes")
	assert.Equal(t, "users-db", p.Resource, "from the search attributes")

	p = progress(slow)
	assert.Equal(t, backup.StateCancelled, p.State)
	assert.Equal(t, "maintenance window", p.CancelReason)
	require.NotNil(t, p.Cleanup)
	assert.True(t, p.Cleanup.Created)
	assert.Equal(t, []string{res.Backup.ID}, cloud.Inventory(), "the failed and the cancelled backups were removed")
}
