package ops

import (
	"context"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/workflow"

	"github.com/backupflow/backupflow/backup"
)

// liveProgressTimeout bounds the one Temporal call a progress query adds.
const liveProgressTimeout = 2 * time.Second

// LiveProgress makes the workflows' progress query tell the truth while a
// backup runs. The workflow answers from its history, and its history leaves
// out the polls that found the backup unfinished and the attempts of a step
// waiting on a busy resource: recording them would grow the history with the
// backup's duration. Their latest word is in the workflow's pending
// activities, so this interceptor adds it to the answer, with one
// DescribeWorkflowExecution per query (backup.Progress.WithPending). A query
// never changes workflow state or history, so reading outside the workflow
// here cannot break replay. Every client gets the live answer: the Temporal
// CLI and Web UI, backupflow's CLI and its Go client.
type LiveProgress struct {
	interceptor.WorkerInterceptorBase
	Client client.Client
	// DataConverter decodes the pending activities' details; it must be the
	// worker client's (with the payload codec when one is configured).
	DataConverter converter.DataConverter
	Logger        *slog.Logger
}

// InterceptWorkflow implements interceptor.WorkerInterceptor.
func (l *LiveProgress) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	q := &liveProgressQuery{live: l}
	q.Next = next
	return q
}

type liveProgressQuery struct {
	interceptor.WorkflowInboundInterceptorBase
	live *LiveProgress
}

func (q *liveProgressQuery) HandleQuery(ctx workflow.Context, in *interceptor.HandleQueryInput) (any, error) {
	out, err := q.Next.HandleQuery(ctx, in)
	p, ok := out.(backup.Progress)
	if err != nil || !ok || in.QueryType != backup.ProgressQuery || p.State.Terminal() {
		return out, err
	}
	run := workflow.GetInfo(ctx).WorkflowExecution
	dctx, cancel := context.WithTimeout(context.Background(), liveProgressTimeout)
	defer cancel()
	desc, derr := q.live.Client.DescribeWorkflowExecution(dctx, run.ID, run.RunID)
	if derr != nil {
		// The recorded answer is still true, only older.
		q.live.Logger.Warn("progress query: could not read the pending activities", "workflowId", run.ID, "error", derr)
		return p, nil
	}
	return p.WithPending(desc.GetPendingActivities(), q.live.DataConverter), nil
}
