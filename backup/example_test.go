package backup_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/server/temporaltest"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/wiring"
)

// A Go service starts a backup, follows it, and cancels another one. The
// Temporal server and the backupflow worker run in-process here (with the
// in-memory provider) so the example runs as is; a service would only
// client.Dial its Temporal.
func ExampleClient() {
	temporalClient, stop := startServerAndWorker()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	c := backup.NewClient(temporalClient)

	// Typed sections mirror each provider's API; NewRequest wraps one.
	req, err := backup.NewRequest(&backup.MemoryCreate{Target: "orders-db", Name: "nightly", DurationSeconds: 0.5})
	if err != nil {
		log.Fatal(err)
	}
	h, err := c.StartCreate(ctx, req)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("workflow:", h.WorkflowID)
	res, err := h.Result(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("backup:", res.Backup.Name, res.Backup.State)

	// One backup per resource at a time: a different request conflicts.
	long, _ := backup.NewRequest(&backup.MemoryCreate{Target: "orders-db", Name: "weekly", DurationSeconds: 600})
	h, err = c.StartCreate(ctx, long)
	if err != nil {
		log.Fatal(err)
	}
	other, _ := backup.NewRequest(&backup.MemoryCreate{Target: "orders-db", Name: "adhoc"})
	_, err = c.StartCreate(ctx, other)
	var conflict *backup.ConflictError
	fmt.Println("conflict with:", errors.As(err, &conflict), conflict.WorkflowID)

	// Wait until the provider is running it, then cancel: the workflow
	// stops the provider's operation, deletes what it made, and says so.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for p := (backup.Progress{}); p.State != backup.StateRunning; p, _ = h.Progress(ctx) {
		select {
		case <-tick.C:
		case <-ctx.Done():
			log.Fatal("the backup never ran")
		}
	}
	if err := h.Cancel(ctx, "maintenance window closed"); err != nil {
		log.Fatal(err)
	}
	_, err = h.Result(ctx)
	report, cancelled := backup.CleanupOf(err)
	fmt.Println("cancelled:", cancelled, "-", report.Reason)
	fmt.Println("created:", report.Created, "cancelled at provider:", report.CancelledAtProvider)

	// Output:
	// workflow: create/memory/orders-db
	// backup: nightly READY
	// conflict with: true create/memory/orders-db
	// cancelled: true - maintenance window closed
	// created: true cancelled at provider: true
}

// startServerAndWorker runs a Temporal server and a backupflow worker with
// the memory provider, assembled as the worker process assembles itself.
func startServerAndWorker() (client.Client, func()) {
	ts := temporaltest.NewServer()
	cfg, err := wiring.ParseConfig(map[string]string{
		"BACKUPFLOW_PROVIDERS": backup.ProviderMemory,
		"BACKUPFLOW_LOG_LEVEL": "error",
		"BACKUPFLOW_POLL_MIN":  "50ms",
		"BACKUPFLOW_POLL_MAX":  "500ms",
		// A short floor, so this half-second backup is polled soon after it ends.
		"BACKUPFLOW_POLL_DELAY_FLOOR": "200ms",
	})
	if err != nil {
		log.Fatal(err)
	}
	cfg.Temporal.Address, cfg.Temporal.Namespace = ts.GetFrontendHostPort(), ts.GetDefaultNamespace()
	app, err := wiring.InitializeWorkerWithClient(cfg, ts.GetDefaultClient(), nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := app.Worker.Start(); err != nil {
		log.Fatal(err)
	}
	return ts.GetDefaultClient(), func() { app.Worker.Stop(); ts.Stop() }
}
