package wiring

import (
	"errors"
	"fmt"

	"github.com/backupflow/backupflow/provider"
)

// KnownProviders lists every provider this build can run: those whose driver
// package is linked in (providers.go) and so registered itself.
func KnownProviders() []string {
	var names []string
	for _, r := range provider.Registered() {
		names = append(names, r.Name)
	}
	return names
}

// ExtraDrivers are drivers built by the caller (tests hand in drivers bound to their simulators).
type ExtraDrivers []provider.Driver

// NewRegistry builds the drivers named in BACKUPFLOW_PROVIDERS, plus extra ones.
func NewRegistry(cfg Config, extra ExtraDrivers) (*provider.Registry, error) {
	drivers := append([]provider.Driver(nil), extra...)
	var errs []error
	for _, name := range cfg.Providers {
		if containsDriver(extra, name) {
			continue
		}
		reg, ok := provider.Lookup(name)
		if !ok {
			errs = append(errs, fmt.Errorf("BACKUPFLOW_PROVIDERS: unknown provider %q", name))
			continue
		}
		d, err := reg.New(cfg.Environment)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		drivers = append(drivers, d)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return provider.NewRegistry(drivers...)
}

func containsDriver(ds []provider.Driver, name string) bool {
	for _, d := range ds {
		if d.Name() == name {
			return true
		}
	}
	return false
}
