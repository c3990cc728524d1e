package simkit

import (
	"maps"
	"slices"
	"sync"
	"time"
)

// CallCounter counts the API calls a simulator receives, in all and by name
// (an RPC method, an RPC action). Its zero value is ready.
type CallCounter struct {
	mu      sync.Mutex
	total   int
	byName  map[string]int
	deletes []Delete
	// log holds every call with its time once KeepLog has run.
	log     []Call
	logging bool
}

// Call is one call received: its name and when it arrived.
type Call struct {
	Name string
	At   time.Time
}

// KeepLog makes the counter remember every call from now on, with its
// time (Log), for tests that measure call rates. Off by default: a long
// run would hold every call.
func (c *CallCounter) KeepLog() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.logging = true
}

// Log lists the calls received since KeepLog, in the order received.
func (c *CallCounter) Log() []Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.log)
}

// Delete is one delete call that reached a backup: which one (its ID as
// Inventory lists it) and whether it took effect. A call the backup's
// absence, state or a fault refused has Applied false.
type Delete struct {
	BackupID string
	Applied  bool
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
	if c.logging {
		c.log = append(c.log, Call{Name: name, At: time.Now()})
	}
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

// CountDelete records a delete call on backupID, and whether it applied.
func (c *CallCounter) CountDelete(backupID string, applied bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deletes = append(c.deletes, Delete{BackupID: backupID, Applied: applied})
}

// Deletes lists the delete calls that reached a backup, in the order received.
func (c *CallCounter) Deletes() []Delete {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.deletes)
}

// SortedKeys lists a map's keys, sorted: the inventory of a backup table
// keyed by ID.
func SortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
