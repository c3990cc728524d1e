package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProcFigures(t *testing.T) {
	// Burn a little CPU so utime moves past zero ticks.
	deadline := time.Now().Add(50 * time.Millisecond)
	for x := 0; time.Now().Before(deadline); x++ {
		_ = x * x
	}
	cpu, err := cpuTime(os.Getpid())
	require.NoError(t, err)
	assert.Greater(t, cpu, time.Duration(0))
	rss, hwm, err := memStatus(os.Getpid())
	require.NoError(t, err)
	assert.Greater(t, rss, int64(1<<20))
	assert.GreaterOrEqual(t, hwm, rss)
	_, err = cpuTime(1 << 30)
	assert.Error(t, err, "no such process")
	m := describeMachine()
	assert.Positive(t, m.CPUs)
	assert.True(t, strings.HasPrefix(m.GoVersion, "go"))
	assert.Len(t, strings.Fields(loadAvg()), 3)
}

func TestWorkerMetricsParsesTheExposition(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`# HELP temporal_worker_task_slots_used x
# TYPE temporal_worker_task_slots_used gauge
temporal_worker_task_slots_used{namespace="n",task_queue="backups",worker_type="ActivityWorker"} 7
temporal_worker_task_slots_used{namespace="n",task_queue="backups",worker_type="LocalActivityWorker"} 2
temporal_worker_task_slots_used{namespace="n",task_queue="backups",worker_type="WorkflowWorker"} 40
temporal_worker_task_slots_used_other 99
backupflow_provider_calls_total{method="Poll",provider="memory"} 120
backupflow_provider_calls_total{method="Start",provider="memory"} 10
backupflow_backups_started_total{kind="create",provider="memory"} 9
backupflow_backups_succeeded_total{kind="create",provider="memory"} 4
backupflow_backups_failed_total{kind="create",provider="memory"} 1
go_goroutines 1234
go_memstats_heap_inuse_bytes 5.24288e+07
go_memstats_stack_inuse_bytes 1.048576e+06
`))
	}))
	defer srv.Close()
	m, err := workerMetrics(strings.TrimPrefix(srv.URL, "http://"))
	require.NoError(t, err)
	assert.Equal(t, scraped{activitySlots: 7, localSlots: 2, providerCalls: 130, goroutines: 1234, heapInuse: 50 << 20, stackInuse: 1 << 20,
		backupsStarted: 9, backupsEnded: 5}, m)
}

func TestFindOpsAddrReadsTheWorkerLog(t *testing.T) {
	path := t.TempDir() + "/worker.log"
	require.NoError(t, os.WriteFile(path, []byte(`{"level":"INFO","msg":"starting"}
not json
{"level":"INFO","msg":"ops server listening","addr":"127.0.0.1:40123","codec":false}
`), 0o644))
	assert.Equal(t, "127.0.0.1:40123", findOpsAddr(path))
	assert.Equal(t, "", findOpsAddr(path+".missing"))
}
