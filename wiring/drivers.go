package wiring

import (
	"errors"
	"fmt"
	"sort"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/alirds"
	"github.com/backupflow/backupflow/provider/memory"
	"github.com/backupflow/backupflow/provider/otcrds"
	"github.com/backupflow/backupflow/provider/spanner"
	"github.com/backupflow/backupflow/provider/taurusdb"
)

// DriverConfigs holds each provider's own settings (BACKUPFLOW_<PROVIDER>_*).
type DriverConfigs struct {
	Memory   MemoryConfig
	Spanner  spanner.Config
	AliRDS   alirds.Config
	TaurusDB taurusdb.Config
	OTCRDS   otcrds.Config
}

// MemoryConfig configures the in-process provider (tests, experiments).
type MemoryConfig struct {
	Token provider.Secret `env:"BACKUPFLOW_MEMORY_TOKEN" envDefault:"memory"`
}

// driverFactories is the provider registry: one line per provider.
var driverFactories = map[string]func(DriverConfigs) (provider.Driver, error){
	backup.ProviderMemory: func(c DriverConfigs) (provider.Driver, error) {
		return memory.NewCloud(c.Memory.Token.Reveal()).Driver(c.Memory.Token.Reveal()), nil
	},
	backup.ProviderSpanner:  func(c DriverConfigs) (provider.Driver, error) { return spanner.New(c.Spanner) },
	backup.ProviderAliRDS:   func(c DriverConfigs) (provider.Driver, error) { return alirds.New(c.AliRDS) },
	backup.ProviderTaurusDB: func(c DriverConfigs) (provider.Driver, error) { return taurusdb.New(c.TaurusDB) },
	backup.ProviderOTCRDS:   func(c DriverConfigs) (provider.Driver, error) { return otcrds.New(c.OTCRDS) },
}

// KnownProviders lists every provider this build can run.
func KnownProviders() []string {
	names := make([]string, 0, len(driverFactories))
	for n := range driverFactories {
		names = append(names, n)
	}
	sort.Strings(names)
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
		newDriver, ok := driverFactories[name]
		if !ok {
			errs = append(errs, fmt.Errorf("BACKUPFLOW_PROVIDERS: unknown provider %q", name))
			continue
		}
		d, err := newDriver(cfg.Drivers)
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
