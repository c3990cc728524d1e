// Command worker runs backupflow's worker: it polls the backups task queue and
// runs CreateBackup and CopyBackup against the configured providers.
//
// Configuration comes from the environment (see README, "Configuration").
//
// Operations: an HTTP server on BACKUPFLOW_OPS_ADDR (default 127.0.0.1:9090)
// serves /healthz (alive), /readyz (polling and Temporal reachable) and
// /metrics (Prometheus); with BACKUPFLOW_CODEC_ADDR, another serves the
// codec endpoint at /codec/. On SIGTERM or SIGINT the worker stops polling, lets
// running activities finish within BACKUPFLOW_STOP_TIMEOUT, then exits; a
// fatal worker error (e.g. the namespace does not exist) exits with status 1.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/backupflow/backupflow/wiring"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "backupflow worker:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := wiring.LoadConfig()
	if err != nil {
		return err
	}
	wiring.ApplyMemoryLimit(cfg.Worker)
	app, cleanup, err := wiring.InitializeWorker(cfg)
	if err != nil {
		return err
	}
	defer cleanup()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return app.Run(ctx)
}
