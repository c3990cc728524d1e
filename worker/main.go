// Command worker runs backupflow's worker: it polls the backups task queue and
// runs CreateBackup and CopyBackup against the configured providers.
//
// Configuration comes from the environment (see README, "Configuration").
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
	app, cleanup, err := wiring.InitializeWorker(cfg)
	if err != nil {
		return err
	}
	defer cleanup()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return app.Run(ctx)
}
