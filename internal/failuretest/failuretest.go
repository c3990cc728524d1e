// Package failuretest builds the errors a client gets back when a workflow
// ends, exactly as the Temporal SDK hands them over, for the tests of code
// that classifies them (backup.FailureOf, the CLI's report). Only tests
// import it.
package failuretest

import (
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// Converter is the SDK's default failure converter, which turns errors into
// failures and back as they cross the server.
var Converter = temporal.GetDefaultFailureConverter()

// ActivityError is what a workflow gets from an activity of activityType
// that failed with cause and is not retried again.
func ActivityError(activityType string, cause error) error {
	return Converter.FailureToError(&failurepb.Failure{
		Message: "activity error",
		FailureInfo: &failurepb.Failure_ActivityFailureInfo{ActivityFailureInfo: &failurepb.ActivityFailureInfo{
			ActivityType: &commonpb.ActivityType{Name: activityType}, RetryState: enumspb.RETRY_STATE_NON_RETRYABLE_FAILURE}},
		Cause: Converter.ErrorToFailure(cause),
	})
}

// Terminated is what a client gets for a workflow someone terminated.
func Terminated() error {
	return Converter.FailureToError(&failurepb.Failure{Message: "terminated",
		FailureInfo: &failurepb.Failure_TerminatedFailureInfo{TerminatedFailureInfo: &failurepb.TerminatedFailureInfo{}}})
}

// Ended is what a client receives for a workflow that ended with err: the
// SDK's test environment runs a workflow returning err and hands back its
// *temporal.WorkflowExecutionError.
func Ended(t *testing.T, err error) error {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.ExecuteWorkflow(func(workflow.Context) error { return err })
	got := env.GetWorkflowError()
	var wee *temporal.WorkflowExecutionError
	require.ErrorAs(t, got, &wee)
	return got
}
