// Package activities holds the activities of the backup workflows. They are
// provider-neutral: each looks up the request's driver in the registry and
// calls it, and this package is the one place where the provider error
// taxonomy becomes Temporal retry behaviour.
package activities

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
)

// SearchAttributeChecker reports whether the namespace has backupflow's search
// attributes registered, so the workflow only sets them when it can.
type SearchAttributeChecker interface {
	SearchAttributesRegistered(ctx context.Context) bool
}

// Activities are the activities of CreateBackup and CopyBackup.
type Activities struct {
	Registry         *provider.Registry
	PollPolicy       provider.PollPolicy
	SearchAttributes SearchAttributeChecker
	// Now is the clock; tests may replace it.
	Now func() time.Time
	// Metrics, when set, receives every provider call (metrics.go). Backup
	// outcomes are counted by the workflows (backup.MetricBackupsStarted, ...).
	Metrics Metrics
	// Limiter, when set, paces provider calls per provider.
	Limiter CallLimiter
	// ClusterLimited names the providers whose activities the Temporal
	// server rate-limits across all workers (BACKUPFLOW_<PROVIDER>_CALLS_PER_SECOND).
	// Their every call must run in a regular activity on the provider's
	// task queue, so Validate defers its preflight when asked.
	ClusterLimited map[string]bool
}

// New returns the activities over a registry of drivers.
func New(registry *provider.Registry, policy provider.PollPolicy, sa SearchAttributeChecker) *Activities {
	return &Activities{Registry: registry, PollPolicy: policy, SearchAttributes: sa, Now: time.Now}
}

// ValidateInput is the input of Validate.
type ValidateInput struct {
	Request backup.Request `json:"request"`
	Job     provider.Job   `json:"job"`
	// DeferPreflight asks a local Validate to skip the provider call when
	// the provider is ClusterLimited (the workflow then validates again
	// in a regular activity on the provider's queue).
	DeferPreflight bool `json:"deferPreflight,omitempty"`
}

// ValidateOutput is what Validate learned about the request.
type ValidateOutput struct {
	Target provider.Target `json:"target"`
	// SearchAttributes reports whether the workflow may set its search attributes.
	SearchAttributes bool `json:"searchAttributes"`
	// PreflightDeferred reports that the provider call was left out, as
	// DeferPreflight asked: the provider is ClusterLimited.
	PreflightDeferred bool `json:"preflightDeferred,omitempty"`
}

// Validate checks the request: locally against every documented rule, then
// the provider's remote preconditions. Nothing is created.
func (a *Activities) Validate(ctx context.Context, in ValidateInput) (ValidateOutput, error) {
	defer beat(ctx).Stop()
	if unknown := in.Request.UnknownFields(); len(unknown) > 0 {
		return ValidateOutput{}, toTemporal(ctx, provider.Invalid(unknown[0],
			"unknown field; a request has \"provider\" and one section named after the provider"))
	}
	d, err := a.driver(in.Request.Provider)
	if err != nil {
		return ValidateOutput{}, toTemporal(ctx, err)
	}
	if in.Job.Kind == backup.KindCopy && !d.SupportsCopy() {
		return ValidateOutput{}, toTemporal(ctx, &provider.Error{Class: provider.Unsupported, Field: "provider",
			Message: fmt.Sprintf("%s has no backup copy API; copy is supported by: %s",
				d.Name(), strings.Join(a.Registry.CopyProviders(), ", "))})
	}
	target, err := d.Validate(in.Job.Kind, in.Job.Section, a.Now())
	if err != nil {
		return ValidateOutput{}, toTemporal(ctx, err)
	}
	out := ValidateOutput{Target: target}
	if in.DeferPreflight && a.ClusterLimited[d.Name()] {
		out.PreflightDeferred = true
	} else if err := d.Preflight(ctx, in.Job); err != nil {
		return ValidateOutput{}, toTemporal(ctx, err)
	}
	if a.SearchAttributes != nil {
		out.SearchAttributes = a.SearchAttributes.SearchAttributesRegistered(ctx)
	}
	return out, nil
}

// IndexInput is the input of Index.
type IndexInput struct {
	Request backup.Request `json:"request"`
	Kind    backup.Kind    `json:"kind"`
}

// IndexOutput is what a workflow started without its search attributes
// (Temporal CLI or UI) needs to set them in its first task.
type IndexOutput struct {
	// Registered reports whether the namespace has backupflow's search attributes.
	Registered bool `json:"registered"`
	// Resource is the resource the request names, "" when it names none.
	Resource string `json:"resource,omitempty"`
}

// Index reads what the workflow's search attributes need. A local activity:
// it reads a cached answer and the request, and calls no provider.
func (a *Activities) Index(ctx context.Context, in IndexInput) (IndexOutput, error) {
	return IndexOutput{
		Registered: a.SearchAttributes != nil && a.SearchAttributes.SearchAttributesRegistered(ctx),
		Resource:   in.Request.NamedResource(in.Kind),
	}, nil
}

// OperationInput names a provider and one of its operations.
type OperationInput struct {
	Provider  string             `json:"provider"`
	Operation provider.Operation `json:"operation"`
}

// StartInput is the input of StartOperation and Cleanup.
type StartInput struct {
	Provider string       `json:"provider"`
	Job      provider.Job `json:"job"`
}

// StartOutput is the started (or adopted) operation.
type StartOutput struct {
	Operation provider.Operation `json:"operation"`
	Adopted   bool               `json:"adopted"`
	Attempts  int                `json:"attempts"`
}

// StartOperation asks the provider to start the backup. A retried attempt
// first looks for what an earlier attempt may have started (its response
// lost, or its worker killed) and adopts it, so there is never a second backup.
func (a *Activities) StartOperation(ctx context.Context, in StartInput) (StartOutput, error) {
	defer beat(ctx).Stop()
	d, err := a.driver(in.Provider)
	if err != nil {
		return StartOutput{}, toTemporal(ctx, err)
	}
	attempt := int(activity.GetInfo(ctx).Attempt)
	if attempt > 1 {
		found, err := d.Find(ctx, in.Job)
		if err != nil {
			return StartOutput{}, toTemporal(ctx, err)
		}
		if found != nil {
			activity.GetLogger(ctx).Info("adopted the operation an earlier attempt started", "operation", found.ID)
			return StartOutput{Operation: *found, Adopted: true, Attempts: attempt}, nil
		}
	}
	op, err := d.Start(ctx, in.Job)
	if err != nil {
		return StartOutput{}, toTemporal(ctx, err)
	}
	return StartOutput{Operation: op, Attempts: attempt}, nil
}

// PollOutput is the operation's final status.
type PollOutput struct {
	Status   provider.Status `json:"status"`
	Attempts int             `json:"attempts"`
}

// ErrStillRunning is the error type of a poll that found the backup unfinished.
// It is benign (no alerts, no error logs) and carries the next poll delay, so
// the server, not a worker, waits; attempts are not written to history.
const ErrStillRunning = "StillRunning"

// PollOperation makes one provider call. If the operation is still running it
// fails with a benign StillRunning error whose NextRetryDelay comes from the
// poll policy (provider progress and retry hints).
func (a *Activities) PollOperation(ctx context.Context, in OperationInput) (PollOutput, error) {
	defer beat(ctx).Stop()
	d, err := a.driver(in.Provider)
	if err != nil {
		return PollOutput{}, toTemporal(ctx, err)
	}
	st, err := d.Poll(ctx, in.Operation)
	if err != nil {
		return PollOutput{}, a.whilePolling(ctx, in.Operation, err)
	}
	attempt := int(activity.GetInfo(ctx).Attempt)
	switch st.Phase {
	case provider.PhaseRunning:
		return PollOutput{}, a.stillRunning(ctx, in.Operation, st)
	case provider.PhaseSucceeded:
		return PollOutput{Status: st, Attempts: attempt}, nil
	case provider.PhaseFailed:
		return PollOutput{}, toTemporal(ctx, &provider.Error{Class: provider.BackupFailed, Provider: in.Provider,
			Code: st.ProviderState, Message: "the provider reports the backup failed: " + st.Message})
	default: // cancelled or gone behind our back
		return PollOutput{}, toTemporal(ctx, &provider.Error{Class: provider.BackupFailed, Provider: in.Provider,
			Code: st.ProviderState, Message: "the backup was cancelled or deleted outside backupflow"})
	}
}

// nextPoll is the poll policy's delay for op observed as st. The operation's
// age comes from the provider when it says, else from this activity's start.
func (a *Activities) nextPoll(ctx context.Context, op provider.Operation, st provider.Status) time.Duration {
	started := activity.GetInfo(ctx).ScheduledTime // first attempt of this activity
	if st.StartedAt != nil {
		started = *st.StartedAt
	} else if op.StartedAt != nil {
		started = *op.StartedAt
	}
	return a.PollPolicy.Next(a.Now(), started, st)
}

func (a *Activities) stillRunning(ctx context.Context, op provider.Operation, st provider.Status) error {
	next := a.nextPoll(ctx, op, st)
	percent := max(st.Percent, 0)
	return temporal.NewApplicationErrorWithOptions(
		fmt.Sprintf("the provider is still making the backup: %.0f%% (%s)", percent, st.ProviderState),
		ErrStillRunning,
		temporal.ApplicationErrorOptions{
			NextRetryDelay: next,
			Category:       temporal.ApplicationErrorCategoryBenign,
			Details:        []any{backup.PollProgress{Percent: percent, ProviderState: st.ProviderState, NextPoll: backup.Duration(next)}},
		})
}

// FinalizeOutput is the confirmed final record.
type FinalizeOutput struct {
	Backup   backup.Backup `json:"backup"`
	Attempts int           `json:"attempts"`
}

// Finalize confirms the finished backup through the provider's listing and
// returns its final record.
func (a *Activities) Finalize(ctx context.Context, in OperationInput) (FinalizeOutput, error) {
	defer beat(ctx).Stop()
	d, err := a.driver(in.Provider)
	if err != nil {
		return FinalizeOutput{}, toTemporal(ctx, err)
	}
	b, err := d.Describe(ctx, in.Operation)
	if err != nil {
		return FinalizeOutput{}, toTemporal(ctx, err)
	}
	return FinalizeOutput{Backup: b, Attempts: int(activity.GetInfo(ctx).Attempt)}, nil
}

// CleanupInput says what to clean: the operation when the workflow knows it,
// else the job, whose owner lets the driver find anything an attempt started.
type CleanupInput struct {
	Provider  string              `json:"provider"`
	Job       provider.Job        `json:"job"`
	Operation *provider.Operation `json:"operation,omitempty"`
	Reason    string              `json:"reason"`
}

// Cleanup leaves nothing behind: it cancels the operation at the provider
// where the provider can, waits (as benign retries, like PollOperation) for
// it to end where it cannot, and deletes any backup that exists. Each attempt
// is idempotent; progress across attempts is kept in heartbeat details.
func (a *Activities) Cleanup(ctx context.Context, in CleanupInput) (backup.CleanupReport, error) {
	hb := beat(ctx)
	defer hb.Stop()
	d, err := a.driver(in.Provider)
	if err != nil {
		return backup.CleanupReport{}, toTemporal(ctx, err)
	}
	known := provider.Operation{}
	if in.Operation != nil {
		known = *in.Operation
	}
	report := backup.CleanupReport{Reason: in.Reason}
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &report)
	}
	op := in.Operation
	if op == nil {
		found, err := d.Find(ctx, in.Job)
		switch {
		case provider.IsClass(err, provider.AlreadyExists):
			// Somebody else's backup, or one backupflow cannot prove is ours: kept.
			for _, id := range provider.UnprovenOf(err) {
				report.Kept = append(report.Kept, backup.KeptBackup{ID: id, Reason: provider.ReasonNotProven})
			}
			found = nil
		case err != nil:
			return report, a.whilePolling(ctx, known, err)
		}
		if found == nil {
			report.Note = "the provider holds nothing this workflow can prove it started"
			return report, nil
		}
		op = found
	}
	report.Created = true
	st, err := d.Poll(ctx, *op)
	if err != nil {
		return report, a.whilePolling(ctx, known, err)
	}
	if st.Phase == provider.PhaseRunning {
		if !report.CancelledAtProvider {
			stopped, err := d.Cancel(ctx, *op)
			if err != nil {
				return report, a.whilePolling(ctx, known, err)
			}
			report.CancelledAtProvider = stopped
			if !stopped {
				report.Note = "the provider cannot stop a running backup; waiting for it to end, then deleting it"
			}
			hb.Record(ctx, report)
		}
		return report, a.stillRunning(ctx, *op, st)
	}
	if st.Phase == provider.PhaseCancelled || st.Phase == provider.PhaseGone {
		if report.Note == "" {
			report.Note = "the provider stopped the operation and removed its backup"
		}
		return report, nil
	}
	if err := d.Delete(ctx, *op); err != nil {
		return report, a.whilePolling(ctx, known, err)
	}
	report.Deleted = append(report.Deleted, cmp.Or(op.BackupID, op.BackupName, op.ID))
	report.Note = fmt.Sprintf("the backup had reached %s before it could be stopped; deleted it", st.ProviderState)
	return report, nil
}

// toTemporal turns an error of Validate, StartOperation or Finalize into a
// Temporal error. Every attempt of those is a failure, so the class backs off
// by attempt number.
func toTemporal(ctx context.Context, err error) error {
	attempt := int(activity.GetInfo(ctx).Attempt)
	return classify(err, func(c provider.Class) time.Duration { return c.RetryDelay(attempt) })
}

// whilePolling turns an error of PollOperation or Cleanup into a Temporal
// error. Most attempts of those are polls that found the backup running, so
// the attempt number says nothing about failures: a failed call is retried
// like a poll that learned nothing (the poll policy with unknown progress),
// never sooner than its class's first back-off. One transient error then
// costs seconds, not 2^attempt, and an outage is paced like polling.
func (a *Activities) whilePolling(ctx context.Context, op provider.Operation, err error) error {
	return classify(err, func(c provider.Class) time.Duration {
		return max(c.RetryDelay(1), a.nextPoll(ctx, op, provider.Status{Phase: provider.PhaseRunning, Percent: -1}))
	})
}

// classify makes the Temporal error: the give-up classes are non-retryable;
// the others retry after the provider's hint or backoff(class), whichever is
// longer. Unclassified errors (timeouts, lost connections, bugs) count as
// Unavailable. It is where provider errors enter history, so it redacts: the
// message goes through provider.Redact, and the SDK's own error never
// becomes the failure's cause (SDK errors quote signed requests).
func classify(err error, backoff func(provider.Class) time.Duration) error {
	var found *provider.Error
	pe := &provider.Error{Class: provider.Unavailable, Message: err.Error()}
	if errors.As(err, &found) {
		pe = found
	}
	safe := *pe
	safe.Message, safe.Rule, safe.Err = provider.Redact(pe.Message), provider.Redact(pe.Rule), nil
	opts := temporal.ApplicationErrorOptions{
		NonRetryable: !pe.Class.Retryable(),
		Details:      []any{&safe},
	}
	if !opts.NonRetryable {
		opts.NextRetryDelay = max(pe.RetryAfter, backoff(pe.Class))
	}
	return temporal.NewApplicationErrorWithOptions(safe.Error(), string(pe.Class), opts)
}
