package alirds_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/providertest"
	sim "github.com/backupflow/backupflow/simulator/alirds"
)

// TestFaultsThroughTheSDK: the simulator's injected answers reach the driver
// through the SDK and come out in the right class, with provider details.
func TestFaultsThroughTheSDK(t *testing.T) {
	s := startSim(t)
	d := newDriver(t, simConfig(s))
	job := providertest.Job(backup.KindCreate, sim.CreateSection(30))
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
	err := d.Preflight(testCtx(t), providertest.Job(backup.KindCreate, sim.CreateSection(31)))
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
	_, err := d.Start(testCtx(t), providertest.Job(backup.KindCreate, sim.CreateSection(32)))
	var pe *provider.Error
	require.True(t, errors.As(err, &pe), "%T %v", err, err)
	assert.Equal(t, provider.Permission, pe.Class)
	assert.Equal(t, "InvalidAccessKeyId.NotFound", pe.Code)
	assert.Equal(t, 404, pe.HTTPStatus)
	assert.Zero(t, s.CallsOf("CreateBackup"), "Start stopped at Find")
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
	_, err := d.Poll(ctx, provider.Operation{ID: "5073731", Resource: sim.MySQLInstanceID(33)})
	require.Error(t, err)
	assert.Equal(t, provider.Unavailable, provider.ClassOf(err), "%v", err)

	cfg := simConfig(s)
	cfg.ReadTimeout = 100 * time.Millisecond
	short := newDriver(t, cfg)
	_, err = short.Poll(testCtx(t), provider.Operation{ID: "5073731", Resource: sim.MySQLInstanceID(33)})
	require.Error(t, err)
	assert.Equal(t, provider.Unavailable, provider.ClassOf(err), "the SDK's read timeout: %v", err)
}

// TestAdoptFinishedAfterLostResponse: the create's answer is lost and the
// backup finishes before the retry looks; Find adopts the finished set.
func TestAdoptFinishedAfterLostResponse(t *testing.T) {
	s := startSim(t)
	d := newDriver(t, simConfig(s))
	job := providertest.Job(backup.KindCreate, sim.CreateSection(41)) // logical, db01
	s.LoseNextCreate()
	_, err := d.Start(testCtx(t), job)
	require.True(t, provider.ClassOf(err).Retryable(), "%v", err)
	require.Equal(t, 1, s.CallsOf("CreateBackup"))
	s.Advance(2 * simDuration)

	op, err := d.Start(testCtx(t), job)
	require.NoError(t, err)
	assert.Equal(t, 1, s.CallsOf("CreateBackup"), "adopted, not created again")
	require.NotEmpty(t, op.BackupID, "adopted from the finished set")
	assert.Contains(t, s.Inventory(), op.BackupID)

	// The operation resumes from JSON like any other.
	raw, err := json.Marshal(op)
	require.NoError(t, err)
	var resumed provider.Operation
	require.NoError(t, json.Unmarshal(raw, &resumed))
	st, err := newDriver(t, simConfig(s)).Poll(testCtx(t), resumed)
	require.NoError(t, err)
	assert.Equal(t, provider.PhaseSucceeded, st.Phase)
	b, err := d.Describe(testCtx(t), resumed)
	require.NoError(t, err)
	assert.Equal(t, op.BackupID, b.ID)

	require.NoError(t, d.Delete(testCtx(t), resumed))
	assert.NotContains(t, s.Inventory(), op.BackupID)
	require.NoError(t, d.Delete(testCtx(t), resumed), "already gone")
	st, err = d.Poll(testCtx(t), resumed)
	require.NoError(t, err)
	assert.Equal(t, provider.PhaseGone, st.Phase)
}

// TestFindIgnoresWhatIsNotOurs: automated tasks, sets older than the owner,
// and sets of another method are never adopted.
func TestFindIgnoresWhatIsNotOurs(t *testing.T) {
	s := startSim(t)
	d := newDriver(t, simConfig(s))

	found, err := d.Find(testCtx(t), providertest.Job(backup.KindCreate, create(map[string]any{"DBInstanceId": sim.BusyInstance})))
	require.NoError(t, err)
	assert.Nil(t, found, "the ongoing automated task is the policy's, not ours")

	full := providertest.Job(backup.KindCreate, create(map[string]any{"DBInstanceId": sim.FullInstance}))
	full.Owner.StartedAt = s.Now().Add(-time.Hour)
	found, err = d.Find(testCtx(t), full)
	require.NoError(t, err)
	require.NotNil(t, found, "with an owner an hour old, the fixture's manual sets of today qualify")
	full.Owner.StartedAt = s.Now().Add(-time.Second)
	found, err = d.Find(testCtx(t), full)
	require.NoError(t, err)
	assert.Nil(t, found, "sets made before the owner started are not ours")

	// Our physical backup finishes; a logical request by the same owner does not adopt it.
	id := sim.MySQLInstanceID(42)
	physical := providertest.Job(backup.KindCreate, create(map[string]any{"DBInstanceId": id}))
	_, err = d.Start(testCtx(t), physical)
	require.NoError(t, err)
	s.Advance(2 * simDuration)
	logical := physical
	logical.Section = create(map[string]any{"DBInstanceId": id, "BackupMethod": "Logical"})
	found, err = d.Find(testCtx(t), logical)
	require.NoError(t, err)
	assert.Nil(t, found)
	found, err = d.Find(testCtx(t), physical)
	require.NoError(t, err)
	assert.NotNil(t, found)
}

func TestDeleteWhileRunningIsBusy(t *testing.T) {
	s := startSim(t)
	d := newDriver(t, simConfig(s))
	op, err := d.Start(testCtx(t), providertest.Job(backup.KindCreate, sim.CreateSection(50)))
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
	id := sim.MySQLInstanceID(51)
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
	op, err := d.Start(testCtx(t), providertest.Job(backup.KindCreate, sim.CreateSection(52)))
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
	_, err := d.Validate(backup.KindCopy, sim.CreateSection(1), time.Now())
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
			job := providertest.Job(backup.KindCreate, sim.CreateSection(100+i))
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
