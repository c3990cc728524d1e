package ops_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/backupflow/backupflow/internal/ops"
	"github.com/backupflow/backupflow/internal/testenv"
	"github.com/backupflow/backupflow/notify"
	"github.com/backupflow/backupflow/plan"
)

const (
	upsertSignal = "upsert-rpo"
	stopSignal   = "stop"
)

// fakeInventory stands in for plan.InventoryWorkflow: it runs until
// stopped and upserts the RPO memo it is sent, as the real one does.
func fakeInventory(ctx workflow.Context) error {
	upserts := workflow.GetSignalChannel(ctx, upsertSignal)
	stop := workflow.GetSignalChannel(ctx, stopSignal)
	for done := false; !done; {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(upserts, func(c workflow.ReceiveChannel, _ bool) {
			var st plan.RPOState
			c.Receive(ctx, &st)
			if err := workflow.UpsertMemo(ctx, map[string]any{plan.MemoRPO: st}); err != nil {
				workflow.GetLogger(ctx).Error("upsert memo", "error", err)
			}
		})
		sel.AddReceive(stop, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); done = true })
		sel.Select(ctx)
	}
	return nil
}

func durationOf(d time.Duration) plan.Duration { return plan.Duration(d) }

func at(t time.Time) *time.Time { return &t }

type rpoFixture struct {
	e     *testenv.Env
	queue string
	m     *ops.Metrics
	watch *ops.RPOWatch
	now   time.Time
}

func newRPOFixture(t *testing.T) *rpoFixture {
	t.Helper()
	e := testenv.Start(t, false)
	f := &rpoFixture{e: e, queue: "rpo-watch-test", now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	w := worker.New(e.Client, f.queue, worker.Options{})
	w.RegisterWorkflowWithOptions(fakeInventory, workflow.RegisterOptions{Name: plan.InventoryWorkflow})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	m, err := ops.NewMetrics()
	require.NoError(t, err)
	f.m = m
	f.watch = &ops.RPOWatch{Client: e.Client, DataConverter: converter.GetDefaultDataConverter(), Metrics: m,
		Now: func() time.Time { return f.now }, PageSize: 2}
	return f
}

// start starts an inventory of the fake type; memo nil starts it without one.
func (f *rpoFixture) start(t *testing.T, c client.Client, id string, memo *plan.RPOState) {
	t.Helper()
	opts := client.StartWorkflowOptions{ID: id, TaskQueue: f.queue}
	if memo != nil {
		opts.Memo = map[string]any{plan.MemoRPO: *memo}
	}
	_, err := c.ExecuteWorkflow(testenv.Context(t, 10*time.Second), opts, plan.InventoryWorkflow)
	require.NoError(t, err)
}

func (f *rpoFixture) gauge(t *testing.T, name, planName, target, provider string) (float64, bool) {
	t.Helper()
	return sample(t, f.m.Registry, name, map[string]string{"plan": planName, "target": target, "provider": provider})
}

// listed waits until visibility shows exactly the running inventories
// want (workflow ID to whether its memo has an RPO), so that the watch's
// next RunOnce sees them.
func (f *rpoFixture) listed(t *testing.T, want map[string]bool) {
	t.Helper()
	require.Eventually(t, func() bool {
		resp, err := f.e.Client.ListWorkflow(testenv.Context(t, 10*time.Second),
			&workflowservice.ListWorkflowExecutionsRequest{Query: ops.RPOWatchQuery, PageSize: 100})
		require.NoError(t, err)
		got := map[string]bool{}
		for _, ex := range resp.GetExecutions() {
			got[ex.GetExecution().GetWorkflowId()] = ex.GetMemo().GetFields()[plan.MemoRPO] != nil
		}
		return assert.ObjectsAreEqual(want, got)
	}, 30*time.Second, 50*time.Millisecond, "visibility lists %v", want)
}

func TestRPOWatchExportsTheInventoriesMemos(t *testing.T) {
	f := newRPOFixture(t)
	c := f.e.Client
	now := f.now
	orders, users, audit := plan.InventoryID("nightly", "orders-db"), plan.InventoryID("nightly", "users-db"), plan.InventoryID("nightly", "audit-db")
	never, stranger := plan.InventoryID("weekly", "never-db"), plan.InventoryID("weekly", "stranger-db")
	f.start(t, c, orders, &plan.RPOState{Provider: "memory", Resource: "orders", RPO: durationOf(26 * time.Hour), LastGood: at(now.Add(-3 * time.Hour))})
	f.start(t, c, users, &plan.RPOState{Provider: "memory", Resource: "users", RPO: durationOf(time.Hour),
		LastGood: at(now.Add(-2 * time.Hour)), BreachedSince: at(now.Add(-time.Hour))})
	f.start(t, c, audit, &plan.RPOState{Provider: "memory", Resource: "audit", LastGood: at(now.Add(-time.Hour))}) // no RPO
	f.start(t, c, never, nil)                                                                                      // memo comes later
	f.start(t, c, stranger, &plan.RPOState{Provider: "nosuch", RPO: durationOf(2 * time.Hour), LastGood: at(now.Add(-time.Minute))})
	// Neither an inventory ID nor an inventory type: both are left out.
	f.start(t, c, "not-an-inventory", &plan.RPOState{Provider: "memory", RPO: durationOf(time.Hour), LastGood: at(now)})
	_, err := c.ExecuteWorkflow(testenv.Context(t, 10*time.Second), client.StartWorkflowOptions{ID: plan.InventoryID("other", "type-db"),
		TaskQueue: "nobody-polls", Memo: map[string]any{plan.MemoRPO: plan.RPOState{Provider: "memory", RPO: durationOf(time.Hour)}}}, "SomethingElse")
	require.NoError(t, err)

	_, found := sample(t, f.m.Registry, ops.MetricRPOWatchLastRun, map[string]string{})
	assert.False(t, found, "no watch has run, so there is no timestamp to go stale")

	f.listed(t, map[string]bool{orders: true, users: true, audit: true, never: false, stranger: true, "not-an-inventory": true})
	require.NoError(t, f.watch.RunOnce(testenv.Context(t, 10*time.Second)))

	expect := func(name, planName, target, provider string, want float64) {
		t.Helper()
		v, found := f.gauge(t, name, planName, target, provider)
		if assert.True(t, found, "%s{%s/%s/%s} is exported", name, planName, target, provider) {
			assert.Equal(t, want, v, "%s{%s/%s/%s}", name, planName, target, provider)
		}
	}
	expect(ops.MetricLastGoodBackupAge, "nightly", "orders-db", "memory", 3*3600)
	expect(ops.MetricRPO, "nightly", "orders-db", "memory", 26*3600)
	expect(ops.MetricRPOBreached, "nightly", "orders-db", "memory", 0)
	expect(ops.MetricLastGoodBackupAge, "nightly", "users-db", "memory", 2*3600)
	expect(ops.MetricRPO, "nightly", "users-db", "memory", 3600)
	expect(ops.MetricRPOBreached, "nightly", "users-db", "memory", 1)
	expect(ops.MetricRPO, "weekly", "stranger-db", "unknown", 7200)
	expect(ops.MetricLastGoodBackupAge, "weekly", "stranger-db", "unknown", 60)
	last, found := sample(t, f.m.Registry, ops.MetricRPOWatchLastRun, map[string]string{})
	assert.True(t, found)
	assert.Equal(t, float64(now.Unix()), last)
	// The RPO-less target, the bad ID, the other type and the memo-less
	// inventory have no series at all.
	series := func() int {
		n := 0
		families, err := f.m.Registry.Gather()
		require.NoError(t, err)
		for _, fam := range families {
			switch fam.GetName() {
			case ops.MetricLastGoodBackupAge, ops.MetricRPO, ops.MetricRPOBreached:
				n += len(fam.GetMetric())
			}
		}
		return n
	}
	assert.Equal(t, 3+3+3, series(), "age, rpo and breached of orders-db, users-db and stranger-db only")

	// The memo arrives later, as the real inventory upserts it; this target
	// never had a good backup, so it has no age.
	require.NoError(t, c.SignalWorkflow(testenv.Context(t, 10*time.Second), never, "", upsertSignal,
		plan.RPOState{Provider: "memory", Resource: "never", RPO: durationOf(24 * time.Hour)}))
	// users-db's inventory ends: its series go.
	require.NoError(t, c.SignalWorkflow(testenv.Context(t, 10*time.Second), users, "", stopSignal, nil))
	f.listed(t, map[string]bool{orders: true, audit: true, never: true, stranger: true, "not-an-inventory": true})
	f.now = now.Add(time.Minute)
	require.NoError(t, f.watch.RunOnce(testenv.Context(t, 10*time.Second)))

	expect(ops.MetricRPO, "weekly", "never-db", "memory", 24*3600)
	expect(ops.MetricRPOBreached, "weekly", "never-db", "memory", 0)
	_, found = f.gauge(t, ops.MetricLastGoodBackupAge, "weekly", "never-db", "memory")
	assert.False(t, found, "no good backup, no age")
	expect(ops.MetricLastGoodBackupAge, "nightly", "orders-db", "memory", 3*3600+60)
	for _, name := range []string{ops.MetricLastGoodBackupAge, ops.MetricRPO, ops.MetricRPOBreached} {
		_, found := f.gauge(t, name, "nightly", "users-db", "memory")
		assert.False(t, found, "%s of the finished inventory is deleted", name)
	}
	assert.Equal(t, 3+2+3, series())
	last, _ = sample(t, f.m.Registry, ops.MetricRPOWatchLastRun, map[string]string{})
	assert.Equal(t, float64(now.Add(time.Minute).Unix()), last)

	// A memo that changes provider (the plan moved the target) leaves no
	// series under the old provider.
	require.NoError(t, c.SignalWorkflow(testenv.Context(t, 10*time.Second), stranger, "", upsertSignal,
		plan.RPOState{Provider: "memory", RPO: durationOf(2 * time.Hour), LastGood: at(now.Add(-time.Minute))}))
	require.Eventually(t, func() bool {
		require.NoError(t, f.watch.RunOnce(testenv.Context(t, 10*time.Second)))
		_, found := f.gauge(t, ops.MetricRPO, "weekly", "stranger-db", "memory")
		return found
	}, 30*time.Second, 50*time.Millisecond, "the upserted memo reaches visibility")
	_, found = f.gauge(t, ops.MetricRPO, "weekly", "stranger-db", "unknown")
	assert.False(t, found, "the old provider's series is deleted")
	expect(ops.MetricLastGoodBackupAge, "weekly", "stranger-db", "memory", 120)
}

// The memo is written with the worker client's data converter; on a
// namespace with the payload codec, visibility holds it encrypted.
func TestRPOWatchDecodesWithTheCodec(t *testing.T) {
	f := newRPOFixture(t)
	codec, err := ops.NewCodec([]byte(strings.Repeat("k", 32)))
	require.NoError(t, err)
	dc, fc := codec.Converters()
	c := f.e.Server.NewClientWithOptions(client.Options{DataConverter: dc, FailureConverter: fc})
	id := plan.InventoryID("nightly", "secret-db")
	f.start(t, c, id, &plan.RPOState{Provider: "memory", RPO: durationOf(6 * time.Hour), LastGood: at(f.now.Add(-30 * time.Minute))})
	f.listed(t, map[string]bool{id: true})

	resp, err := f.e.Client.ListWorkflow(testenv.Context(t, 10*time.Second),
		&workflowservice.ListWorkflowExecutionsRequest{Query: ops.RPOWatchQuery})
	require.NoError(t, err)
	require.Len(t, resp.GetExecutions(), 1)
	assert.Equal(t, ops.EncodingEncrypted, string(resp.GetExecutions()[0].GetMemo().GetFields()[plan.MemoRPO].GetMetadata()[converter.MetadataEncoding]))

	f.watch.DataConverter = dc
	require.NoError(t, f.watch.RunOnce(testenv.Context(t, 10*time.Second)))
	age, found := f.gauge(t, ops.MetricLastGoodBackupAge, "nightly", "secret-db", "memory")
	require.True(t, found)
	assert.Equal(t, 1800.0, age)

	// A watch that cannot decode the memo keeps the target's last values
	// rather than dropping it as if its inventory had gone.
	f.watch.DataConverter = converter.GetDefaultDataConverter()
	f.now = f.now.Add(time.Minute)
	require.NoError(t, f.watch.RunOnce(testenv.Context(t, 10*time.Second)))
	age, found = f.gauge(t, ops.MetricLastGoodBackupAge, "nightly", "secret-db", "memory")
	require.True(t, found)
	assert.Equal(t, 1800.0, age)

	fresh, err := ops.NewMetrics()
	require.NoError(t, err)
	plain := &ops.RPOWatch{Client: f.e.Client, DataConverter: converter.GetDefaultDataConverter(), Metrics: fresh}
	require.NoError(t, plain.RunOnce(testenv.Context(t, 10*time.Second)))
	_, found = sample(t, fresh.Registry, ops.MetricRPO, map[string]string{"plan": "nightly", "target": "secret-db", "provider": "memory"})
	assert.False(t, found, "an encrypted memo is never read as plain JSON")
}

// Run lists at once, then every interval, until its context ends.
func TestRPOWatchRunStopsWithItsContext(t *testing.T) {
	f := newRPOFixture(t)
	f.watch.Interval = ops.MinRPOWatchInterval
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.watch.Run(ctx); close(done) }()
	require.Eventually(t, func() bool {
		v, found := sample(t, f.m.Registry, ops.MetricRPOWatchLastRun, map[string]string{})
		return found && v == float64(f.now.Unix())
	}, 30*time.Second, 20*time.Millisecond, "the first listing runs at once")
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestParseRPOWatchInterval(t *testing.T) {
	for in, want := range map[string]time.Duration{"1m": time.Minute, "5s": 5 * time.Second, "0": 0, "off": 0, " 90s ": 90 * time.Second} {
		got, err := ops.ParseRPOWatchInterval(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for in, why := range map[string]string{"4s": "below the minimum 5s", "soon": "not a duration", "": "not a duration", "-1m": "below the minimum"} {
		_, err := ops.ParseRPOWatchInterval(in)
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), "BACKUPFLOW_RPO_WATCH_INTERVAL", in)
		assert.Contains(t, err.Error(), why, in)
	}
}

// The notification workflows count dead letters through the SDK's handler;
// /metrics serves them under the name the alerts use, with their tags.
func TestDeadLetteredCounterName(t *testing.T) {
	m, err := ops.NewMetrics()
	require.NoError(t, err)
	h := m.SDKHandler().WithTags(map[string]string{"namespace": "default", "task_queue": "backups", "workflow_type": "Notify"})
	h.WithTags(map[string]string{"sink": "ops-webhook", "type": "io.backupflow.rpo.breached.v1"}).
		Counter(notify.MetricDeadLettered).Inc(2)
	v, found := sample(t, m.Registry, ops.MetricNotificationsDeadLettered, map[string]string{"namespace": "default",
		"task_queue": "backups", "workflow_type": "Notify", "sink": "ops-webhook", "type": "io.backupflow.rpo.breached.v1"})
	require.True(t, found)
	assert.Equal(t, 2.0, v)
}
