// Package testenv runs a real Temporal server in-process
// (go.temporal.io/server/temporaltest) with backupflow's search attributes
// registered, and workers assembled by the same Wire injector as production.
package testenv

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/server/temporaltest"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/searchattr"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/wiring"
)

// Env is one Temporal server and a client of its test namespace.
type Env struct {
	Server    *temporaltest.TestServer
	Client    client.Client
	Namespace string
}

// Start starts a server; registerSearchAttributes=false leaves the namespace bare.
func Start(t *testing.T, registerSearchAttributes bool) *Env {
	t.Helper()
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	e := &Env{Server: ts, Client: ts.GetDefaultClient(), Namespace: ts.GetDefaultNamespace()}
	if registerSearchAttributes {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		require.NoError(t, searchattr.Register(ctx, e.Client, e.Namespace))
	}
	return e
}

// Config returns the worker config defaults (as if the environment were
// empty), pointed at this server, with a fast poll policy for tests.
func (e *Env) Config(t *testing.T, providers ...string) wiring.Config {
	t.Helper()
	return e.ConfigFromEnv(t, map[string]string{}, providers...)
}

// ConfigFromEnv is Config with the given environment (simulator endpoints and credentials).
func (e *Env) ConfigFromEnv(t *testing.T, environment map[string]string, providers ...string) wiring.Config {
	t.Helper()
	cfg, err := wiring.ParseConfig(environment)
	require.NoError(t, err)
	cfg.Temporal.Address = e.Server.GetFrontendHostPort()
	cfg.Temporal.Namespace = e.Namespace
	if len(providers) > 0 {
		cfg.Providers = providers
	}
	cfg.Worker.StopTimeout = 2 * time.Second
	cfg.Poll = wiring.PollConfig{Min: 50 * time.Millisecond, Max: 500 * time.Millisecond, DelayFloor: 500 * time.Millisecond, DelayFraction: 0.05}
	return cfg
}

// StartWorker runs a worker assembled by wiring.InitializeWorkerWithClient
// until the test ends.
func (e *Env) StartWorker(t *testing.T, cfg wiring.Config, drivers ...provider.Driver) *wiring.App {
	t.Helper()
	if cfg.Temporal.Address == "" {
		cfg = e.Config(t)
	}
	for _, d := range drivers {
		cfg.Providers = append(cfg.Providers, d.Name())
	}
	app, err := wiring.InitializeWorkerWithClient(cfg, e.Client, wiring.ExtraDrivers(drivers))
	require.NoError(t, err)
	require.NoError(t, app.Worker.Start())
	t.Cleanup(app.Worker.Stop)
	return app
}

// BackupClient returns a typed backupflow client on this server.
func (e *Env) BackupClient() *backup.Client { return backup.NewClient(e.Client) }

// Context returns a context bounded for one test step.
func Context(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// History fetches a workflow's full history.
func (e *Env) History(t *testing.T, workflowID, runID string) *historypb.History {
	t.Helper()
	ctx := Context(t, 30*time.Second)
	it := e.Client.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		h.Events = append(h.Events, ev)
	}
	return h
}

// RecordHistoriesEnv, when set to a directory, makes RecordHistory write
// histories there (the "histories" task regenerates the replay corpus this way).
const RecordHistoriesEnv = "BACKUPFLOW_RECORD_HISTORIES"

// RecordHistory saves a finished workflow's history as <name>.json in the
// directory named by BACKUPFLOW_RECORD_HISTORIES, when that is set.
func (e *Env) RecordHistory(t *testing.T, name, workflowID, runID string) {
	t.Helper()
	dir := os.Getenv(RecordHistoriesEnv)
	if dir == "" {
		return
	}
	h := e.History(t, workflowID, runID)
	raw, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(h)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".json"), raw, 0o644))
}

// ActivityTypes lists the type of every activity and local activity a
// history ran, in order.
func ActivityTypes(t *testing.T, h *historypb.History) []string {
	t.Helper()
	var types []string
	for _, ev := range h.GetEvents() {
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			types = append(types, a.GetActivityType().GetName())
		}
		if m := ev.GetMarkerRecordedEventAttributes(); m.GetMarkerName() == "LocalActivity" {
			var data struct{ ActivityType string }
			require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(m.GetDetails()["data"], &data))
			types = append(types, data.ActivityType)
		}
	}
	return types
}

// Attempts lists the attempt number of every activity and local activity a
// history ran (a local activity's retries are one marker with its last attempt).
func Attempts(t *testing.T, h *historypb.History) []int32 {
	t.Helper()
	var attempts []int32
	for _, ev := range h.GetEvents() {
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
			attempts = append(attempts, a.GetAttempt())
		}
		if m := ev.GetMarkerRecordedEventAttributes(); m.GetMarkerName() == "LocalActivity" {
			var data struct{ Attempt int32 }
			require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(m.GetDetails()["data"], &data))
			attempts = append(attempts, data.Attempt)
		}
	}
	return attempts
}
