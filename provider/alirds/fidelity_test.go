package alirds_test

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/doctable"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/alirds"
	"github.com/backupflow/backupflow/provider/providertest"
	"github.com/backupflow/backupflow/simulator/alirdssim"
)

var providerDoc = doctable.Page("alirds")

// TestUnlistedTaskIsWaitedFor: the task is not listed for a minute after
// it ends, while its set already shows in DescribeBackups. Poll keeps the
// backup running and Describe and Delete wait (the set is reached only
// through the task); once the task is listed again, all three find the set.
func TestUnlistedTaskIsWaitedFor(t *testing.T) {
	s := startSim(t)
	d := newDriver(t, simConfig(s))
	id := alirdssim.MySQLInstanceID(60)
	require.NoError(t, s.HideNextEnd(id, time.Minute, 0))
	op, err := d.Start(testCtx(t), providertest.Job(backup.KindCreate, create(map[string]any{"DBInstanceId": id})))
	require.NoError(t, err)

	s.Advance(simDuration)
	set := s.CurrentID(op.ID)
	require.NotEqual(t, op.ID, set, "the set exists")
	st, err := d.Poll(testCtx(t), op)
	require.NoError(t, err)
	assert.Equal(t, provider.PhaseRunning, st.Phase, "not listed is not gone")
	assert.Equal(t, "NotListed", st.ProviderState)
	assert.Contains(t, st.Message, op.ID)
	_, err = d.Describe(testCtx(t), op)
	assert.Equal(t, provider.Busy, provider.ClassOf(err), "%v", err)
	assert.Equal(t, provider.Busy, provider.ClassOf(d.Delete(testCtx(t), op)))
	assert.Contains(t, s.Inventory(), set)

	s.Advance(time.Minute)
	st, err = d.Poll(testCtx(t), op)
	require.NoError(t, err)
	require.Equal(t, provider.PhaseSucceeded, st.Phase, st.Message)
	b, err := d.Describe(testCtx(t), op)
	require.NoError(t, err)
	assert.Equal(t, set, b.ID)
	require.NoError(t, d.Delete(testCtx(t), op))
	assert.NotContains(t, s.Inventory(), set)
}

// TestUnknownJobIsNeverGuessed: a BackupJobId the provider does not list is
// waited for however long it stays unlisted (the poll policy bounds the
// wait), and nothing on the instance is taken for it.
func TestUnknownJobIsNeverGuessed(t *testing.T) {
	s := startSim(t)
	d := newDriver(t, simConfig(s))
	id := alirdssim.MySQLInstanceID(61)
	before := s.Inventory()
	foreign := s.AddForeign(provider.Target{Resource: id})
	unknown := provider.Operation{ID: "1", Resource: id, Kind: backup.KindCreate}
	for _, step := range []time.Duration{0, alirdssim.ForeignDuration, 24 * time.Hour} {
		s.Advance(step)
		st, err := d.Poll(testCtx(t), unknown)
		require.NoError(t, err)
		assert.Equal(t, provider.PhaseRunning, st.Phase)
		assert.Equal(t, "NotListed", st.ProviderState)
		assert.Equal(t, provider.Busy, provider.ClassOf(d.Delete(testCtx(t), unknown)))
	}
	assert.ElementsMatch(t, append(before, s.CurrentID(foreign)), s.Inventory(), "nothing deleted")
}

// TestStoppedFailsAtOnceRestartingWaits: a stopped instance fails in one
// Preflight call, naming its state and what to do; a restarting one is Busy
// and says what it waits for.
func TestStoppedFailsAtOnceRestartingWaits(t *testing.T) {
	s := startSim(t)
	d := newDriver(t, simConfig(s))
	cases := []struct {
		id      string
		class   provider.Class
		message string
	}{
		{alirdssim.StoppedInstance, provider.FailedPrecondition, "instance " + alirdssim.StoppedInstance + " is Stopped; start it, then retry"},
		{alirdssim.NotRunningInstance, provider.Busy, "instance " + alirdssim.NotRunningInstance + " is Rebooting; waiting until it is Running"},
	}
	for _, c := range cases {
		calls := s.Calls()
		err := d.Preflight(testCtx(t), providertest.Job(backup.KindCreate, create(map[string]any{"DBInstanceId": c.id})))
		var pe *provider.Error
		require.True(t, errors.As(err, &pe), "%T %v", err, err)
		assert.Equal(t, c.class, pe.Class)
		assert.Equal(t, c.message, pe.Message)
		assert.Equal(t, "alirds.DBInstanceId", pe.Field)
		assert.Equal(t, calls+1, s.Calls(), "one call: DescribeDBInstanceAttribute")
	}
	assert.False(t, provider.FailedPrecondition.Retryable(), "so a stopped instance is not retried")
}

// TestDocInstanceStatesMatchPreflight: each DBInstanceStatus and LockMode of
// the provider document, set on an instance, gets the outcome the document
// says from Preflight, with the instance and the value in the message.
func TestDocInstanceStatesMatchPreflight(t *testing.T) {
	rows, err := doctable.Read(providerDoc, "States read", 0)
	require.NoError(t, err)
	s := startSim(t)
	d := newDriver(t, simConfig(s))
	id := alirdssim.MySQLInstanceID(62)
	job := providertest.Job(backup.KindCreate, create(map[string]any{"DBInstanceId": id}))
	n := 0
	for _, row := range rows {
		field, value, outcome := row["Field"], row["Value"], row["Outcome"]
		if field != "DBInstanceStatus" && field != "LockMode" {
			continue
		}
		n++
		t.Run(field+"="+value, func(t *testing.T) {
			require.NoError(t, s.SetInstanceStatus(id, "Running"))
			require.NoError(t, s.SetLockMode(id, "Unlock", ""))
			if field == "DBInstanceStatus" {
				require.NoError(t, s.SetInstanceStatus(id, value))
			} else {
				require.NoError(t, s.SetLockMode(id, value, "set by the test"))
			}
			err := d.Preflight(testCtx(t), job)
			if outcome == "pass" {
				require.NoError(t, err)
				return
			}
			var pe *provider.Error
			require.True(t, errors.As(err, &pe), "%T %v", err, err)
			assert.Equal(t, provider.Class(outcome), pe.Class, "%v", err)
			assert.Contains(t, pe.Message, id)
			assert.Contains(t, pe.Message, value)
			if pe.Class == provider.Busy {
				assert.Contains(t, pe.Message, "waiting until", "says what it waits for")
			}
		})
	}
	assert.Greater(t, n, 20, "the document lists the instance states")
}

// TestDocCodesThroughTheSDK: every code of the document, answered by the
// simulator, reaches the driver through the SDK with the document's status
// and class, the provider named once at the front of the error.
func TestDocCodesThroughTheSDK(t *testing.T) {
	rows, err := doctable.Read(providerDoc, "Error codes", 0)
	require.NoError(t, err)
	s := startSim(t)
	d := newDriver(t, simConfig(s))
	job := providertest.Job(backup.KindCreate, alirdssim.CreateSection(63))
	for _, row := range rows {
		t.Run(row["Code"], func(t *testing.T) {
			require.NoError(t, s.FailNextCode(row["Code"]))
			err := d.Preflight(testCtx(t), job)
			var pe *provider.Error
			require.True(t, errors.As(err, &pe), "%T %v", err, err)
			assert.Equal(t, row["Code"], pe.Code)
			assert.Equal(t, row["HTTP"], strconv.Itoa(pe.HTTPStatus))
			assert.Equal(t, provider.Class(row["Class"]), pe.Class)
			assertNamedOnce(t, err)
		})
	}
}

// assertNamedOnce: the error starts with the provider's name ("alirds: "
// from provider.Error.Error(), or the field's JSON path "alirds.X"), and
// nothing in the message repeats the "alirds:" prefix.
func assertNamedOnce(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "alirds"), "%q", err.Error())
	assert.LessOrEqual(t, strings.Count(err.Error(), "alirds:"), 1, "%q", err.Error())
	var pe *provider.Error
	if errors.As(err, &pe) {
		assert.NotContains(t, pe.Message, "alirds:", "%q", pe.Message)
	}
}

func TestErrorsNameTheProviderOnce(t *testing.T) {
	s := startSim(t)
	d := newDriver(t, simConfig(s))
	_, invalid := d.Validate(backup.KindCreate, create(map[string]any{"DBInstanceId": "rm-1", "BackupMethod": "Incremental"}), time.Now())
	_, undecodable := d.Validate(backup.KindCreate, []byte(`{"DBInstanceId":"rm-1","Nope":1}`), time.Now())
	_, copying := d.Validate(backup.KindCopy, alirdssim.CreateSection(64), time.Now())
	stopped := d.Preflight(testCtx(t), providertest.Job(backup.KindCreate, create(map[string]any{"DBInstanceId": alirdssim.StoppedInstance})))
	_, missing := d.Describe(testCtx(t), provider.Operation{ID: "1", Resource: "rm-doesnotexist0001"})
	for name, err := range map[string]error{"invalid field": invalid, "undecodable": undecodable, "copy": copying, "stopped": stopped, "unknown instance": missing} {
		t.Run(name, func(t *testing.T) { assertNamedOnce(t, err) })
	}
}

// forbidden are the pieces of signing material no error may carry.
func forbidden() []string {
	return []string{alirdssim.AccessKeyID, alirdssim.AccessKeySecret, "Signature=", "SignatureNonce", "string to sign", "POST&%2F&"}
}

// assertNoSigningMaterial checks the error and every error it wraps.
func assertNoSigningMaterial(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	for e := err; e != nil; e = errors.Unwrap(e) {
		for _, secret := range forbidden() {
			assert.NotContains(t, e.Error(), secret, "%T", e)
		}
	}
}

func TestWrongSecretLeaksNothing(t *testing.T) {
	s := startSim(t)
	cfg := simConfig(s)
	cfg.AccessKeySecret = "not-the-secret"
	err := newDriver(t, cfg).Preflight(testCtx(t), providertest.Job(backup.KindCreate, alirdssim.CreateSection(65)))
	var pe *provider.Error
	require.True(t, errors.As(err, &pe), "%T %v", err, err)
	assert.Equal(t, "SignatureDoesNotMatch", pe.Code, "the code stays")
	assert.Contains(t, pe.Message, "signature was refused", "a plain sentence stays")
	assertNoSigningMaterial(t, err)
}

func TestRefusedConnectionLeaksNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there any more
	d := newDriver(t, alirds.Config{Region: alirdssim.Region, Endpoint: addr, AccessKeyID: alirdssim.AccessKeyID,
		AccessKeySecret: provider.Secret(alirdssim.AccessKeySecret), Insecure: true, ConnectTimeout: 2 * time.Second, ReadTimeout: 2 * time.Second})
	err = d.Preflight(testCtx(t), providertest.Job(backup.KindCreate, alirdssim.CreateSection(66)))
	assert.Equal(t, provider.Unavailable, provider.ClassOf(err), "%v", err)
	assert.Contains(t, err.Error(), addr, "the error still says where")
	assert.NotContains(t, err.Error(), "?", "no query string")
	assertNoSigningMaterial(t, err)
	assertNamedOnce(t, err)
}
