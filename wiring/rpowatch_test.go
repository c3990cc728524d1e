package wiring

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/internal/ops"
)

func TestRPOWatchInterval(t *testing.T) {
	cfg, err := ParseConfig(map[string]string{})
	require.NoError(t, err)
	assert.Equal(t, "1m", cfg.Ops.RPOWatchInterval, "the default")
	metrics, err := ops.NewMetrics()
	require.NoError(t, err)
	logger := slog.New(slog.DiscardHandler)
	w := newRPOWatch(cfg, nil, metrics, nil, logger)
	require.NotNil(t, w)
	assert.Equal(t, time.Minute, w.Interval)
	assert.NotNil(t, w.DataConverter, "the default converter when there is no codec")

	for _, off := range []string{"0", "off"} {
		cfg.Ops.RPOWatchInterval = off
		assert.Nil(t, newRPOWatch(cfg, nil, metrics, nil, logger), off)
	}

	_, err = load(t, map[string]string{"BACKUPFLOW_PROVIDERS": "memory", "BACKUPFLOW_RPO_WATCH_INTERVAL": "1s"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "BACKUPFLOW_RPO_WATCH_INTERVAL: 1s is below the minimum 5s")
	cfg, err = load(t, map[string]string{"BACKUPFLOW_PROVIDERS": "memory", "BACKUPFLOW_RPO_WATCH_INTERVAL": "off"})
	require.NoError(t, err)
	assert.Equal(t, "off", cfg.Ops.RPOWatchInterval)
}
