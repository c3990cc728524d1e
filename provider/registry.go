package provider

import (
	"fmt"
	"sort"
	"strings"
)

// Registry holds the drivers a worker was configured with.
type Registry struct {
	drivers map[string]Driver
}

// NewRegistry builds a registry; two drivers with one name are a wiring bug.
func NewRegistry(drivers ...Driver) (*Registry, error) {
	r := &Registry{drivers: map[string]Driver{}}
	for _, d := range drivers {
		if _, dup := r.drivers[d.Name()]; dup {
			return nil, fmt.Errorf("provider %q registered twice", d.Name())
		}
		r.drivers[d.Name()] = d
	}
	return r, nil
}

// Driver returns the driver for a provider name, or an InvalidArgument error
// on the "provider" field listing the providers this worker runs.
func (r *Registry) Driver(name string) (Driver, error) {
	if d, ok := r.drivers[name]; ok {
		return d, nil
	}
	if name == "" {
		return nil, Invalid("provider", "is required; one of: %s", strings.Join(r.Names(), ", "))
	}
	return nil, Invalid("provider", "unknown provider %q; this worker runs: %s", name, strings.Join(r.Names(), ", "))
}

// Names lists the registered providers, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.drivers))
	for n := range r.drivers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// CopyProviders lists the registered providers that support copy, sorted.
func (r *Registry) CopyProviders() []string {
	var names []string
	for _, n := range r.Names() {
		if r.drivers[n].SupportsCopy() {
			names = append(names, n)
		}
	}
	return names
}
