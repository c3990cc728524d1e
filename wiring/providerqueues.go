package wiring

import (
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/backupflow/backupflow/activities"
	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/workflows"
)

// CallsPerSecondVariable names the variable that caps, cluster-wide, how
// many of a provider's activities start per second:
// BACKUPFLOW_<PROVIDER>_CALLS_PER_SECOND. Every driver has it, so it is
// declared here once rather than in each driver's config.
func CallsPerSecondVariable(providerName string) string {
	return provider.EnvPrefix(providerName) + "CALLS_PER_SECOND"
}

// CallsPerSecond reads each configured provider's
// BACKUPFLOW_<PROVIDER>_CALLS_PER_SECOND; a provider without one (or with
// 0) is not limited and is absent from the map.
func (c Config) CallsPerSecond() (map[string]float64, error) {
	lookup := os.LookupEnv
	if c.Environment != nil {
		lookup = func(k string) (string, bool) { v, ok := c.Environment[k]; return v, ok }
	}
	limits := map[string]float64{}
	var errs []error
	for _, p := range c.Providers {
		name := CallsPerSecondVariable(p)
		raw, ok := lookup(name)
		if !ok || raw == "" {
			continue
		}
		v, err := strconv.ParseFloat(raw, 64)
		if err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			errs = append(errs, fmt.Errorf("%s: must be a non-negative number of calls per second, got %q", name, raw))
			continue
		}
		if v > 0 {
			limits[p] = v
		}
	}
	return limits, errors.Join(errs...)
}

// workers is the main worker (workflows, local activities, plan activities
// and, for workflows started before providerTaskQueues, every activity) and
// one worker per provider on the provider's task queue. They start and stop
// together.
type workers struct {
	worker.Worker
	providers []worker.Worker
}

// newProviderWorkers starts nothing: it creates one worker per configured
// provider on backup.ProviderTaskQueue, registering only the activities,
// with the provider's limit as the server-enforced
// TaskQueueActivitiesPerSecond.
func newProviderWorkers(c client.Client, cfg Config, acts *activities.Activities, opts worker.Options) ([]worker.Worker, error) {
	limits, err := cfg.CallsPerSecond()
	if err != nil {
		return nil, err
	}
	var out []worker.Worker
	seen := map[string]bool{}
	for _, p := range cfg.Providers {
		if seen[p] {
			continue
		}
		seen[p] = true
		o := opts
		o.TaskQueueActivitiesPerSecond = limits[p]
		w := worker.New(c, backup.ProviderTaskQueue(cfg.Worker.TaskQueue, p), o)
		workflows.RegisterProviderActivities(w, acts)
		out = append(out, w)
	}
	return out, nil
}

// Start starts the provider workers, then the main one; on an error it
// stops those already started.
func (w *workers) Start() error {
	all := append(slices.Clone(w.providers), w.Worker)
	for i, one := range all {
		if err := one.Start(); err != nil {
			for _, started := range all[:i] {
				started.Stop()
			}
			return err
		}
	}
	return nil
}

// Run starts the workers, waits for interruptCh, then stops them.
func (w *workers) Run(interruptCh <-chan interface{}) error {
	if err := w.Start(); err != nil {
		return err
	}
	<-interruptCh
	w.Stop()
	return nil
}

// Stop stops the main worker, then the provider workers.
func (w *workers) Stop() {
	w.Worker.Stop()
	for _, p := range w.providers {
		p.Stop()
	}
}
