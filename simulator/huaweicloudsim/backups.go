package huaweicloudsim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backupflow/backupflow/plan"
	"github.com/backupflow/backupflow/simulator/simkit"
)

// Backup is a manual backup as the family's simulators keep it: it builds for
// Duration from Begin, then ends FAILED when Failing, else Finished
// (COMPLETED when empty; TaurusDB also reports AVAILABLE).
type Backup struct {
	ID, Name, Description, InstanceID string
	Begin                             time.Time
	Duration                          time.Duration
	Failing                           bool
	Finished                          string
}

// Common returns b; through it Backups reaches the Backup that a simulator's
// own record type embeds.
func (b *Backup) Common() *Backup { return b }

// End is when the backup finishes building.
func (b *Backup) End() time.Time { return b.Begin.Add(b.Duration) }

// Done reports whether the backup has finished building at now.
func (b *Backup) Done(now time.Time) bool { return !now.Before(b.End()) }

// Status is the backup's status at now: BUILDING, then FAILED or Finished
// (COMPLETED by default).
func (b *Backup) Status(now time.Time) string {
	switch {
	case !b.Done(now):
		return "BUILDING"
	case b.Failing:
		return "FAILED"
	case b.Finished != "":
		return b.Finished
	}
	return "COMPLETED"
}

// Record is a simulator's backup record: a Backup plus whatever only its API
// keeps (*Backup itself where there is nothing more).
type Record interface{ Common() *Backup }

// Backups is a simulator's backup table. Its own lock makes each method
// atomic, so Inventory and BackupStatus need not take the server's lock.
type Backups[R Record] struct {
	mu   sync.Mutex
	byID map[string]R
}

// IDs lists the ID of every backup held (any state), sorted.
func (t *Backups[R]) IDs() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return simkit.SortedKeys(t.byID)
}

// Status returns backup id's status at now, if it exists.
func (t *Backups[R]) Status(id string, now time.Time) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.byID[id]
	if !ok {
		return "", false
	}
	return r.Common().Status(now), true
}

// CreateRules are the answers to a create that breaks one of the rules both
// APIs share; the codes differ between the APIs.
type CreateRules struct {
	// NameExistsStatus and NameExistsCode answer a backup name already used
	// on the instance (OTC RDS: 409 DBS.201201; TaurusDB: 409 DBS.201209).
	NameExistsStatus int
	NameExistsCode   string
	// InProgressCode answers (409) a create while the instance builds a backup.
	InProgressCode string
	// Limit is the project's manual-backup quota (413 beyond it).
	Limit int
}

// AddWith stores r unless it breaks one of rules.
func (t *Backups[R]) AddWith(r R, now time.Time, rules CreateRules) *APIError {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := r.Common()
	for _, other := range t.byID {
		o := other.Common()
		if o.InstanceID != b.InstanceID {
			continue
		}
		if o.Name == b.Name {
			return Errf(rules.NameExistsStatus, rules.NameExistsCode, "The backup name %s already exists", b.Name)
		}
		if !o.Done(now) {
			return Errf(http.StatusConflict, rules.InProgressCode, "A backup of the DB instance is in progress")
		}
	}
	if limit := rules.Limit; len(t.byID) >= limit {
		return Errf(http.StatusRequestEntityTooLarge, CodeManualBackupLimit,
			"The number of manual backups has reached the limit (%d)", limit)
	}
	if t.byID == nil {
		t.byID = map[string]R{}
	}
	t.byID[b.ID] = r
	return nil
}

// ForeignDescription is the description of a backup somebody made outside
// backupflow (simkit.Backend.AddForeign): a person's words, no
// backupflow marker.
const ForeignDescription = "made by hand in the console"

// MustAddWith stores r as AddWith does, for a test's own fixture (a foreign
// backup); a backup the provider would refuse is the test's mistake, so it
// panics.
func (t *Backups[R]) MustAddWith(r R, now time.Time, rules CreateRules) {
	if e := t.AddWith(r, now, rules); e != nil {
		panic(fmt.Sprintf("the provider would refuse backup %q: %v", r.Common().Name, e))
	}
}

// MustAddEarlier stores n backups that newBackup makes, begun one after
// another so that the last ends at now, as MustAddWith does (a test's own
// fixture), and returns their IDs.
func (t *Backups[R]) MustAddEarlier(n int, now time.Time, duration time.Duration, rules CreateRules, newBackup func(begin time.Time) R) []string {
	ids := make([]string, 0, n)
	for i := range n {
		r := newBackup(now.Add(-time.Duration(n-i) * duration))
		t.MustAddWith(r, now, rules)
		ids = append(ids, r.Common().ID)
	}
	return ids
}

// Newest returns the backups match accepts, newest first.
func (t *Backups[R]) Newest(match func(R) bool) []R {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []R
	for _, r := range t.byID {
		if match(r) {
			out = append(out, r)
		}
	}
	SortNewest(out, func(r R) (time.Time, string) { return r.Common().Begin, r.Common().ID })
	return out
}

// Delete removes backup id: 404 when there is none, 409 while it is still
// being built.
func (t *Backups[R]) Delete(id string, now time.Time) (R, *APIError) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.byID[id]
	if !ok {
		return r, Errf(http.StatusNotFound, CodeNotFound, "The backup %s does not exist", id)
	}
	if !r.Common().Done(now) {
		return r, Errf(http.StatusConflict, CodeBackupInProgress, "The backup %s is being created and cannot be deleted", id)
	}
	delete(t.byID, id)
	return r, nil
}

// SortNewest orders items newest first, ties by ID, as the family's lists do.
func SortNewest[T any](items []T, key func(T) (time.Time, string)) {
	slices.SortFunc(items, func(a, b T) int {
		ta, ida := key(a)
		tb, idb := key(b)
		if c := tb.Compare(ta); c != 0 {
			return c
		}
		return strings.Compare(ida, idb)
	})
}

// CreateRequest is the body both create APIs share (instance_id, name,
// description); a simulator embeds it to add its API's own fields.
type CreateRequest struct {
	InstanceID  string `json:"instance_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// DemoID returns 32 hex characters, stable and distinct per product and i:
// the body of numbered demo instance i's ID.
func DemoID(product string, i int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s-demo-instance-%d", product, i)))
	return hex.EncodeToString(sum[:16])
}

var demoSeq atomic.Int64

// DemoBackup is what a valid create section of a demo backup names.
type DemoBackup struct {
	// Instance is the number of the demo instance: seed modulo the resources.
	Instance          int
	Name, Description string
}

// NewDemoBackup returns the demo backup of seed. The name starts with the seed
// and ends with a per-process sequence, so two names never collide.
func NewDemoBackup(seed, resources int) DemoBackup {
	n := demoSeq.Add(1)
	return DemoBackup{
		Instance:    ((seed % resources) + resources) % resources,
		Name:        fmt.Sprintf("bf-%d-%s-%d", seed, strconv.FormatInt(time.Now().UnixNano()%1e9, 36), n),
		Description: fmt.Sprintf("backupflow demo backup %d", seed),
	}
}

// DemoSections builds a family simulator's fixture request sections (its
// CreateSection and PlanSection) from its demo instances and its API's
// section type.
type DemoSections[S any] struct {
	// Resources is the number of numbered demo instances by default.
	Resources int
	// InstanceID names demo instance i.
	InstanceID func(i int) string
	// Section is the API's create section for a backup of an instance.
	Section func(instanceID, name, description string) S
}

// Create returns a valid create section for demo instance seed%Resources,
// with a name unique per call (see NewDemoBackup).
func (d DemoSections[S]) Create(seed int) json.RawMessage {
	b := NewDemoBackup(seed, d.Resources)
	return mustJSON(d.Section(d.InstanceID(b.Instance), b.Name, b.Description))
}

// Plan is Create as a plan target's request: the backup name
// "bf-<seed>-${time}" is new at each run.
func (d DemoSections[S]) Plan(seed int) json.RawMessage {
	b := NewDemoBackup(seed, d.Resources)
	return mustJSON(d.Section(d.InstanceID(b.Instance), fmt.Sprintf("bf-%d-%s", seed, plan.PlaceholderTime), b.Description))
}

func mustJSON(v any) json.RawMessage {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return raw
}
