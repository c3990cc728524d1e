// Package clouds starts the provider simulators together and says how a
// worker reaches each one (as environment variables, exactly what a worker in
// another process reads). The dev stack, the integration tests and the
// reliability suite all start their clouds here. The simulators are those
// simulators.go links; each registers itself with simkit.
package clouds

import (
	"errors"
	"sort"
	"strings"

	"github.com/backupflow/backupflow/simulator/simkit"
)

// Providers lists the providers with a simulator, sorted.
func Providers() []string { return simkit.Registered() }

// Start starts the simulators of the named providers (all when none are named).
func Start(opts simkit.Options, providers ...string) (Set, error) {
	if len(providers) == 0 {
		providers = Providers()
	}
	var set Set
	for _, p := range providers {
		c, err := simkit.Start(p, opts)
		if err != nil {
			set.Close()
			return nil, err
		}
		set = append(set, c)
	}
	return set, nil
}

// Set is a group of running simulators.
type Set []*simkit.Cloud

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
	env["BACKUPFLOW_PROVIDERS"] = strings.Join(names, ",")
	return env
}

// Get returns the cloud of a provider.
func (s Set) Get(provider string) (*simkit.Cloud, error) {
	for _, c := range s {
		if c.Provider == provider {
			return c, nil
		}
	}
	return nil, errors.New("no simulator running for " + provider)
}
