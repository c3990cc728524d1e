package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/temporalio/sqlparser"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/backupflow/backupflow/backup"
)

// run runs the CLI in-process with a dialer that must not be reached unless allowed.
func run(t *testing.T, env map[string]string, dial func(context.Context, client.Options) (client.Client, error), args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if dial == nil {
		dial = func(context.Context, client.Options) (client.Client, error) {
			t.Fatalf("dialled Temporal for %v", args)
			return nil, nil
		}
	}
	c := &Command{Env: env, Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Dial: dial}
	code := c.Run(context.Background(), args)
	return code, stdout.String(), stderr.String()
}

func TestUsageDocumentsEveryExitCode(t *testing.T) {
	code, out, _ := run(t, nil, nil, "--help")
	assert.Equal(t, ExitOK, code)
	for _, want := range []string{"0  success", "1  the backup failed", "2  bad input", "3  the backup was cancelled", "4  conflict", "5  connection"} {
		assert.Contains(t, out, want)
	}
	for _, cmd := range []string{"create", "copy", "watch", "cancel", "describe", "list", "plan", "hold"} {
		assert.Contains(t, out, "backupflow "+cmd)
	}

	code, _, errOut := run(t, nil, nil)
	assert.Equal(t, ExitBadInput, code)
	assert.Contains(t, errOut, "Usage:")
	code, _, errOut = run(t, nil, nil, "backup")
	assert.Equal(t, ExitBadInput, code)
	assert.Contains(t, errOut, `unknown command "backup"`)

	code, out, _ = run(t, nil, nil, "cancel", "--help")
	assert.Equal(t, ExitOK, code)
	assert.Contains(t, out, "-reason")
}

func TestBadInputExitsTwoWithoutDialling(t *testing.T) {
	cases := map[string]struct {
		args  []string
		field string
	}{
		"type error":                {[]string{"create", "--input", `{"provider":"spanner","spanner":{"backupId":7}}`}, "spanner.backupId"},
		"flag after input":          {[]string{"copy", "--input", `{"provider":"alirds","alirds":{"DBInstanceId":"rm-1"}}`, "--wait"}, "provider"},
		"no input":                  {[]string{"create"}, "--input"},
		"both inputs":               {[]string{"create", "--input", "{}", "--input-file", "x.json"}, "--input"},
		"missing file":              {[]string{"create", "--input-file", "/nonexistent/request.json"}, "--input-file"},
		"stray argument":            {[]string{"create", "request.json"}, ""},
		"unknown flag":              {[]string{"create", "--inptu", "{}"}, ""},
		"bad output":                {[]string{"list", "--output", "yaml"}, "--output"},
		"cancel without id":         {[]string{"cancel", "--reason", "x"}, ""},
		"watch two ids":             {[]string{"watch", "a", "b"}, ""},
		"list unknown state":        {[]string{"list", "--state", "DONE"}, "--state"},
		"list stage is not a state": {[]string{"list", "--state", "finalizing"}, "one of RUNNING, CANCELLING, SUCCEEDED, FAILED, CANCELLED"},
		"list unknown kind":         {[]string{"list", "--kind", "restore"}, "--kind"},
		"bad duration flag":         {[]string{"describe", "x", "--connect-timeout", "soon"}, ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			code, _, errOut := run(t, nil, nil, c.args...)
			assert.Equal(t, ExitBadInput, code, errOut)
			if c.field != "" {
				assert.Contains(t, errOut, c.field)
			}
		})
	}
}

func TestJSONOutputIsOneDocument(t *testing.T) {
	code, out, errOut := run(t, nil, nil, "create", "--output", "json", "--input", `{"provider":"spanner","spanner":{"backup":{"databse":"x"}}}`)
	assert.Equal(t, ExitBadInput, code)
	var rep Report
	dec := json.NewDecoder(strings.NewReader(out))
	require.NoError(t, dec.Decode(&rep))
	assert.False(t, dec.More(), "exactly one document")
	assert.Equal(t, "spanner.backup.databse", rep.Field)
	assert.Equal(t, ExitBadInput, rep.ExitCode)
	assert.Contains(t, errOut, rep.Error, "the error is on stderr too")
}

func TestConnectionErrorExitsFive(t *testing.T) {
	var got client.Options
	dial := func(_ context.Context, o client.Options) (client.Client, error) {
		got = o
		return nil, errors.New("connection refused")
	}
	env := map[string]string{"TEMPORAL_ADDRESS": "temporal.example:7233", "TEMPORAL_NAMESPACE": "backups-prod"}
	code, _, errOut := run(t, env, dial, "describe", "create/memory/db")
	assert.Equal(t, ExitError, code)
	assert.Contains(t, errOut, "temporal.example:7233")
	assert.Equal(t, "temporal.example:7233", got.HostPort)
	assert.Equal(t, "backups-prod", got.Namespace)

	code, _, _ = run(t, env, dial, "list", "--address", "127.0.0.1:7777", "--namespace", "ops")
	assert.Equal(t, ExitError, code)
	assert.Equal(t, "127.0.0.1:7777", got.HostPort, "flags override the environment")
	assert.Equal(t, "ops", got.Namespace)
}

func TestSettingsReadTheWorkersEnvironment(t *testing.T) {
	c := &Command{Env: map[string]string{}}
	cfg, sc, err := c.settings(options{})
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:7233", cfg.Address)
	assert.Equal(t, "default", cfg.Namespace)
	assert.Equal(t, backup.TaskQueue, sc.TaskQueue)
	assert.Empty(t, sc.CodecKeyFile)

	c.Env = map[string]string{"TEMPORAL_ADDRESS": "t:1", "TEMPORAL_NAMESPACE": "n", "BACKUPFLOW_TASK_QUEUE": "q",
		"TEMPORAL_TLS": "true", "BACKUPFLOW_CODEC_KEY_FILE": "/etc/backupflow/codec.key"}
	cfg, sc, err = c.settings(options{})
	require.NoError(t, err)
	assert.Equal(t, "t:1", cfg.Address)
	assert.Equal(t, "n", cfg.Namespace)
	assert.True(t, cfg.TLS)
	assert.Equal(t, "q", sc.TaskQueue)
	assert.Equal(t, "/etc/backupflow/codec.key", sc.CodecKeyFile)

	cfg, sc, err = c.settings(options{address: "a:2", namespace: "m", taskQueue: "r"})
	require.NoError(t, err)
	assert.Equal(t, "a:2", cfg.Address)
	assert.Equal(t, "m", cfg.Namespace)
	assert.Equal(t, "r", sc.TaskQueue)

	c.Env = map[string]string{"TEMPORAL_TLS": "maybe"}
	_, _, err = c.settings(options{})
	var in *InputError
	require.True(t, errors.As(err, &in), "%v", err)
	assert.Contains(t, err.Error(), "TEMPORAL_TLS")
}

func TestClassify(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		status string
		code   int
	}{
		{"success", nil, StatusSucceeded, ExitOK},
		{"cancelled", temporal.NewCanceledError(backup.CleanupReport{Reason: "r"}), StatusCancelled, ExitCancelled},
		{"refused by the worker", temporal.NewNonRetryableApplicationError("spanner.backupId: bad", "InvalidArgument", nil), StatusFailed, ExitBadInput},
		{"unknown workflow", serviceerror.NewNotFound("no such workflow"), "", ExitBadInput},
		{"interrupted", fmt.Errorf("wait: %w", context.Canceled), "", ExitError},
		{"connection", serviceerror.NewUnavailable("down"), "", ExitError},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, code := Classify(c.err)
			assert.Equal(t, c.status, status)
			assert.Equal(t, c.code, code)
		})
	}
}

func TestListQueryQuotesValues(t *testing.T) {
	q, err := ListQuery("", "", "", "")
	require.NoError(t, err)
	assert.Equal(t, "WorkflowType IN ('CreateBackup', 'CopyBackup')", q)

	q, err = ListQuery("copy", "spanner", "projects/p/instances/i/backups/b", "running")
	require.NoError(t, err)
	assert.Equal(t, "WorkflowType = 'CopyBackup' AND BackupProvider = 'spanner' AND "+
		"BackupResource = 'projects/p/instances/i/backups/b' AND BackupState = 'RUNNING'", q)

	// Whatever a value holds, it stays one string literal: the server's query
	// parser reads back exactly the value, and the query keeps its shape.
	for _, v := range []string{`x' OR BackupState = 'FAILED`, `back\slash\`, `"double"`, "new\nline", `\'`, `%_*`} {
		q, err := ListQuery("create", v, "", "")
		require.NoError(t, err)
		stmt, err := sqlparser.Parse("select * from executions where " + q)
		require.NoError(t, err, q)
		where := stmt.(*sqlparser.Select).Where.Expr
		and, ok := where.(*sqlparser.AndExpr)
		require.True(t, ok, "two clauses joined by AND: %s", q)
		cmp, ok := and.Right.(*sqlparser.ComparisonExpr)
		require.True(t, ok, q)
		assert.Equal(t, "BackupProvider", cmp.Left.(*sqlparser.ColName).Name.String())
		assert.Equal(t, v, string(cmp.Right.(*sqlparser.SQLVal).Val), q)
	}
}

func TestProgressViews(t *testing.T) {
	var lines bytes.Buffer
	v := NewProgressView(&lines, false)
	for _, p := range []backup.Progress{
		{State: backup.StateValidating}, {State: backup.StateRunning, Percent: 10.2}, {State: backup.StateRunning, Percent: 10.9},
		{State: backup.StateRunning, Percent: 42.5}, {State: backup.StateSucceeded, Percent: 100},
	} {
		v.Update(p)
	}
	v.Done()
	assert.Equal(t, "VALIDATING 0%\nRUNNING 10%\nRUNNING 42%\nSUCCEEDED 100%\n", lines.String(), "a line per change, percent floored")

	var bar bytes.Buffer
	v = NewProgressView(&bar, true)
	v.Update(backup.Progress{State: backup.StateRunning, Percent: 50, Attempts: 3})
	v.Update(backup.Progress{State: backup.StateRunning, Percent: 100})
	v.Done()
	out := bar.String()
	assert.Contains(t, out, "\r[###############...............]  50% RUNNING  (attempt 3)\x1b[K")
	assert.Contains(t, out, "\r[##############################] 100% RUNNING\x1b[K")
	assert.True(t, strings.HasSuffix(out, "\n"), "the bar ends its line")
	assert.Equal(t, 1, strings.Count(out, "\n"))
}

func TestConflictOutputHasNoEmptyLines(t *testing.T) {
	rep := conflictReport(&backup.ConflictError{WorkflowID: "create/spanner/x", RunID: "r1"})
	assert.Equal(t, ExitConflict, rep.exitCode())
	var out bytes.Buffer
	rep.writeText(&out)
	for _, line := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		if out.Len() > 0 {
			assert.NotEmpty(t, strings.TrimSpace(line), "no empty line in %q", out.String())
			assert.NotRegexp(t, `^\S+\s*$`, line, "no row without a value in %q", out.String())
		}
	}
	msg := rep.errorText()
	assert.Contains(t, msg, "create/spanner/x")
	assert.Contains(t, msg, "backupflow watch create/spanner/x")
	assert.NotContains(t, msg, "\n\n")
}

func TestOnlyCloudsAreOffered(t *testing.T) {
	code, _, errOut := run(t, nil, nil, "create", "--input", `{"provider":"nope","nope":{}}`)
	assert.Equal(t, ExitBadInput, code)
	assert.Contains(t, errOut, "known: "+strings.Join(backup.Providers(), ", "))
	assert.NotContains(t, errOut, "memory", "the test-only provider is not offered")
	_, err := ParseRequest([]byte(`{"provider":"memory","memory":{"resource":"db","name":"b"}}`), backup.KindCreate)
	assert.NoError(t, err, "but tests and experiments may still use it")
}

func TestBadIdentifiersAreRefusedBeforeDialling(t *testing.T) {
	long := strings.Repeat("d", backup.MaxIDLength)
	cases := map[string]struct{ input, want string }{
		"control character": {`{"provider":"alirds","alirds":{"DBInstanceId":"rm-1\u001b[2J"}}`, "control character"},
		"newline":           {`{"provider":"taurusdb","taurusdb":{"instance_id":"a\nFAKE LINE","name":"n"}}`, "control character"},
		"too long":          {`{"provider":"alirds","alirds":{"DBInstanceId":"` + long + `"}}`, "at most 1000"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			code, _, errOut := run(t, nil, nil, "create", "--input", c.input)
			assert.Equal(t, ExitBadInput, code)
			assert.Contains(t, errOut, c.want)
			assert.NotContains(t, errOut, "\x1b", "the terminal escape is not written raw")
			assert.NotContains(t, errOut, "\nFAKE LINE", "no forged line")
		})
	}
}

func TestOutputEscapesControlCharacters(t *testing.T) {
	assert.Equal(t, `a\x1b[2Jb\rc`+"\n\td", escapeControls("a\x1b[2Jb\rc\n\td"))
	assert.Equal(t, `x\u0085y`, escapeControls("x\u0085y"))
	assert.Equal(t, "plain ünïcode", escapeControls("plain ünïcode"))
}
