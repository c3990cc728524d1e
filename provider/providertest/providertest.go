// Package providertest is the conformance suite every provider driver must
// pass against its simulator, through the provider's official SDK. It is the
// definition of "done" for a new driver (the idea of gocloud.dev's drivertest).
package providertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/simulator/simkit"
)

// Harness describes one driver under test.
type Harness struct {
	// NewDriver returns a fresh driver talking to the simulator; the suite calls
	// it more than once to prove operations resume across processes.
	NewDriver func(t *testing.T) provider.Driver
	// NewDriverWithBadCredentials returns a driver whose credentials the simulator refuses.
	NewDriverWithBadCredentials func(t *testing.T) provider.Driver
	// Backend controls the simulator the drivers talk to.
	Backend simkit.Backend
	// Create returns a valid create section for a resource nobody else uses;
	// tests pass distinct seeds so targets never collide.
	Create func(seed int) json.RawMessage
	// Copy returns a valid copy section of the given source backup ID (providers with copy only).
	Copy func(seed int, sourceBackupID string) json.RawMessage
	// Duration is how long a simulated backup runs (Advance by more to finish one).
	Duration time.Duration
	// Invalid lists every documented constraint, each as a request that breaks it.
	Invalid []InvalidCase
	// ProofByCreateResponseOnly says the provider keeps no caller-set data
	// with a backup, so only the ID its create call returns proves ownership:
	// a backup whose create response was lost cannot be adopted. The suite
	// then expects Find to name it as unproven (NotOurs) and nothing deleted.
	ProofByCreateResponseOnly bool
	// PageSize is the most backups one page of the simulator's backup list
	// holds, set small so the List tests make more backups than one page.
	PageSize int
	// AddBackups makes n finished backups at resource (a Target.Resource of
	// a create) as somebody else would, and returns their IDs as List
	// reports them.
	AddBackups func(resource string, n int) []string
}

// InvalidCase is a request that breaks one documented constraint.
type InvalidCase struct {
	Name    string
	Kind    backup.Kind
	Section json.RawMessage
	// Field is the request field the error must name (e.g. "backup.expireTime").
	Field string
}

// Run runs the whole conformance suite. makeHarness builds a fresh harness
// for every subtest (a simulator of its own, started for t and closed by
// t.Cleanup), so no subtest sees what another left behind.
func Run(t *testing.T, makeHarness func(t *testing.T) Harness) {
	sub := func(name string, test func(*testing.T, Harness)) {
		t.Run(name, func(t *testing.T) { test(t, makeHarness(t)) })
	}
	sub("CreatePollDescribe", testCreatePollDescribe)
	sub("ResumeFromFreshDriver", testResume)
	sub("StartTwiceAdopts", testStartTwice)
	sub("AdoptAfterLostResponse", testLostResponse)
	sub("FindBeforeStartFindsNothing", testFindNothing)
	sub("ForeignBeforeStartIsNeverOurs", testForeignBeforeStart)
	sub("ForeignDuringWaitIsNeverOurs", testForeignDuringWait)
	sub("ForeignAfterDroppedCreateIsNeverOurs", testForeignAfterDroppedCreate)
	sub("CancelWhileRunningLeavesNothing", testCancelRunning)
	sub("DeleteAfterSuccessLeavesNothing", testDeleteAfterSuccess)
	sub("ErrorClasses", testErrorClasses)
	sub("BadCredentialsArePermission", testBadCredentials)
	sub("InvalidRejectedBeforeAnyCall", testInvalid)
	sub("ListShowsOurBackup", testListShowsOurBackup)
	sub("ListOfEmptyResource", testListOfEmptyResource)
	sub("ListPages", testListPages)
	sub("ListDoesNotLeakOthersResource", testListDoesNotLeak)
	sub("DeleteByRecordedIdentifiers", testDeleteByRecordedIdentifiers)
	offersCopy := false
	sub("SupportsCopyAgreesWithHarness", func(t *testing.T, h Harness) {
		offersCopy = h.Copy != nil
		testSupportsCopy(t, h)
	})
	if offersCopy {
		sub("CopyFromReadySource", testCopy)
	}
}

// testSupportsCopy checks the driver says it can copy exactly when the
// harness offers copy sections: a driver that copies must be tested copying,
// and a harness must not offer copies to a driver that cannot make them.
func testSupportsCopy(t *testing.T, h Harness) {
	d := h.NewDriver(t)
	if h.Copy != nil {
		assert.True(t, d.SupportsCopy(), "the harness offers Copy, so the driver must support copying")
	} else {
		assert.False(t, d.SupportsCopy(), "the driver supports copying, so the harness must offer Copy")
	}
}

var seedCounter = 1000

func nextSeed() int { seedCounter++; return seedCounter }

// Job returns a job owned by a fresh owner.
func Job(kind backup.Kind, section json.RawMessage) provider.Job {
	return provider.Job{Kind: kind, Section: section, Owner: provider.Owner{
		WorkflowID: fmt.Sprintf("conformance-%d", time.Now().UnixNano()),
		RunID:      "run-1",
		StartedAt:  time.Now().Add(-time.Second).UTC(),
	}}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func startValid(t *testing.T, h Harness, d provider.Driver, job provider.Job) provider.Operation {
	t.Helper()
	_, err := d.Validate(job.Kind, job.Section, time.Now())
	require.NoError(t, err)
	require.NoError(t, d.Preflight(ctx(t), job))
	op, err := d.Start(ctx(t), job)
	require.NoError(t, err)
	require.NotEmpty(t, op.ID, "operation ID")
	return op
}

// pollUntilDone advances the simulator and polls until the operation ends.
func pollUntilDone(t *testing.T, h Harness, d provider.Driver, op provider.Operation) provider.Status {
	t.Helper()
	for i := 0; i < 20; i++ {
		st, err := d.Poll(ctx(t), op)
		require.NoError(t, err)
		if st.Phase.Done() {
			return st
		}
		h.Backend.Advance(h.Duration / 4)
	}
	t.Fatalf("operation %s did not end after 20 polls", op.ID)
	return provider.Status{}
}

func inventoryContains(h Harness, id string) bool {
	for _, b := range h.Backend.Inventory() {
		if b == id {
			return true
		}
	}
	return false
}

func testCreatePollDescribe(t *testing.T, h Harness) {
	d := h.NewDriver(t)
	job := Job(backup.KindCreate, h.Create(nextSeed()))
	op := startValid(t, h, d, job)

	first, err := d.Poll(ctx(t), op)
	require.NoError(t, err)
	require.Equal(t, provider.PhaseRunning, first.Phase, "a new backup is still running")
	h.Backend.Advance(h.Duration / 2)
	mid, err := d.Poll(ctx(t), op)
	require.NoError(t, err)
	require.Equal(t, provider.PhaseRunning, mid.Phase)
	assert.Greater(t, mid.Percent, first.Percent, "progress rises")
	assert.Less(t, mid.Percent, 100.0)

	h.Backend.Advance(h.Duration)
	final, err := d.Poll(ctx(t), op)
	require.NoError(t, err)
	require.Equal(t, provider.PhaseSucceeded, final.Phase, final.Message)

	b, err := d.Describe(ctx(t), op)
	require.NoError(t, err)
	assert.NotEmpty(t, b.ID)
	assert.NotEmpty(t, b.State)
	assert.NotEmpty(t, b.Record, "the provider's final record")
	assert.True(t, json.Valid(b.Record))
	assert.True(t, inventoryContains(h, b.ID), "inventory %v holds %s", h.Backend.Inventory(), b.ID)
}

func testResume(t *testing.T, h Harness) {
	job := Job(backup.KindCreate, h.Create(nextSeed()))
	op := startValid(t, h, h.NewDriver(t), job)
	// The operation is only data: it round-trips through JSON (workflow history).
	raw, err := json.Marshal(op)
	require.NoError(t, err)
	var resumed provider.Operation
	require.NoError(t, json.Unmarshal(raw, &resumed))
	h.Backend.Advance(2 * h.Duration)
	st := pollUntilDone(t, h, h.NewDriver(t), resumed)
	require.Equal(t, provider.PhaseSucceeded, st.Phase, st.Message)
}

func testStartTwice(t *testing.T, h Harness) {
	d := h.NewDriver(t)
	job := Job(backup.KindCreate, h.Create(nextSeed()))
	before := len(h.Backend.Inventory())
	op1 := startValid(t, h, d, job)
	// A second attempt (its first's answer lost to a crash) does what the
	// activity does: look for the owner's operation, else start.
	op2, err := retryStart(t, h.NewDriver(t), job)
	assert.Len(t, h.Backend.Inventory(), before+1, "exactly one backup")
	if h.ProofByCreateResponseOnly {
		requireNotOurs(t, err, "")
		return
	}
	require.NoError(t, err, "a second start by the same owner adopts the first")
	assert.Equal(t, op1.ID, op2.ID)
	assert.Equal(t, op1.BackupID, op2.BackupID)
	h.Backend.Advance(2 * h.Duration)
	pollUntilDone(t, h, d, op1)
}

// retryStart is a retried StartOperation attempt: adopt the owner's
// operation if Find proves one, else start.
func retryStart(t *testing.T, d provider.Driver, job provider.Job) (provider.Operation, error) {
	t.Helper()
	found, err := d.Find(ctx(t), job)
	if err != nil {
		return provider.Operation{}, err
	}
	if found != nil {
		return *found, nil
	}
	return d.Start(ctx(t), job)
}

// requireNotOurs checks err is the refusal to adopt an unproven backup,
// naming id (any backup when id is empty).
func requireNotOurs(t *testing.T, err error, id string) {
	t.Helper()
	require.Error(t, err, "an unproven backup must not be adopted")
	require.Equal(t, provider.AlreadyExists, provider.ClassOf(err), "%v", err)
	unproven := provider.UnprovenOf(err)
	require.NotEmpty(t, unproven, "the error lists the backups it will not touch: %v", err)
	if id != "" {
		assert.Contains(t, unproven, id)
		assert.Contains(t, err.Error(), id, "the message names the backup")
	}
}

func testLostResponse(t *testing.T, h Harness) {
	d := h.NewDriver(t)
	job := Job(backup.KindCreate, h.Create(nextSeed()))
	_, err := d.Validate(job.Kind, job.Section, time.Now())
	require.NoError(t, err)
	before := h.Backend.Inventory()
	h.Backend.LoseNextCreate()
	_, err = d.Start(ctx(t), job)
	require.Error(t, err, "the response was lost")
	require.True(t, provider.ClassOf(err).Retryable(), "a lost response is retryable, got %v", err)
	made := added(before, h.Backend.Inventory())
	require.Len(t, made, 1, "the provider applied the create")

	// What the activity does on its next attempt: find, else start.
	found, err := d.Find(ctx(t), job)
	if h.ProofByCreateResponseOnly {
		requireNotOurs(t, err, made[0])
		_, err = retryStart(t, d, job)
		requireNotOurs(t, err, made[0])
		assert.ElementsMatch(t, append(before, made...), h.Backend.Inventory(), "nothing more made, nothing deleted")
		return
	}
	require.NoError(t, err)
	require.NotNil(t, found, "Find adopts the backup the lost attempt started (its marker proves it)")
	op, err := d.Start(ctx(t), job)
	require.NoError(t, err, "Start adopts it too")
	assert.Equal(t, found.ID, op.ID)
	assert.Len(t, h.Backend.Inventory(), len(before)+1, "still exactly one backup")
	h.Backend.Advance(2 * h.Duration)
	st := pollUntilDone(t, h, d, op)
	require.Equal(t, provider.PhaseSucceeded, st.Phase)
}

// added lists the IDs in after that are not in before.
func added(before, after []string) []string {
	var out []string
	for _, id := range after {
		if !slices.Contains(before, id) {
			out = append(out, id)
		}
	}
	return out
}

func testFindNothing(t *testing.T, h Harness) {
	d := h.NewDriver(t)
	job := Job(backup.KindCreate, h.Create(nextSeed()))
	found, err := d.Find(ctx(t), job)
	require.NoError(t, err)
	assert.Nil(t, found)
}

func testForeignBeforeStart(t *testing.T, h Harness) {
	job := Job(backup.KindCreate, h.Create(nextSeed()))
	foreign := h.Backend.AddForeign(target(t, h, job))
	job.Owner.StartedAt = time.Now().Add(time.Second).UTC() // the workflow starts after it
	checkForeignKept(t, h, job, foreign, false)
}

// A person starts a same-name backup while the workflow waits (a busy
// instance, a source not ready): after the workflow started, before its create.
func testForeignDuringWait(t *testing.T, h Harness) {
	job := Job(backup.KindCreate, h.Create(nextSeed()))
	foreign := h.Backend.AddForeign(target(t, h, job))
	checkForeignKept(t, h, job, foreign, false)
}

// The workflow's create never reached the provider; before its retry, a
// person makes a same-name backup.
func testForeignAfterDroppedCreate(t *testing.T, h Harness) {
	job := Job(backup.KindCreate, h.Create(nextSeed()))
	d := h.NewDriver(t)
	require.NoError(t, d.Preflight(ctx(t), job))
	h.Backend.DropNextCreate()
	_, err := d.Start(ctx(t), job)
	require.Error(t, err, "the create was dropped")
	require.True(t, provider.ClassOf(err).Retryable(), "a dropped create is retryable, got %v", err)
	foreign := h.Backend.AddForeign(target(t, h, job))
	checkForeignKept(t, h, job, foreign, true)
}

func target(t *testing.T, h Harness, job provider.Job) provider.Target {
	t.Helper()
	tg, err := h.NewDriver(t).Validate(job.Kind, job.Section, time.Now())
	require.NoError(t, err)
	return tg
}

// checkForeignKept runs the owner's start as the activity would (retried
// while the provider is busy) and then the cleanup's search, and checks the
// foreign backup is never taken as the owner's and survives. Either the
// start refuses it as unproven, or the owner gets a backup of its own.
func checkForeignKept(t *testing.T, h Harness, job provider.Job, foreign string, retried bool) {
	t.Helper()
	d := h.NewDriver(t)
	var op provider.Operation
	var err error
	for attempt := 1; attempt <= 10; attempt++ {
		if attempt == 1 && !retried {
			op, err = d.Start(ctx(t), job)
		} else {
			op, err = retryStart(t, d, job)
		}
		if err == nil || !provider.ClassOf(err).Retryable() {
			break
		}
		h.Backend.Advance(h.Duration) // the busy instance clears
	}
	if err != nil {
		requireNotOurs(t, err, foreign)
	} else {
		assert.NotEqual(t, foreign, op.BackupID, "the foreign backup is not the owner's operation")
		h.Backend.Advance(2 * h.Duration)
		require.Equal(t, provider.PhaseSucceeded, pollUntilDone(t, h, d, op).Phase)
		b, err := d.Describe(ctx(t), op)
		require.NoError(t, err)
		assert.NotEqual(t, foreign, b.ID, "the result is the owner's own backup")
		cleanup(t, h, d, op)
	}
	// The cleanup activity's search when the workflow holds no operation.
	found, err := d.Find(ctx(t), job)
	if err != nil {
		requireNotOurs(t, err, foreign)
	} else if found != nil {
		assert.NotEqual(t, foreign, found.BackupID, "Find never returns the foreign backup")
	}
	assert.True(t, inventoryContains(h, foreign), "the foreign backup %s survives: %v", foreign, h.Backend.Inventory())
}

// cleanup is the sequence the Cleanup activity runs: cancel where possible,
// wait for the end, delete what exists.
func cleanup(t *testing.T, h Harness, d provider.Driver, op provider.Operation) {
	t.Helper()
	_, err := d.Cancel(ctx(t), op)
	require.NoError(t, err)
	st := pollUntilDone(t, h, d, op)
	if st.Phase == provider.PhaseSucceeded || st.Phase == provider.PhaseFailed {
		require.NoError(t, d.Delete(ctx(t), op))
	}
	require.NoError(t, d.Delete(ctx(t), op), "deleting twice is not an error")
}

func testCancelRunning(t *testing.T, h Harness) {
	d := h.NewDriver(t)
	before := h.Backend.Inventory()
	op := startValid(t, h, d, Job(backup.KindCreate, h.Create(nextSeed())))
	h.Backend.Advance(h.Duration / 3)
	cleanup(t, h, d, op)
	assert.ElementsMatch(t, before, h.Backend.Inventory(), "nothing left behind")
}

func testDeleteAfterSuccess(t *testing.T, h Harness) {
	d := h.NewDriver(t)
	before := h.Backend.Inventory()
	op := startValid(t, h, d, Job(backup.KindCreate, h.Create(nextSeed())))
	h.Backend.Advance(2 * h.Duration)
	require.Equal(t, provider.PhaseSucceeded, pollUntilDone(t, h, d, op).Phase)
	// A cancel that loses the race against completion: the backup exists, delete it.
	cleanup(t, h, d, op)
	assert.ElementsMatch(t, before, h.Backend.Inventory(), "nothing left behind")
}

func testErrorClasses(t *testing.T, h Harness) {
	d := h.NewDriver(t)
	job := Job(backup.KindCreate, h.Create(nextSeed()))
	op := startValid(t, h, d, job)

	h.Backend.FailNext(provider.Unavailable, 1, 0)
	_, err := d.Poll(ctx(t), op)
	require.Error(t, err)
	assert.Equal(t, provider.Unavailable, provider.ClassOf(err), "%v", err)
	assert.True(t, provider.ClassOf(err).Retryable())

	h.Backend.FailNext(provider.Throttled, 1, 7*time.Second)
	_, err = d.Poll(ctx(t), op)
	require.Error(t, err)
	var pe *provider.Error
	require.True(t, errors.As(err, &pe), "%T %v", err, err)
	assert.Equal(t, provider.Throttled, pe.Class)
	assert.GreaterOrEqual(t, pe.RetryAfter, 7*time.Second, "the provider's retry hint is kept")

	h.Backend.Advance(2 * h.Duration)
	require.Equal(t, provider.PhaseSucceeded, pollUntilDone(t, h, d, op).Phase)
}

func testBadCredentials(t *testing.T, h Harness) {
	if h.NewDriverWithBadCredentials == nil {
		t.Fatal("every driver authenticates: provide NewDriverWithBadCredentials")
	}
	d := h.NewDriverWithBadCredentials(t)
	job := Job(backup.KindCreate, h.Create(nextSeed()))
	before := len(h.Backend.Inventory())
	err := d.Preflight(ctx(t), job)
	if err == nil {
		_, err = d.Start(ctx(t), job)
	}
	require.Error(t, err)
	assert.Equal(t, provider.Permission, provider.ClassOf(err), "%v", err)
	assert.False(t, provider.ClassOf(err).Retryable(), "wrong credentials must not be retried")
	assert.Len(t, h.Backend.Inventory(), before)
}

func testInvalid(t *testing.T, h Harness) {
	require.NotEmpty(t, h.Invalid, "list every documented constraint")
	d := h.NewDriver(t)
	calls := h.Backend.Calls()
	for _, c := range h.Invalid {
		t.Run(c.Name, func(t *testing.T) {
			_, err := d.Validate(c.Kind, c.Section, time.Now())
			require.Error(t, err, "%s must be rejected", c.Section)
			var pe *provider.Error
			require.True(t, errors.As(err, &pe), "%T %v", err, err)
			assert.Equal(t, provider.InvalidArgument, pe.Class)
			assert.Equal(t, c.Field, pe.Field, "error names the field: %v", err)
			assert.NotEmpty(t, pe.Rule, "error states the rule")
		})
	}
	assert.Equal(t, calls, h.Backend.Calls(), "validation makes no provider call")
}

func testCopy(t *testing.T, h Harness) {
	d := h.NewDriver(t)
	src := startValid(t, h, d, Job(backup.KindCreate, h.Create(nextSeed())))
	h.Backend.Advance(2 * h.Duration)
	require.Equal(t, provider.PhaseSucceeded, pollUntilDone(t, h, d, src).Phase)
	srcBackup, err := d.Describe(ctx(t), src)
	require.NoError(t, err)

	cp := startValid(t, h, d, Job(backup.KindCopy, h.Copy(nextSeed(), srcBackup.ID)))
	h.Backend.Advance(2 * h.Duration)
	require.Equal(t, provider.PhaseSucceeded, pollUntilDone(t, h, d, cp).Phase)
	dst, err := d.Describe(ctx(t), cp)
	require.NoError(t, err)
	assert.NotEqual(t, srcBackup.ID, dst.ID, "the copy is a new backup")
	assert.True(t, inventoryContains(h, dst.ID))

	before := h.Backend.Inventory()
	cp2 := startValid(t, h, d, Job(backup.KindCopy, h.Copy(nextSeed(), srcBackup.ID)))
	cleanup(t, h, d, cp2)
	assert.ElementsMatch(t, before, h.Backend.Inventory(), "a cancelled copy leaves nothing")
}

// finished creates a backup through d and polls it to success; it returns
// the job, its target, the operation and the backup's final record.
func finished(t *testing.T, h Harness, d provider.Driver, seed int) (provider.Job, provider.Target, provider.Operation, backup.Backup) {
	t.Helper()
	job := Job(backup.KindCreate, h.Create(seed))
	tg := target(t, h, job)
	op := startValid(t, h, d, job)
	h.Backend.Advance(2 * h.Duration)
	require.Equal(t, provider.PhaseSucceeded, pollUntilDone(t, h, d, op).Phase)
	b, err := d.Describe(ctx(t), op)
	require.NoError(t, err)
	return job, tg, op, b
}

func listed(t *testing.T, d provider.Driver, kind backup.Kind, resource string) map[string]backup.Backup {
	t.Helper()
	list, err := d.List(ctx(t), kind, resource)
	require.NoError(t, err, "List %s", resource)
	out := map[string]backup.Backup{}
	for _, b := range list {
		_, dup := out[b.ID]
		require.False(t, dup, "List returns backup %s twice", b.ID)
		require.NotEmpty(t, b.ID)
		require.NotEmpty(t, b.State, "every listed backup has a state")
		out[b.ID] = b
	}
	return out
}

func testListShowsOurBackup(t *testing.T, h Harness) {
	d := h.NewDriver(t)
	job, tg, _, b := finished(t, h, d, nextSeed())
	got := listed(t, h.NewDriver(t), job.Kind, tg.Resource)
	require.Contains(t, got, b.ID, "List of %s shows the backup just made", tg.Resource)
	l := got[b.ID]
	assert.Equal(t, b.Name, l.Name)
	assert.Equal(t, b.State, l.State, "List and Describe agree on the state")
	if b.CreateTime != nil {
		require.NotNil(t, l.CreateTime)
		assert.True(t, b.CreateTime.Equal(*l.CreateTime), "create times %v and %v", b.CreateTime, l.CreateTime)
	}
	assert.Equal(t, b.SizeBytes != nil, l.SizeBytes != nil, "List reports a size exactly when Describe does")
}

func testListOfEmptyResource(t *testing.T, h Harness) {
	tg := target(t, h, Job(backup.KindCreate, h.Create(nextSeed())))
	got, err := h.NewDriver(t).List(ctx(t), backup.KindCreate, tg.Resource)
	require.NoError(t, err)
	assert.Empty(t, got, "nothing was made at %s", tg.Resource)
}

func testListPages(t *testing.T, h Harness) {
	require.Positive(t, h.PageSize, "the simulator must page its backup list: set Harness.PageSize")
	require.NotNil(t, h.AddBackups, "provide Harness.AddBackups")
	tg := target(t, h, Job(backup.KindCreate, h.Create(nextSeed())))
	n := 2*h.PageSize + 1
	made := h.AddBackups(tg.Resource, n)
	require.Len(t, made, n)
	d := h.NewDriver(t)
	calls := h.Backend.Calls()
	got := listed(t, d, backup.KindCreate, tg.Resource)
	assert.ElementsMatch(t, made, slices.Collect(maps.Keys(got)), "every page is followed, nothing else is listed")
	assert.GreaterOrEqual(t, h.Backend.Calls()-calls, 3, "%d backups at %d a page take three pages at least", n, h.PageSize)
}

func testListDoesNotLeak(t *testing.T, h Harness) {
	require.NotNil(t, h.AddBackups, "provide Harness.AddBackups")
	d := h.NewDriver(t)
	job, ours, _, b := finished(t, h, d, nextSeed())
	other := target(t, h, Job(backup.KindCreate, h.Create(nextSeed())))
	require.NotEqual(t, ours.Resource, other.Resource, "the harness gives distinct seeds distinct resources")
	theirs := h.AddBackups(other.Resource, 1)

	atOurs := listed(t, d, job.Kind, ours.Resource)
	assert.Contains(t, atOurs, b.ID)
	assert.NotContains(t, atOurs, theirs[0], "a backup of %s is not listed at %s", other.Resource, ours.Resource)
	atOther := listed(t, d, job.Kind, other.Resource)
	assert.Contains(t, atOther, theirs[0])
	assert.NotContains(t, atOther, b.ID, "our backup is not listed at %s", other.Resource)
}

// testDeleteByRecordedIdentifiers deletes a backup as retention does, long
// after its workflow ended: through an Operation rebuilt from what a Result
// reports (operation ID, backup ID and name, resource, kind) and nothing else.
func testDeleteByRecordedIdentifiers(t *testing.T, h Harness) {
	job, tg, op, b := finished(t, h, h.NewDriver(t), nextSeed())
	recorded := provider.Operation{ID: op.ID, BackupID: b.ID, BackupName: b.Name, Resource: tg.Resource, Kind: job.Kind}
	raw, err := json.Marshal(recorded)
	require.NoError(t, err)
	var rebuilt provider.Operation
	require.NoError(t, json.Unmarshal(raw, &rebuilt))

	d := h.NewDriver(t)
	require.NoError(t, d.Delete(ctx(t), rebuilt))
	h.Backend.Advance(2 * h.Duration) // a provider that deletes in the background has finished
	assert.NotContains(t, listed(t, d, job.Kind, tg.Resource), b.ID, "the deleted backup is no longer listed")
	assert.False(t, inventoryContains(h, b.ID), "the provider no longer holds %s", b.ID)
	require.NoError(t, d.Delete(ctx(t), rebuilt), "deleting again is not an error")
}
