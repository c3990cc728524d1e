package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/clouds"
	"github.com/backupflow/backupflow/internal/ops"
	"github.com/backupflow/backupflow/internal/testenv"
	"github.com/backupflow/backupflow/simulator/simkit"
)

// workerProcess is one worker binary running against the test server.
type workerProcess struct {
	name    string
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has exited
	exitErr error         // its exit status, once exited is closed

	mu      sync.Mutex
	logs    bytes.Buffer
	opsAddr string
	addrCh  chan string
}

func buildWorker(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "backupflow-worker")
	ctx := testenv.Context(t, 5*time.Minute)
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/backupflow/backupflow/worker")
	build.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

func startWorkerProcess(t *testing.T, name, bin string, environment map[string]string) *workerProcess {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for k, v := range environment {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	w := &workerProcess{name: name, cmd: cmd, exited: make(chan struct{}), addrCh: make(chan string, 1)}
	require.NoError(t, cmd.Start())
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			w.mu.Lock()
			w.logs.Write(line)
			w.logs.WriteByte('\n')
			w.mu.Unlock()
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(line, &rec) == nil && rec.Msg == "ops server listening" {
				select { // only the first matters; never block the log reader
				case w.addrCh <- rec.Addr:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		w.exitErr = cmd.Wait()
		close(w.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-w.exited:
		default:
			_ = cmd.Process.Kill()
			<-w.exited
		}
		if t.Failed() {
			t.Logf("%s logs:\n%s", name, w.Logs())
		}
	})
	return w
}

func (w *workerProcess) Logs() string { w.mu.Lock(); defer w.mu.Unlock(); return w.logs.String() }

// identity is the SDK's default worker identity prefix (pid@host@).
func (w *workerProcess) identity() string { return fmt.Sprintf("%d@", w.cmd.Process.Pid) }

// waitReady waits for the ops server's address, then for /readyz to answer 200.
func (w *workerProcess) waitReady(t *testing.T) {
	t.Helper()
	select {
	case w.opsAddr = <-w.addrCh:
	case <-w.exited:
		t.Fatalf("%s exited before serving: %v\n%s", w.name, w.exitErr, w.Logs())
	case <-time.After(60 * time.Second):
		t.Fatalf("%s: no ops server after 60s\n%s", w.name, w.Logs())
	}
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + w.opsAddr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "%s becomes ready", w.name)
}

// metric sums a counter's series in the worker's /metrics.
func (w *workerProcess) metric(t *testing.T, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + w.opsAddr + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	var sum float64
	if f, ok := families[name]; ok {
		for _, m := range f.GetMetric() {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

// identities lists, in order, the worker identities a history's task events name.
func identities(h *historypb.History) []string {
	var ids []string
	for _, ev := range h.Events {
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			ids = append(ids, ev.GetWorkflowTaskCompletedEventAttributes().GetIdentity())
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			ids = append(ids, ev.GetActivityTaskStartedEventAttributes().GetIdentity())
		}
	}
	return ids
}

func hasPrefix(ids []string, prefix string) bool {
	for _, id := range ids {
		if strings.HasPrefix(id, prefix) {
			return true
		}
	}
	return false
}

// TestScaleOutAndDrain runs two worker processes against one server and the
// provider simulators, stops the first with SIGTERM while its backups are in
// flight, and checks that those backups finish on the second: exactly one
// provider backup each, no failure, and the first worker exits cleanly
// within its stop timeout.
func TestScaleOutAndDrain(t *testing.T) {
	bin := buildWorker(t)
	set, err := clouds.Start(simkit.Options{Duration: 10 * time.Second, Resources: 4})
	require.NoError(t, err)
	t.Cleanup(set.Close)
	e := testenv.Start(t, true)

	environment := set.Env()
	for k, v := range map[string]string{
		"TEMPORAL_ADDRESS":               e.Server.GetFrontendHostPort(),
		"TEMPORAL_NAMESPACE":             e.Namespace,
		"BACKUPFLOW_OPS_ADDR":            "127.0.0.1:0",
		"BACKUPFLOW_STOP_TIMEOUT":        "10s",
		"BACKUPFLOW_LOG_FORMAT":          "json",
		"BACKUPFLOW_POLL_MIN":            "50ms",
		"BACKUPFLOW_POLL_MAX":            "500ms",
		"BACKUPFLOW_POLL_DELAY_FLOOR":    "500ms",
		"BACKUPFLOW_POLL_DELAY_FRACTION": "0.05",
	} {
		environment[k] = v
	}

	a := startWorkerProcess(t, "worker-a", bin, environment)
	a.waitReady(t)

	// Two backups per provider, all picked up by worker A.
	bc := e.BackupClient()
	var handles []*backup.Handle
	inventory := map[string]int{}
	for _, cloud := range set {
		inventory[cloud.Provider] = len(cloud.Simulator.Inventory())
		for seed := 1; seed <= 2; seed++ {
			h, err := bc.StartCreate(testenv.Context(t, 30*time.Second), backup.Request{Provider: cloud.Provider, Section: cloud.CreateSection(seed)})
			require.NoError(t, err)
			handles = append(handles, h)
		}
	}
	for _, h := range handles {
		require.Eventually(t, func() bool {
			p, err := h.Progress(testenv.Context(t, 10*time.Second))
			return err == nil && p.State == backup.StateRunning
		}, 60*time.Second, 50*time.Millisecond, "%s starts on worker A", h.WorkflowID)
		assert.True(t, hasPrefix(identities(e.History(t, h.WorkflowID, h.RunID)), a.identity()), "%s ran on worker A", h.WorkflowID)
	}
	assert.Equal(t, float64(len(handles)), a.metric(t, ops.MetricBackupsStarted), "worker A started every backup")

	b := startWorkerProcess(t, "worker-b", bin, environment)
	b.waitReady(t)

	// Stop A mid-flight: no backup has finished yet.
	for _, h := range handles {
		p, err := h.Progress(testenv.Context(t, 10*time.Second))
		require.NoError(t, err)
		require.Equal(t, backup.StateRunning, p.State, "%s still in flight when A stops", h.WorkflowID)
	}
	stopAt := time.Now()
	require.NoError(t, a.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-a.exited:
		require.NoError(t, a.exitErr, "worker A exits 0 on SIGTERM")
	case <-time.After(30 * time.Second):
		t.Fatal("worker A did not exit within 30s of SIGTERM")
	}
	drain := time.Since(stopAt)
	t.Logf("worker A drained and exited %s after SIGTERM", drain.Round(time.Millisecond))
	assert.Less(t, drain, 10*time.Second+5*time.Second, "within BACKUPFLOW_STOP_TIMEOUT and the ops server's shutdown")
	assert.Contains(t, a.Logs(), `"msg":"worker stopped"`)

	// Every backup finishes, on B.
	for _, h := range handles {
		res, err := h.Result(testenv.Context(t, 2*time.Minute))
		require.NoError(t, err, h.WorkflowID)
		assert.NotEmpty(t, res.Backup.ID)
		ids := identities(e.History(t, h.WorkflowID, h.RunID))
		require.NotEmpty(t, ids)
		assert.True(t, strings.HasPrefix(ids[len(ids)-1], b.identity()), "%s finished on worker B (last task by %s)", h.WorkflowID, ids[len(ids)-1])
	}
	assert.Equal(t, float64(len(handles)), b.metric(t, ops.MetricBackupsSucceeded), "worker B confirmed every backup")
	for _, cloud := range set {
		assert.Len(t, cloud.Simulator.Inventory(), inventory[cloud.Provider]+2, "%s: exactly one backup per request, none duplicated by the handover", cloud.Provider)
	}

	require.NoError(t, b.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-b.exited:
		require.NoError(t, b.exitErr)
	case <-time.After(30 * time.Second):
		t.Fatal("worker B did not exit within 30s of SIGTERM")
	}
}
