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
	"github.com/backupflow/backupflow/simulator/alirdssim"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestPreflightRejects covers the instance- and engine-dependent sentences
// of the CreateBackup documentation. Each case is a request Validate accepts; Preflight must refuse
// it with the right class (and field, for argument errors) without a single
// CreateBackup reaching the simulator. Then the same request is sent anyway
// (Start, bypassing Preflight) to show the simulator enforces the same rule
// with the provider's own answer, so the driver's check and the API agree.
//
//	"The instance is in the running state."            -> not running (Rebooting) = Busy,
//	                                                      deleting, stopped, locked = FailedPrecondition,
//	                                                      unknown instance = NotFound
//	"The instance does not have an ongoing backup task." -> ongoing task = Busy
//	"... on the day does not exceed 20."               -> 20 today = Quota
//	BackupStrategy "MySQL logical or SQL Server full physical" (engine part)
//	                                                   -> strategy on MySQL physical full, strategy on SQL Server logical,
//	                                                      strategy on PostgreSQL logical
//	DBName "single-database logical for MySQL or full physical for SQL Server" (engine part)
//	                                                   -> DBName on SQL Server logical, DBName on MySQL physical full,
//	                                                      DBName naming a missing database
//	"Set Physical ... MariaDB"                         -> MariaDB Snapshot, MariaDB Logical
//	"Logical backups ... only when the instance exists in a database"
//	                                                   -> logical on an instance without databases
func TestPreflightRejects(t *testing.T) {
	s := startSim(t)
	d := newDriver(t, simConfig(s))
	cases := []struct {
		name    string
		fields  map[string]any
		class   provider.Class
		field   string // for InvalidArgument
		simCode string // what the simulator answers CreateBackup; "" when Start is not tried
		simCls  provider.Class
	}{
		{"not running", map[string]any{"DBInstanceId": alirdssim.NotRunningInstance}, provider.Busy, "", "IncorrectDBInstanceState", provider.Busy},
		{"deleting", map[string]any{"DBInstanceId": alirdssim.DeletingInstance}, provider.FailedPrecondition, "", "IncorrectDBInstanceState", provider.Busy},
		{"stopped", map[string]any{"DBInstanceId": alirdssim.StoppedInstance}, provider.FailedPrecondition, "", "IncorrectDBInstanceState", provider.Busy},
		{"locked", map[string]any{"DBInstanceId": alirdssim.LockedInstance}, provider.FailedPrecondition, "", "IncorrectDBInstanceLockMode", provider.FailedPrecondition},
		{"unknown instance", map[string]any{"DBInstanceId": "rm-doesnotexist0001"}, provider.NotFound, "", "InvalidDBInstanceId.NotFound", provider.NotFound},
		{"ongoing task", map[string]any{"DBInstanceId": alirdssim.BusyInstance}, provider.Busy, "", "BackupJobExists", provider.Busy},
		{"20 backups today", map[string]any{"DBInstanceId": alirdssim.FullInstance}, provider.Quota, "", "BackupTimesExceeded", provider.Quota},
		{"strategy on MySQL physical full", map[string]any{"DBInstanceId": alirdssim.MySQLInstanceID(150), "BackupType": "FullBackup", "BackupStrategy": "instance"},
			provider.InvalidArgument, "alirds.BackupStrategy", "InvalidParameter", provider.InvalidArgument},
		{"strategy on SQL Server logical", map[string]any{"DBInstanceId": alirdssim.SQLServerInstance, "BackupMethod": "Logical", "BackupStrategy": "instance"},
			provider.InvalidArgument, "alirds.BackupStrategy", "InvalidParameter", provider.InvalidArgument},
		{"strategy on PostgreSQL logical", map[string]any{"DBInstanceId": alirdssim.PostgreSQLInstance, "BackupMethod": "Logical", "BackupStrategy": "instance"},
			provider.InvalidArgument, "alirds.BackupStrategy", "InvalidParameter", provider.InvalidArgument},
		{"DBName on SQL Server logical", map[string]any{"DBInstanceId": alirdssim.SQLServerInstance, "BackupMethod": "Logical", "BackupStrategy": "db", "DBName": "sales"},
			provider.InvalidArgument, "alirds.DBName", "InvalidParameter", provider.InvalidArgument},
		{"DBName on MySQL physical full", map[string]any{"DBInstanceId": alirdssim.MySQLInstanceID(151), "BackupMethod": "Physical", "BackupType": "FullBackup", "BackupStrategy": "db", "DBName": "db01"},
			provider.InvalidArgument, "alirds.DBName", "InvalidParameter", provider.InvalidArgument},
		{"DBName naming a missing database", map[string]any{"DBInstanceId": alirdssim.MySQLInstanceID(152), "BackupMethod": "Logical", "BackupStrategy": "db", "DBName": "db01,nosuchdb"},
			provider.InvalidArgument, "alirds.DBName", "InvalidDBName.NotFound", provider.NotFound},
		{"MariaDB Snapshot", map[string]any{"DBInstanceId": alirdssim.MariaDBInstance, "BackupMethod": "Snapshot"},
			provider.InvalidArgument, "alirds.BackupMethod", "InvalidBackupMethod.ValueNotSupport", provider.InvalidArgument},
		{"MariaDB Logical", map[string]any{"DBInstanceId": alirdssim.MariaDBInstance, "BackupMethod": "Logical"},
			provider.InvalidArgument, "alirds.BackupMethod", "InvalidBackupMethod.ValueNotSupport", provider.InvalidArgument},
		{"logical on an instance without databases", map[string]any{"DBInstanceId": alirdssim.NoDatabaseInstance, "BackupMethod": "Logical"},
			provider.InvalidArgument, "alirds.BackupMethod", "InvalidBackupMethod.ValueNotSupport", provider.InvalidArgument},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			job := providertest.Job(backup.KindCreate, create(c.fields))
			_, err := d.Validate(job.Kind, job.Section, time.Now())
			require.NoError(t, err, "a request only the instance can refute passes Validate")

			creates, inventory := s.CallsOf("CreateBackup"), s.Inventory()
			err = d.Preflight(testCtx(t), job)
			require.Error(t, err)
			var pe *provider.Error
			require.True(t, errors.As(err, &pe), "%T %v", err, err)
			assert.Equal(t, c.class, pe.Class, "%v", err)
			if c.field != "" {
				assert.Equal(t, c.field, pe.Field, "%v", err)
			}
			assert.Equal(t, creates, s.CallsOf("CreateBackup"), "Preflight sends no CreateBackup")
			assert.Equal(t, inventory, s.Inventory(), "nothing was created")

			// The simulator refuses the same request on its own.
			_, err = d.Start(testCtx(t), job)
			require.Error(t, err, "the simulator refuses it too")
			require.True(t, errors.As(err, &pe), "%T %v", err, err)
			assert.Equal(t, c.simCode, pe.Code, "%v", err)
			assert.Equal(t, c.simCls, pe.Class, "%v", err)
			assert.NotEmpty(t, pe.RequestID)
			assert.NotZero(t, pe.HTTPStatus)
			assert.Equal(t, creates+1, s.CallsOf("CreateBackup"), "Start sends CreateBackup and nothing before it")
			assert.Equal(t, inventory, s.Inventory(), "the simulator created nothing")
		})
	}
}

// TestPreflightAccepts: the engine-dependent combinations the documentation allows
// pass Preflight and start a backup that finishes.
func TestPreflightAccepts(t *testing.T) {
	s := startSim(t)
	d := newDriver(t, simConfig(s))
	cases := []struct {
		name   string
		fields map[string]any
	}{
		{"MySQL default (Physical, Auto)", map[string]any{"DBInstanceId": alirdssim.MySQLInstanceID(160)}},
		{"MySQL snapshot", map[string]any{"DBInstanceId": alirdssim.MySQLInstanceID(161), "BackupMethod": "Snapshot", "BackupType": "FullBackup"}},
		{"MySQL logical instance backup", map[string]any{"DBInstanceId": alirdssim.MySQLInstanceID(162), "BackupMethod": "Logical", "BackupStrategy": "instance"}},
		{"MySQL logical single-database backup", map[string]any{"DBInstanceId": alirdssim.MySQLInstanceID(163), "BackupMethod": "Logical", "BackupStrategy": "db", "DBName": "db01,db02"}},
		{"MySQL logical without strategy", map[string]any{"DBInstanceId": alirdssim.MySQLInstanceID(164), "BackupMethod": "Logical"}},
		{"SQL Server full physical single-database", map[string]any{"DBInstanceId": alirdssim.SQLServerInstance, "BackupType": "FullBackup", "BackupStrategy": "db", "DBName": "sales,hr"}},
		{"MariaDB physical", map[string]any{"DBInstanceId": alirdssim.MariaDBInstance, "BackupMethod": "Physical"}},
		{"PostgreSQL default", map[string]any{"DBInstanceId": alirdssim.PostgreSQLInstance}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			job := providertest.Job(backup.KindCreate, create(c.fields))
			_, err := d.Validate(job.Kind, job.Section, time.Now())
			require.NoError(t, err)
			require.NoError(t, d.Preflight(testCtx(t), job))
			op, err := d.Start(testCtx(t), job)
			require.NoError(t, err)
			s.Advance(2 * simDuration)
			st, err := d.Poll(testCtx(t), op)
			require.NoError(t, err)
			require.Equal(t, provider.PhaseSucceeded, st.Phase, st.Message)
			b, err := d.Describe(testCtx(t), op)
			require.NoError(t, err)
			var rec struct{ BackupMethod, BackupDBNames, BackupMode string }
			require.NoError(t, json.Unmarshal(b.Record, &rec))
			want := "Physical"
			if m, ok := c.fields["BackupMethod"].(string); ok {
				want = m
			}
			assert.Equal(t, want, rec.BackupMethod)
			assert.Equal(t, "Manual", rec.BackupMode)
			if n, ok := c.fields["DBName"].(string); ok {
				assert.Equal(t, n, rec.BackupDBNames)
			}
		})
	}
}

// TestPreflightStateClears: a transient state is Busy only while it lasts.
func TestPreflightStateClears(t *testing.T) {
	s := startSim(t)
	d := newDriver(t, simConfig(s))
	job := providertest.Job(backup.KindCreate, create(map[string]any{"DBInstanceId": alirdssim.NotRunningInstance}))
	err := d.Preflight(testCtx(t), job)
	require.True(t, provider.IsClass(err, provider.Busy), "%v", err)
	assert.True(t, provider.ClassOf(err).Retryable())
	require.NoError(t, s.SetInstanceStatus(alirdssim.NotRunningInstance, "Running"))
	require.NoError(t, d.Preflight(testCtx(t), job))
}

// TestOneTaskAtATime: while our backup runs, a second request on the
// instance is Busy in Preflight; once it ends, Preflight passes again.
func TestOneTaskAtATime(t *testing.T) {
	s := startSim(t)
	d := newDriver(t, simConfig(s))
	first := providertest.Job(backup.KindCreate, alirdssim.CreateSection(10))
	op, err := d.Start(testCtx(t), first)
	require.NoError(t, err)

	second := providertest.Job(backup.KindCreate, alirdssim.CreateSection(10))
	second.Owner.WorkflowID = "someone-else"
	creates := s.CallsOf("CreateBackup")
	err = d.Preflight(testCtx(t), second)
	require.True(t, provider.IsClass(err, provider.Busy), "%v", err)
	assert.Contains(t, err.Error(), op.ID, "the error names the ongoing task")
	assert.Equal(t, creates, s.CallsOf("CreateBackup"))

	s.Advance(2 * simDuration)
	require.NoError(t, d.Preflight(testCtx(t), second))
}

// TestDailyLimitReachedByUs: the 20th backup of the day is allowed, the 21st
// is refused as Quota by Preflight before any CreateBackup.
func TestDailyLimitReachedByUs(t *testing.T) {
	s := startSim(t)
	d := newDriver(t, simConfig(s))
	id := alirdssim.MySQLInstanceID(20)
	section := create(map[string]any{"DBInstanceId": id})
	for i := range 20 {
		job := providertest.Job(backup.KindCreate, section)
		job.Owner.StartedAt = s.Now() // each workflow starts after the previous backup ended
		require.NoError(t, d.Preflight(testCtx(t), job), "backup %d", i+1)
		op, err := d.Start(testCtx(t), job)
		require.NoError(t, err)
		s.Advance(2 * simDuration)
		st, err := d.Poll(testCtx(t), op)
		require.NoError(t, err)
		require.Equal(t, provider.PhaseSucceeded, st.Phase)
	}
	require.Equal(t, 20, s.BackupsToday(id))
	creates := s.CallsOf("CreateBackup")
	err := d.Preflight(testCtx(t), providertest.Job(backup.KindCreate, section))
	require.True(t, provider.IsClass(err, provider.Quota), "%v", err)
	assert.False(t, provider.ClassOf(err).Retryable(), "the limit lifts only tomorrow")
	assert.Equal(t, creates, s.CallsOf("CreateBackup"))
}
