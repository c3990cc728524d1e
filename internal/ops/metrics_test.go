package ops_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/backupflow/backupflow/activities"
	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/ops"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/memory"
)

const secretToken = "s3cr3t-token-never-in-metrics"

func instrumented(t *testing.T) (*activities.Activities, *memory.Cloud, *ops.Metrics, *testsuite.TestActivityEnvironment) {
	t.Helper()
	cloud := memory.NewCloud(secretToken)
	reg, err := provider.NewRegistry(cloud.Driver(secretToken))
	require.NoError(t, err)
	m, err := ops.NewMetrics()
	require.NoError(t, err)
	acts := activities.New(reg, provider.DefaultPollPolicy, nil)
	acts.Metrics = m
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	return acts, cloud, m, env
}

func memoryJob(t *testing.T, name string) provider.Job {
	raw, err := json.Marshal(backup.MemoryCreate{Target: "orders-db", Name: name})
	require.NoError(t, err)
	return provider.Job{Kind: backup.KindCreate, Section: raw,
		Owner: provider.Owner{WorkflowID: "create/memory/orders-db", RunID: "run-" + name, StartedAt: time.Now().Add(-time.Minute)}}
}

func TestActivitiesCountProviderCalls(t *testing.T) {
	acts, cloud, m, env := instrumented(t)

	job := memoryJob(t, "nightly")
	_, err := env.ExecuteActivity(acts.StartOperation, activities.StartInput{Provider: "memory", Job: job})
	require.NoError(t, err)
	n, _ := sample(t, m.Registry, ops.MetricProviderCalls, map[string]string{"provider": "memory", "call": "Start"})
	assert.Equal(t, 1.0, n)
	n, _ = sample(t, m.Registry, ops.MetricProviderCallDuration, map[string]string{"provider": "memory", "call": "Start"})
	assert.Equal(t, 1.0, n, "one latency observation per call")

	// A failed call is counted by class, permanent or retryable.
	cloud.FailNext(provider.Permission, 1, 0)
	_, err = env.ExecuteActivity(acts.StartOperation, activities.StartInput{Provider: "memory", Job: memoryJob(t, "weekly")})
	require.Error(t, err)
	n, _ = sample(t, m.Registry, ops.MetricProviderErrors, map[string]string{"provider": "memory", "call": "Start", "class": "Permission"})
	assert.Equal(t, 1.0, n)
	cloud.FailNext(provider.Unavailable, 1, 0)
	_, err = env.ExecuteActivity(acts.StartOperation, activities.StartInput{Provider: "memory", Job: memoryJob(t, "hourly")})
	require.Error(t, err)
	n, _ = sample(t, m.Registry, ops.MetricProviderErrors, map[string]string{"provider": "memory", "call": "Start", "class": "Unavailable"})
	assert.Equal(t, 1.0, n)
	n, _ = sample(t, m.Registry, ops.MetricProviderCalls, map[string]string{"provider": "memory", "call": "Start"})
	assert.Equal(t, 3.0, n)

	// Nothing served on /metrics carries the credential.
	rec := httptest.NewRecorder()
	ops.Handler(m, ops.NewHealth(nil)).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	assert.NotContains(t, rec.Body.String(), secretToken)
	assert.True(t, bytes.Contains(rec.Body.Bytes(), []byte(ops.MetricProviderCalls)), "our metrics are served")
	assert.Contains(t, rec.Body.String(), "go_goroutines", "runtime metrics are served")
}

// The workflows record outcomes through the SDK handler (integration's
// TestOutcomeMetrics runs them); the handler routes them to backupflow's
// vectors with only their own labels, and everything else to the SDK's exporter.
func TestSDKHandlerRoutesOutcomeMetrics(t *testing.T) {
	m, err := ops.NewMetrics()
	require.NoError(t, err)
	h := m.SDKHandler().WithTags(map[string]string{"namespace": "default", "task_queue": "backups"}).
		WithTags(map[string]string{backup.MetricLabelProvider: "memory", backup.MetricLabelKind: "create"})
	create := map[string]string{"provider": "memory", "kind": "create"}

	h.Counter(backup.MetricBackupsStarted).Inc(1)
	h.Counter(backup.MetricBackupsSucceeded).Inc(1)
	h.Timer(backup.MetricBackupDuration).Record(90 * time.Second)
	h.WithTags(map[string]string{backup.MetricLabelClass: "Permission"}).Counter(backup.MetricBackupsFailed).Inc(1)
	h.Counter(backup.MetricBackupsCancelled).Inc(2)
	h.Counter("temporal_workflow_completed").Inc(1)

	for name, want := range map[string]float64{ops.MetricBackupsStarted: 1, ops.MetricBackupsSucceeded: 1, ops.MetricBackupDuration: 1, ops.MetricBackupsCancelled: 2} {
		n, found := sample(t, m.Registry, name, create)
		assert.True(t, found, name)
		assert.Equal(t, want, n, name)
	}
	n, _ := sample(t, m.Registry, ops.MetricBackupsFailed, map[string]string{"provider": "memory", "kind": "create", "class": "Permission"})
	assert.Equal(t, 1.0, n)
	n, found := sample(t, m.Registry, "temporal_workflow_completed_total",
		map[string]string{"namespace": "default", "task_queue": "backups", "provider": "memory", "kind": "create"})
	assert.True(t, found, "the SDK's own metrics still reach its exporter, with its tags")
	assert.Equal(t, 1.0, n)
}

func TestProviderLimiterPacesCallsPerProvider(t *testing.T) {
	assert.Nil(t, ops.NewProviderLimiter(0, 5), "0 means unlimited")
	l := ops.NewProviderLimiter(0.001, 1) // one call, then one per 1000 s
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, l.Wait(ctx, "spanner"), "the burst allows the first call")
	require.NoError(t, l.Wait(ctx, "alirds"), "each provider has its own bucket")
	start := time.Now()
	err := l.Wait(ctx, "spanner")
	require.Error(t, err, "the second call would wait beyond the deadline")
	assert.Less(t, time.Since(start), time.Second, "the limiter refuses at once rather than sleeping past the deadline")

	// Through the activities, a refused wait is a retryable Throttled error and no provider call.
	acts, cloud, m, env := instrumented(t)
	acts.Limiter = ops.NewProviderLimiter(0.001, 1)
	_, err = env.ExecuteActivity(acts.StartOperation, activities.StartInput{Provider: "memory", Job: memoryJob(t, "first")})
	require.NoError(t, err)
	calls := cloud.Calls()
	env.SetTestTimeout(2 * time.Second)
	_, err = env.ExecuteActivity(acts.StartOperation, activities.StartInput{Provider: "memory", Job: memoryJob(t, "second")})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "BACKUPFLOW_PROVIDER_RATE_LIMIT")
	assert.Equal(t, calls, cloud.Calls(), "the limited call never reached the provider")
	_, found := sample(t, m.Registry, ops.MetricBackupsFailed, map[string]string{"provider": "memory", "kind": "create", "class": "Throttled"})
	assert.False(t, found, "throttling is retried, not a failure")
}

func TestProviderErrorClassLabel(t *testing.T) {
	m, err := ops.NewMetrics()
	require.NoError(t, err)
	m.ProviderCall("memory", "Poll", time.Millisecond, &provider.Error{Class: provider.Throttled})
	m.ProviderCall("memory", "Poll", time.Millisecond, &provider.Error{Class: "SomethingNew"})
	m.ProviderCall("memory", "Poll", time.Millisecond, context.DeadlineExceeded)
	for class, want := range map[string]float64{"Throttled": 1, "unknown": 1, "Unavailable": 1, "SomethingNew": 0} {
		n, _ := sample(t, m.Registry, ops.MetricProviderErrors, map[string]string{"provider": "memory", "call": "Poll", "class": class})
		assert.Equal(t, want, n, "class %s", class)
	}
}
