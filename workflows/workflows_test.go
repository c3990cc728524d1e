package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"github.com/stretchr/testify/suite"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/backupflow/backupflow/activities"
	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
)

type workflowSuite struct {
	suite.Suite
	testsuite.WorkflowTestSuite
	env *testsuite.TestWorkflowEnvironment
}

func TestWorkflows(t *testing.T) { suite.Run(t, new(workflowSuite)) }

func (s *workflowSuite) SetupTest() {
	s.env = s.NewTestWorkflowEnvironment()
	s.env.RegisterActivity(&activities.Activities{})
}

func (s *workflowSuite) AfterTest(_, _ string) { s.env.AssertExpectations(s.T()) }

var (
	request = backup.Request{Provider: "memory", Section: json.RawMessage(`{"resource":"db1","name":"b1"}`)}
	target  = activities.ValidateOutput{Target: provider.Target{Resource: "db1", BackupName: "b1"}}
	op      = provider.Operation{ID: "op-1", BackupID: "mem-1", BackupName: "b1", Resource: "db1", Kind: backup.KindCreate}
	final   = activities.FinalizeOutput{Backup: backup.Backup{ID: "mem-1", Name: "b1", State: "READY"}, Attempts: 1}
)

func stillRunning(next time.Duration) error {
	return temporal.NewApplicationErrorWithOptions("still running", activities.ErrStillRunning,
		temporal.ApplicationErrorOptions{NextRetryDelay: next, Category: temporal.ApplicationErrorCategoryBenign})
}

func classified(class provider.Class, retryAfter time.Duration) error {
	pe := &provider.Error{Class: class, Code: "X", Message: string(class)}
	return temporal.NewApplicationErrorWithOptions(pe.Error(), string(class), temporal.ApplicationErrorOptions{
		NonRetryable: !class.Retryable(), NextRetryDelay: retryAfter, Details: []any{pe}})
}

func (s *workflowSuite) expectHappyPath(polls int) {
	s.env.OnActivity(a.Validate, mock.Anything, mock.Anything).Return(target, nil).Once()
	s.env.OnActivity(a.StartOperation, mock.Anything, mock.Anything).Return(activities.StartOutput{Operation: op, Attempts: 1}, nil).Once()
	if polls > 1 {
		s.env.OnActivity(a.PollOperation, mock.Anything, mock.Anything).Return(activities.PollOutput{}, stillRunning(time.Minute)).Times(polls - 1)
	}
	s.env.OnActivity(a.PollOperation, mock.Anything, mock.Anything).Return(activities.PollOutput{Status: provider.Status{Phase: provider.PhaseSucceeded}, Attempts: polls}, nil).Once()
	s.env.OnActivity(a.Finalize, mock.Anything, mock.Anything).Return(final, nil).Once()
}

func (s *workflowSuite) TestSuccess() {
	s.expectHappyPath(1)
	s.env.ExecuteWorkflow(CreateBackup, request)
	s.True(s.env.IsWorkflowCompleted())
	s.NoError(s.env.GetWorkflowError())
	var res backup.Result
	s.NoError(s.env.GetWorkflowResult(&res))
	s.Equal("memory", res.Provider)
	s.Equal(backup.KindCreate, res.Kind)
	s.Equal("db1", res.Resource)
	s.Equal("mem-1", res.Backup.ID)
	s.Equal("op-1", res.OperationID)
	s.Equal(3, res.Attempts, "start + poll + finalize")
	p := s.progress()
	s.Equal(backup.StateSucceeded, p.State)
	s.Equal(100.0, p.Percent)
}

// The SDK's test environment caps unlimited retries at 10 attempts, so this
// uses 10 polls; the integration test runs 50 on a real server.
func (s *workflowSuite) TestManyPollsWaitOnTheServer() {
	s.expectHappyPath(10)
	s.env.ExecuteWorkflow(CreateBackup, request)
	s.NoError(s.env.GetWorkflowError())
	var res backup.Result
	s.NoError(s.env.GetWorkflowResult(&res))
	s.Equal(1+10+1, res.Attempts)
	s.GreaterOrEqual(time.Duration(res.Elapsed), 9*time.Minute, "each unfinished poll waited its NextRetryDelay")
}

func (s *workflowSuite) TestCopyRunsTheSameSteps() {
	s.expectHappyPath(2)
	s.env.ExecuteWorkflow(CopyBackup, request)
	s.NoError(s.env.GetWorkflowError())
	var res backup.Result
	s.NoError(s.env.GetWorkflowResult(&res))
	s.Equal(backup.KindCopy, res.Kind)
}

func (s *workflowSuite) TestInvalidRequestFailsWithoutStarting() {
	s.env.OnActivity(a.Validate, mock.Anything, mock.Anything).Return(activities.ValidateOutput{}, classified(provider.InvalidArgument, 0)).Once()
	s.env.ExecuteWorkflow(CreateBackup, request)
	err := s.env.GetWorkflowError()
	s.Require().Error(err)
	var app *temporal.ApplicationError
	s.Require().True(errors.As(err, &app))
	s.Equal(string(provider.InvalidArgument), app.Type())
	s.Equal(backup.StateFailed, s.progress().State)
}

// Each give-up class at start fails the workflow at once, after a cleanup
// that looks for anything an earlier attempt may have created.
func (s *workflowSuite) TestGiveUpClassesAtStart() {
	for _, class := range []provider.Class{provider.InvalidArgument, provider.NotFound, provider.AlreadyExists, provider.Quota, provider.Permission, provider.Unsupported} {
		s.Run(string(class), func() {
			s.SetupTest()
			s.env.OnActivity(a.Validate, mock.Anything, mock.Anything).Return(target, nil).Once()
			s.env.OnActivity(a.StartOperation, mock.Anything, mock.Anything).Return(activities.StartOutput{}, classified(class, 0)).Once()
			s.env.OnActivity(a.Cleanup, mock.Anything, mock.MatchedBy(func(in activities.CleanupInput) bool { return in.Operation == nil })).
				Return(backup.CleanupReport{Note: "nothing"}, nil).Once()
			s.env.ExecuteWorkflow(CreateBackup, request)
			var app *temporal.ApplicationError
			s.Require().True(errors.As(s.env.GetWorkflowError(), &app))
			s.Equal(string(class), app.Type())
			s.env.AssertExpectations(s.T())
		})
	}
}

// Retryable classes are retried after the provider's hint; the workflow then succeeds.
func (s *workflowSuite) TestRetryableClassesHonourHints() {
	for _, class := range []provider.Class{provider.Busy, provider.Throttled, provider.Unavailable, provider.Internal} {
		s.Run(string(class), func() {
			s.SetupTest()
			s.env.OnActivity(a.Validate, mock.Anything, mock.Anything).Return(target, nil).Once()
			s.env.OnActivity(a.StartOperation, mock.Anything, mock.Anything).Return(activities.StartOutput{}, classified(class, 17*time.Minute)).Once()
			s.env.OnActivity(a.StartOperation, mock.Anything, mock.Anything).Return(activities.StartOutput{Operation: op, Attempts: 2}, nil).Once()
			s.env.OnActivity(a.PollOperation, mock.Anything, mock.Anything).Return(activities.PollOutput{Attempts: 1}, nil).Once()
			s.env.OnActivity(a.Finalize, mock.Anything, mock.Anything).Return(final, nil).Once()
			s.env.ExecuteWorkflow(CreateBackup, request)
			s.Require().NoError(s.env.GetWorkflowError())
			var res backup.Result
			s.NoError(s.env.GetWorkflowResult(&res))
			s.GreaterOrEqual(time.Duration(res.Elapsed), 17*time.Minute, "the retry waited for the hint")
			s.env.AssertExpectations(s.T())
		})
	}
}

func (s *workflowSuite) TestProviderReportsFailureCleansUpAndFails() {
	s.env.OnActivity(a.Validate, mock.Anything, mock.Anything).Return(target, nil).Once()
	s.env.OnActivity(a.StartOperation, mock.Anything, mock.Anything).Return(activities.StartOutput{Operation: op, Attempts: 1}, nil).Once()
	s.env.OnActivity(a.PollOperation, mock.Anything, mock.Anything).Return(activities.PollOutput{}, classified(provider.BackupFailed, 0)).Once()
	s.env.OnActivity(a.Cleanup, mock.Anything, mock.MatchedBy(func(in activities.CleanupInput) bool { return in.Operation != nil && in.Operation.ID == "op-1" })).
		Return(backup.CleanupReport{Created: true, Deleted: []string{"mem-1"}}, nil).Once()
	s.env.ExecuteWorkflow(CreateBackup, request)
	var app *temporal.ApplicationError
	s.Require().True(errors.As(s.env.GetWorkflowError(), &app))
	s.Equal(string(provider.BackupFailed), app.Type())
	p := s.progress()
	s.Equal(backup.StateFailed, p.State)
	s.Require().NotNil(p.Cleanup)
	s.Equal([]string{"mem-1"}, p.Cleanup.Deleted)
}

func (s *workflowSuite) TestAdoptedStartIsUsed() {
	s.env.OnActivity(a.Validate, mock.Anything, mock.Anything).Return(target, nil).Once()
	s.env.OnActivity(a.StartOperation, mock.Anything, mock.Anything).Return(activities.StartOutput{}, classified(provider.Unavailable, time.Second)).Once()
	s.env.OnActivity(a.StartOperation, mock.Anything, mock.Anything).Return(activities.StartOutput{Operation: op, Adopted: true, Attempts: 2}, nil).Once()
	s.env.OnActivity(a.PollOperation, mock.Anything, mock.MatchedBy(func(in activities.OperationInput) bool { return in.Operation.ID == "op-1" })).
		Return(activities.PollOutput{Attempts: 1}, nil).Once()
	s.env.OnActivity(a.Finalize, mock.Anything, mock.Anything).Return(final, nil).Once()
	s.env.ExecuteWorkflow(CreateBackup, request)
	s.NoError(s.env.GetWorkflowError())
}

// cancelCase describes when, and how, a cancel arrives.
type cancelCase struct {
	name  string
	stage string // validate, start, poll, finalize
	// bySignal uses the cancel signal; otherwise Temporal cancellation.
	bySignal bool
}

func (s *workflowSuite) TestCancelAtEveryStage() {
	var cases []cancelCase
	for _, stage := range []string{"validate", "start", "poll", "finalize"} {
		cases = append(cases, cancelCase{"signal during " + stage, stage, true}, cancelCase{"temporal cancel during " + stage, stage, false})
	}
	for _, c := range cases {
		s.Run(c.name, func() {
			s.SetupTest()
			env := s.env
			cancelNow := func() {
				if c.bySignal {
					env.SignalWorkflow(backup.CancelSignal, backup.CancelRequest{Reason: "operator said so"})
				} else {
					env.CancelWorkflow()
				}
			}
			// The cancel arrives while the stage's activity runs: the mock fires it.
			during := func(stage string) func(mock.Arguments) {
				return func(mock.Arguments) {
					if c.stage == stage {
						cancelNow()
					}
				}
			}
			// The test environment answers a cancelled activity with a
			// cancellation whatever the mock returns, so a cancel during the
			// start always reaches cleanup without an operation here (see
			// TestStartedBeforeCancel for the start that wins the race).
			wantOp := c.stage == "poll" || c.stage == "finalize"
			env.OnActivity(a.Validate, mock.Anything, mock.Anything).Return(target, nil).Run(during("validate")).Once()
			if c.stage != "validate" {
				env.OnActivity(a.StartOperation, mock.Anything, mock.Anything).Return(activities.StartOutput{Operation: op, Attempts: 1}, nil).Run(during("start")).Once()
			}
			if wantOp {
				env.OnActivity(a.PollOperation, mock.Anything, mock.Anything).Return(activities.PollOutput{Attempts: 1}, nil).Run(during("poll")).Once()
			}
			if c.stage == "finalize" {
				env.OnActivity(a.Finalize, mock.Anything, mock.Anything).Return(final, nil).Run(during("finalize")).Once()
			}
			env.OnActivity(a.Cleanup, mock.Anything, mock.MatchedBy(func(in activities.CleanupInput) bool {
				return (in.Operation != nil) == wantOp && in.Reason != ""
			})).Return(backup.CleanupReport{Created: wantOp, Deleted: []string{"mem-1"}}, nil).Once()

			env.ExecuteWorkflow(CreateBackup, request)
			err := env.GetWorkflowError()
			var canceled *temporal.CanceledError
			s.Require().True(errors.As(err, &canceled), "ends CANCELLED, got %v", err)
			var report backup.CleanupReport
			s.Require().NoError(canceled.Details(&report), "the cleanup report is the cancellation's details")
			s.Equal([]string{"mem-1"}, report.Deleted)
			p := s.progress()
			s.Equal(backup.StateCancelled, p.State)
			if c.bySignal {
				s.Equal("operator said so", p.CancelReason)
			}
			env.AssertExpectations(s.T())
		})
	}
}

// A cancel that interrupts the start attempt leaves cleanup without an
// operation: it asks the driver to find what the attempt may have created.
func (s *workflowSuite) TestCancelThatInterruptsTheStartCleansUpByFind() {
	s.env.OnActivity(a.Validate, mock.Anything, mock.Anything).Return(target, nil).Once()
	s.env.OnActivity(a.StartOperation, mock.Anything, mock.Anything).Return(activities.StartOutput{}, temporal.NewCanceledError()).Run(func(mock.Arguments) {
		s.env.SignalWorkflow(backup.CancelSignal, backup.CancelRequest{Reason: "stop"})
	}).Once()
	s.env.OnActivity(a.Cleanup, mock.Anything, mock.MatchedBy(func(in activities.CleanupInput) bool { return in.Operation == nil })).
		Return(backup.CleanupReport{Note: "nothing found"}, nil).Once()
	s.env.ExecuteWorkflow(CreateBackup, request)
	var canceled *temporal.CanceledError
	s.Require().True(errors.As(s.env.GetWorkflowError(), &canceled), "ends CANCELLED, got %v", s.env.GetWorkflowError())
	s.Equal(backup.StateCancelled, s.progress().State)
}

func (s *workflowSuite) TestCleanupFailureIsReported() {
	s.env.OnActivity(a.Validate, mock.Anything, mock.Anything).Return(target, nil).Once()
	s.env.OnActivity(a.StartOperation, mock.Anything, mock.Anything).Return(activities.StartOutput{Operation: op, Attempts: 1}, nil).Once()
	s.env.OnActivity(a.PollOperation, mock.Anything, mock.Anything).Return(activities.PollOutput{}, stillRunning(time.Hour)).Run(func(mock.Arguments) {
		s.env.SignalWorkflow(backup.CancelSignal, backup.CancelRequest{Reason: "stop"})
	}).Once()
	s.env.OnActivity(a.Cleanup, mock.Anything, mock.Anything).Return(backup.CleanupReport{}, classified(provider.Permission, 0)).Once()
	s.env.ExecuteWorkflow(CreateBackup, request)
	var app *temporal.ApplicationError
	s.Require().True(errors.As(s.env.GetWorkflowError(), &app))
	s.Equal("CleanupFailed", app.Type())
	s.Equal(backup.StateFailed, s.progress().State)
}

func (s *workflowSuite) progress() backup.Progress {
	v, err := s.env.QueryWorkflow(backup.ProgressQuery)
	require.NoError(s.T(), err)
	var p backup.Progress
	require.NoError(s.T(), v.Get(&p))
	return p
}

// A start attempt that answered although a cancel arrived while it ran
// hands cleanup its operation, the proof that the backup is ours (without
// it, a provider whose only proof is the create's answer would keep the
// backup instead of deleting it); an interrupted attempt hands nothing.
func TestStartedBeforeCancel(t *testing.T) {
	got := startedBeforeCancel(activities.StartOutput{Operation: op, Attempts: 1}, nil)
	require.NotNil(t, got)
	assert.Equal(t, op, *got)
	assert.Nil(t, startedBeforeCancel(activities.StartOutput{}, temporal.NewCanceledError()))
	assert.Nil(t, startedBeforeCancel(activities.StartOutput{Operation: op}, errors.New("interrupted")))
	assert.Nil(t, startedBeforeCancel(activities.StartOutput{}, nil))
}

func TestRequestJSONRoundTrip(t *testing.T) {
	in := `{"provider":"taurusdb","taurusdb":{"instance_id":"x","name":"n"},"extra":1}`
	var r backup.Request
	require.NoError(t, json.Unmarshal([]byte(in), &r))
	assert.Equal(t, "taurusdb", r.Provider)
	assert.JSONEq(t, `{"instance_id":"x","name":"n"}`, string(r.Section))
	assert.Equal(t, []string{"extra"}, r.UnknownFields())
	out, err := json.Marshal(r)
	require.NoError(t, err)
	assert.JSONEq(t, in, string(out), "unknown keys survive a round trip, so validation anywhere sees them")
}

func TestFailureClassLabelsAreBounded(t *testing.T) {
	busy := temporal.NewNonRetryableApplicationError("instance busy", string(provider.Busy), nil)
	assert.Equal(t, string(provider.Busy), failureClass(busy))
	assert.Equal(t, string(backup.Timeout), failureClass(temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE, busy)),
		"a timeout wraps the last attempt's error, yet it is the timeout that failed the backup")
	assert.Equal(t, backup.MetricUnknown, failureClass(temporal.NewApplicationError("x", "SomethingNew")))
	assert.Equal(t, backup.MetricUnknown, failureClass(errors.New("plain")))
}

func TestWithCleanupKeepsWhatFailedTheBackup(t *testing.T) {
	report := backup.CleanupReport{Reason: "backup failed", Created: true}
	busy := temporal.NewNonRetryableApplicationError("instance busy", string(provider.Busy), nil)
	timedOut := withCleanup(temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE, busy), report)
	var app *temporal.ApplicationError
	require.True(t, errors.As(timedOut, &app))
	assert.Equal(t, string(backup.Timeout), app.Type(), "a timeout is not relabelled as its last attempt's class")
	var got backup.CleanupReport
	require.NoError(t, app.Details(&got))
	assert.Equal(t, report, got)

	failed := withCleanup(temporal.NewNonRetryableApplicationError("disk full", string(provider.BackupFailed), nil), report)
	require.True(t, errors.As(failed, &app))
	assert.Equal(t, string(provider.BackupFailed), app.Type())
	assert.Equal(t, "disk full", app.Message())
}

// activityQueues runs a happy-path backup started on the "backups" queue and
// returns the task queue each activity type was scheduled on.
func (s *workflowSuite) activityQueues() map[string]string {
	queues := map[string]string{}
	s.env.SetStartWorkflowOptions(client.StartWorkflowOptions{TaskQueue: backup.TaskQueue})
	s.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		queues[info.ActivityType.Name] = info.TaskQueue
	})
	s.expectHappyPath(2)
	s.env.ExecuteWorkflow(CreateBackup, request)
	s.NoError(s.env.GetWorkflowError())
	return queues
}

func (s *workflowSuite) TestProviderActivitiesRunOnTheProviderQueue() {
	queues := s.activityQueues()
	s.Equal("backups-memory", backup.ProviderTaskQueue(backup.TaskQueue, request.Provider))
	s.Equal("backups-memory", queues["StartOperation"])
	s.Equal("backups-memory", queues["PollOperation"])
}

// A provider with a cluster-wide limit: the local Validate leaves out its
// provider call, which then runs, with finalize's, as regular activities on
// the provider's queue; without a limit they stay local (the other tests).
func (s *workflowSuite) TestClusterLimitedProviderMakesEveryCallOnItsQueue() {
	deferred := target
	deferred.PreflightDeferred = true
	var asked []activities.ValidateInput
	s.env.OnActivity(a.Validate, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ValidateInput) (activities.ValidateOutput, error) {
			asked = append(asked, in)
			if in.DeferPreflight {
				return deferred, nil
			}
			return target, nil
		}).Twice()
	queues := map[string]string{}
	s.env.SetStartWorkflowOptions(client.StartWorkflowOptions{TaskQueue: backup.TaskQueue})
	s.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		queues[info.ActivityType.Name] = info.TaskQueue
	})
	s.env.OnActivity(a.StartOperation, mock.Anything, mock.Anything).Return(activities.StartOutput{Operation: op, Attempts: 1}, nil).Once()
	s.env.OnActivity(a.PollOperation, mock.Anything, mock.Anything).Return(activities.PollOutput{Status: provider.Status{Phase: provider.PhaseSucceeded}, Attempts: 1}, nil).Once()
	s.env.OnActivity(a.Finalize, mock.Anything, mock.Anything).Return(final, nil).Once()
	s.env.ExecuteWorkflow(CreateBackup, request)
	s.NoError(s.env.GetWorkflowError())
	s.Require().Len(asked, 2)
	s.True(asked[0].DeferPreflight, "the local check defers the call")
	s.False(asked[1].DeferPreflight, "the regular one makes it")
	for _, name := range []string{"Validate", "StartOperation", "PollOperation", "Finalize"} {
		s.Equal("backups-memory", queues[name], name)
	}
}

func (s *workflowSuite) TestWorkflowsStartedBeforeProviderQueuesKeepTheSharedQueue() {
	s.env.OnGetVersion(backupVersion, workflow.DefaultVersion, versionNotifications).Return(workflow.DefaultVersion)
	s.env.OnGetVersion(providerTaskQueues, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	queues := s.activityQueues()
	s.Equal(backup.TaskQueue, queues["StartOperation"])
	s.Equal(backup.TaskQueue, queues["PollOperation"])
}
