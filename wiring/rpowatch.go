package wiring

import (
	"context"
	"log/slog"

	"go.temporal.io/sdk/client"

	"github.com/backupflow/backupflow/internal/ops"
)

// validateRPOWatch checks BACKUPFLOW_RPO_WATCH_INTERVAL.
func (o OpsConfig) validateRPOWatch() error {
	_, err := ops.ParseRPOWatchInterval(o.RPOWatchInterval)
	return err
}

// newRPOWatch returns the worker's RPO watch on client c, decoding memos
// with the codec's data converter (the client's); nil when
// BACKUPFLOW_RPO_WATCH_INTERVAL is 0 or off.
func newRPOWatch(cfg Config, c client.Client, metrics *ops.Metrics, codec *ops.Codec, logger *slog.Logger) *ops.RPOWatch {
	every, err := ops.ParseRPOWatchInterval(cfg.Ops.RPOWatchInterval)
	if err != nil { // Validate refuses this first; an unvalidated config gets no watch
		logger.Error("RPO watch off", "error", err)
		return nil
	}
	if every == 0 {
		return nil
	}
	return &ops.RPOWatch{Client: c, DataConverter: codec.DataConverter(), Metrics: metrics, Logger: logger, Interval: every}
}

// startRPOWatch runs the RPO watch, if any, until the returned stop is
// called; stop returns once the watch has.
func (a *App) startRPOWatch() (stop func()) {
	if a.RPOWatch == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.RPOWatch.Run(ctx)
	}()
	a.Logger.Info("RPO watch running", "interval", a.RPOWatch.Interval)
	return func() { cancel(); <-done }
}
