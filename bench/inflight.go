package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/caarlos0/env/v11"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/wiring"
)

type inflightSample struct {
	At                          time.Duration
	Started, Running, Completed int
	WorkerRSS, ServerRSS        int64
	ActivitySlots, LocalSlots   int // -1 when the worker's metrics do not say
	// AtProvider is backups started at the provider and not yet ended there
	// (the worker's backupflow_backups_* counters).
	AtProvider int
	// The worker's Go runtime (from its /metrics): goroutines, heap and stacks in use.
	Goroutines            int
	HeapInuse, StackInuse int64
}

type pendingSample struct {
	Sampled int
	// Waiting: the poll activity is between attempts, on a server timer.
	Waiting int
	// Running: an attempt is executing on the worker (holding a slot).
	Running int
	// Other: no pending activity at that instant (a workflow task, a local activity).
	Other int
}

type inflightResult struct {
	N, Slots, Starters int
	CacheSize          int           // the worker's BACKUPFLOW_WORKFLOW_CACHE_SIZE (0 in runs from before it existed)
	Duration           time.Duration // each backup's length at the provider
	Ramp               time.Duration // until every backup was started
	PeakRunning        int
	PeakAt             time.Duration
	// PeakAtProvider is the most backups seen running at the provider at once.
	PeakAtProvider   int
	PeakAtProviderAt time.Duration
	Completed        int
	NotCompleted     int
	Wall             time.Duration
	WorkerPeakRSS    int64
	AtPeakRSS        inflightSample // the sample with the worker's peak RSS
	WorkerHWM        int64
	ServerPeakRSS    int64
	WorkerCPU        time.Duration
	ServerCPU        time.Duration
	BenchCPU         time.Duration
	ActivitySlotsMax int
	LocalSlotsMax    int
	Pending          pendingSample
	PendingAt        time.Duration
	ProviderCalls    float64
	Samples          []inflightSample
	StartErrors      int
	FirstStartError  string
}

// buildWorker builds the production worker binary (./worker).
func buildWorker(dir string) (string, error) {
	bin := filepath.Join(dir, "backupflow-worker")
	cmd := exec.Command("go", "build", "-o", bin, "./worker")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./worker (run the bench from the repository root): %w", err)
	}
	return bin, nil
}

// workerProcess is the production worker binary running as its own process.
type workerProcess struct {
	cmd     *exec.Cmd
	done    chan error
	opsAddr string
}

func startWorkerProcess(bin, logPath string, s *server, slots, cacheSize int) (*workerProcess, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	var environ []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TEMPORAL_") && !strings.HasPrefix(kv, "BACKUPFLOW_") {
			environ = append(environ, kv)
		}
	}
	environ = append(environ,
		"TEMPORAL_ADDRESS="+s.Address,
		"TEMPORAL_NAMESPACE="+s.Namespace,
		"BACKUPFLOW_PROVIDERS=memory",
		"BACKUPFLOW_MAX_CONCURRENT_ACTIVITIES="+strconv.Itoa(slots),
		"BACKUPFLOW_OPS_ADDR=127.0.0.1:0",
		"BACKUPFLOW_LOG_LEVEL=info",
		"BACKUPFLOW_LOG_FORMAT=json",
		"BACKUPFLOW_WORKFLOW_CACHE_SIZE="+strconv.Itoa(cacheSize),
	)
	cmd := exec.Command(bin)
	cmd.Env = environ
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	w := &workerProcess{cmd: cmd, done: make(chan error, 1)}
	go func() { w.done <- cmd.Wait(); logFile.Close() }()
	// The ops server's address is in the worker's log.
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if addr := findOpsAddr(logPath); addr != "" {
			w.opsAddr = addr
			return w, nil
		}
		select {
		case err := <-w.done:
			return nil, fmt.Errorf("the worker exited at start (%v); see %s", err, logPath)
		case <-time.After(100 * time.Millisecond):
		}
	}
	w.stop()
	return nil, fmt.Errorf("the worker did not log its ops address within a minute; see %s", logPath)
}

func findOpsAddr(logPath string) string {
	f, err := os.Open(logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var line struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "ops server listening" && line.Addr != "" {
			return line.Addr
		}
	}
	return ""
}

func (w *workerProcess) pid() int { return w.cmd.Process.Pid }

func (w *workerProcess) stop() {
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		_ = w.cmd.Process.Kill()
		<-w.done
	}
}

type scraped struct {
	activitySlots, localSlots int
	providerCalls             float64
	// backups started at the provider, and ended (succeeded, failed or cancelled)
	backupsStarted, backupsEnded int
	goroutines                   int
	heapInuse, stackInuse        int64
}

// workerMetrics reads slot usage, provider calls and Go runtime figures from
// the worker's /metrics.
func workerMetrics(addr string) (scraped, error) {
	m := scraped{activitySlots: -1, localSlots: -1}
	hc := http.Client{Timeout: 5 * time.Second}
	resp, err := hc.Get("http://" + addr + "/metrics")
	if err != nil {
		return m, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return m, err
	}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, perr := strconv.ParseFloat(line[i+1:], 64)
		if perr != nil {
			continue
		}
		name := line[:i]
		if j := strings.IndexByte(name, '{'); j >= 0 {
			name = name[:j]
		}
		switch {
		case name == "temporal_worker_task_slots_used" && strings.Contains(line, `worker_type="ActivityWorker"`):
			m.activitySlots = max(m.activitySlots, int(v))
		case name == "temporal_worker_task_slots_used" && strings.Contains(line, `worker_type="LocalActivityWorker"`):
			m.localSlots = max(m.localSlots, int(v))
		case name == "backupflow_provider_calls_total":
			m.providerCalls += v
		case name == "backupflow_backups_started_total":
			m.backupsStarted += int(v)
		case name == "backupflow_backups_succeeded_total", name == "backupflow_backups_failed_total", name == "backupflow_backups_cancelled_total":
			m.backupsEnded += int(v)
		case name == "go_goroutines":
			m.goroutines = int(v)
		case name == "go_memstats_heap_inuse_bytes":
			m.heapInuse = int64(v)
		case name == "go_memstats_stack_inuse_bytes":
			m.stackInuse = int64(v)
		}
	}
	return m, nil
}

func countWorkflows(ctx context.Context, c client.Client, namespace, status string) (int, error) {
	resp, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
		Namespace: namespace,
		Query:     fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = '%s'", backup.CreateBackupWorkflow, status),
	})
	if err != nil {
		return 0, err
	}
	return int(resp.GetCount()), nil
}

// samplePending describes the pending activities of k random backups.
func samplePending(ctx context.Context, c client.Client, ids []string, k int) pendingSample {
	var p pendingSample
	rng := rand.New(rand.NewPCG(uint64(len(ids)), 7))
	for range min(k, len(ids)) {
		id := ids[rng.IntN(len(ids))]
		desc, err := c.DescribeWorkflowExecution(ctx, id, "")
		if err != nil {
			continue
		}
		p.Sampled++
		acts := desc.GetPendingActivities()
		switch {
		case len(acts) == 0:
			p.Other++
		case acts[0].GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED:
			p.Running++
		default:
			p.Waiting++
		}
	}
	return p
}

// measureInflight runs n concurrent backups of duration d on one worker
// process with `slots` activity slots, against a fresh server.
func measureInflight(ctx context.Context, workerBin, tmp string, n, slots, starters, cacheSize int, d, timeout time.Duration) (inflightResult, error) {
	res := inflightResult{N: n, Slots: slots, Starters: starters, CacheSize: cacheSize, Duration: d, ActivitySlotsMax: -1, LocalSlotsMax: -1}
	s, err := startServer(false)
	if err != nil {
		return res, err
	}
	defer s.stop()
	c, err := s.dial()
	if err != nil {
		return res, err
	}
	defer c.Close()
	logPath := filepath.Join(tmp, "inflight-worker.log")
	w, err := startWorkerProcess(workerBin, logPath, s, slots, cacheSize)
	if err != nil {
		return res, err
	}
	defer w.stop()

	serverCPU0, _ := cpuTime(s.pid())
	workerCPU0, _ := cpuTime(w.pid())
	benchCPU0, _ := cpuTime(selfPID)
	began := time.Now()

	// Sample memory, slots and workflow counts every 2 s.
	var started atomic.Int64
	allWaiting := make(chan struct{}) // closed when every backup runs at the provider
	allWaitingOnce := sync.OnceFunc(func() { close(allWaiting) })
	var mu sync.Mutex
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			smp := inflightSample{At: time.Since(began), Started: int(started.Load())}
			smp.WorkerRSS, _, _ = memStatus(w.pid())
			smp.ServerRSS, _, _ = memStatus(s.pid())
			m, _ := workerMetrics(w.opsAddr)
			smp.ActivitySlots, smp.LocalSlots = m.activitySlots, m.localSlots
			smp.Goroutines, smp.HeapInuse, smp.StackInuse = m.goroutines, m.heapInuse, m.stackInuse
			smp.AtProvider = m.backupsStarted - m.backupsEnded
			qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			smp.Running, _ = countWorkflows(qctx, c, s.Namespace, "Running")
			cancel()
			mu.Lock()
			res.Samples = append(res.Samples, smp)
			if smp.Running > res.PeakRunning {
				res.PeakRunning, res.PeakAt = smp.Running, smp.At
			}
			if smp.AtProvider > res.PeakAtProvider {
				res.PeakAtProvider, res.PeakAtProviderAt = smp.AtProvider, smp.At
				if smp.AtProvider >= n {
					allWaitingOnce()
				}
			}
			if smp.WorkerRSS > res.WorkerPeakRSS {
				res.WorkerPeakRSS, res.AtPeakRSS = smp.WorkerRSS, smp
			}
			res.ServerPeakRSS = max(res.ServerPeakRSS, smp.ServerRSS)
			res.ActivitySlotsMax = max(res.ActivitySlotsMax, smp.ActivitySlots)
			res.LocalSlotsMax = max(res.LocalSlotsMax, smp.LocalSlots)
			mu.Unlock()
			select {
			case <-stopSampling:
				return
			case <-t.C:
			}
		}
	}()
	stopSamplingOnce := sync.OnceFunc(func() { close(stopSampling); <-sampled })
	defer stopSamplingOnce()

	// Start every backup.
	bc := backup.NewClient(c)
	ids := make([]string, n)
	var startErrs atomic.Int64
	var firstErr atomic.Value
	var next atomic.Int64
	var wg sync.WaitGroup
	for range starters {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				req, err := memoryRequest(fmt.Sprintf("inflight-%s-%05d", runID, i), d.Seconds())
				var h *backup.Handle
				if err == nil {
					h, err = bc.StartCreate(ctx, req)
				}
				if err != nil {
					startErrs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				ids[i] = h.WorkflowID
				if started.Add(1)%1000 == 0 {
					progress("in-flight: %d started (%s)", started.Load(), time.Since(began).Round(time.Second))
				}
			}
		})
	}
	wg.Wait()
	res.Ramp = time.Since(began)
	res.StartErrors = int(startErrs.Load())
	if v := firstErr.Load(); v != nil {
		res.FirstStartError = v.(string)
	}
	progress("in-flight: %d started in %s (%d errors)", started.Load(), res.Ramp.Round(time.Second), res.StartErrors)
	var startedIDs []string
	for _, id := range ids {
		if id != "" {
			startedIDs = append(startedIDs, id)
		}
	}
	// Where are the backups' activities while they all wait? Look once every
	// backup is running at the provider (or, failing that, halfway through
	// the backups' run).
	select {
	case <-ctx.Done():
		return res, ctx.Err()
	case <-allWaiting:
	case <-time.After(max(d-res.Ramp, 0) / 2):
	}
	res.PendingAt = time.Since(began)
	res.Pending = samplePending(ctx, c, startedIDs, 200)

	// Wait for every backup to complete.
	deadline := began.Add(timeout)
	for {
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		done, err := countWorkflows(qctx, c, s.Namespace, "Completed")
		cancel()
		if err == nil {
			res.Completed = done
			if done >= len(startedIDs) {
				break
			}
		}
		if time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(5 * time.Second):
		}
		if res.Completed > 0 {
			progress("in-flight: %d completed (%s)", res.Completed, time.Since(began).Round(time.Second))
		}
	}
	res.Wall = time.Since(began)
	stopSamplingOnce()
	res.NotCompleted = n - res.Completed
	serverCPU1, _ := cpuTime(s.pid())
	workerCPU1, _ := cpuTime(w.pid())
	benchCPU1, _ := cpuTime(selfPID)
	res.ServerCPU, res.WorkerCPU, res.BenchCPU = serverCPU1-serverCPU0, workerCPU1-workerCPU0, benchCPU1-benchCPU0
	_, res.WorkerHWM, _ = memStatus(w.pid())
	if m, err := workerMetrics(w.opsAddr); err == nil {
		res.ProviderCalls = m.providerCalls
	}
	if res.Completed < n {
		return res, fmt.Errorf("%d of %d backups completed within %s", res.Completed, n, timeout)
	}
	return res, nil
}

// defaultWorkflowCacheSize is the worker's BACKUPFLOW_WORKFLOW_CACHE_SIZE
// default, read from its configuration's own declaration.
func defaultWorkflowCacheSize() int {
	cfg, err := env.ParseAsWithOptions[wiring.WorkerConfig](env.Options{Environment: map[string]string{}})
	if err != nil {
		panic(err)
	}
	return cfg.WorkflowCacheSize
}
