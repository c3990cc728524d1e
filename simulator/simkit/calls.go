package simkit

import (
	"maps"
	"slices"
	"sync"
)

// CallCounter counts the API calls a simulator receives, in all and by name
// (an RPC method, an RPC action). Its zero value is ready.
type CallCounter struct {
	mu     sync.Mutex
	total  int
	byName map[string]int
}

// Count records one call named name ("" when the call names nothing).
func (c *CallCounter) Count(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total++
	if c.byName == nil {
		c.byName = map[string]int{}
	}
	c.byName[name]++
}

// Calls counts every call received (refused and faulted ones too).
func (c *CallCounter) Calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// CallsOf counts the calls received named name.
func (c *CallCounter) CallsOf(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byName[name]
}

// SortedKeys lists a map's keys, sorted: the inventory of a backup table
// keyed by ID.
func SortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
