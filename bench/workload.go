package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/memory"
	"github.com/backupflow/backupflow/wiring"
)

// quietLogger drops the SDK's routine logs; warnings and errors still show.
func quietLogger() sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
}

// Baseline workflow and activity names, registered on the same worker as
// backupflow's workflows.
const (
	baselineFour   = "BenchBaselineFourActivities"
	baselineOne    = "BenchBaselineOneActivity"
	noopActivity   = "BenchNoop"
	stampActivity  = "BenchStamp"
	memoryToken    = "bench-token"
	activityLimit  = time.Minute
	workflowBudget = 30 * time.Minute
)

// The baselines use the same activity options as CreateBackup (one-minute
// attempts, the same retry ceiling), so only backupflow's own work differs.
func baselineRetry() *temporal.RetryPolicy {
	return &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 24 * time.Hour}
}

func baselineContexts(ctx workflow.Context) (local, remote workflow.Context) {
	local = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: activityLimit, ScheduleToCloseTimeout: workflowBudget, RetryPolicy: baselineRetry()})
	remote = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: activityLimit, ScheduleToCloseTimeout: workflowBudget, RetryPolicy: baselineRetry()})
	return local, remote
}

// BaselineFour runs the activity executions of a successful CreateBackup
// whose first poll finds the backup done, as no-ops and in the same order:
// a local activity (Validate), two activities (StartOperation,
// PollOperation) and a local activity (Finalize). No search attributes, no
// query handler, no signal channel.
func BaselineFour(ctx workflow.Context, in string) (string, error) {
	local, remote := baselineContexts(ctx)
	if err := workflow.ExecuteLocalActivity(local, noop, in).Get(ctx, nil); err != nil {
		return "", err
	}
	for range 2 {
		if err := workflow.ExecuteActivity(remote, noopActivity, in).Get(ctx, nil); err != nil {
			return "", err
		}
	}
	if err := workflow.ExecuteLocalActivity(local, noop, in).Get(ctx, nil); err != nil {
		return "", err
	}
	return in, nil
}

// BaselineOne runs one activity, which records when it ran.
func BaselineOne(ctx workflow.Context, in string) (string, error) {
	_, remote := baselineContexts(ctx)
	return in, workflow.ExecuteActivity(remote, stampActivity, in).Get(ctx, nil)
}

func noop(context.Context, string) error { return nil }

// stamps records when something happened, by workflow ID.
type stamps struct {
	mu sync.Mutex
	at map[string]time.Time
}

func newStamps() *stamps { return &stamps{at: map[string]time.Time{}} }

func (s *stamps) record(id string) {
	now := time.Now()
	s.mu.Lock()
	if _, ok := s.at[id]; !ok {
		s.at[id] = now
	}
	s.mu.Unlock()
}

func (s *stamps) get(id string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.at[id]
	return t, ok
}

// recordingDriver is the memory driver with a timestamp at every Start
// call: when the provider receives the create request.
type recordingDriver struct {
	provider.Driver
	starts *stamps
}

func (d recordingDriver) Start(ctx context.Context, job provider.Job) (provider.Operation, error) {
	d.starts.record(job.Owner.WorkflowID)
	return d.Driver.Start(ctx, job)
}

// inProcess is one backupflow worker (assembled by wiring, as production
// does) in this process, with the baselines registered on it too.
type inProcess struct {
	app    *wiring.App
	cloud  *memory.Cloud
	starts *stamps // provider Start calls
	stamps *stamps // baseline activity executions
	queue  string
}

// workerConfig is the worker's default configuration (as if its environment
// were empty) pointed at the server, like internal/testenv builds it.
func workerConfig(s *server, namespace, queue string, poll *wiring.PollConfig) (wiring.Config, error) {
	cfg, err := wiring.ParseConfig(map[string]string{})
	if err != nil {
		return cfg, err
	}
	cfg.Temporal.Address = s.Address
	cfg.Temporal.Namespace = namespace
	cfg.Worker.TaskQueue = queue
	cfg.Worker.StopTimeout = 2 * time.Second
	cfg.Worker.LogLevel = "error"
	cfg.Providers = nil // the memory driver comes in as an extra driver
	if poll != nil {
		cfg.Poll = *poll
	}
	return cfg, nil
}

// startInProcess assembles and starts a worker on queue with a fresh memory
// cloud; c is a client of the namespace the worker serves.
func startInProcess(c client.Client, s *server, namespace, queue string, poll *wiring.PollConfig) (*inProcess, error) {
	cfg, err := workerConfig(s, namespace, queue, poll)
	if err != nil {
		return nil, err
	}
	return startConfiguredInProcess(c, cfg)
}

// startConfiguredInProcess starts a worker configured by cfg (from
// workerConfig, then adjusted) with a fresh memory cloud.
func startConfiguredInProcess(c client.Client, cfg wiring.Config) (*inProcess, error) {
	w := &inProcess{cloud: memory.NewCloud(memoryToken), starts: newStamps(), stamps: newStamps(), queue: cfg.Worker.TaskQueue}
	d := recordingDriver{Driver: w.cloud.Driver(memoryToken), starts: w.starts}
	cfg.Providers = []string{d.Name()}
	var err error
	w.app, err = wiring.InitializeWorkerWithClient(cfg, c, wiring.ExtraDrivers{d})
	if err != nil {
		return nil, err
	}
	w.app.Worker.RegisterWorkflowWithOptions(BaselineFour, workflow.RegisterOptions{Name: baselineFour})
	w.app.Worker.RegisterWorkflowWithOptions(BaselineOne, workflow.RegisterOptions{Name: baselineOne})
	w.app.Worker.RegisterActivityWithOptions(noop, activity.RegisterOptions{Name: noopActivity})
	w.app.Worker.RegisterActivityWithOptions(func(ctx context.Context, in string) error {
		w.stamps.record(activity.GetInfo(ctx).WorkflowExecution.ID)
		return nil
	}, activity.RegisterOptions{Name: stampActivity})
	if err := w.app.Worker.Start(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *inProcess) stop() { w.app.Worker.Stop() }

// backupClient is a backupflow client on the worker's queue.
func (w *inProcess) backupClient(c client.Client) *backup.Client {
	return &backup.Client{Temporal: c, TaskQueue: w.queue}
}

// memoryRequest is a CreateBackup request for the memory provider.
func memoryRequest(resource string, seconds float64) (backup.Request, error) {
	return backup.NewRequest(&backup.MemoryCreate{Target: resource, Name: "bench", DurationSeconds: seconds})
}

// startBaseline starts a baseline workflow on the worker's queue.
func (w *inProcess) startBaseline(ctx context.Context, c client.Client, wfType, id string) (client.WorkflowRun, error) {
	return c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: w.queue}, wfType, id)
}

// runID makes workflow IDs unique across runs on one server.
var runID = fmt.Sprintf("%x", time.Now().UnixNano()&0xffffff)
