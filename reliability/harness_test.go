package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/backupflow/backupflow/activities"
	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/clouds"
	"github.com/backupflow/backupflow/simulator/simkit"
)

// Environment knobs of the suite.
const (
	// SeedEnv replays a run: every test logs the seed it drew.
	SeedEnv = "BACKUPFLOW_RELIABILITY_SEED"
	// SoakEnv=1 runs the soak counts instead of the fast ones.
	SoakEnv = "BACKUPFLOW_SOAK"
)

var workerBin struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// defaultParallel is how many tests run at once unless -parallel is given:
// the tests spend most of their time waiting on Temporal timers and
// simulated backups, not on the CPU, so more than GOMAXPROCS fit.
const defaultParallel = "4"

func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		_ = flag.Set("test.parallel", defaultParallel)
	}
	code := m.Run()
	if workerBin.dir != "" {
		_ = os.RemoveAll(workerBin.dir)
	}
	os.Exit(code)
}

// soak reports whether the long soak counts were asked for.
func soak() bool { return os.Getenv(SoakEnv) == "1" }

// count picks the fast or the soak figure.
func count(fast, long int) int {
	if soak() {
		return long
	}
	return fast
}

// newRNG returns the test's seeded generator and logs the seed.
func newRNG(t *testing.T) *rand.Rand {
	t.Helper()
	seed := time.Now().UnixNano()
	if s := os.Getenv(SeedEnv); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		require.NoError(t, err, SeedEnv)
		seed = v
	}
	t.Logf("seed %d (replay with %s=%d)", seed, SeedEnv, seed)
	return rand.New(rand.NewPCG(uint64(seed), uint64(seed)>>1^0x5eed))
}

// between draws a duration uniformly from [lo, hi].
func between(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(rng.Int64N(int64(hi-lo)+1))
}

// wait blocks for d: the random moments of a chaos schedule, not synchronisation.
func wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// startClouds starts every provider's simulator and closes them when the test ends.
func startClouds(t *testing.T, opts simkit.Options) clouds.Set {
	t.Helper()
	set, err := clouds.Start(opts)
	require.NoError(t, err)
	t.Cleanup(set.Close)
	require.Equal(t, clouds.Providers(), providerNames(set), "every provider in internal/clouds runs")
	return set
}

func providerNames(set clouds.Set) []string {
	var names []string
	for _, c := range set {
		names = append(names, c.Provider)
	}
	sort.Strings(names)
	return names
}

// workerBinary builds ./worker once per test binary.
func workerBinary(t *testing.T) string {
	t.Helper()
	workerBin.once.Do(func() {
		workerBin.dir, workerBin.err = os.MkdirTemp("", "backupflow-reliability-")
		if workerBin.err != nil {
			return
		}
		workerBin.path = filepath.Join(workerBin.dir, "worker")
		cmd := exec.Command("go", "build", "-o", workerBin.path, "github.com/backupflow/backupflow/worker")
		out, err := cmd.CombinedOutput()
		if err != nil {
			workerBin.err = fmt.Errorf("go build ./worker: %v\n%s", err, out)
		}
	})
	require.NoError(t, workerBin.err)
	return workerBin.path
}

// syncBuffer collects a process's output across restarts.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// workerProcess is the worker binary running as a separate OS process.
type workerProcess struct {
	t   *testing.T
	bin string
	env []string
	Log *syncBuffer
	// Metrics collects every /metrics scrape (taken before each kill and stop).
	Metrics *syncBuffer
	cmd     *exec.Cmd
	done    chan struct{}
	// Starts and Kills count process starts and SIGKILLs.
	Starts, Kills int
}

// newWorkerProcess prepares a worker process with exactly this environment
// (nothing is inherited, so the developer's own variables cannot leak in).
func newWorkerProcess(t *testing.T, environment map[string]string) *workerProcess {
	t.Helper()
	keys := slices.Sorted(maps.Keys(environment))
	env := make([]string, 0, len(keys))
	for _, k := range keys {
		env = append(env, k+"="+environment[k])
	}
	w := &workerProcess{t: t, bin: workerBinary(t), env: env, Log: &syncBuffer{}, Metrics: &syncBuffer{}}
	t.Cleanup(w.stop)
	return w
}

// Start starts the process and waits until it polls the task queue.
func (w *workerProcess) Start() {
	w.t.Helper()
	require.Nil(w.t, w.cmd, "worker already running")
	marker := strings.Count(w.Log.String(), "worker polling")
	cmd := exec.Command(w.bin)
	cmd.Env = w.env
	cmd.Stdout, cmd.Stderr = w.Log, w.Log
	require.NoError(w.t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	w.cmd, w.done = cmd, done
	w.Starts++
	require.Eventually(w.t, func() bool {
		select {
		case <-done:
			return true
		default:
		}
		return strings.Count(w.Log.String(), "worker polling") > marker
	}, 30*time.Second, 10*time.Millisecond, "worker did not start polling:\n%s", w.Log.String())
	select {
	case <-done:
		w.t.Fatalf("worker exited at start-up:\n%s", w.Log.String())
	default:
	}
}

// Identity is the running process's Temporal worker identity prefix (the
// SDK's default identity is "<pid>@<host>").
func (w *workerProcess) Identity() string {
	w.t.Helper()
	require.NotNil(w.t, w.cmd, "worker not running")
	return fmt.Sprintf("%d@", w.cmd.Process.Pid)
}

// Kill sends SIGKILL: no shutdown, in-flight calls and tasks are abandoned.
func (w *workerProcess) Kill() {
	w.t.Helper()
	require.NotNil(w.t, w.cmd, "worker not running")
	w.scrape()
	require.NoError(w.t, w.cmd.Process.Signal(syscall.SIGKILL))
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		w.t.Fatal("worker did not die after SIGKILL")
	}
	w.cmd = nil
	w.Kills++
}

// stop ends a running worker gracefully (SIGTERM), or kills it after 10 s.
func (w *workerProcess) stop() {
	if w.cmd == nil {
		return
	}
	w.scrape()
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		_ = w.cmd.Process.Kill()
		<-w.done
	}
	w.cmd = nil
}

// opsAddr is the running worker's ops server address, from its latest
// "ops server listening" log line; "" when none was logged.
func (w *workerProcess) opsAddr() string {
	addr := ""
	for _, line := range strings.Split(w.Log.String(), "\n") {
		var l struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "ops server listening" {
			addr = l.Addr
		}
	}
	return addr
}

// scrape appends the running worker's /metrics to Metrics (metric labels
// are scanned for credentials). A worker without an ops server is not scraped.
func (w *workerProcess) scrape() {
	addr := w.opsAddr()
	if addr == "" {
		return
	}
	hc := http.Client{Timeout: 5 * time.Second}
	resp, err := hc.Get("http://" + addr + "/metrics")
	if err != nil {
		w.t.Errorf("scrape %s/metrics: %v", addr, err)
		return
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		w.t.Errorf("scrape %s/metrics: %d %v", addr, resp.StatusCode, err)
		return
	}
	_, _ = w.Metrics.Write(body)
}

// workerEnv is the environment of a worker process on a Temporal server:
// the clouds' endpoints and credentials, fast polls and debug logs (the most
// a log could leak).
func workerEnv(set clouds.Set, address, namespace string) map[string]string {
	env := set.Env()
	env["TEMPORAL_ADDRESS"] = address
	env["TEMPORAL_NAMESPACE"] = namespace
	env["BACKUPFLOW_POLL_MIN"] = "200ms"
	env["BACKUPFLOW_POLL_MAX"] = "1s"
	env["BACKUPFLOW_POLL_DELAY_FLOOR"] = "1s"
	env["BACKUPFLOW_LOG_LEVEL"] = "debug"
	env["BACKUPFLOW_STOP_TIMEOUT"] = "2s"
	env["BACKUPFLOW_OPS_ADDR"] = "127.0.0.1:0" // parallel workers: each its own port
	return env
}

// secretKey matches the environment variables that hold credentials.
var secretKey = regexp.MustCompile(`(SECRET|PASSWORD|TOKEN)`)

// secretVars returns, per provider, the names of its credential variables
// (by the BACKUPFLOW_<PROVIDER>_*SECRET*/PASSWORD/TOKEN naming rule), and
// fails if a cloud has none: a new provider must name its secrets that way
// for the secret checks to cover it.
func secretVars(t *testing.T, set clouds.Set) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, c := range set {
		for k := range c.Env {
			if secretKey.MatchString(k) && !strings.HasSuffix(k, "_FILE") {
				out[c.Provider] = append(out[c.Provider], k)
			}
		}
		sort.Strings(out[c.Provider])
		require.NotEmpty(t, out[c.Provider], "%s: no credential variable (*SECRET*, *PASSWORD*, *TOKEN*) in its worker environment", c.Provider)
	}
	return out
}

// secretValues lists the credential values of every cloud.
func secretValues(t *testing.T, set clouds.Set) []string {
	t.Helper()
	var out []string
	for p, keys := range secretVars(t, set) {
		c, err := set.Get(p)
		require.NoError(t, err)
		for _, k := range keys {
			require.GreaterOrEqual(t, len(c.Env[k]), 8, "%s is too short to search for", k)
			out = append(out, c.Env[k])
		}
	}
	sort.Strings(out)
	return out
}

// assertNoSecrets fails if any secret occurs in text (where names the text).
func assertNoSecrets(t *testing.T, where string, text []byte, secrets []string) {
	t.Helper()
	require.NotEmpty(t, secrets)
	for _, s := range secrets {
		if i := bytes.Index(text, []byte(s)); i >= 0 {
			lo, hi := max(i-200, 0), min(i+len(s)+200, len(text))
			t.Errorf("a credential appears in %s: ...%s...", where, text[lo:hi])
		}
	}
}

// started is one workflow a test started.
type started struct {
	Cloud  *simkit.Cloud
	Handle *backup.Handle
	Seed   int
}

// startCreates starts n create backups per cloud, each of its own resource.
func startCreates(t *testing.T, bc *backup.Client, set clouds.Set, firstSeed, n int) []started {
	t.Helper()
	ctx := context.Background()
	var out []started
	for _, c := range set {
		for i := range n {
			seed := firstSeed + i
			h, err := bc.StartCreate(ctx, backup.Request{Provider: c.Provider, Section: c.CreateSection(seed)})
			require.NoError(t, err)
			require.False(t, h.Attached, "%s seed %d: a fresh resource", c.Provider, seed)
			out = append(out, started{Cloud: c, Handle: h, Seed: seed})
		}
	}
	return out
}

// inventories snapshots every simulator's inventory.
func inventories(set clouds.Set) map[string][]string {
	out := map[string][]string{}
	for _, c := range set {
		out[c.Provider] = c.Simulator.Inventory()
	}
	return out
}

// added returns the IDs in after that are not in before.
func added(before, after []string) []string {
	var out []string
	for _, id := range after {
		if !slices.Contains(before, id) {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// history fetches a workflow's full history.
func history(ctx context.Context, c client.Client, workflowID, runID string) (*historypb.History, error) {
	it := c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, err
		}
		h.Events = append(h.Events, ev)
	}
	return h, nil
}

// historyJSON is a history as the Temporal CLI and UI export it.
func historyJSON(t *testing.T, h *historypb.History) []byte {
	t.Helper()
	raw, err := protojson.Marshal(h)
	require.NoError(t, err)
	return raw
}

// startAttempts reads StartOperation's outcome from a history: how many
// attempts it took and whether the last one adopted an earlier attempt's work.
func startAttempts(t *testing.T, h *historypb.History) (attempts int, adopted bool) {
	t.Helper()
	scheduled := map[int64]bool{}
	for _, ev := range h.GetEvents() {
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == "StartOperation" {
			scheduled[ev.GetEventId()] = true
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && scheduled[a.GetScheduledEventId()] {
			attempts = int(a.GetAttempt())
		}
		if a := ev.GetActivityTaskCompletedEventAttributes(); a != nil && scheduled[a.GetScheduledEventId()] {
			var out activities.StartOutput
			require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(a.GetResult(), &out))
			adopted = out.Adopted
		}
	}
	return attempts, adopted
}
