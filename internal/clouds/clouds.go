// Package clouds starts the provider simulators together and says how a
// worker reaches each one (as environment variables, exactly what a worker in
// another process reads). The dev stack, the integration tests and the
// reliability suite all start their clouds here.
package clouds

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/backupflow/backupflow/simulator/simkit"
)

// Simulator is what every provider simulator offers.
type Simulator = simkit.Simulator

// Cloud is one running simulator.
type Cloud struct {
	Provider  string
	Simulator Simulator
	// Env points a worker at this simulator, with the simulator's test credentials.
	Env map[string]string
	// CreateSection returns a valid create section; distinct seeds below the
	// fixture size target distinct resources.
	CreateSection func(seed int) json.RawMessage
	// CopySection is nil when the provider has no copy API.
	CopySection func(seed int, sourceBackupID string) json.RawMessage
	// ProofByCreateResponseOnly is the driver's own declaration that the
	// provider keeps no ownership marker with a backup: a backup whose create
	// answer was lost is named as unproven and kept, never adopted.
	ProofByCreateResponseOnly bool
}

// Options tune every simulator alike.
type Options struct {
	// Duration is how long a simulated backup runs.
	Duration time.Duration
	// Resources is how many databases/instances each fixture holds.
	Resources int
}

// starters holds one entry per provider.
var starters = map[string]func(Options) (*Cloud, error){
	"spanner":  startSpanner,
	"alirds":   startAliRDS,
	"taurusdb": startTaurusDB,
	"otcrds":   startOTCRDS,
}

// Providers lists the providers with a simulator.
func Providers() []string {
	names := make([]string, 0, len(starters))
	for n := range starters {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Start starts the simulators of the named providers (all when none are named).
func Start(opts Options, providers ...string) (Set, error) {
	if len(providers) == 0 {
		providers = Providers()
	}
	var set Set
	for _, p := range providers {
		start, ok := starters[p]
		if !ok {
			set.Close()
			return nil, fmt.Errorf("no simulator for provider %q", p)
		}
		c, err := start(opts)
		if err != nil {
			set.Close()
			return nil, fmt.Errorf("start %s simulator: %w", p, err)
		}
		set = append(set, c)
	}
	return set, nil
}

// Set is a group of running simulators.
type Set []*Cloud

// Close stops every simulator.
func (s Set) Close() {
	for _, c := range s {
		c.Simulator.Close()
	}
}

// Env merges the worker environment of every simulator, with BACKUPFLOW_PROVIDERS.
func (s Set) Env() map[string]string {
	env := map[string]string{}
	var names []string
	for _, c := range s {
		names = append(names, c.Provider)
		for k, v := range c.Env {
			env[k] = v
		}
	}
	sort.Strings(names)
	env["BACKUPFLOW_PROVIDERS"] = join(names)
	return env
}

// Get returns the cloud of a provider.
func (s Set) Get(provider string) (*Cloud, error) {
	for _, c := range s {
		if c.Provider == provider {
			return c, nil
		}
	}
	return nil, errors.New("no simulator running for " + provider)
}

func join(names []string) string {
	out := ""
	for i, n := range names {
		if i > 0 {
			out += ","
		}
		out += n
	}
	return out
}
