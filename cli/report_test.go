package cli

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/failuretest"
)

// activityErr is what a workflow gets from an activity that failed with cause.
func activityErr(cause error) error { return failuretest.ActivityError("StartOperation", cause) }

// ended is what a client receives for a workflow that ended with err.
var ended = failuretest.Ended

func TestClassifyWorkflowEnds(t *testing.T) {
	busy := temporal.NewApplicationError("instance busy", string(backup.Busy))
	stepTimeout := temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE, busy)
	terminated := failuretest.Terminated()
	cases := []struct {
		name   string
		err    error
		status string
		code   int
	}{
		{"failed by the provider", ended(t, activityErr(temporal.NewNonRetryableApplicationError("disk full", string(backup.BackupFailed), nil))), StatusFailed, ExitFailed},
		{"refused by the worker", ended(t, activityErr(temporal.NewNonRetryableApplicationError("spanner.backupId: bad", string(backup.InvalidArgument), nil))), StatusFailed, ExitBadInput},
		{"no copy API", ended(t, activityErr(temporal.NewNonRetryableApplicationError("no copy", string(backup.Unsupported), nil))), StatusFailed, ExitBadInput},
		{"a step timed out: the workflow failed", ended(t, activityErr(stepTimeout)), StatusFailed, ExitFailed},
		{"the workflow's own timeout", ended(t, temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_START_TO_CLOSE, nil)), StatusTimedOut, ExitFailed},
		{"cancelled", ended(t, temporal.NewCanceledError(backup.CleanupReport{Reason: "r"})), StatusCancelled, ExitCancelled},
		{"terminated", terminated, StatusTerminated, ExitFailed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, code := Classify(c.err)
			assert.Equal(t, c.status, status)
			assert.Equal(t, c.code, code)
		})
	}
}

func TestSettleReportsTheClass(t *testing.T) {
	timeout := temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE, temporal.NewApplicationError("still deleting", string(backup.Busy)))
	report := backup.CleanupReport{Reason: "window closed", Created: true, Kept: []backup.KeptBackup{{ID: "b1", Reason: "still deleting"}}}
	rep := &Report{}
	settle(rep, backup.Result{}, ended(t, temporal.NewNonRetryableApplicationError(
		"cancelled, but cleanup failed", string(backup.CleanupFailed), activityErr(timeout), report)))
	assert.Equal(t, StatusFailed, rep.Status)
	assert.Equal(t, ExitFailed, rep.ExitCode)
	require.NotNil(t, rep.Failure)
	assert.Equal(t, backup.CleanupFailed, rep.Failure.Type, "the workflow's class, not the timeout below it")
	assert.Equal(t, "cancelled, but cleanup failed", rep.Failure.Message)

	rep = &Report{}
	settle(rep, backup.Result{}, ended(t, activityErr(temporal.NewNonRetryableApplicationError("spanner.backupId: bad", string(backup.InvalidArgument), nil,
		map[string]string{"field": "spanner.backupId"}))))
	assert.Equal(t, ExitBadInput, rep.ExitCode)
	assert.Equal(t, backup.InvalidArgument, rep.Failure.Type)
	assert.Equal(t, "spanner.backupId", rep.Field, "the field comes from the provider error's details")

	// A result the workers encrypted, read without the key: not an outcome,
	// and the hint names the variable.
	sealed := &commonpb.Payloads{Payloads: []*commonpb.Payload{{
		Metadata: map[string][]byte{converter.MetadataEncoding: []byte("binary/encrypted")}, Data: []byte{1, 2, 3}}}}
	var res backup.Result
	err := converter.GetDefaultDataConverter().FromPayloads(sealed, &res)
	require.Error(t, err)
	rep = &Report{}
	settle(rep, res, err)
	assert.Equal(t, ExitError, rep.ExitCode)
	assert.Empty(t, rep.Status)
	assert.Contains(t, rep.Hint, "BACKUPFLOW_CODEC_KEY_FILE")
}
