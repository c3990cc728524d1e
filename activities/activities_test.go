package activities

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/memory"
)

const token = "t"

// noCopy is a driver without a copy API.
type noCopy struct{ provider.Driver }

func (noCopy) Name() string       { return "nocopy" }
func (noCopy) SupportsCopy() bool { return false }

func newActivities(t *testing.T) (*Activities, *memory.Cloud) {
	cloud := memory.NewCloud(token)
	reg, err := provider.NewRegistry(cloud.Driver(token), noCopy{cloud.Driver(token)})
	require.NoError(t, err)
	return New(reg, provider.DefaultPollPolicy, nil), cloud
}

func env(acts *Activities) *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	e := s.NewTestActivityEnvironment()
	e.RegisterActivity(acts)
	return e
}

func appError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "%T %v", err, err)
	return app
}

func section(t *testing.T, v any) json.RawMessage {
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	return raw
}

func TestValidateRejections(t *testing.T) {
	acts, cloud := newActivities(t)
	e := env(acts)
	good := section(t, backup.MemoryCreate{Target: "db", Name: "b"})
	cases := []struct {
		name     string
		in       ValidateInput
		class    provider.Class
		contains string
	}{
		{"unknown top-level field", ValidateInput{Request: backup.Request{Provider: "memory", Section: good, Unknown: map[string]json.RawMessage{"memroy": json.RawMessage(`{}`)}}, Job: provider.Job{Kind: backup.KindCreate, Section: good}}, provider.InvalidArgument, "memroy"},
		{"unknown provider", ValidateInput{Request: backup.Request{Provider: "oracle"}, Job: provider.Job{Kind: backup.KindCreate}}, provider.InvalidArgument, "memory, nocopy"},
		{"copy without copy API", ValidateInput{Request: backup.Request{Provider: "nocopy", Section: good}, Job: provider.Job{Kind: backup.KindCopy, Section: good}}, provider.Unsupported, "copy is supported by: memory"},
		{"driver rule", ValidateInput{Request: backup.Request{Provider: "memory"}, Job: provider.Job{Kind: backup.KindCreate, Section: section(t, backup.MemoryCreate{Target: "db", Name: "NO"})}}, provider.InvalidArgument, "memory.name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.ExecuteActivity(acts.Validate, c.in)
			app := appError(t, err)
			assert.Equal(t, string(c.class), app.Type())
			assert.True(t, app.NonRetryable())
			assert.Contains(t, app.Error(), c.contains)
		})
	}
	assert.Zero(t, cloud.Calls(), "no provider call for a bad request")
}

func TestErrorsBecomeTemporalRetryBehaviour(t *testing.T) {
	acts, cloud := newActivities(t)
	e := env(acts)
	op := provider.Operation{ID: "op-x", BackupID: "x"}

	cloud.FailNext(provider.Throttled, 1, 42*time.Second)
	_, err := e.ExecuteActivity(acts.PollOperation, OperationInput{Provider: "memory", Operation: op})
	app := appError(t, err)
	assert.Equal(t, "Throttled", app.Type())
	assert.False(t, app.NonRetryable())
	assert.GreaterOrEqual(t, app.NextRetryDelay(), 42*time.Second, "the provider's hint is honoured")

	cloud.FailNext(provider.Busy, 1, 0)
	_, err = e.ExecuteActivity(acts.PollOperation, OperationInput{Provider: "memory", Operation: op})
	assert.Equal(t, provider.Busy.RetryDelay(1), appError(t, err).NextRetryDelay(), "the class backoff when there is no hint")

	bad := New(acts.Registry, acts.PollPolicy, nil)
	reg, _ := provider.NewRegistry(cloud.Driver("wrong"))
	bad.Registry = reg
	_, err = env(bad).ExecuteActivity(bad.PollOperation, OperationInput{Provider: "memory", Operation: op})
	app = appError(t, err)
	assert.Equal(t, "Permission", app.Type())
	assert.True(t, app.NonRetryable(), "wrong credentials are not retried")
	var pe provider.Error
	require.NoError(t, app.Details(&pe), "the provider's error travels as details")
	assert.Equal(t, "Unauthenticated", pe.Code)
}

func TestPollRunningIsABenignRetryWithTheNextPollDelay(t *testing.T) {
	acts, cloud := newActivities(t)
	e := env(acts)
	started, err := e.ExecuteActivity(acts.StartOperation, StartInput{Provider: "memory", Job: provider.Job{Kind: backup.KindCreate,
		Section: section(t, backup.MemoryCreate{Target: "db", Name: "b", DurationSeconds: 3600}), Owner: provider.Owner{WorkflowID: "wf"}}})
	require.NoError(t, err)
	var out StartOutput
	require.NoError(t, started.Get(&out))
	cloud.Advance(30 * time.Minute)
	acts.Now = func() time.Time { return time.Now().Add(30 * time.Minute) } // the worker sees the same clock

	_, err = e.ExecuteActivity(acts.PollOperation, OperationInput{Provider: "memory", Operation: out.Operation})
	app := appError(t, err)
	assert.Equal(t, ErrStillRunning, app.Type())
	assert.Equal(t, temporal.ApplicationErrorCategoryBenign, app.Category())
	assert.False(t, app.NonRetryable())
	var p backup.PollProgress
	require.NoError(t, app.Details(&p))
	assert.InDelta(t, 50, p.Percent, 1)
	assert.Equal(t, time.Duration(p.NextPoll), app.NextRetryDelay())
	assert.Greater(t, app.NextRetryDelay(), 30*time.Second, "a half-done hour-long backup is not polled every few seconds")

	cloud.Advance(time.Hour)
	v, err := e.ExecuteActivity(acts.PollOperation, OperationInput{Provider: "memory", Operation: out.Operation})
	require.NoError(t, err)
	var done PollOutput
	require.NoError(t, v.Get(&done))
	assert.Equal(t, provider.PhaseSucceeded, done.Status.Phase)
}

func TestCleanupStopsThenReports(t *testing.T) {
	acts, cloud := newActivities(t)
	e := env(acts)
	job := provider.Job{Kind: backup.KindCreate, Section: section(t, backup.MemoryCreate{Target: "db", Name: "b", DurationSeconds: 3600}), Owner: provider.Owner{WorkflowID: "wf"}}

	// Nothing started yet: cleanup finds nothing and says so.
	v, err := e.ExecuteActivity(acts.Cleanup, CleanupInput{Provider: "memory", Job: job, Reason: "test"})
	require.NoError(t, err)
	var report backup.CleanupReport
	require.NoError(t, v.Get(&report))
	assert.False(t, report.Created)

	_, err = e.ExecuteActivity(acts.StartOperation, StartInput{Provider: "memory", Job: job})
	require.NoError(t, err)
	require.Len(t, cloud.Inventory(), 1)

	// The start response was "lost": cleanup finds the backup by owner, cancels it at the provider.
	var heartbeat backup.CleanupReport
	e.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		require.NoError(t, details.Get(&heartbeat))
	})
	_, err = e.ExecuteActivity(acts.Cleanup, CleanupInput{Provider: "memory", Job: job, Reason: "test"})
	app := appError(t, err)
	assert.Equal(t, ErrStillRunning, app.Type(), "the first attempt asks to come back once the provider has stopped")
	assert.Empty(t, cloud.Inventory())
	assert.True(t, heartbeat.Created, "the first attempt heartbeats what it found")
	// The next attempt carries the first one's heartbeat (as the server
	// would hand it over) and reports.
	e.SetHeartbeatDetails(heartbeat)
	v, err = e.ExecuteActivity(acts.Cleanup, CleanupInput{Provider: "memory", Job: job, Reason: "test"})
	require.NoError(t, err)
	require.NoError(t, v.Get(&report))
	assert.True(t, report.Created, "the report remembers what the first attempt found")
	assert.True(t, report.CancelledAtProvider)
	assert.Empty(t, cloud.Inventory())
}

func TestCleanupDeletesAFinishedBackup(t *testing.T) {
	acts, cloud := newActivities(t)
	e := env(acts)
	job := provider.Job{Kind: backup.KindCreate, Section: section(t, backup.MemoryCreate{Target: "db", Name: "b", DurationSeconds: 1}), Owner: provider.Owner{WorkflowID: "wf"}}
	v, err := e.ExecuteActivity(acts.StartOperation, StartInput{Provider: "memory", Job: job})
	require.NoError(t, err)
	var out StartOutput
	require.NoError(t, v.Get(&out))
	cloud.Advance(time.Minute)
	v, err = e.ExecuteActivity(acts.Cleanup, CleanupInput{Provider: "memory", Job: job, Operation: &out.Operation, Reason: "cancel lost the race"})
	require.NoError(t, err)
	var report backup.CleanupReport
	require.NoError(t, v.Get(&report))
	assert.True(t, report.Created)
	assert.Equal(t, []string{out.Operation.BackupID}, report.Deleted)
	assert.Empty(t, cloud.Inventory())
}

// leakyDriver fails every poll the way SDKs do: the error quotes the signed request.
type leakyDriver struct {
	provider.Driver
	err error
}

func (d leakyDriver) Poll(context.Context, provider.Operation) (provider.Status, error) {
	return provider.Status{}, d.err
}

func TestProviderErrorsEnterHistoryRedacted(t *testing.T) {
	const secret = "S1gnatur3Value"
	signed := "https://rds.aliyuncs.com/?AccessKeyId=LTAIkey&Signature=" + secret + "&SignatureNonce=n1"
	raw := &url.Error{Op: "Post", URL: signed, Err: errors.New("connect: connection refused")}
	cloud := memory.NewCloud(token)
	for name, driverErr := range map[string]error{
		"unclassified SDK error": raw,
		"classified, SDK error kept as Err": &provider.Error{Class: provider.Unavailable, Provider: "memory",
			Message: "call failed: " + raw.Error(), Err: raw},
	} {
		t.Run(name, func(t *testing.T) {
			reg, err := provider.NewRegistry(leakyDriver{cloud.Driver(token), driverErr})
			require.NoError(t, err)
			acts := New(reg, provider.DefaultPollPolicy, nil)
			_, err = env(acts).ExecuteActivity(acts.PollOperation, OperationInput{Provider: "memory", Operation: provider.Operation{ID: "op"}})
			app := appError(t, err)
			assert.Equal(t, "Unavailable", app.Type())
			assert.Contains(t, app.Error(), "https://rds.aliyuncs.com/", "the host stays, for the operator")
			for e := error(app); e != nil; e = errors.Unwrap(e) {
				assert.NotContains(t, e.Error(), secret, "%T in the chain", e)
				assert.NotContains(t, e.Error(), "LTAIkey", "%T in the chain", e)
			}
			var pe provider.Error
			require.NoError(t, app.Details(&pe))
			assert.NotContains(t, pe.Message, secret)
		})
	}
}
