package activities

import (
	"context"
	"time"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
)

// Metrics receives the provider calls the activities make. Every label it is
// handed is bounded: a provider name from the registry, a driver method name
// or an error class; never request content, identifiers or credentials.
type Metrics interface {
	// ProviderCall reports one driver call (call is the Driver method name)
	// and its error, if any.
	ProviderCall(provider, call string, elapsed time.Duration, err error)
}

// CallLimiter paces the driver calls of one worker, per provider.
type CallLimiter interface {
	// Wait blocks until a call to the provider may be made, or ctx ends.
	Wait(ctx context.Context, provider string) error
}

// driver returns the named driver, wrapped to report and pace its calls.
func (a *Activities) driver(name string) (provider.Driver, error) {
	d, err := a.Registry.Driver(name)
	if err != nil || (a.Metrics == nil && a.Limiter == nil) {
		return d, err
	}
	return &observedDriver{Driver: d, metrics: a.Metrics, limiter: a.Limiter}, nil
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

func (d *observedDriver) List(ctx context.Context, kind backup.Kind, resource string) (bs []backup.Backup, err error) {
	err = d.call(ctx, "List", func() error { bs, err = d.Driver.List(ctx, kind, resource); return err })
	return bs, err
}
