package simkit

import (
	"sync"
	"time"
)

// Clock is real time plus an offset that Advance adds, so simulated backups
// finish both when a test advances the clock and when real time passes. Its
// zero value is ready; it has its own lock, so a simulator may read it while
// holding its own.
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
