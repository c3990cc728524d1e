package simkit

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/backupflow/backupflow/provider"
)

// FaultKind is what an injected fault does to one call.
type FaultKind int

const (
	// Refuse answers the call with an error and applies nothing.
	Refuse FaultKind = iota
	// Lose applies the call, then loses its answer (the connection drops
	// after the provider committed it).
	Lose
	// Drop fails the call before it applies (the connection drops while
	// the request is sent).
	Drop
)

// Fault is one injected fault.
type Fault struct {
	Kind FaultKind
	// Class is what a Refuse fault refuses as (Unavailable, Throttled,
	// Busy, ...); each simulator answers it in its provider's own form.
	Class provider.Class
	// RetryAfter is the provider's retry hint a Throttled refusal carries.
	RetryAfter time.Duration
	// Answer, when set, is a simulator's own refusal to give instead of
	// Class's (a given error code or answer).
	Answer any
	// Call, when set, makes a queued fault wait for a call of that name;
	// other calls pass it by.
	Call string
}

// FaultInjector is a simulator's fault-injection state: queued faults
// (FailNext, Queue), the next create lost or dropped, random faults at a
// rate, and a latency. Its zero value injects nothing.
type FaultInjector struct {
	// RandomFault picks the fault a random draw injects under SetFaultRate;
	// nil picks Unavailable, Throttled (a 1s hint) or Lose alike.
	RandomFault func(r *rand.Rand) Fault

	mu             sync.Mutex
	queue          []Fault
	loseNextCreate bool
	dropNextCreate bool
	latency        time.Duration
	rate           float64
	rng            *rand.Rand
	injected       int
}

// FailNext makes the next n calls fail with a fault of class; a Throttled
// fault carries retryAfter as the provider's retry hint.
func (f *FaultInjector) FailNext(class provider.Class, n int, retryAfter time.Duration) {
	for range n {
		f.Queue(Fault{Kind: Refuse, Class: class, RetryAfter: retryAfter})
	}
}

// Queue adds ft to the faults the next calls get, in order.
func (f *FaultInjector) Queue(ft Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue = append(f.queue, ft)
}

// LoseNextCreate makes the next create (or copy) apply and then lose its answer.
func (f *FaultInjector) LoseNextCreate() {
	f.mu.Lock()
	f.loseNextCreate = true
	f.mu.Unlock()
}

// DropNextCreate makes the next create (or copy) fail before it applies.
func (f *FaultInjector) DropNextCreate() {
	f.mu.Lock()
	f.dropNextCreate = true
	f.mu.Unlock()
}

// SetLatency delays every call by d.
func (f *FaultInjector) SetLatency(d time.Duration) {
	f.mu.Lock()
	f.latency = d
	f.mu.Unlock()
}

// SetFaultRate injects a random fault (see RandomFault) into each call with
// probability p, drawn from a generator seeded with seed: the same seed gives
// the same faults for the same calls. p = 0 turns it off.
func (f *FaultInjector) SetFaultRate(p float64, seed int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rate = p
	f.rng = rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))
}

// Faults counts the faults injected so far.
func (f *FaultInjector) Faults() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.injected
}

// Delay waits out the latency; it returns ctx's error when ctx ends first.
func (f *FaultInjector) Delay(ctx context.Context) error {
	f.mu.Lock()
	d := f.latency
	f.mu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Next returns the fault for a call named call, if any: the first queued
// fault for it, else for a create a dropped then a lost answer, else a
// random one.
func (f *FaultInjector) Next(call string, isCreate bool) (Fault, bool) {
	if ft, ok := f.TakeQueued(call); ok {
		return ft, true
	}
	if isCreate && f.TakeDrop() {
		return Fault{Kind: Drop}, true
	}
	if isCreate && f.TakeLose() {
		return Fault{Kind: Lose}, true
	}
	return f.TakeRandom()
}

// TakeQueued removes and returns the first queued fault for a call named call.
func (f *FaultInjector) TakeQueued(call string) (Fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, ft := range f.queue {
		if ft.Call == "" || ft.Call == call {
			f.queue = append(f.queue[:i:i], f.queue[i+1:]...)
			f.injected++
			return ft, true
		}
	}
	return Fault{}, false
}

// TakeDrop reports whether DropNextCreate is pending, and clears it.
func (f *FaultInjector) TakeDrop() bool { return f.take(&f.dropNextCreate) }

// TakeLose reports whether LoseNextCreate is pending, and clears it.
func (f *FaultInjector) TakeLose() bool { return f.take(&f.loseNextCreate) }

func (f *FaultInjector) take(flag *bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !*flag {
		return false
	}
	*flag = false
	f.injected++
	return true
}

// TakeRandom draws a random fault under SetFaultRate.
func (f *FaultInjector) TakeRandom() (Fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rate <= 0 || f.rng == nil || f.rng.Float64() >= f.rate {
		return Fault{}, false
	}
	f.injected++
	if f.RandomFault != nil {
		return f.RandomFault(f.rng), true
	}
	switch f.rng.IntN(3) {
	case 0:
		return Fault{Kind: Refuse, Class: provider.Unavailable}, true
	case 1:
		return Fault{Kind: Refuse, Class: provider.Throttled, RetryAfter: time.Second}, true
	}
	return Fault{Kind: Lose}, true
}
