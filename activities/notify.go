package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/backupflow/backupflow/notify"
)

// NotifyWorkflow is the workflow that delivers one event to its sinks.
const NotifyWorkflow = "Notify"

// NotifyWorkflowID is the delivery workflow of one event: one per event ID,
// so an event emitted twice (a retried emit, a replayed decision) is
// delivered once.
func NotifyWorkflowID(eventID string) string { return "notify/" + eventID }

// Notifier emits events to the configured sinks. Emitting only starts a
// Notify workflow per event, quickly, so a slow or failing sink never
// holds up the workflow that emitted it; Notify delivers with retries.
type Notifier struct {
	Temporal  client.Client
	TaskQueue string
	// Sinks are the configured sinks (BACKUPFLOW_NOTIFY_SINKS_FILE); none
	// makes Emit a no-op.
	Sinks     []notify.Sink
	Deliverer *notify.Deliverer
	// GiveUpAfter bounds how long one delivery is retried before it is
	// dead-lettered.
	GiveUpAfter time.Duration
}

// EmitInput is the input of Emit.
type EmitInput struct {
	Events []notify.Event `json:"events"`
}

// EmitOutput says how many events had a sink that wanted them.
type EmitOutput struct {
	Started int `json:"started"`
}

// NotifyInput is the Notify workflow's input.
type NotifyInput struct {
	Event notify.Event `json:"event"`
	// Sinks are the names of the sinks that wanted the event when it was emitted.
	Sinks       []string      `json:"sinks"`
	GiveUpAfter time.Duration `json:"giveUpAfter"`
}

// NotifyResult is what became of one event: the sinks that took it, and a
// dead letter for each that did not.
type NotifyResult struct {
	Delivered   []string     `json:"delivered,omitempty"`
	DeadLetters []DeadLetter `json:"deadLetters,omitempty"`
}

// DeadLetter records a delivery given up on: a permanent refusal, or
// retries for GiveUpAfter that all failed.
type DeadLetter struct {
	Sink  string    `json:"sink"`
	Error string    `json:"error"`
	At    time.Time `json:"at"`
}

// Emit starts the delivery of each event some sink wants. A delivery
// already started for the same event ID is left alone.
func (n *Notifier) Emit(ctx context.Context, in EmitInput) (EmitOutput, error) {
	var out EmitOutput
	if n == nil || len(n.Sinks) == 0 {
		return out, nil
	}
	var errs []error
	for _, e := range in.Events {
		sinks := notify.Matching(n.Sinks, e)
		if len(sinks) == 0 {
			continue
		}
		_, err := n.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID:                       NotifyWorkflowID(e.ID),
			TaskQueue:                n.TaskQueue,
			WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			// The delivery's own retries are bounded by GiveUpAfter; the
			// workflow's timeout only backs that up.
			WorkflowExecutionTimeout: n.GiveUpAfter + time.Hour,
		}, NotifyWorkflow, NotifyInput{Event: e, Sinks: sinks, GiveUpAfter: n.GiveUpAfter})
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		switch {
		case err == nil:
			out.Started++
		case errors.As(err, &started):
			// delivered, or being delivered, already
		default:
			errs = append(errs, fmt.Errorf("start delivery of %s %s: %w", e.Type, e.ID, err))
		}
	}
	return out, errors.Join(errs...)
}

// DeliverInput is the input of Deliver.
type DeliverInput struct {
	Sink  string       `json:"sink"`
	Event notify.Event `json:"event"`
}

// Deliver sends one event to one sink. A sink that refuses for good (a
// 4xx, a redirect, a sink no longer configured) fails it without retry;
// anything else is retried, after the sink's Retry-After when it gave one.
func (n *Notifier) Deliver(ctx context.Context, in DeliverInput) error {
	s, ok := notify.Find(n.Sinks, in.Sink)
	if !ok {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("sink %q is no longer configured", in.Sink), "SinkGone", nil)
	}
	err := n.Deliverer.Deliver(ctx, s, in.Event)
	var de *notify.DeliveryError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &de) && de.Permanent:
		return temporal.NewNonRetryableApplicationError(de.Error(), "SinkRefused", nil)
	case errors.As(err, &de):
		return temporal.NewApplicationErrorWithOptions(de.Error(), "SinkUnavailable", temporal.ApplicationErrorOptions{NextRetryDelay: de.RetryAfter})
	default:
		return temporal.NewApplicationError(err.Error(), "SinkUnavailable")
	}
}
