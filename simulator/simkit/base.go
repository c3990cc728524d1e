package simkit

import (
	"time"

	"github.com/backupflow/backupflow/provider"
)

// Backend is the test control surface of a provider simulator: what the
// conformance suite and the reliability suite drive.
type Backend interface {
	// Advance moves the simulator's clock: running backups progress by d.
	Advance(d time.Duration)
	// Inventory lists every backup the provider holds (in any state but deleted), by ID.
	Inventory() []string
	// Calls counts API calls the simulator has received.
	Calls() int
	// LoseNextCreate makes the next create (or copy) apply at the provider and
	// then lose its response, as when a connection drops after the commit.
	LoseNextCreate()
	// DropNextCreate makes the next create (or copy) fail before it reaches
	// the provider, as when a connection drops while sending: nothing applies.
	DropNextCreate()
	// FailNext makes the next n calls fail with a fault of the given class
	// (Unavailable or Throttled); a Throttled fault carries retryAfter as the
	// provider's own hint (Retry-After header or equivalent).
	FailNext(class provider.Class, n int, retryAfter time.Duration)
	// AddForeign makes a backup of target as somebody else would (a person
	// in the console, another tool): on the same resource, with the same
	// name when the target names one, beginning now, carrying no backupflow
	// marker. It returns the backup's ID as Inventory lists it. It is how
	// the suite proves backupflow never adopts or deletes other backups.
	AddForeign(target provider.Target) string
}

// Simulator is what every running provider simulator offers.
type Simulator interface {
	Backend
	// Endpoint is what a driver is given to reach the simulator.
	Endpoint() string
	Close()
	SetLatency(time.Duration)
	// Deletes lists the delete calls that reached a backup: the suite's
	// proof of which backups a worker tried to delete, and how often.
	Deletes() []Delete
	SetFaultRate(p float64, seed int64)
	Faults() int
}

// Base is what a simulator's Server embeds: the clock, fault injection and
// call counting with their Backend controls, and (once Serve has run) the
// loopback server with Endpoint and Close.
type Base struct {
	Clock
	FaultInjector
	CallCounter
	*Server
}

// Serve records srv as the simulator's running server.
func (b *Base) Serve(srv *Server, err error) error {
	if err != nil {
		return err
	}
	b.Server = srv
	return nil
}
