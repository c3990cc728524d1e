package integration

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/backupflow/backupflow/activities"
	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/ops"
	"github.com/backupflow/backupflow/internal/testenv"
	"github.com/backupflow/backupflow/notify"
	"github.com/backupflow/backupflow/notify/notifytest"
	"github.com/backupflow/backupflow/plan"
	"github.com/backupflow/backupflow/provider/memory"
	"github.com/backupflow/backupflow/wiring"
)

// notifyEnv is a server and a memory-provider worker whose sinks file
// names a signed webhook and a Slack-compatible receiver, both on loopback.
type notifyEnv struct {
	*coreEnv
	app   *wiring.App
	hook  *notifytest.Receiver
	slack *notifytest.SlackReceiver
}

func startNotifying(t *testing.T, giveUpAfter string) *notifyEnv {
	secret := []byte("a-webhook-secret-of-32-bytes-len")
	hook := notifytest.NewReceiver(t, secret)
	slack := notifytest.NewSlackReceiver(t)
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	require.NoError(t, os.WriteFile(secretFile, secret, 0o600))
	sinks := filepath.Join(dir, "sinks.yaml")
	require.NoError(t, os.WriteFile(sinks, fmt.Appendf(nil, `sinks:
  - name: ops-webhook
    kind: webhook
    url: %s
    secretFile: %s
  - name: team-chat
    kind: slack
    url: %s
    types: [%s, %s]
`, hook.URL, secretFile, slack.URL, notify.BackupFailed, notify.RPOBreached), 0o600))

	e := testenv.Start(t, true)
	cloud := memory.NewCloud(token)
	cfg := e.ConfigFromEnv(t, map[string]string{"BACKUPFLOW_NOTIFY_SINKS_FILE": sinks, "BACKUPFLOW_NOTIFY_GIVE_UP_AFTER": giveUpAfter})
	app := e.StartWorker(t, cfg, cloud.Driver(token))
	return &notifyEnv{coreEnv: &coreEnv{Env: e, cloud: cloud, client: e.BackupClient()}, app: app, hook: hook, slack: slack}
}

func typesOf(events []notify.Event) map[notify.Type]int {
	n := map[notify.Type]int{}
	for _, e := range events {
		n[e.Type]++
	}
	return n
}

// TestNotificationsForEveryBackupOutcome: each outcome reaches the
// webhook once, signed, as a structured CloudEvent with its data; the
// Slack sink gets only the types it asked for, as text.
func TestNotificationsForEveryBackupOutcome(t *testing.T) {
	e := startNotifying(t, "24h")
	ctx := testenv.Context(t, 2*time.Minute)

	h, err := e.client.StartCreate(ctx, memoryRequest(t, "orders-db", "nightly", 0.5))
	require.NoError(t, err)
	res, err := h.Result(ctx)
	require.NoError(t, err)
	copyReq, err := backup.NewRequest(&backup.MemoryCopy{Source: res.Backup.ID, Target: "dr-site", Name: "nightly-copy", DurationSeconds: 0.2})
	require.NoError(t, err)
	ch, err := e.client.StartCopy(ctx, copyReq)
	require.NoError(t, err)
	_, err = ch.Result(ctx)
	require.NoError(t, err)
	failing, err := backup.NewRequest(&backup.MemoryCreate{Target: "flaky-db", Name: "doomed", DurationSeconds: 0.2, FailWith: "disk full"})
	require.NoError(t, err)
	fh, err := e.client.StartCreate(ctx, failing)
	require.NoError(t, err)
	_, err = fh.Result(ctx)
	require.Error(t, err)
	long, err := e.client.StartCreate(ctx, memoryRequest(t, "cancel-db", "long", 600))
	require.NoError(t, err)
	waitRunning(t, long)
	require.NoError(t, long.Cancel(ctx, "maintenance window closed"))
	_, err = long.Result(ctx)
	var cancelled *temporal.CanceledError
	require.True(t, errors.As(err, &cancelled), "%v", err)

	want := map[notify.Type]int{notify.BackupStarted: 4, notify.BackupSucceeded: 1, notify.CopySucceeded: 1,
		notify.BackupFailed: 1, notify.BackupCancelled: 1}
	events := e.hook.WaitFor(t, time.Minute, func(ev []notify.Event) bool { return len(ev) >= 8 })
	assert.Equal(t, want, typesOf(events), "each occurrence once, by ID")
	assert.Zero(t, e.hook.BadSignatures())
	for _, ev := range events {
		var d notify.Data
		require.NoError(t, json.Unmarshal(ev.Data, &d))
		assert.Equal(t, "memory", d.Provider, "%s", ev.Type)
		assert.NotEmpty(t, d.WorkflowID, "%s", ev.Type)
		assert.Equal(t, "/backupflow/"+d.WorkflowID, ev.Source)
		assert.Equal(t, d.Resource, ev.Subject)
		switch ev.Type {
		case notify.BackupSucceeded:
			assert.Equal(t, res.Backup.ID, d.BackupID)
			assert.Equal(t, h.WorkflowID, d.WorkflowID)
			assert.Equal(t, h.RunID, d.RunID)
		case notify.BackupFailed:
			assert.Equal(t, "BackupFailed", d.Class)
			assert.Contains(t, d.Failure, "disk full")
		case notify.BackupCancelled:
			assert.Equal(t, "maintenance window closed", d.Failure)
		}
	}
	texts := e.slack.WaitFor(t, time.Minute, func(s []string) bool { return len(s) >= 1 })
	require.Len(t, texts, 1, "the Slack sink listens to failures and breaches only")
	assert.Contains(t, texts[0], "disk full")

	// The delivery of the success is a Notify workflow named after the event.
	var ok notify.Event
	for _, ev := range events {
		if ev.Type == notify.BackupSucceeded {
			ok = ev
		}
	}
	var result activities.NotifyResult
	require.NoError(t, e.Client.GetWorkflow(ctx, activities.NotifyWorkflowID(ok.ID), "").Get(ctx, &result))
	assert.Equal(t, []string{"ops-webhook"}, result.Delivered)
	assert.Empty(t, result.DeadLetters)
	e.RecordHistory(t, "notify-webhook-delivered", activities.NotifyWorkflowID(ok.ID), "")
}

// TestFailingSinkDelaysNoBackup: a webhook answering 500 throughout: the
// backup ends on its own time while the deliveries retry, and each
// delivery is dead-lettered once the give-up time has passed.
func TestFailingSinkDelaysNoBackup(t *testing.T) {
	e := startNotifying(t, "4s")
	e.hook.FailWith(500)
	ctx := testenv.Context(t, 2*time.Minute)

	h, err := e.client.StartCreate(ctx, memoryRequest(t, "busy-sink-db", "nightly", 0.2))
	require.NoError(t, err)
	_, err = h.Result(ctx)
	require.NoError(t, err)
	// The backup is done; its started event's delivery is still retrying.
	started := notify.New(notify.BackupStarted, h.WorkflowID, "", "", time.Time{}, notify.Data{}, h.WorkflowID, h.RunID)
	desc, err := e.Client.DescribeWorkflowExecution(ctx, activities.NotifyWorkflowID(started.ID), "")
	require.NoError(t, err, "the started event's delivery workflow exists, named by the event's deterministic ID")
	assert.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, desc.GetWorkflowExecutionInfo().GetStatus(),
		"the backup finished while its notification was still failing")
	// Only markers in the backup's history: no wait on a sink.
	for _, ev := range e.History(t, h.WorkflowID, h.RunID).GetEvents() {
		assert.NotEqual(t, enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED, ev.GetEventType())
	}

	var result activities.NotifyResult
	require.NoError(t, e.Client.GetWorkflow(ctx, activities.NotifyWorkflowID(started.ID), "").Get(ctx, &result))
	assert.Empty(t, result.Delivered)
	require.Len(t, result.DeadLetters, 1)
	assert.Equal(t, "ops-webhook", result.DeadLetters[0].Sink)
	assert.Contains(t, result.DeadLetters[0].Error, "500")
	e.RecordHistory(t, "notify-webhook-dead-letter", activities.NotifyWorkflowID(started.ID), "")
	assert.GreaterOrEqual(t, e.hook.Requests(), 2, "retried before giving up")
	assert.Empty(t, e.hook.Events())

	// Dead letters are findable: a list of the Notify workflows.
	require.Eventually(t, func() bool {
		resp, err := e.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: e.Namespace,
			Query: fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Completed'", activities.NotifyWorkflow)})
		return err == nil && len(resp.GetExecutions()) >= 2
	}, 30*time.Second, 100*time.Millisecond)
}

// TestRPOBreachAndRecoveryOnARealServer: an inventory whose newest good
// backup ages past its RPO is marked breached (search attribute, memo,
// event) when it does, and met again once a good backup is recorded.
func TestRPOBreachAndRecoveryOnARealServer(t *testing.T) {
	e := startNotifying(t, "24h")
	ctx := testenv.Context(t, 2*time.Minute)

	h, err := e.client.StartCreate(ctx, memoryRequest(t, "rpo-db", "first", 0.1))
	require.NoError(t, err)
	res, err := h.Result(ctx)
	require.NoError(t, err)
	entry := func(r backup.Result, at time.Time) plan.Entry {
		return plan.Entry{ScheduledAt: at, Outcome: plan.OutcomeSucceeded, Kind: backup.KindCreate, Provider: "memory",
			Resource: r.Resource, BackupID: r.Backup.ID, BackupName: r.Backup.Name, OperationID: r.OperationID, CreateTime: r.Backup.CreateTime}
	}
	// The RPO is short so the breach comes within the test; plans refuse an
	// RPO their schedule cannot meet, the inventory takes what it is given.
	const rpo = 3 * time.Second
	policy := plan.Policy{Retention: plan.Retention{KeepLast: 5, KeepLastGood: 1}, RPO: plan.Duration(rpo)}
	id := plan.InventoryID("rpo-plan", "orders")
	_, err = e.Client.SignalWithStartWorkflow(ctx, id, plan.RecordSignal, plan.Record{Entries: []plan.Entry{entry(res, *res.Backup.CreateTime)}, Policy: policy},
		client.StartWorkflowOptions{TaskQueue: backup.TaskQueue, TypedSearchAttributes: temporal.NewSearchAttributes(plan.PlanKey.ValueSet("rpo-plan"))},
		plan.InventoryWorkflow, plan.InventoryStart{Plan: "rpo-plan", Target: "orders", Policy: policy})
	require.NoError(t, err)

	listed := func(state string) bool {
		resp, err := e.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: e.Namespace,
			Query: fmt.Sprintf("%s = '%s' AND WorkflowId = '%s'", plan.SearchAttributeRPO, state, id)})
		return err == nil && len(resp.GetExecutions()) == 1
	}
	require.Eventually(t, func() bool { return listed(plan.RPOMet) }, 30*time.Second, 100*time.Millisecond, "met while fresh")
	breached := e.hook.WaitFor(t, time.Minute, func(ev []notify.Event) bool { return typesOf(ev)[notify.RPOBreached] == 1 })
	require.Eventually(t, func() bool { return listed(plan.RPOBreached) }, 30*time.Second, 100*time.Millisecond,
		"the Web UI finds it: BackupRPO = 'breached'")
	inv := queryInventory(t, e.Env, id)
	require.Len(t, inv.Breaches, 1)
	assert.Equal(t, res.Backup.CreateTime.Add(rpo), inv.Breaches[0].Since, "breached when the backup aged out")
	for _, ev := range breached {
		if ev.Type == notify.RPOBreached {
			var d notify.Data
			require.NoError(t, json.Unmarshal(ev.Data, &d))
			assert.Equal(t, int64(3), d.RPOSeconds)
			assert.Equal(t, "orders", d.Target)
			assert.True(t, d.LastGood.Equal(*res.Backup.CreateTime))
		}
	}
	// The worker's RPO watch reads the inventory's memo into its gauges.
	require.NotNil(t, e.app.RPOWatch, "the watch runs by default")
	require.NoError(t, e.app.RPOWatch.RunOnce(ctx))
	labels := map[string]string{"plan": "rpo-plan", "target": "orders", "provider": "memory"}
	assert.Equal(t, 1.0, gauge(t, e.app, ops.MetricRPOBreached, labels))
	assert.Equal(t, 3.0, gauge(t, e.app, ops.MetricRPO, labels))
	assert.GreaterOrEqual(t, gauge(t, e.app, ops.MetricLastGoodBackupAge, labels), 3.0)

	texts := e.slack.WaitFor(t, time.Minute, func(s []string) bool { return len(s) >= 1 })
	assert.True(t, strings.Contains(strings.Join(texts, "\n"), "orders"), "the chat hears of the breach: %q", texts)

	h2, err := e.client.StartCreate(ctx, memoryRequest(t, "rpo-db", "second", 0.1))
	require.NoError(t, err)
	res2, err := h2.Result(ctx)
	require.NoError(t, err)
	require.NoError(t, e.Client.SignalWorkflow(ctx, id, "", plan.RecordSignal, plan.Record{Entries: []plan.Entry{entry(res2, *res2.Backup.CreateTime)}, Policy: policy}))
	e.hook.WaitFor(t, time.Minute, func(ev []notify.Event) bool { return typesOf(ev)[notify.RPORecovered] == 1 })
	inv = queryInventory(t, e.Env, id)
	require.NotEmpty(t, inv.Breaches)
	assert.NotNil(t, inv.Breaches[0].Until, "the first breach closed when the good backup was recorded")
	if !inv.Breached() { // the new backup may have aged past 3 s already
		require.NoError(t, e.app.RPOWatch.RunOnce(ctx))
		assert.Equal(t, 0.0, gauge(t, e.app, ops.MetricRPOBreached, labels))
	}
	require.NoError(t, e.Client.TerminateWorkflow(ctx, id, "", "test done"))
	e.RecordHistory(t, "plan-inventory-memory-rpo", id, "")
}

func queryInventory(t *testing.T, e *testenv.Env, id string) plan.Inventory {
	t.Helper()
	v, err := e.Client.QueryWorkflow(testenv.Context(t, 10*time.Second), id, "", plan.InventoryQuery)
	require.NoError(t, err)
	var inv plan.Inventory
	require.NoError(t, v.Get(&inv))
	return inv
}

// gauge reads one series of a worker's metrics registry.
func gauge(t *testing.T, app *wiring.App, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := app.Metrics.Registry.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
					continue series
				}
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}
