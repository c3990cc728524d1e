package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/backupflow/backupflow/internal/pgtest"
)

// TestDevStackOnPostgres runs the dev stack with --db on a private PostgreSQL
// cluster: the demo succeeds, the banner names the database without its
// password, and after a restart on the same database the first run's
// workflows are still there and the demo runs again.
func TestDevStackOnPostgres(t *testing.T) {
	pg := pgtest.Start(t)
	p := freePorts(t)
	args := append(p.args(), "--db", pg.URL("devstack"), "--no-ui", "--backup-duration", "1s")
	want := fmt.Sprintf("%d of %d backups succeeded", demoSize(), demoSize())

	first := startCommand(t, args...)
	first.waitFor(t, want, 3*time.Minute)
	assert.Contains(t, first.out.String(),
		"Temporal state     postgres://backupflow@127.0.0.1:"+strconv.Itoa(pg.Port)+"/devstack and its _visibility database")
	assert.NotContains(t, first.out.String(), pg.Password, "the banner leaves the password out")
	before := waitForDemo(t, dial(t, p.frontend), 1)
	first.stop(t)

	second := startCommand(t, args...)
	second.waitFor(t, want, 3*time.Minute)
	c := dial(t, p.frontend)
	for _, w := range before {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		desc, err := c.DescribeWorkflowExecution(ctx, w.GetExecution().GetWorkflowId(), w.GetExecution().GetRunId())
		cancel()
		require.NoError(t, err, w.GetExecution().GetWorkflowId())
		assert.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, desc.GetWorkflowExecutionInfo().GetStatus())
	}
	waitForDemo(t, c, 2)
	second.stop(t)
}

// TestDBFlag: a bad --db is refused before anything starts, naming the flag
// and what is wrong, never echoing the password.
func TestDBFlag(t *testing.T) {
	o, err := parseFlags([]string{"--db", "postgres://u:pw@127.0.0.1:5432/temporal"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "postgres://u:pw@127.0.0.1:5432/temporal", o.db)

	for bad, msg := range map[string]string{
		"mysql://u:secretpw@h/db":          "--db: database URL: scheme \"mysql\": want postgres://",
		"postgres://127.0.0.1:5432/db":     "--db: database URL: user: missing",
		"postgres://u:secretpw@h:5432":     "--db: database URL: database: want one name after the port",
		"postgres://u:secretpw@h/Temporal": "--db: database URL: database \"Temporal\": use lower-case letters, digits and _ only",
		"postgres://u:secretpw@:5432/db":   "--db: database URL: host: missing",
	} {
		_, err := parseFlags([]string{"--db", bad}, io.Discard)
		require.Error(t, err, bad)
		assert.Contains(t, err.Error(), msg, bad)
		assert.NotContains(t, err.Error(), "secretpw", bad)
	}
	_, err = parseFlags([]string{"--db", "postgres://u:pw@h/db", "--ephemeral"}, io.Discard)
	assert.EqualError(t, err, "--db and --ephemeral: choose one")
}
