package huaweicloudsim

import (
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/backupflow/backupflow/provider"
)

// Clock is real time plus an offset that Advance adds, so simulated backups
// finish both when a test advances the clock and when real time passes.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now returns the simulator's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// faultKind is what an injected fault does to one call.
type faultKind int

const (
	faultUnavailable faultKind = iota // 503 with the provider's error shape
	faultThrottled                    // 429 with Retry-After
	faultBusy                         // 409 instance busy
	faultLost                         // the call is applied, then the connection drops
	faultDropped                      // the connection drops before the call applies
	faultAnswer                       // a given error answer
)

type fault struct {
	kind       faultKind
	retryAfter time.Duration
	given      *APIError // for faultAnswer
}

// Faults is the fault-injection state of a simulator.
type Faults struct {
	mu             sync.Mutex
	queue          []fault
	loseNextCreate bool
	dropNextCreate bool
	latency        time.Duration
	rate           float64
	rng            *rand.Rand
	injected       int
}

// FailNext makes the next n calls fail with a fault of class (Unavailable,
// Throttled or Busy); a Throttled fault carries retryAfter as Retry-After.
func (f *Faults) FailNext(class provider.Class, n int, retryAfter time.Duration) {
	kind := faultUnavailable
	switch class {
	case provider.Throttled:
		kind = faultThrottled
	case provider.Busy:
		kind = faultBusy
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.queue = append(f.queue, fault{kind: kind, retryAfter: retryAfter})
	}
}

// AnswerNext makes the next call fail with e, whatever it asked: for checking
// how a driver reads an answer the simulator's own rules do not give.
func (f *Faults) AnswerNext(e *APIError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue = append(f.queue, fault{kind: faultAnswer, given: e})
}

// LoseNextCreate makes the next create apply and then lose its response.
func (f *Faults) LoseNextCreate() {
	f.mu.Lock()
	f.loseNextCreate = true
	f.mu.Unlock()
}

// DropNextCreate makes the next create fail before it applies: the
// connection drops while the request is being sent.
func (f *Faults) DropNextCreate() {
	f.mu.Lock()
	f.dropNextCreate = true
	f.mu.Unlock()
}

// SetLatency delays every API call by d.
func (f *Faults) SetLatency(d time.Duration) {
	f.mu.Lock()
	f.latency = d
	f.mu.Unlock()
}

// SetFaultRate injects a random retryable fault (5xx, 429 with Retry-After, or
// a response lost after the call was applied) into each call with probability
// p, drawn from a generator seeded with seed (deterministic per call order).
func (f *Faults) SetFaultRate(p float64, seed int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rate = p
	f.rng = rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))
}

// Injected counts the faults injected so far (queued, lost and dropped creates, random).
func (f *Faults) Injected() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.injected
}

func (f *Faults) delay() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.latency
}

// next returns the fault for this call, if any. isCreate marks a create call.
func (f *Faults) next(isCreate bool) (fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.queue) > 0 {
		ft := f.queue[0]
		f.queue = f.queue[1:]
		f.injected++
		return ft, true
	}
	if isCreate && f.dropNextCreate {
		f.dropNextCreate = false
		f.injected++
		return fault{kind: faultDropped}, true
	}
	if isCreate && f.loseNextCreate {
		f.loseNextCreate = false
		f.injected++
		return fault{kind: faultLost}, true
	}
	if f.rate > 0 && f.rng != nil && f.rng.Float64() < f.rate {
		f.injected++
		switch f.rng.IntN(3) {
		case 0:
			return fault{kind: faultUnavailable}, true
		case 1:
			return fault{kind: faultThrottled, retryAfter: time.Second}, true
		default:
			return fault{kind: faultLost}, true
		}
	}
	return fault{}, false
}

func (ft fault) answer() *APIError {
	switch ft.kind {
	case faultAnswer:
		return ft.given
	case faultThrottled:
		return &APIError{Status: http.StatusTooManyRequests, Code: CodeThrottled,
			Message: "The throttling threshold has been reached", RetryAfter: ft.retryAfter}
	case faultBusy:
		return Errf(http.StatusConflict, CodeInstanceBusy, "The instance is busy; try again later")
	}
	return Errf(http.StatusServiceUnavailable, CodeUnavailable, "Service temporarily unavailable; try again later")
}
