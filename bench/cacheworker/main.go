// Command cacheworker is the production worker (./worker: wiring.LoadConfig,
// wiring.InitializeWorker, App.Run) with one addition: the Temporal SDK's
// sticky workflow cache is limited to BENCH_WORKFLOW_CACHE_SIZE workflows
// (the SDK's default is 10,000). The benchmark's in-flight test uses it only
// when asked (-inflight-cache-size), to show what that setting does to the
// worker's memory.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"go.temporal.io/sdk/worker"

	"github.com/backupflow/backupflow/wiring"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "cacheworker:", err)
		os.Exit(1)
	}
}

func run() error {
	size, err := strconv.Atoi(os.Getenv("BENCH_WORKFLOW_CACHE_SIZE"))
	if err != nil || size < 1 {
		return fmt.Errorf("BENCH_WORKFLOW_CACHE_SIZE must be a positive integer, got %q", os.Getenv("BENCH_WORKFLOW_CACHE_SIZE"))
	}
	worker.SetStickyWorkflowCacheSize(size)
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
