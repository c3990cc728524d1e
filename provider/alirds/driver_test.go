package alirds_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/alirds"
	"github.com/backupflow/backupflow/provider/providertest"
	"github.com/backupflow/backupflow/simulator/alirdssim"
)

// TestFaultsThroughTheSDK: the simulator's injected answers reach the driver
// through the SDK and come out in the right class, with provider details.
func TestFaultsThroughTheSDK(t *testing.T) {
	s := startSim(t)
	d := newDriver(t, simConfig(s))
	job := providertest.Job(backup.KindCreate, alirdssim.CreateSection(30))
	cases := []struct {
		class  provider.Class
		code   string
		status int
	}{
		{provider.Throttled, "Throttling.User", 400},
		{provider.Unavailable, "ServiceUnavailable", 503},
		{provider.Internal, "InternalError", 500},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			s.FailNext(c.class, 1, 3*time.Second)
			err := d.Preflight(testCtx(t), job)
			var pe *provider.Error
			require.True(t, errors.As(err, &pe), "%T %v", err, err)
			assert.Equal(t, c.class, pe.Class)
			assert.True(t, pe.Class.Retryable())
			assert.Equal(t, c.code, pe.Code)
			assert.Equal(t, c.status, pe.HTTPStatus)
			assert.NotEmpty(t, pe.RequestID)
			assert.NotEmpty(t, pe.Message)
			if c.class == provider.Throttled {
				assert.Equal(t, 3*time.Second, pe.RetryAfter)
			}
		})
	}
	require.NoError(t, d.Preflight(testCtx(t), job), "faults are used up")
}

func TestWrongSecretIsPermission(t *testing.T) {
	s := startSim(t)
	cfg := simConfig(s)
	cfg.AccessKeySecret = "not-the-secret"
	d := newDriver(t, cfg)
	err := d.Preflight(testCtx(t), providertest.Job(backup.KindCreate, alirdssim.CreateSection(31)))
	var pe *provider.Error
	require.True(t, errors.As(err, &pe), "%T %v", err, err)
	assert.Equal(t, provider.Permission, pe.Class)
	assert.Equal(t, "SignatureDoesNotMatch", pe.Code)
	assert.Equal(t, 400, pe.HTTPStatus)
}

func TestUnknownKeyIsPermission(t *testing.T) {
	s := startSim(t)
	cfg := simConfig(s)
	cfg.AccessKeyID = "LTAI5tUnknown"
	d := newDriver(t, cfg)
	_, err := d.Start(testCtx(t), providertest.Job(backup.KindCreate, alirdssim.CreateSection(32)))
	var pe *provider.Error
	require.True(t, errors.As(err, &pe), "%T %v", err, err)
	assert.Equal(t, provider.Permission, pe.Class)
	assert.Equal(t, "InvalidAccessKeyId.NotFound", pe.Code)
	assert.Equal(t, 404, pe.HTTPStatus)
	assert.Equal(t, 1, s.CallsOf("CreateBackup"), "Start makes one call, refused")
}

// TestDeadlineBoundsTheCall: SDK calls take no context; provider.Call and the
// client's timeouts still bound them.
func TestDeadlineBoundsTheCall(t *testing.T) {
	s := startSim(t)
	d := newDriver(t, simConfig(s))
	s.SetLatency(3 * time.Second)
	t.Cleanup(func() { s.SetLatency(0) })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := d.Poll(ctx, provider.Operation{ID: "5073731", Resource: alirdssim.MySQLInstanceID(33)})
	require.Error(t, err)
	assert.Equal(t, provider.Unavailable, provider.ClassOf(err), "%v", err)

	cfg := simConfig(s)
	cfg.ReadTimeout = 100 * time.Millisecond
	short := newDriver(t, cfg)
	_, err = short.Poll(testCtx(t), provider.Operation{ID: "5073731", Resource: alirdssim.MySQLInstanceID(33)})
	require.Error(t, err)
	assert.Equal(t, provider.Unavailable, provider.ClassOf(err), "the SDK's read timeout: %v", err)
}

// TestLostCreateIsKeptNotAdopted: CreateBackup applies and its answer is
// lost; the backup finishes before the retry looks. Nothing proves it is
// ours, so Find and every retried start refuse it by name (AlreadyExists),
// nothing is created again and nothing is deleted.
func TestLostCreateIsKeptNotAdopted(t *testing.T) {
	s := startSim(t)
	d := newDriver(t, simConfig(s))
	job := providertest.Job(backup.KindCreate, alirdssim.CreateSection(41)) // logical, db01
	before := s.Inventory()
	s.LoseNextCreate()
	_, err := d.Start(testCtx(t), job)
	require.True(t, provider.ClassOf(err).Retryable(), "%v", err)
	s.Advance(2 * simDuration)
	made := added(before, s.Inventory())
	require.Len(t, made, 1)

	for range 2 { // Find, then the activity's next attempt does the same
		found, err := newDriver(t, simConfig(s)).Find(testCtx(t), job)
		assert.Nil(t, found)
		assert.Equal(t, provider.AlreadyExists, provider.ClassOf(err), "%v", err)
		assert.Equal(t, made, provider.UnprovenOf(err))
		assert.Contains(t, err.Error(), made[0])
		assert.Contains(t, err.Error(), "only the BackupJobId returned by backupflow's own CreateBackup proves ownership")
		assert.Contains(t, err.Error(), "will not be deleted")
	}
	assert.Equal(t, 1, s.CallsOf("CreateBackup"), "not created again")
	assert.Zero(t, s.CallsOf("DeleteBackup"))
	assert.ElementsMatch(t, append(before, made...), s.Inventory())
}

// added returns the IDs in after that are not in before.
func added(before, after []string) []string {
	var out []string
	for _, id := range after {
		if !slices.Contains(before, id) {
			out = append(out, id)
		}
	}
	return out
}

// TestFindWindow: Find names every manual backup of the instance that began
// at or after the owner's start, less the clock skew allowance, whatever its
// method; older ones and the policy's automated ones are not candidates.
func TestFindWindow(t *testing.T) {
	s := startSim(t)
	d := newDriver(t, simConfig(s))

	found, err := d.Find(testCtx(t), providertest.Job(backup.KindCreate, create(map[string]any{"DBInstanceId": alirdssim.BusyInstance})))
	require.NoError(t, err, "the ongoing automated task is the policy's")
	assert.Nil(t, found)

	id := alirdssim.MySQLInstanceID(42)
	t0, before := s.Now(), s.Inventory()
	_, err = d.Start(testCtx(t), providertest.Job(backup.KindCreate, create(map[string]any{"DBInstanceId": id})))
	require.NoError(t, err)
	s.Advance(2 * simDuration)
	set := added(before, s.Inventory())
	require.Len(t, set, 1)

	later := providertest.Job(backup.KindCreate, create(map[string]any{"DBInstanceId": id, "BackupMethod": "Logical"}))
	later.Owner.StartedAt = t0.Add(alirds.ClockSkew + time.Minute)
	found, err = d.Find(testCtx(t), later)
	require.NoError(t, err, "a set older than the owner by more than the skew is not a candidate")
	assert.Nil(t, found)

	later.Owner.StartedAt = t0.Add(time.Minute)
	found, err = d.Find(testCtx(t), later)
	assert.Nil(t, found)
	require.Equal(t, provider.AlreadyExists, provider.ClassOf(err), "within the skew, and of another method: still named, never adopted: %v", err)
	assert.Equal(t, set, provider.UnprovenOf(err))
	assert.Contains(t, s.Inventory(), set[0], "and not deleted")
}

// TestForeignSetAfterOurFailedTaskIsNeverOurs: our task fails and stops
// being listed; somebody else's manual backup then finishes on the same
// instance. Our operation never takes that set: Poll waits for our task,
// Describe and Delete refuse to act, and the set survives.
func TestForeignSetAfterOurFailedTaskIsNeverOurs(t *testing.T) {
	s := startSim(t)
	d := newDriver(t, simConfig(s))
	id := alirdssim.MySQLInstanceID(43)
	require.NoError(t, s.FailNextBackup(id, "disk full"))
	require.NoError(t, s.HideNextEnd(id, 24*time.Hour, 0))
	op, err := d.Start(testCtx(t), providertest.Job(backup.KindCreate, create(map[string]any{"DBInstanceId": id})))
	require.NoError(t, err)
	s.Advance(2 * simDuration)
	foreign := s.AddForeign(provider.Target{Resource: id})
	s.Advance(alirdssim.ForeignDuration + time.Minute)
	foreign = s.CurrentID(foreign)
	require.Contains(t, s.Inventory(), foreign)

	st, err := d.Poll(testCtx(t), op)
	require.NoError(t, err)
	assert.Equal(t, provider.PhaseRunning, st.Phase, "our task is waited for, not replaced")
	assert.Equal(t, "NotListed", st.ProviderState)
	_, err = d.Describe(testCtx(t), op)
	assert.Equal(t, provider.Busy, provider.ClassOf(err), "%v", err)
	assert.Equal(t, provider.Busy, provider.ClassOf(d.Delete(testCtx(t), op)))
	assert.Contains(t, s.Inventory(), foreign)
	assert.Zero(t, s.CallsOf("DeleteBackup"))

	s.Advance(24 * time.Hour)
	st, err = d.Poll(testCtx(t), op)
	require.NoError(t, err)
	assert.Equal(t, provider.PhaseFailed, st.Phase, "listed again: our own task's end")
	require.NoError(t, d.Delete(testCtx(t), op), "it left nothing to delete")
	assert.Contains(t, s.Inventory(), foreign)
}

func TestDeleteWhileRunningIsBusy(t *testing.T) {
	s := startSim(t)
	d := newDriver(t, simConfig(s))
	op, err := d.Start(testCtx(t), providertest.Job(backup.KindCreate, alirdssim.CreateSection(50)))
	require.NoError(t, err)
	ok, err := d.Cancel(testCtx(t), op)
	require.NoError(t, err)
	assert.False(t, ok, "RDS cannot stop a backup task")
	err = d.Delete(testCtx(t), op)
	assert.Equal(t, provider.Busy, provider.ClassOf(err), "%v", err)
	_, err = d.Describe(testCtx(t), op)
	assert.Equal(t, provider.Busy, provider.ClassOf(err), "%v", err)
	s.Advance(2 * simDuration)
	require.NoError(t, d.Delete(testCtx(t), op))
}

func TestFailedBackup(t *testing.T) {
	s := startSim(t)
	d := newDriver(t, simConfig(s))
	id := alirdssim.MySQLInstanceID(51)
	require.NoError(t, s.FailNextBackup(id, "disk full"))
	before := s.Inventory()
	op, err := d.Start(testCtx(t), providertest.Job(backup.KindCreate, create(map[string]any{"DBInstanceId": id})))
	require.NoError(t, err)
	s.Advance(2 * simDuration)
	st, err := d.Poll(testCtx(t), op)
	require.NoError(t, err)
	assert.Equal(t, provider.PhaseFailed, st.Phase)
	assert.Equal(t, "Failed", st.ProviderState)
	assert.NotEmpty(t, st.Message)
	require.NoError(t, d.Delete(testCtx(t), op), "a failed task left nothing to delete")
	_, err = d.Describe(testCtx(t), op)
	assert.Equal(t, provider.NotFound, provider.ClassOf(err))
	assert.ElementsMatch(t, before, s.Inventory())
}

func TestPollProgress(t *testing.T) {
	s := startSim(t)
	d := newDriver(t, simConfig(s))
	op, err := d.Start(testCtx(t), providertest.Job(backup.KindCreate, alirdssim.CreateSection(52)))
	require.NoError(t, err)
	seen := map[string]bool{}
	last := -1.0
	for range 25 {
		st, err := d.Poll(testCtx(t), op)
		require.NoError(t, err)
		seen[st.ProviderState] = true
		assert.GreaterOrEqual(t, st.Percent, last, "progress never falls")
		last = st.Percent
		if st.Phase.Done() {
			assert.Equal(t, provider.PhaseSucceeded, st.Phase)
			break
		}
		s.Advance(simDuration / 20)
	}
	for _, state := range []string{"NoStart", "Preparing", "Waiting", "Uploading", "Checking", "Finished"} {
		assert.True(t, seen[state], "saw %s among %v", state, seen)
	}
	assert.Equal(t, 100.0, last)
}

func TestCopyIsUnsupported(t *testing.T) {
	s := startSim(t)
	d := newDriver(t, simConfig(s))
	assert.False(t, d.SupportsCopy())
	_, err := d.Validate(backup.KindCopy, alirdssim.CreateSection(1), time.Now())
	assert.Equal(t, provider.Unsupported, provider.ClassOf(err))
}

// TestConcurrentUse: one driver serves concurrent activities (run with -race).
func TestConcurrentUse(t *testing.T) {
	s := startSim(t)
	d := newDriver(t, simConfig(s))
	const n = 8
	ops := make([]provider.Operation, n)
	errs := make(chan error, n)
	for i := range n {
		go func() {
			job := providertest.Job(backup.KindCreate, alirdssim.CreateSection(100+i))
			if err := d.Preflight(testCtx(t), job); err != nil {
				errs <- err
				return
			}
			op, err := d.Start(testCtx(t), job)
			ops[i] = op
			errs <- err
		}()
	}
	for range n {
		require.NoError(t, <-errs)
	}
	assert.Equal(t, n, s.CallsOf("CreateBackup"))
	s.Advance(2 * simDuration)
	for _, op := range ops {
		st, err := d.Poll(testCtx(t), op)
		require.NoError(t, err)
		assert.Equal(t, provider.PhaseSucceeded, st.Phase)
	}
}

// List reads only manual sets: the fixture's full instance holds an
// automated set of the backup policy, which List leaves out.
func TestListLeavesOutAutomatedSets(t *testing.T) {
	s := startSim(t)
	d := newDriver(t, simConfig(s))
	got, err := d.List(testCtx(t), backup.KindCreate, alirdssim.FullInstance)
	require.NoError(t, err)
	require.Len(t, got, alirdssim.DailyBackupLimit-1, "every manual set of the fixture, not the automated one")
	for _, b := range got {
		assert.Equal(t, "Success", b.State)
		assert.NotNil(t, b.CreateTime)
	}

	_, err = d.List(testCtx(t), backup.KindCopy, alirdssim.FullInstance)
	assert.Equal(t, provider.Unsupported, provider.ClassOf(err), "RDS makes no copies to list")
	_, err = d.List(testCtx(t), backup.KindCreate, "")
	var pe *provider.Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "alirds.DBInstanceId", pe.Field)
}
