package simkit

import (
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Options tune every simulator alike.
type Options struct {
	// Duration is how long a simulated backup runs.
	Duration time.Duration
	// Resources is how many databases/instances each fixture holds.
	Resources int
}

// Cloud is one running simulator, with what a worker needs to reach it.
type Cloud struct {
	Provider  string
	Simulator Simulator
	// Env points a worker at this simulator, with the simulator's test credentials.
	Env map[string]string
	// CreateSection returns a valid create section; distinct seeds below the
	// fixture size target distinct resources.
	CreateSection func(seed int) json.RawMessage
	// PlanSection returns a create section for resource seed (as
	// CreateSection) to use as a plan target's request: where the provider
	// names backups, the name holds a plan placeholder (${time}), so each
	// run of the plan names its backup anew.
	PlanSection func(seed int) json.RawMessage
	// CopySection is nil when the provider has no copy API.
	CopySection func(seed int, sourceBackupID string) json.RawMessage
	// ProofByCreateResponseOnly is the driver's own declaration that the
	// provider keeps no ownership marker with a backup: a backup whose create
	// answer was lost is named as unproven and kept, never adopted.
	ProofByCreateResponseOnly bool
}

// Registration is how a simulator package makes itself known (from its
// register.go's init).
type Registration struct {
	// Provider is the provider's name, as BACKUPFLOW_PROVIDERS lists it.
	Provider string
	// Start starts the simulator and describes it.
	Start func(Options) (*Cloud, error)
}

var (
	regMu      sync.Mutex
	registered = map[string]Registration{}
)

// Register adds a simulator to the registry. A second registration of a
// provider, or one without a name or Start, is a programming error: it panics.
func Register(r Registration) {
	if r.Provider == "" || r.Start == nil {
		panic("simkit: a registration needs a Provider and a Start")
	}
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registered[r.Provider]; dup {
		panic("simkit: simulator " + r.Provider + " registered twice")
	}
	registered[r.Provider] = r
}

// Registered lists the providers with a registered simulator, sorted.
func Registered() []string {
	regMu.Lock()
	defer regMu.Unlock()
	names := make([]string, 0, len(registered))
	for n := range registered {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Start starts the registered simulator of provider.
func Start(provider string, o Options) (*Cloud, error) {
	regMu.Lock()
	r, ok := registered[provider]
	regMu.Unlock()
	if !ok {
		return nil, fmt.Errorf("no simulator for provider %q", provider)
	}
	c, err := r.Start(o)
	if err != nil {
		return nil, fmt.Errorf("start %s simulator: %w", provider, err)
	}
	return c, nil
}
