package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/clouds"
	"github.com/backupflow/backupflow/internal/testenv"
	"github.com/backupflow/backupflow/simulator/simkit"
	"github.com/backupflow/backupflow/wiring"
)

// The starter's JSON documents, as much of them as the tests read.
type cliReport struct {
	WorkflowID string `json:"workflowId"`
	RunID      string `json:"runId"`
	Attached   bool   `json:"attached"`
	Status     string `json:"status"`
	Progress   *struct {
		State        string `json:"state"`
		CancelReason string `json:"cancelReason"`
	} `json:"progress"`
	Result *struct {
		Provider string `json:"provider"`
		Backup   struct {
			ID string `json:"id"`
		} `json:"backup"`
	} `json:"result"`
	Failure *struct {
		Message string `json:"message"`
		Type    string `json:"type"`
	} `json:"failure"`
	Cleanup *struct {
		Created             bool `json:"created"`
		CancelledAtProvider bool `json:"cancelledAtProvider"`
	} `json:"cleanup"`
	Error    string `json:"error"`
	Field    string `json:"field"`
	ExitCode int    `json:"exitCode"`
}

type cliList struct {
	Query     string `json:"query"`
	Workflows []struct {
		WorkflowID string `json:"workflowId"`
		Status     string `json:"status"`
		State      string `json:"state"`
		Provider   string `json:"provider"`
	} `json:"workflows"`
}

// starterCLI runs the built binary against one server, in a clean environment.
type starterCLI struct {
	bin string
	env []string
}

func buildStarter(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "backupflow")
	start := time.Now()
	build := exec.Command("go", "build", "-o", bin, "github.com/backupflow/backupflow/starter")
	build.Env = append(os.Environ(), "GOTOOLCHAIN=local") // the toolchain running the tests
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Logf("built the starter in %s", time.Since(start).Round(time.Millisecond))
	return bin
}

func (s starterCLI) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, s.bin, args...)
	cmd.Env = s.env
	return cmd
}

// run runs the starter to its end and returns its exit code and output.
func (s starterCLI) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := s.command(testenv.Context(t, 2*time.Minute), args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return exitCode(t, cmd.Run()), stdout.String(), stderr.String()
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	require.NoError(t, err)
	return 0
}

// runJSON runs the starter with --output json and decodes its one document.
func (s starterCLI) runJSON(t *testing.T, v any, args ...string) int {
	t.Helper()
	code, out, errOut := s.run(t, append(args, "--output", "json")...)
	dec := json.NewDecoder(strings.NewReader(out))
	require.NoError(t, dec.Decode(v), "stdout %q, stderr %q", out, errOut)
	require.False(t, dec.More(), "one JSON document on stdout: %q", out)
	return code
}

func memoryInput(resource, name string, seconds float64) string {
	return fmt.Sprintf(`{"provider":"memory","memory":{"resource":%q,"name":%q,"durationSeconds":%v}}`, resource, name, seconds)
}

// TestStarterCLI drives the built binary against a real server, a worker and
// the simulators, as an operator or a script would.
func TestStarterCLI(t *testing.T) {
	bin := buildStarter(t)
	set, err := clouds.Start(simkit.Options{Duration: 3 * time.Second}, "taurusdb", "spanner")
	require.NoError(t, err)
	t.Cleanup(set.Close)
	e := testenv.Start(t, true)
	workerEnv := set.Env()
	workerEnv["BACKUPFLOW_PROVIDERS"] += ",memory"
	e.StartWorker(t, e.ConfigFromEnv(t, workerEnv))
	cli := starterCLI{bin: bin, env: []string{
		"TEMPORAL_ADDRESS=" + e.Server.GetFrontendHostPort(),
		"TEMPORAL_NAMESPACE=" + e.Namespace,
		"BACKUPFLOW_TASK_QUEUE=backups",
	}}
	taurusFile, err := filepath.Abs(filepath.Join(examplesDir, "create-taurusdb.json"))
	require.NoError(t, err)
	_, taurusID := readExample(t, example{file: "create-taurusdb.json", kind: backup.KindCreate})
	spanner, err := set.Get("spanner")
	require.NoError(t, err)

	t.Run("create --wait prints plain progress lines and succeeds", func(t *testing.T) {
		code, out, errOut := cli.run(t, "create", "--input-file", taurusFile, "--wait", "--interval", "100ms")
		require.Equal(t, 0, code, "stdout %s\nstderr %s", out, errOut)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		assert.Regexp(t, `^started CreateBackup `+regexp.QuoteMeta(taurusID)+` \(run [0-9a-f-]+\)$`, lines[0])
		assert.NotContains(t, out, "\r", "no bar when stdout is not a terminal")
		progress := regexp.MustCompile(`^(VALIDATING|STARTING|RUNNING|FINALIZING|SUCCEEDED) (\d+)%$`)
		var states []string
		for _, l := range lines[1:] {
			if m := progress.FindStringSubmatch(l); m != nil {
				states = append(states, m[1])
			}
		}
		require.NotEmpty(t, states, "%s", out)
		assert.Contains(t, states, "RUNNING", "%s", out)
		assert.Equal(t, "SUCCEEDED", states[len(states)-1])
		assert.Contains(t, out, "SUCCEEDED 100%")
		assert.Regexp(t, `(?m)^status\s+SUCCEEDED$`, out)
		assert.Regexp(t, `(?m)^backup\s+\S+ \(orders-nightly\), COMPLETED`, out)
	})

	t.Run("create --wait --output json is one document", func(t *testing.T) {
		input := string(spanner.CreateSection(3))
		var rep cliReport
		code := cli.runJSON(t, &rep, "create", "--wait", "--interval", "100ms",
			"--input", `{"provider":"spanner","spanner":`+input+`}`)
		require.Equal(t, 0, code, "%+v", rep)
		assert.Equal(t, "SUCCEEDED", rep.Status)
		assert.Equal(t, 0, rep.ExitCode)
		require.NotNil(t, rep.Result)
		assert.Equal(t, "spanner", rep.Result.Provider)
		assert.Contains(t, rep.Result.Backup.ID, "/backups/bk-3")
		assert.Equal(t, "create/spanner/projects/demo-project/instances/demo-instance/databases/db-3", rep.WorkflowID)
	})

	t.Run("bad input exits 2 naming the field", func(t *testing.T) {
		// Refused by the CLI, before anything is started.
		code, _, errOut := cli.run(t, "create", "--input", `{"provider":"spanner","spanner":{"parent":"p","backupId":7}}`)
		assert.Equal(t, 2, code)
		assert.Contains(t, errOut, "spanner.backupId: must be a string")

		// Refused by the worker's provider rules, reported with --wait.
		section := strings.Replace(string(spanner.CreateSection(4)), `"backupId":"bk-4"`, `"backupId":"Bad ID"`, 1)
		require.Contains(t, section, "Bad ID")
		var rep cliReport
		code = cli.runJSON(t, &rep, "create", "--wait", "--input", `{"provider":"spanner","spanner":`+section+`}`)
		assert.Equal(t, 2, code)
		assert.Equal(t, "FAILED", rep.Status)
		assert.Equal(t, "spanner.backupId", rep.Field)
		require.NotNil(t, rep.Failure)
		assert.Equal(t, "InvalidArgument", rep.Failure.Type)
		assert.Contains(t, rep.Failure.Message, "spanner.backupId")
	})

	t.Run("conflict exits 4; an identical request attaches", func(t *testing.T) {
		first := memoryInput("conflict-db", "first", 600)
		code, out, errOut := cli.run(t, "create", "--input", first)
		require.Equal(t, 0, code, errOut)
		assert.Contains(t, out, "started CreateBackup create/memory/conflict-db")

		var again cliReport
		require.Equal(t, 0, cli.runJSON(t, &again, "create", "--input", first))
		assert.True(t, again.Attached)

		var conflict cliReport
		code = cli.runJSON(t, &conflict, "create", "--input", memoryInput("conflict-db", "second", 600))
		assert.Equal(t, 4, code)
		assert.Equal(t, "create/memory/conflict-db", conflict.WorkflowID)
		assert.Equal(t, again.RunID, conflict.RunID)
		assert.Contains(t, conflict.Error, "already running")

		// cancel --wait follows the cleanup to the end: exit 3.
		var cancelled cliReport
		code = cli.runJSON(t, &cancelled, "cancel", "create/memory/conflict-db", "--reason", "conflict test over", "--wait")
		assert.Equal(t, 3, code)
		assert.Equal(t, "CANCELLED", cancelled.Status)
		require.NotNil(t, cancelled.Cleanup)
		assert.True(t, cancelled.Cleanup.Created)
	})

	t.Run("cancel makes watch exit 3", func(t *testing.T) {
		id := "create/memory/watch-db"
		code, _, errOut := cli.run(t, "create", "--input", memoryInput("watch-db", "long", 600))
		require.Equal(t, 0, code, errOut)

		ctx := testenv.Context(t, 2*time.Minute)
		watch := cli.command(ctx, "watch", id, "--interval", "100ms")
		stdout, err := watch.StdoutPipe()
		require.NoError(t, err)
		var stderr bytes.Buffer
		watch.Stderr = &stderr
		require.NoError(t, watch.Start())
		running := make(chan struct{})
		var out strings.Builder
		scanned := make(chan struct{})
		go func() {
			defer close(scanned)
			sc := bufio.NewScanner(stdout)
			seen := false
			for sc.Scan() {
				out.WriteString(sc.Text() + "\n")
				if !seen && strings.HasPrefix(sc.Text(), "RUNNING ") {
					seen = true
					close(running)
				}
			}
		}()
		select {
		case <-running:
		case <-scanned:
			t.Fatalf("watch ended before the backup ran: %s %s", out.String(), stderr.String())
		case <-ctx.Done():
			t.Fatal("watch never showed RUNNING")
		}

		code, out2, errOut := cli.run(t, "cancel", id, "--reason", "test over")
		require.Equal(t, 0, code, errOut)
		assert.Contains(t, out2, `asked create/memory/watch-db to cancel ("test over")`)

		<-scanned
		assert.Equal(t, 3, exitCode(t, watch.Wait()), "%s\n%s", out.String(), stderr.String())
		assert.Contains(t, out.String(), "CANCELLED")
		assert.Regexp(t, `(?m)^cleanup\s+created=true cancelledAtProvider=true`, out.String())
		assert.Regexp(t, `(?m)^cancel reason\s+test over$`, out.String())
	})

	t.Run("interrupting --wait leaves the backup running", func(t *testing.T) {
		id := "create/memory/interrupted-db"
		ctx := testenv.Context(t, 2*time.Minute)
		create := cli.command(ctx, "create", "--wait", "--interval", "100ms", "--input", memoryInput("interrupted-db", "long", 600))
		stdout, err := create.StdoutPipe()
		require.NoError(t, err)
		var stderr bytes.Buffer
		create.Stderr = &stderr
		require.NoError(t, create.Start())
		sc := bufio.NewScanner(stdout)
		for sc.Scan() && !strings.HasPrefix(sc.Text(), "RUNNING ") {
		}
		require.NoError(t, create.Process.Signal(os.Interrupt))
		for sc.Scan() {
		}
		assert.Equal(t, 5, exitCode(t, create.Wait()))
		assert.Contains(t, stderr.String(), "stopped waiting; the backup goes on")
		assert.Contains(t, stderr.String(), "backupflow watch "+id)

		var rep cliReport
		require.Equal(t, 0, cli.runJSON(t, &rep, "describe", id))
		assert.Equal(t, "RUNNING", rep.Status, "Ctrl-C stops the CLI, not the backup")
		require.Equal(t, 3, cli.runJSON(t, &rep, "cancel", id, "--wait"))
	})

	t.Run("describe", func(t *testing.T) {
		code, out, errOut := cli.run(t, "describe", taurusID)
		require.Equal(t, 0, code, errOut)
		assert.Regexp(t, `(?m)^status\s+SUCCEEDED$`, out)
		assert.Regexp(t, `(?m)^type\s+CreateBackup$`, out)
		assert.Regexp(t, `(?m)^backup\s+\S+ \(orders-nightly\)`, out)

		var rep cliReport
		require.Equal(t, 0, cli.runJSON(t, &rep, "describe", "create/memory/watch-db"))
		assert.Equal(t, "CANCELLED", rep.Status)
		require.NotNil(t, rep.Progress)
		assert.Equal(t, "CANCELLED", rep.Progress.State)
		assert.Equal(t, "test over", rep.Progress.CancelReason)
		require.NotNil(t, rep.Cleanup)
		assert.True(t, rep.Cleanup.CancelledAtProvider)

		code, _, errOut = cli.run(t, "describe", "create/memory/no-such-db")
		assert.Equal(t, 2, code)
		assert.Contains(t, errOut, "no workflow create/memory/no-such-db")
	})

	t.Run("list filters by provider, resource and state", func(t *testing.T) {
		ids := func(l cliList) []string {
			var out []string
			for _, w := range l.Workflows {
				out = append(out, w.WorkflowID)
			}
			return out
		}
		// Visibility is eventually consistent: poll, bounded.
		var l cliList
		require.Eventually(t, func() bool {
			l = cliList{}
			return cli.runJSON(t, &l, "list", "--provider", "memory", "--state", "cancelled") == 0 &&
				slices.Contains(ids(l), "create/memory/watch-db") && slices.Contains(ids(l), "create/memory/conflict-db") &&
				slices.Contains(ids(l), "create/memory/interrupted-db")
		}, 30*time.Second, 200*time.Millisecond)
		assert.Len(t, l.Workflows, 3, "%+v", l)
		for _, w := range l.Workflows {
			assert.Equal(t, "memory", w.Provider)
			assert.Equal(t, "CANCELLED", w.State)
			assert.Equal(t, "CANCELLED", w.Status)
		}

		require.Equal(t, 0, cli.runJSON(t, &l, "list", "--provider", "taurusdb", "--state", "SUCCEEDED", "--kind", "create"))
		assert.Equal(t, []string{taurusID}, ids(l))
		require.Equal(t, 0, cli.runJSON(t, &l, "list", "--resource", "watch-db"))
		assert.Equal(t, []string{"create/memory/watch-db"}, ids(l))
		require.Equal(t, 0, cli.runJSON(t, &l, "list", "--provider", "memory", "--state", "RUNNING"))
		assert.Empty(t, l.Workflows)

		// A value is one literal: this is a resource nobody has, not a way around the filter.
		require.Equal(t, 0, cli.runJSON(t, &l, "list", "--resource", `x' OR BackupProvider = 'taurusdb`))
		assert.Empty(t, l.Workflows, l.Query)

		code, out, _ := cli.run(t, "list", "--provider", "taurusdb")
		require.Equal(t, 0, code)
		assert.Regexp(t, `(?m)^WORKFLOW ID\s+STATUS\s+STATE\s+STARTED$`, out)
		assert.Regexp(t, `(?m)^`+regexp.QuoteMeta(taurusID)+`\s+SUCCEEDED\s+SUCCEEDED\s`, out)
	})

	t.Run("unreachable server exits 5", func(t *testing.T) {
		code, _, errOut := cli.run(t, "describe", taurusID, "--address", "127.0.0.1:1", "--connect-timeout", "5s")
		assert.Equal(t, 5, code)
		assert.Contains(t, errOut, "127.0.0.1:1")
	})

	// Its own server and worker; it shares only the binary (linking it is the slow part).
	t.Run("payload codec", func(t *testing.T) { starterWithPayloadCodec(t, bin) })
}

// starterWithPayloadCodec: when workers encrypt payloads and failures, the
// starter given the same key file (BACKUPFLOW_CODEC_KEY_FILE) starts and
// follows backups, and reads a failure's message and class.
func starterWithPayloadCodec(t *testing.T, bin string) {
	keyFile := filepath.Join(t.TempDir(), "codec.key")
	require.NoError(t, os.WriteFile(keyFile, []byte(strings.Repeat("ab", 32)+"\n"), 0o600))
	dc, fc, err := wiring.Converters(keyFile)
	require.NoError(t, err)

	e := testenv.Start(t, true)
	c := e.Server.NewClientWithOptions(client.Options{DataConverter: dc, FailureConverter: fc})
	app, err := wiring.InitializeWorkerWithClient(e.Config(t, "memory"), c, nil)
	require.NoError(t, err)
	require.NoError(t, app.Worker.Start())
	t.Cleanup(app.Worker.Stop)

	env := []string{"TEMPORAL_ADDRESS=" + e.Server.GetFrontendHostPort(), "TEMPORAL_NAMESPACE=" + e.Namespace}
	withKey := starterCLI{bin: bin, env: append(slices.Clone(env), "BACKUPFLOW_CODEC_KEY_FILE="+keyFile)}
	var rep cliReport
	code := withKey.runJSON(t, &rep, "create", "--wait", "--interval", "100ms", "--input", memoryInput("sealed-db", "b", 0.5))
	require.Equal(t, 0, code, "%+v", rep)
	assert.Equal(t, "SUCCEEDED", rep.Status)
	require.NotNil(t, rep.Result)
	assert.Equal(t, "memory", rep.Result.Provider)

	var failed cliReport
	code = withKey.runJSON(t, &failed, "create", "--wait", "--interval", "100ms", "--input",
		`{"provider":"memory","memory":{"resource":"sealed-fail-db","name":"b","durationSeconds":0.2,"failWith":"disk full"}}`)
	require.Equal(t, 1, code, "%+v", failed)
	require.NotNil(t, failed.Failure)
	assert.Equal(t, "BackupFailed", failed.Failure.Type, "the class survives failure encryption")
	assert.Contains(t, failed.Failure.Message, "disk full", "the message is decrypted")

	// Without the key the result cannot be read: not a backup outcome, exit 5.
	withoutKey := starterCLI{bin: bin, env: env}
	code, _, errOut := withoutKey.run(t, "describe", "create/memory/sealed-db")
	assert.Equal(t, 5, code, errOut)
	assert.Contains(t, errOut, "BACKUPFLOW_CODEC_KEY_FILE")

	code, _, errOut = starterCLI{bin: bin, env: append(slices.Clone(env), "BACKUPFLOW_CODEC_KEY_FILE=/nonexistent/key")}.run(t, "describe", "x")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "BACKUPFLOW_CODEC_KEY_FILE")
}
