package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/backupflow/backupflow/activities"
	"github.com/backupflow/backupflow/notify"
)

// nt is a typed nil used only to name the notifier's activities.
var nt *activities.Notifier

// Notify delivers one event to each sink that wanted it, all at once, each
// with retries for in.GiveUpAfter. A sink that refuses for good or is
// still failing then gets a dead letter: in the result, the log and the
// dead-lettered metric. Notify never fails because of a sink.
func Notify(ctx workflow.Context, in activities.NotifyInput) (activities.NotifyResult, error) {
	giveUp := in.GiveUpAfter
	if giveUp <= 0 {
		giveUp = 24 * time.Hour
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		// One HTTP request (the deliverer's own timeout is 10 s): a worker
		// that died mid-request costs this long before the retry.
		StartToCloseTimeout:    15 * time.Second,
		ScheduleToCloseTimeout: giveUp,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
			MaximumInterval: 10 * time.Minute},
	})
	futures := make([]workflow.Future, len(in.Sinks))
	for i, s := range in.Sinks {
		futures[i] = workflow.ExecuteActivity(actx, nt.Deliver, activities.DeliverInput{Sink: s, Event: in.Event})
	}
	var res activities.NotifyResult
	for i, s := range in.Sinks {
		tags := map[string]string{"sink": s, "type": string(in.Event.Type)}
		if err := futures[i].Get(ctx, nil); err != nil {
			msg := failureMessage(err)
			res.DeadLetters = append(res.DeadLetters, activities.DeadLetter{Sink: s, Error: msg, At: workflow.Now(ctx)})
			workflow.GetLogger(ctx).Error("notification dead-lettered", "sink", s, "type", in.Event.Type, "id", in.Event.ID, "error", msg)
			workflow.GetMetricsHandler(ctx).WithTags(tags).Counter(notify.MetricDeadLettered).Inc(1)
			continue
		}
		res.Delivered = append(res.Delivered, s)
		workflow.GetMetricsHandler(ctx).WithTags(tags).Counter(notify.MetricDelivered).Inc(1)
	}
	return res, nil
}

// emit hands events to the notifier, as a local activity on a context no
// cancel reaches: it only starts their Notify workflows, so it costs one
// marker and no wait on any sink. An emit that fails is logged, never
// failing or delaying the caller.
func emit(ctx workflow.Context, events ...notify.Event) {
	if len(events) == 0 {
		return
	}
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	dctx = workflow.WithLocalActivityOptions(dctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    10 * time.Second,
		ScheduleToCloseTimeout: 30 * time.Second,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 3},
	})
	if err := workflow.ExecuteLocalActivity(dctx, nt.Emit, activities.EmitInput{Events: events}).Get(dctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("could not emit notifications", "events", len(events), "error", err)
	}
}
