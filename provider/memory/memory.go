// Package memory is an in-process provider: a fake cloud and its driver in
// one file. Core tests and experiments use it; it passes the same
// conformance suite as the real drivers, so it cannot drift from their
// contract. It has no cloud behind it, so no docs/providers page; where it
// has a driver package's parts it keeps their names (Driver, parse), and its
// package doc keeps their sections.
//
// # API calls
//
// None: every driver method works on the Cloud's state under its lock and
// counts as one call (Cloud.Calls); List makes one call a page of
// ListPageSize backups, as a paging API would. The token given to Cloud.Driver is
// checked on every call (Permission when it is wrong).
//
// # Idempotency and ownership
//
// A create stores the owner's marker with the backup. Find adopts the
// backup of the requested name on the requested resource only when it
// carries the marker and refuses one without it (provider.NotOurs;
// Cloud.AddForeign makes such a backup), so a retried Start after a lost
// response (Cloud.LoseNextCreate) adopts instead of creating again.
//
// # Cancel
//
// Cancel stops a running backup and deletes it at once, as Spanner's
// driver does. A backup that has ended cannot be stopped (false); the
// caller deletes it.
//
// # Errors
//
// Errors are *provider.Error from the start: Cloud.FailNext injects any
// class with a retry hint; a second backup of a resource while one runs is
// Busy, and so is deleting a backup still being made.
//
// # Limits
//
// Names are 1 to 63 characters, a backup takes at most 48 hours
// (durationSeconds), and one backup runs per resource at a time (parse and
// Start).
package memory

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
)

// Cloud is the fake provider's state.
type Cloud struct {
	mu       sync.Mutex
	clock    func() time.Time
	offset   time.Duration
	seq      int
	backups  map[string]*record
	calls    int
	loseNext bool
	dropNext bool
	faults   []fault
	token    string
}

type record struct {
	// Owner is the marker the creating call stored (a description, in a real
	// cloud's terms): the owner's provider.Owner.Marker, or "" for backups
	// made by somebody else.
	ID, Name, Resource, Owner, Source string
	Kind                              backup.Kind
	Started                           time.Time
	Duration                          time.Duration
	FailWith                          string
	Cancelled                         bool
}

type fault struct {
	class      provider.Class
	retryAfter time.Duration
}

// NewCloud returns an empty cloud that accepts the given access token.
func NewCloud(token string) *Cloud {
	return &Cloud{clock: time.Now, backups: map[string]*record{}, token: token}
}

// Driver returns a driver that presents token to the cloud.
func (c *Cloud) Driver(token string) *Driver { return &Driver{cloud: c, token: token} }

func (c *Cloud) now() time.Time { return c.clock().Add(c.offset) }

// Advance moves the cloud's clock forward.
func (c *Cloud) Advance(d time.Duration) { c.mu.Lock(); c.offset += d; c.mu.Unlock() }

// Inventory lists the IDs of every backup the cloud holds.
func (c *Cloud) Inventory() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := make([]string, 0, len(c.backups))
	for id := range c.backups {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Calls counts API calls received.
func (c *Cloud) Calls() int { c.mu.Lock(); defer c.mu.Unlock(); return c.calls }

// LoseNextCreate applies the next create and then fails as if its response was lost.
func (c *Cloud) LoseNextCreate() { c.mu.Lock(); c.loseNext = true; c.mu.Unlock() }

// DropNextCreate fails the next create before it applies, as if the request was lost.
func (c *Cloud) DropNextCreate() { c.mu.Lock(); c.dropNext = true; c.mu.Unlock() }

// AddForeign makes a backup of target as somebody else would: same resource
// and name, no marker. It returns the backup's ID.
func (c *Cloud) AddForeign(target provider.Target) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	r := &record{ID: fmt.Sprintf("mem-%04d", c.seq), Name: target.BackupName, Resource: target.Resource,
		Kind: backup.KindCreate, Started: c.now(), Duration: time.Second}
	c.backups[r.ID] = r
	return r.ID
}

// FailNext makes the next n calls fail with class.
func (c *Cloud) FailNext(class provider.Class, n int, retryAfter time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for range n {
		c.faults = append(c.faults, fault{class, retryAfter})
	}
}

// call records one API call, checks credentials and serves injected faults.
// The caller must hold c.mu.
func (c *Cloud) call(token string) error {
	c.calls++
	if token != c.token {
		return &provider.Error{Class: provider.Permission, Provider: backup.ProviderMemory, Code: "Unauthenticated", Message: "the access token is not valid"}
	}
	if len(c.faults) > 0 {
		f := c.faults[0]
		c.faults = c.faults[1:]
		return &provider.Error{Class: f.class, Provider: backup.ProviderMemory, Code: string(f.class), Message: "injected fault", RetryAfter: f.retryAfter}
	}
	return nil
}

func (r *record) status(now time.Time) provider.Status {
	started := r.Started
	st := provider.Status{StartedAt: &started}
	elapsed := now.Sub(r.Started)
	switch {
	case r.Cancelled:
		st.Phase, st.ProviderState, st.Percent = provider.PhaseCancelled, "CANCELLED", 0
	case elapsed < r.Duration:
		st.Phase, st.ProviderState = provider.PhaseRunning, "CREATING"
		st.Percent = 100 * float64(elapsed) / float64(r.Duration)
	case r.FailWith != "":
		st.Phase, st.ProviderState, st.Percent, st.Message = provider.PhaseFailed, "FAILED", 100, r.FailWith
	default:
		st.Phase, st.ProviderState, st.Percent = provider.PhaseSucceeded, "READY", 100
	}
	return st
}

// Driver is the memory provider's driver.
type Driver struct {
	cloud *Cloud
	token string
}

var _ provider.Driver = (*Driver)(nil)

func (*Driver) Name() string       { return backup.ProviderMemory }
func (*Driver) SupportsCopy() bool { return true }

var nameRule = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

const maxDuration = 48 * time.Hour

type spec struct {
	resource, name, source, failWith string
	duration                         time.Duration
}

func parse(kind backup.Kind, section json.RawMessage) (spec, error) {
	var s spec
	var seconds float64
	switch kind {
	case backup.KindCreate:
		var c backup.MemoryCreate
		if err := backup.DecodeStrict(section, &c); err != nil {
			return s, provider.Invalid("memory", "%v", err)
		}
		s = spec{resource: c.Target, name: c.Name, failWith: c.FailWith}
		seconds = c.DurationSeconds
	case backup.KindCopy:
		var c backup.MemoryCopy
		if err := backup.DecodeStrict(section, &c); err != nil {
			return s, provider.Invalid("memory", "%v", err)
		}
		if c.Source == "" {
			return s, provider.Invalid("memory.source", "is required: the ID of the backup to copy")
		}
		s = spec{resource: c.Target, name: c.Name, source: c.Source}
		seconds = c.DurationSeconds
	default:
		return s, provider.Invalid("kind", "unknown kind %q", kind)
	}
	if s.resource == "" {
		return s, provider.Invalid("memory.resource", "is required")
	}
	if !nameRule.MatchString(s.name) {
		return s, provider.Invalid("memory.name", "must be 1-63 characters: a lowercase letter, then lowercase letters, digits or '-'")
	}
	s.duration = time.Duration(seconds * float64(time.Second))
	if s.duration < 0 || s.duration > maxDuration {
		return s, provider.Invalid("memory.durationSeconds", "must be between 0 and %d", int(maxDuration.Seconds()))
	}
	return s, nil
}

// validate is the registered, config-free validation: parse, and the
// target (a copy's is the destination backup, resource/name).
func validate(kind backup.Kind, section json.RawMessage, _ time.Time) (provider.Target, error) {
	s, err := parse(kind, section)
	if err != nil {
		return provider.Target{}, err
	}
	target := s.resource
	if kind == backup.KindCopy {
		target = s.resource + "/" + s.name
	}
	return provider.Target{Resource: target, BackupName: s.name}, nil
}

func (d *Driver) Validate(kind backup.Kind, section json.RawMessage, now time.Time) (provider.Target, error) {
	return validate(kind, section, now)
}

func (d *Driver) Preflight(_ context.Context, job provider.Job) error {
	s, err := parse(job.Kind, job.Section)
	if err != nil {
		return err
	}
	c := d.cloud
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call(d.token); err != nil {
		return err
	}
	if s.source != "" {
		src, ok := c.backups[s.source]
		if !ok {
			return provider.Errorf(provider.NotFound, "source backup %q does not exist", s.source)
		}
		if st := src.status(c.now()); st.Phase != provider.PhaseSucceeded {
			return provider.Errorf(provider.Busy, "source backup %q is %s, not READY yet", s.source, st.ProviderState)
		}
	}
	return nil
}

func (r *record) operation() provider.Operation {
	return provider.Operation{ID: "op-" + r.ID, BackupID: r.ID, BackupName: r.Name, Resource: r.Resource, Kind: r.Kind, StartedAt: &r.Started}
}

// findLocked returns the backup named s.name on s.resource, if any. Caller holds c.mu.
func (c *Cloud) findLocked(s spec) *record {
	for _, r := range c.backups {
		if r.Resource == s.resource && r.Name == s.name {
			return r
		}
	}
	return nil
}

func (d *Driver) Find(_ context.Context, job provider.Job) (*provider.Operation, error) {
	s, err := parse(job.Kind, job.Section)
	if err != nil {
		return nil, err
	}
	c := d.cloud
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call(d.token); err != nil {
		return nil, err
	}
	r := c.findLocked(s)
	if r == nil {
		return nil, nil
	}
	if r.Owner != job.Owner.Marker() {
		return nil, provider.NotOurs(backup.ProviderMemory, []string{r.ID},
			fmt.Sprintf("backup %q on %s does not carry this workflow's marker", s.name, s.resource))
	}
	op := r.operation()
	return &op, nil
}

func (d *Driver) Start(ctx context.Context, job provider.Job) (provider.Operation, error) {
	s, err := parse(job.Kind, job.Section)
	if err != nil {
		return provider.Operation{}, err
	}
	if op, err := d.Find(ctx, job); err != nil || op != nil {
		if op != nil {
			return *op, nil
		}
		return provider.Operation{}, err
	}
	c := d.cloud
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call(d.token); err != nil {
		return provider.Operation{}, err
	}
	if c.dropNext {
		c.dropNext = false
		return provider.Operation{}, provider.Errorf(provider.Unavailable, "connection reset while sending the request")
	}
	now := c.now()
	for _, r := range c.backups {
		if r.Resource == s.resource && r.status(now).Phase == provider.PhaseRunning {
			return provider.Operation{}, provider.Errorf(provider.Busy, "%s already has a backup in progress (%s)", s.resource, r.Name)
		}
	}
	c.seq++
	r := &record{ID: fmt.Sprintf("mem-%04d", c.seq), Name: s.name, Resource: s.resource, Owner: job.Owner.Marker(),
		Source: s.source, Kind: job.Kind, Started: now, Duration: s.duration, FailWith: s.failWith}
	c.backups[r.ID] = r
	if c.loseNext {
		c.loseNext = false
		return provider.Operation{}, provider.Errorf(provider.Unavailable, "connection reset after the request was sent")
	}
	return r.operation(), nil
}

func (d *Driver) Poll(_ context.Context, op provider.Operation) (provider.Status, error) {
	c := d.cloud
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call(d.token); err != nil {
		return provider.Status{}, err
	}
	r, ok := c.backups[op.BackupID]
	if !ok {
		return provider.Status{Phase: provider.PhaseGone, ProviderState: "DELETED"}, nil
	}
	return r.status(c.now()), nil
}

func (d *Driver) Cancel(_ context.Context, op provider.Operation) (bool, error) {
	c := d.cloud
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call(d.token); err != nil {
		return false, err
	}
	r, ok := c.backups[op.BackupID]
	if !ok || r.status(c.now()).Phase != provider.PhaseRunning {
		return false, nil // too late: the caller deletes what finished
	}
	// Like Spanner: cancelling stops the work and deletes the backup.
	r.Cancelled = true
	delete(c.backups, r.ID)
	return true, nil
}

func (d *Driver) Delete(_ context.Context, op provider.Operation) error {
	c := d.cloud
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call(d.token); err != nil {
		return err
	}
	r, ok := c.backups[op.BackupID]
	if !ok {
		return nil
	}
	if r.status(c.now()).Phase == provider.PhaseRunning {
		return provider.Errorf(provider.Busy, "backup %s is still being created and cannot be deleted yet", r.ID)
	}
	delete(c.backups, r.ID)
	return nil
}

func (d *Driver) Describe(_ context.Context, op provider.Operation) (backup.Backup, error) {
	c := d.cloud
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call(d.token); err != nil {
		return backup.Backup{}, err
	}
	r, ok := c.backups[op.BackupID]
	if !ok {
		return backup.Backup{}, provider.Errorf(provider.NotFound, "backup %s does not exist", op.BackupID)
	}
	return r.summary(c.now()), nil
}

// summary is the record as Describe and List report it.
func (r *record) summary(now time.Time) backup.Backup {
	created := r.Started
	expire := r.Started.Add(7 * 24 * time.Hour)
	size := int64(1 << 20)
	st := r.status(now)
	rec, _ := json.Marshal(map[string]any{"id": r.ID, "name": r.Name, "resource": r.Resource, "state": st.ProviderState, "source": r.Source})
	return backup.Backup{ID: r.ID, Name: r.Name, State: st.ProviderState, CreateTime: &created, ExpireTime: &expire, SizeBytes: &size, Record: rec}
}

// ListPageSize is how many backups one page of the cloud's list holds; List
// follows the pages as a real driver must.
const ListPageSize = 2

// List returns the backups at resource (a copy's destination backup,
// resource/name, lists its resource), a page of ListPageSize at a time.
func (d *Driver) List(_ context.Context, kind backup.Kind, resource string) ([]backup.Backup, error) {
	if kind == backup.KindCopy {
		if i := strings.LastIndex(resource, "/"); i > 0 {
			resource = resource[:i]
		}
	}
	var out []backup.Backup
	for token := ""; ; {
		page, next, err := d.cloud.listPage(d.token, resource, token)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" {
			return out, nil
		}
		token = next
	}
}

// listPage is one call of the cloud's list: the backups at resource after
// token (an ID; "" for the first page), by ID, and the next page's token.
func (c *Cloud) listPage(token, resource, after string) ([]backup.Backup, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call(token); err != nil {
		return nil, "", err
	}
	var ids []string
	for id, r := range c.backups {
		if r.Resource == resource && id > after {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	next := ""
	if len(ids) > ListPageSize {
		ids, next = ids[:ListPageSize], ids[ListPageSize-1]
	}
	out := make([]backup.Backup, 0, len(ids))
	for _, id := range ids {
		out = append(out, c.backups[id].summary(c.now()))
	}
	return out, next, nil
}

// AddBackups makes n backups at resource as somebody else made them earlier,
// ended by now, and returns their IDs.
func (c *Cloud) AddBackups(resource string, n int) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := make([]string, 0, n)
	for range n {
		c.seq++
		r := &record{ID: fmt.Sprintf("mem-%04d", c.seq), Name: fmt.Sprintf("listed-%d", c.seq), Resource: resource,
			Kind: backup.KindCreate, Started: c.now().Add(-time.Second), Duration: time.Second}
		c.backups[r.ID] = r
		ids = append(ids, r.ID)
	}
	return ids
}
