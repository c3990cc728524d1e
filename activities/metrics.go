package activities

import (
	"context"
	"errors"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
)

// Metrics receives what the activities observe. Every label it is handed is
// a bounded value: a provider name from the registry, a kind, a driver method
// name or an error class; never request content, identifiers or credentials.
//
// The backup counters are counted where the activities see the outcome:
// started when StartOperation starts or adopts the provider operation,
// succeeded when Finalize confirms the backup, failed when an activity gives
// up with a non-retryable error (the workflow fails then), cancelled when the
// Cleanup of a cancelled workflow completes.
type Metrics interface {
	BackupStarted(provider string, kind backup.Kind)
	// BackupSucceeded reports a confirmed backup; elapsed is the provider's
	// run time, negative when the provider reported no start time.
	BackupSucceeded(provider string, kind backup.Kind, elapsed time.Duration)
	BackupFailed(provider string, kind backup.Kind, class provider.Class)
	BackupCancelled(provider string, kind backup.Kind)
	// ProviderCall reports one driver call (call is the Driver method name)
	// and its error, if any.
	ProviderCall(provider, call string, elapsed time.Duration, err error)
}

// CallLimiter paces the driver calls of one worker, per provider.
type CallLimiter interface {
	// Wait blocks until a call to the provider may be made, or ctx ends.
	Wait(ctx context.Context, provider string) error
}

// FailureCleanupReasonPrefix starts the reason of a Cleanup that follows a
// failure (as opposed to a cancellation).
const FailureCleanupReasonPrefix = "backup failed: "

// unknownLabel stands for a provider or kind the registry does not know, so a
// bad request cannot put arbitrary text into a metric label.
const unknownLabel = "unknown"

// driver returns the named driver, wrapped to report and pace its calls.
func (a *Activities) driver(name string) (provider.Driver, error) {
	d, err := a.Registry.Driver(name)
	if err != nil || (a.Metrics == nil && a.Limiter == nil) {
		return d, err
	}
	return &observedDriver{Driver: d, metrics: a.Metrics, limiter: a.Limiter}, nil
}

// labels returns bounded label values for a provider and a kind.
func (a *Activities) labels(p string, k backup.Kind) (string, backup.Kind) {
	if _, err := a.Registry.Driver(p); err != nil {
		p = unknownLabel
	}
	if k != backup.KindCreate && k != backup.KindCopy {
		k = unknownLabel
	}
	return p, k
}

// recordFailure counts a backup as failed when err makes the workflow give up.
func (a *Activities) recordFailure(p string, k backup.Kind, err error) {
	if a.Metrics == nil || err == nil {
		return
	}
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || !app.NonRetryable() {
		return
	}
	class := provider.Class(app.Type())
	if !class.Known() {
		class = unknownLabel
	}
	p, k = a.labels(p, k)
	a.Metrics.BackupFailed(p, k, class)
}

func (a *Activities) recordStart(p string, k backup.Kind, err error) {
	if a.Metrics == nil {
		return
	}
	if err != nil {
		a.recordFailure(p, k, err)
		return
	}
	p, k = a.labels(p, k)
	a.Metrics.BackupStarted(p, k)
}

func (a *Activities) recordFinal(in OperationInput, out FinalizeOutput, err error) {
	if a.Metrics == nil {
		return
	}
	if err != nil {
		a.recordFailure(in.Provider, in.Operation.Kind, err)
		return
	}
	elapsed := time.Duration(-1)
	start := in.Operation.StartedAt
	if start == nil {
		start = out.Backup.CreateTime
	}
	if start != nil {
		if d := a.Now().Sub(*start); d >= 0 {
			elapsed = d
		}
	}
	p, k := a.labels(in.Provider, in.Operation.Kind)
	a.Metrics.BackupSucceeded(p, k, elapsed)
}

func (a *Activities) recordCleanup(in CleanupInput, err error) {
	if a.Metrics == nil || err != nil || strings.HasPrefix(in.Reason, FailureCleanupReasonPrefix) {
		return
	}
	p, k := a.labels(in.Provider, in.Job.Kind)
	a.Metrics.BackupCancelled(p, k)
}

// observedDriver reports every call of a driver and paces it.
type observedDriver struct {
	provider.Driver
	metrics Metrics
	limiter CallLimiter
}

func (d *observedDriver) call(ctx context.Context, name string, f func() error) error {
	if d.limiter != nil {
		if err := d.limiter.Wait(ctx, d.Name()); err != nil {
			return &provider.Error{Class: provider.Throttled, Provider: d.Name(),
				Message: "waiting for the worker's provider rate limit (BACKUPFLOW_PROVIDER_RATE_LIMIT): " + err.Error(), Err: err}
		}
	}
	start := time.Now()
	err := f()
	if d.metrics != nil {
		d.metrics.ProviderCall(d.Name(), name, time.Since(start), err)
	}
	return err
}

func (d *observedDriver) Preflight(ctx context.Context, job provider.Job) error {
	return d.call(ctx, "Preflight", func() error { return d.Driver.Preflight(ctx, job) })
}

func (d *observedDriver) Start(ctx context.Context, job provider.Job) (op provider.Operation, err error) {
	err = d.call(ctx, "Start", func() error { op, err = d.Driver.Start(ctx, job); return err })
	return op, err
}

func (d *observedDriver) Find(ctx context.Context, job provider.Job) (op *provider.Operation, err error) {
	err = d.call(ctx, "Find", func() error { op, err = d.Driver.Find(ctx, job); return err })
	return op, err
}

func (d *observedDriver) Poll(ctx context.Context, op provider.Operation) (st provider.Status, err error) {
	err = d.call(ctx, "Poll", func() error { st, err = d.Driver.Poll(ctx, op); return err })
	return st, err
}

func (d *observedDriver) Cancel(ctx context.Context, op provider.Operation) (stopped bool, err error) {
	err = d.call(ctx, "Cancel", func() error { stopped, err = d.Driver.Cancel(ctx, op); return err })
	return stopped, err
}

func (d *observedDriver) Delete(ctx context.Context, op provider.Operation) error {
	return d.call(ctx, "Delete", func() error { return d.Driver.Delete(ctx, op) })
}

func (d *observedDriver) Describe(ctx context.Context, op provider.Operation) (b backup.Backup, err error) {
	err = d.call(ctx, "Describe", func() error { b, err = d.Driver.Describe(ctx, op); return err })
	return b, err
}
