package devserver

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/backupflow/backupflow/internal/searchattr"
)

// waitForSignal runs until it is signalled, so it is in flight across a
// server restart.
func waitForSignal(ctx workflow.Context) (string, error) {
	var v string
	workflow.GetSignalChannel(ctx, "go").Receive(ctx, &v)
	return "got " + v, nil
}

// TestRestartMidFlight is what the reliability suite does: a file-backed
// server stops while a workflow runs and starts again on the same data
// directory and port; the client and worker that were connected carry on, and
// the workflow completes.
func TestRestartMidFlight(t *testing.T) {
	port, err := FreePort()
	require.NoError(t, err)
	opts := Options{DataDir: filepath.Join(t.TempDir(), "data"), Port: port, NoUI: true}
	t0 := time.Now()
	s, err := Start(opts)
	require.NoError(t, err)
	t.Logf("started in %s", time.Since(t0))
	t.Cleanup(func() { _ = s.Stop() })
	assert.Equal(t, filepath.Join(opts.DataDir, DatabaseFile), s.DatabasePath())
	assert.Empty(t, s.UIURL())

	c, err := s.Dial(client.Options{})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// The namespace has backupflow's search attributes.
	sa, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: DefaultNamespace})
	require.NoError(t, err)
	for _, n := range searchattr.Names {
		assert.Equal(t, enumspb.INDEXED_VALUE_TYPE_KEYWORD, sa.GetCustomAttributes()[n], n)
	}

	w := worker.New(c, "restart", worker.Options{})
	w.RegisterWorkflow(waitForSignal)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "in-flight", TaskQueue: "restart"}, waitForSignal)
	require.NoError(t, err)
	require.Eventually(t, func() bool { // the worker has run its first task
		it := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return false
			}
			if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
				return true
			}
		}
		return false
	}, 20*time.Second, 50*time.Millisecond)

	t.Logf("first workflow task done %s after start", time.Since(t0))
	t0 = time.Now()
	require.NoError(t, s.Stop())
	t.Logf("stopped in %s", time.Since(t0))
	require.NoError(t, CheckPort(port), "the frontend port is released")
	down, cancelDown := context.WithTimeout(ctx, time.Second) // the client retries while the server is down
	_, err = c.DescribeWorkflowExecution(down, run.GetID(), run.GetRunID())
	cancelDown()
	require.Error(t, err, "the server is down")

	t0 = time.Now()
	s2, err := Start(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s2.Stop() })
	t.Logf("restarted in %s", time.Since(t0))
	t0 = time.Now()
	desc, err := c.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
	require.NoError(t, err)
	t.Logf("client reconnected in %s", time.Since(t0))
	assert.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, desc.GetWorkflowExecutionInfo().GetStatus())

	require.NoError(t, c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "go", "after restart"))
	var got string
	t0 = time.Now()
	require.NoError(t, run.Get(ctx, &got), "the worker from before the restart finishes the workflow")
	t.Logf("completed %s after the signal", time.Since(t0))
	assert.Equal(t, "got after restart", got)
	t0 = time.Now()
	w.Stop() // while the server is up, so its polls end at once
	t.Logf("worker stopped in %s", time.Since(t0))
	t0 = time.Now()
	require.NoError(t, s2.Stop())
	t.Logf("server stopped in %s", time.Since(t0))
	require.NoError(t, s2.Stop(), "Stop twice is fine")
}

func TestPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).Port
	for option, o := range map[string]Options{"Port": {Port: taken}, "HTTPPort": {HTTPPort: taken}, "UIPort": {UIPort: taken}} {
		o.Ephemeral = true
		_, err := Start(o)
		var inUse *PortInUseError
		require.True(t, errors.As(err, &inUse), "%v", err)
		assert.Equal(t, PortInUseError{Option: option, Port: taken, Err: inUse.Err}, *inUse)
		assert.Contains(t, err.Error(), "already in use")
	}
}

func TestOptionsRejected(t *testing.T) {
	for _, o := range []Options{{}, {Ephemeral: true, DataDir: "x"}, {Ephemeral: true, LogLevel: "loud"}} {
		_, err := Start(o)
		assert.Error(t, err, "%+v", o)
	}
}
