package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/deploy/dev/devserver"
	"github.com/backupflow/backupflow/internal/clouds"
	"github.com/backupflow/backupflow/plan"
	"github.com/backupflow/backupflow/wiring"
)

// syncBuffer is the command's stdout, read while the command writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type ports struct{ frontend, http, ui int }

func freePorts(t *testing.T) ports {
	t.Helper()
	var ps []int
	for len(ps) < 3 {
		p, err := devserver.FreePort()
		require.NoError(t, err)
		if !slices.Contains(ps, p) {
			ps = append(ps, p)
		}
	}
	return ports{ps[0], ps[1], ps[2]}
}

func (p ports) args() []string {
	return []string{"--port", strconv.Itoa(p.frontend), "--http-port", strconv.Itoa(p.http), "--ui-port", strconv.Itoa(p.ui)}
}

// command is one `go run ./deploy/dev` run, in-process.
type command struct {
	out    *syncBuffer
	cancel context.CancelFunc // Ctrl-C
	done   chan error
}

func startCommand(t *testing.T, args ...string) *command {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &command{out: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() { c.done <- run(ctx, args, c.out, os.Stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-c.done:
		case <-time.After(40 * time.Second):
			t.Error("the dev stack did not stop within 40s")
		}
	})
	return c
}

// waitFor waits for text in the output, failing early if the command ends.
func (c *command) waitFor(t *testing.T, text string, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for !strings.Contains(c.out.String(), text) {
		select {
		case err := <-c.done:
			c.done <- err
			t.Fatalf("the command ended (%v) before printing %q; output:\n%s", err, text, c.out.String())
		case <-deadline:
			t.Fatalf("no %q within %s; output:\n%s", text, within, c.out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop is Ctrl-C: the command must return nil within its shutdown bound.
func (c *command) stop(t *testing.T) {
	t.Helper()
	t0 := time.Now()
	c.cancel()
	select {
	case err := <-c.done:
		c.done <- err // for the cleanup
		require.NoError(t, err)
	case <-time.After(40 * time.Second):
		t.Fatal("the dev stack did not stop within 40s")
	}
	t.Logf("stopped in %s", time.Since(t0))
	require.Contains(t, c.out.String(), "stopped in")
}

func dial(t *testing.T, port int) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: fmt.Sprintf("127.0.0.1:%d", port), Namespace: "default"})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func listWorkflows(t *testing.T, c client.Client, query string) []*workflowpb.WorkflowExecutionInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default", Query: query, PageSize: 100})
	require.NoError(t, err)
	return resp.GetExecutions()
}

// demoWorkflows is what one demo run starts: a create per provider with a
// simulator and a copy per provider with a copy API, so a new provider
// needs no edit here.
func demoWorkflows() map[string]int {
	want := map[string]int{}
	for _, p := range clouds.Providers() {
		want[backup.CreateBackupWorkflow]++
		if backup.HasSection(p, backup.KindCopy) {
			want[backup.CopyBackupWorkflow]++
		}
	}
	return want
}

// demoSize is how many backups one demo run makes.
func demoSize() int {
	n := 0
	for _, v := range demoWorkflows() {
		n += v
	}
	return n
}

// waitForDemo waits until the workflows of runs demo runs have completed
// (visibility is eventually consistent) and checks that nothing else ran or
// failed.
func waitForDemo(t *testing.T, c client.Client, runs int) []*workflowpb.WorkflowExecutionInfo {
	t.Helper()
	n := runs * demoSize()
	var done []*workflowpb.WorkflowExecutionInfo
	require.Eventually(t, func() bool {
		done = listWorkflows(t, c, "ExecutionStatus = 'Completed'")
		return len(done) >= n
	}, 60*time.Second, 200*time.Millisecond, "demo workflows did not all complete")
	// The demo plan's runs (from its schedule, applied after the demo) are not the demo's.
	all := listWorkflows(t, c, "BackupPlan IS NULL AND WorkflowType != 'PlanInventory'")
	require.Len(t, all, n, "no workflow other than the demo's, none failed or still running")
	types := map[string]int{}
	for _, w := range done {
		types[w.GetType().GetName()]++
	}
	want := map[string]int{}
	for k, v := range demoWorkflows() {
		want[k] = v * runs
	}
	require.Equal(t, want, types)
	return done
}

// TestDemoAndWebUI runs the command as a developer would (ephemeral, demo
// on), waits for every demo backup to succeed, and checks that the Web UI is
// served from the embedded assets and lists the backups through its API.
func TestDemoAndWebUI(t *testing.T) {
	p := freePorts(t)
	cmd := startCommand(t, append(p.args(), "--ephemeral", "--backup-duration", "2s")...)
	cmd.waitFor(t, "Ctrl-C stops everything.", 60*time.Second)
	out := cmd.out.String()
	uiURL := fmt.Sprintf("http://127.0.0.1:%d", p.ui)
	assert.Contains(t, out, uiURL+"/namespaces/default/workflows")
	assert.Contains(t, out, fmt.Sprintf("export TEMPORAL_ADDRESS=127.0.0.1:%d TEMPORAL_NAMESPACE=default", p.frontend))
	assert.Contains(t, out, "export BACKUPFLOW_PROVIDERS="+strings.Join(clouds.Providers(), ","))
	assert.Contains(t, out, "export BACKUPFLOW_SPANNER_ENDPOINT=127.0.0.1:")
	assert.Contains(t, out, "TEST-ONLY credentials")

	c := dial(t, p.frontend)
	done := waitForDemo(t, c, 1)
	for _, w := range done {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var res backup.Result
		require.NoError(t, c.GetWorkflow(ctx, w.GetExecution().GetWorkflowId(), w.GetExecution().GetRunId()).Get(ctx, &res))
		cancel()
		assert.NotEmpty(t, res.Backup.ID, w.GetExecution().GetWorkflowId())
	}
	// The search attributes are registered and kept current for the UI.
	require.Eventually(t, func() bool {
		return len(listWorkflows(t, c, "BackupState = 'SUCCEEDED'")) == demoSize()
	}, 20*time.Second, 200*time.Millisecond)
	assert.Len(t, listWorkflows(t, c, "BackupProvider = 'spanner'"), 2)

	cmd.waitFor(t, "demo finished", 20*time.Second)
	cmd.waitFor(t, "demo plan applied", 20*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sched, err := c.ScheduleClient().GetHandle(ctx, plan.ScheduleID("demo")).Describe(ctx)
	require.NoError(t, err, "the demo plan's schedule is on the Schedules page")
	action, ok := sched.Schedule.Action.(*client.ScheduleWorkflowAction)
	require.True(t, ok)
	assert.Equal(t, plan.RunWorkflow, action.Workflow)
	out = cmd.out.String()
	assert.Contains(t, out, fmt.Sprintf("%d of %d backups succeeded", demoSize(), demoSize()))
	for _, provider := range clouds.Providers() {
		assert.Regexp(t, `(?m)^\s+\+\S+\s+`+provider+`\s+create\s+RUNNING\s+\d+%$`, out, "a progress line for %s", provider)
		assert.Regexp(t, `(?m)^\s+\+\S+\s+`+provider+`\s+create\s+SUCCEEDED\s+100%  backup \S+$`, out)
	}
	assert.Regexp(t, `(?m)^\s+\+\S+\s+spanner\s+copy\s+SUCCEEDED\s+100%  backup projects/\S+/backups/cp-1$`, out)
	percents := map[string][]int{}
	for _, m := range regexp.MustCompile(`(?m)^\s+\+\S+\s+(\w+)\s+(create|copy)\s+[A-Z]+\s+(\d+)%`).FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(m[3])
		percents[m[1]+" "+m[2]] = append(percents[m[1]+" "+m[2]], n)
	}
	require.Len(t, percents, demoSize())
	for k, ps := range percents {
		assert.True(t, slices.IsSorted(ps), "%s: progress never goes backwards: %v", k, ps)
	}

	t.Run("UI is served from embedded assets", func(t *testing.T) {
		for _, path := range []string{"/", "/namespaces/default/workflows"} {
			body, resp := get(t, http.DefaultClient, uiURL+path)
			require.Equal(t, http.StatusOK, resp.StatusCode, path)
			assert.Contains(t, resp.Header.Get("Content-Type"), "text/html")
			assert.Contains(t, strings.ToLower(body), "<!doctype html>")
			// The page's scripts come from the same server, not from the network.
			script := regexp.MustCompile(`/_app/[\w./-]+\.js`).FindString(body)
			require.NotEmpty(t, script, "index.html names its scripts under /_app/")
			js, resp := get(t, http.DefaultClient, uiURL+script)
			require.Equal(t, http.StatusOK, resp.StatusCode, script)
			assert.NotEmpty(t, js)
		}
		var settings struct{ Auth struct{ Enabled bool } }
		body, resp := get(t, http.DefaultClient, uiURL+"/api/v1/settings")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.NoError(t, json.Unmarshal([]byte(body), &settings))
		assert.False(t, settings.Auth.Enabled, "the dev UI needs no login")
	})

	t.Run("UI API lists and opens the backups", func(t *testing.T) {
		// The UI's own calls: list with a search-attribute query, describe
		// (workflow IDs contain slashes), and the progress query, a POST
		// that needs the UI's CSRF cookie echoed in X-CSRF-Token.
		jar, err := cookiejar.New(nil)
		require.NoError(t, err)
		hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
		q := url.Values{"query": {`BackupProvider = "spanner"`}}
		body, resp := get(t, hc, uiURL+"/api/v1/namespaces/default/workflows?"+q.Encode())
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		var list struct {
			Executions []struct {
				Execution struct{ WorkflowID, RunID string } `json:"execution"`
				Type      struct{ Name string }              `json:"type"`
				Status    string                             `json:"status"`
			} `json:"executions"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &list), body)
		var ids []string
		for _, e := range list.Executions {
			ids = append(ids, e.Execution.WorkflowID)
			assert.Equal(t, "WORKFLOW_EXECUTION_STATUS_COMPLETED", e.Status)
		}
		assert.ElementsMatch(t, []string{
			"create/spanner/projects/demo-project/instances/demo-instance/databases/db-1",
			"copy/spanner/projects/demo-project/instances/copy-instance/backups/cp-1",
		}, ids)

		id := url.PathEscape(ids[0])
		body, resp = get(t, hc, uiURL+"/api/v1/namespaces/default/workflows/"+id)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		assert.Contains(t, body, ids[0])
		assert.Contains(t, body, "BackupState")

		var csrf string
		u, _ := url.Parse(uiURL)
		for _, ck := range jar.Cookies(u) {
			if ck.Name == "_csrf" {
				csrf = ck.Value
			}
		}
		require.NotEmpty(t, csrf, "the UI server hands out a CSRF cookie")
		queryURL := uiURL + "/api/v1/namespaces/default/workflows/" + id + "/query/" + backup.ProgressQuery
		post := func(token string) (string, *http.Response) {
			req, err := http.NewRequest(http.MethodPost, queryURL, strings.NewReader(`{}`))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			if token != "" {
				req.Header.Set("X-CSRF-Token", token)
			}
			resp, err := hc.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			return string(b), resp
		}
		_, resp = post("")
		assert.NotEqual(t, http.StatusOK, resp.StatusCode, "a POST without the CSRF token is refused")
		body, resp = post(csrf)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		assert.Contains(t, body, "queryResult")
	})

	// A triggered run of the demo plan backs up every simulated provider's plan database.
	tctx, tcancel := context.WithTimeout(context.Background(), time.Minute)
	defer tcancel()
	require.NoError(t, c.ScheduleClient().GetHandle(tctx, plan.ScheduleID("demo")).Trigger(tctx, client.ScheduleTriggerOptions{}))
	var runs []*workflowpb.WorkflowExecutionInfo
	require.Eventually(t, func() bool {
		runs = listWorkflows(t, c, "WorkflowType = 'PlanRun' AND ExecutionStatus = 'Completed'")
		return len(runs) > 0
	}, 60*time.Second, 200*time.Millisecond)
	var res plan.RunResult
	require.NoError(t, c.GetWorkflow(tctx, runs[0].GetExecution().GetWorkflowId(), runs[0].GetExecution().GetRunId()).Get(tctx, &res))
	assert.Equal(t, map[plan.Outcome]int{plan.OutcomeSucceeded: len(clouds.Providers())}, res.Outcomes)
	// Every target is protected within the demo's RPO, and the Web UI can list them by it.
	require.Eventually(t, func() bool {
		return len(listWorkflows(t, c, "BackupRPO = 'met'")) == len(clouds.Providers())
	}, 30*time.Second, 200*time.Millisecond)

	cmd.stop(t)
	assert.Contains(t, cmd.out.String(), "stopping: worker, Web UI, Temporal server, simulators\n")
	for _, port := range []int{p.frontend, p.http, p.ui} {
		assert.NoError(t, devserver.CheckPort(port), "port %d released", port)
	}

}

func get(t *testing.T, hc *http.Client, u string) (string, *http.Response) {
	t.Helper()
	resp, err := hc.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b), resp
}

// TestRestartKeepsHistory runs the demo on a file-backed server, stops it,
// and starts it again on the same data directory and ports: the first run's
// workflows and their histories are still there, and the demo runs again.
func TestRestartKeepsHistory(t *testing.T) {
	p := freePorts(t)
	dataDir := filepath.Join(t.TempDir(), "dev")
	args := append(p.args(), "--data-dir", dataDir, "--backup-duration", "1s")

	first := startCommand(t, args...)
	first.waitFor(t, "Ctrl-C stops everything.", 60*time.Second)
	assert.Contains(t, first.out.String(), filepath.Join(dataDir, devserver.DatabaseFile))
	c1 := dial(t, p.frontend)
	before := waitForDemo(t, c1, 1)
	first.waitFor(t, "demo finished", 20*time.Second)
	first.stop(t)
	c1.Close()
	require.FileExists(t, filepath.Join(dataDir, devserver.DatabaseFile))

	second := startCommand(t, args...)
	second.waitFor(t, "Ctrl-C stops everything.", 60*time.Second)
	c2 := dial(t, p.frontend)
	for _, w := range before {
		id, runID := w.GetExecution().GetWorkflowId(), w.GetExecution().GetRunId()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		desc, err := c2.DescribeWorkflowExecution(ctx, id, runID)
		require.NoError(t, err, id)
		assert.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, desc.GetWorkflowExecutionInfo().GetStatus())
		it := c2.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		var events []enumspb.EventType
		for it.HasNext() {
			ev, err := it.Next()
			require.NoError(t, err)
			events = append(events, ev.GetEventType())
		}
		cancel()
		require.NotEmpty(t, events, id)
		assert.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, events[0], id)
		assert.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, events[len(events)-1], id)
		assert.Contains(t, events, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, id)
	}
	// The demo ran again on the kept state: new runs of the same workflow IDs.
	waitForDemo(t, c2, 2)
	second.waitFor(t, fmt.Sprintf("%d of %d backups succeeded", demoSize(), demoSize()), 20*time.Second)
	second.stop(t)
}

// TestPortInUse: a taken port fails the start, naming the flag and the port,
// before anything starts.
func TestPortInUse(t *testing.T) {
	for _, flagName := range []string{"--port", "--http-port", "--ui-port"} {
		t.Run(flagName, func(t *testing.T) {
			p := freePorts(t)
			l, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			t.Cleanup(func() { l.Close() })
			taken := l.Addr().(*net.TCPAddr).Port
			args := append(p.args(), flagName, strconv.Itoa(taken), "--ephemeral") // the later flag wins
			var out bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err = run(ctx, args, &out, io.Discard)
			require.Error(t, err)
			assert.Equal(t, fmt.Sprintf("%s %d: 127.0.0.1:%d is already in use (is another dev stack or Temporal server running?); "+
				"stop it or choose another port with %s", flagName, taken, taken, flagName), err.Error())
			assert.Empty(t, out.String(), "nothing started, nothing printed")
			for _, port := range []int{p.frontend, p.http, p.ui} {
				assert.NoError(t, devserver.CheckPort(port), "port %d left free", port)
			}
		})
	}
}

func TestFlags(t *testing.T) {
	o, err := parseFlags(nil, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, options{dataDir: "./.data/dev", port: 7233, httpPort: 7243, uiPort: 8233, backupDuration: 20 * time.Second, logLevel: "error"}, o)

	o, err = parseFlags([]string{"--server-only"}, io.Discard)
	require.NoError(t, err)
	assert.True(t, o.noDemo, "--server-only implies --no-demo")

	for _, bad := range [][]string{{"--backup-duration", "0s"}, {"extra"}, {"--port", "x"}, {"--log-level", "loud"}} {
		_, err := parseFlags(bad, io.Discard)
		assert.Error(t, err, "%q", bad)
	}
}

func TestShellQuote(t *testing.T) {
	assert.Equal(t, "http://127.0.0.1:80", shellQuote("http://127.0.0.1:80"))
	assert.Equal(t, "''", shellQuote(""))
	assert.Equal(t, `'a b'`, shellQuote("a b"))
	assert.Equal(t, `'it'\''s'`, shellQuote("it's"))
}

// TestServerOnly: --server-only runs the server and UI and nothing else; a
// second stack on the same data directory is refused.
func TestServerOnly(t *testing.T) {
	p := freePorts(t)
	dataDir := t.TempDir()
	cmd := startCommand(t, append(p.args(), "--data-dir", dataDir, "--server-only")...)
	cmd.waitFor(t, "Ctrl-C stops everything.", 60*time.Second)

	other := freePorts(t)
	err := run(context.Background(), append(other.args(), "--data-dir", dataDir, "--server-only"), io.Discard, io.Discard)
	require.Error(t, err)
	assert.Equal(t, "--data-dir: data directory "+dataDir+" is in use by another running dev server; "+
		"stop it, or use another --data-dir or --ephemeral", err.Error())

	out := cmd.out.String()
	assert.NotContains(t, out, "simulator")
	assert.NotContains(t, out, "BACKUPFLOW_")
	assert.NotContains(t, out, "demo")
	c := dial(t, p.frontend)
	assert.Empty(t, listWorkflows(t, c, ""))
	cmd.stop(t)
	assert.Contains(t, cmd.out.String(), "stopping: Web UI, Temporal server\n")
}

// TestWebUIDecodesThroughTheCodecEndpoint: with BACKUPFLOW_CODEC_KEY_FILE
// set, the stack serves the codec endpoint on loopback and the Web UI is
// configured with it; the UI's page (its origin) may call it, and it
// decodes what a client with the key encrypted.
func TestWebUIDecodesThroughTheCodecEndpoint(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "codec.key")
	require.NoError(t, os.WriteFile(keyFile, []byte(strings.Repeat("c3", 32)+"\n"), 0o600))
	t.Setenv("BACKUPFLOW_CODEC_KEY_FILE", keyFile)
	p := freePorts(t)
	cmd := startCommand(t, append(p.args(), "--ephemeral", "--server-only")...)
	cmd.waitFor(t, "Ctrl-C stops everything.", 60*time.Second)
	m := regexp.MustCompile(`codec endpoint\s+(http://127\.0\.0\.1:(\d+)/codec)\s`).FindStringSubmatch(cmd.out.String())
	require.NotNil(t, m, cmd.out.String())
	endpoint := m[1]

	uiURL := fmt.Sprintf("http://127.0.0.1:%d", p.ui)
	var settings struct{ Codec struct{ Endpoint string } }
	body, resp := get(t, http.DefaultClient, uiURL+"/api/v1/settings")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, json.Unmarshal([]byte(body), &settings))
	assert.Equal(t, endpoint, settings.Codec.Endpoint, "the UI decodes through the stack's endpoint")

	dc, _, err := wiring.Converters(keyFile)
	require.NoError(t, err)
	payload, err := dc.ToPayload("orders-db nightly")
	require.NoError(t, err)
	raw, err := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{payload}})
	require.NoError(t, err)
	for _, origin := range []string{uiURL, fmt.Sprintf("http://localhost:%d", p.ui)} {
		req, err := http.NewRequest(http.MethodOptions, endpoint+"/decode", nil)
		require.NoError(t, err)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type,x-namespace")
		resp, err = http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, origin, resp.Header.Get("Access-Control-Allow-Origin"), "the UI's page may call it from %s", origin)

		req, err = http.NewRequest(http.MethodPost, endpoint+"/decode", bytes.NewReader(raw))
		require.NoError(t, err)
		req.Header.Set("Origin", origin)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Namespace", "default")
		resp, err = http.DefaultClient.Do(req)
		require.NoError(t, err)
		out, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(out))
		var decoded commonpb.Payloads
		require.NoError(t, protojson.Unmarshal(out, &decoded))
		require.Len(t, decoded.Payloads, 1)
		assert.Equal(t, `"orders-db nightly"`, string(decoded.Payloads[0].Data), "no login on loopback")
	}

	cmd.stop(t)
	assert.Contains(t, cmd.out.String(), "stopping: codec endpoint, Web UI, Temporal server\n")
	port, err := strconv.Atoi(m[2])
	require.NoError(t, err)
	assert.NoError(t, devserver.CheckPort(port), "the codec port is released")
}
