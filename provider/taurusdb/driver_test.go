package taurusdb_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/doctable"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/taurusdb"
	"github.com/backupflow/backupflow/provider/taurusdb/doctables"
	"github.com/backupflow/backupflow/simulator/huaweicloudsim/huaweiclient"
	"github.com/backupflow/backupflow/simulator/taurusdbsim"
)

var (
	ctx = huaweiclient.Ctx
	pe  = huaweiclient.ProviderError
	job = huaweiclient.CreateJob
)

func poll(t *testing.T, s *taurusdbsim.Server, d provider.Driver, op provider.Operation) provider.Status {
	t.Helper()
	return huaweiclient.PollToEnd(t, s, d, op, s.Options().Duration/2)
}

func TestValidateAcceptsDocumentedBoundaries(t *testing.T) {
	s := startSim(t, taurusdbsim.Options{})
	d := newDriver(t, s, taurusdbsim.SecretKey)
	for name, changes := range map[string]map[string]any{
		"name 4 chars":              {"name": "abcd"},
		"name 64 chars":             {"name": "a" + strings.Repeat("B", 63)},
		"name case and symbols":     {"name": "Nightly_Backup-2026"},
		"description 224 chars":     {"description": strings.Repeat("d", 224)},
		"description 224 runes":     {"description": strings.Repeat("ü", 224)},
		"description with newline":  {"description": "line one\nline two"},
		"no description":            {"description": nil},
		"X-Language zh-cn":          {"X-Language": "zh-cn"},
		"no X-Language":             {"X-Language": nil},
		"instance_id uppercase hex": {"instance_id": strings.ToUpper(taurusdbsim.InstanceID(0)[:32]) + "in07"},
	} {
		t.Run(name, func(t *testing.T) {
			target, err := d.Validate(backup.KindCreate, section(changes), time.Now())
			require.NoError(t, err)
			assert.NotEmpty(t, target.Resource)
		})
	}
	assert.Zero(t, s.Calls())
}

func TestCopyIsUnsupported(t *testing.T) {
	d := newDriver(t, startSim(t, taurusdbsim.Options{}), taurusdbsim.SecretKey)
	assert.False(t, d.SupportsCopy())
	_, err := d.Validate(backup.KindCopy, section(nil), time.Now())
	e := pe(t, err)
	assert.Equal(t, provider.Unsupported, e.Class)
	assert.False(t, e.Class.Retryable())
}

func TestBusyInstanceIsRetriedAsBusy(t *testing.T) {
	s := startSim(t, taurusdbsim.Options{})
	d := newDriver(t, s, taurusdbsim.SecretKey)
	_, err := d.Start(ctx(t), job(section(map[string]any{"instance_id": taurusdbsim.BusyInstance})))
	e := pe(t, err)
	assert.Equal(t, provider.Busy, e.Class)
	assert.True(t, e.Class.Retryable())
	assert.Equal(t, "DBS.200011", e.Code)
	assert.Equal(t, 409, e.HTTPStatus)
	assert.NotEmpty(t, e.RequestID)
	assert.Empty(t, s.Inventory())

	// Once the instance is free, the same job starts.
	s.SetBusy(taurusdbsim.BusyInstance, false)
	op, err := d.Start(ctx(t), job(section(map[string]any{"instance_id": taurusdbsim.BusyInstance})))
	require.NoError(t, err)
	assert.Equal(t, []string{op.BackupID}, s.Inventory())
}

func TestBackupInProgressIsBusy(t *testing.T) {
	s := startSim(t, taurusdbsim.Options{})
	d := newDriver(t, s, taurusdbsim.SecretKey)
	_, err := d.Start(ctx(t), job(section(map[string]any{"name": "first-one"})))
	require.NoError(t, err)
	_, err = d.Start(ctx(t), job(section(map[string]any{"name": "second-one"})))
	e := pe(t, err)
	assert.Equal(t, provider.Busy, e.Class)
	assert.Equal(t, "DBS.201205", e.Code)
	assert.Len(t, s.Inventory(), 1)
}

func TestFailedBackup(t *testing.T) {
	s := startSim(t, taurusdbsim.Options{})
	d := newDriver(t, s, taurusdbsim.SecretKey)
	op, err := d.Start(ctx(t), job(section(map[string]any{"instance_id": taurusdbsim.FailingInstance})))
	require.NoError(t, err)
	st := poll(t, s, d, op)
	assert.Equal(t, provider.PhaseFailed, st.Phase)
	assert.Equal(t, "Failed", st.ProviderState)
	assert.Contains(t, st.Message, "backup lock")
	// The failed record is still there to clean up.
	require.NoError(t, d.Delete(ctx(t), op))
	assert.Empty(t, s.Inventory())
}

// TestSameNameOfAnotherWorkflowIsNotOurs: a backup of the requested name on
// the requested instance, made by another workflow (its description carries
// that workflow's marker) after this one started, is never adopted: Find and
// Start name it as unproven. Its maker still adopts it.
func TestSameNameOfAnotherWorkflowIsNotOurs(t *testing.T) {
	s := startSim(t, taurusdbsim.Options{})
	d := newDriver(t, s, taurusdbsim.SecretKey)
	raw := section(map[string]any{"name": "shared-name"})
	theirs := job(raw)
	op, err := d.Start(ctx(t), theirs)
	require.NoError(t, err)
	poll(t, s, d, op)

	ours := job(raw)
	ours.Owner = provider.Owner{WorkflowID: "someone-else", RunID: "r", StartedAt: time.Now().Add(-time.Hour)}
	found, err := d.Find(ctx(t), ours)
	assert.Nil(t, found)
	e := pe(t, err)
	assert.Equal(t, provider.AlreadyExists, e.Class)
	assert.False(t, e.Class.Retryable())
	assert.Equal(t, []string{op.BackupID}, e.Unproven)
	assert.Equal(t, "taurusdb.name", e.Field)
	assert.Contains(t, e.Message, "carries no backupflow marker of this workflow")
	_, err = d.Start(ctx(t), ours)
	assert.Equal(t, []string{op.BackupID}, provider.UnprovenOf(err))
	assert.Equal(t, []string{op.BackupID}, s.Inventory(), "nothing created, nothing deleted")

	again, err := d.Find(ctx(t), theirs)
	require.NoError(t, err)
	require.NotNil(t, again, "its maker's marker proves it")
	assert.Equal(t, op.ID, again.ID)
}

func TestManualBackupLimitIsQuota(t *testing.T) {
	s := startSim(t, taurusdbsim.Options{ManualBackupLimit: 1})
	d := newDriver(t, s, taurusdbsim.SecretKey)
	_, err := d.Start(ctx(t), job(section(map[string]any{"instance_id": taurusdbsim.InstanceID(1)})))
	require.NoError(t, err)
	_, err = d.Start(ctx(t), job(section(map[string]any{"instance_id": taurusdbsim.InstanceID(2)})))
	e := pe(t, err)
	assert.Equal(t, provider.Quota, e.Class)
	assert.Equal(t, "RDS.3003", e.Code)
	assert.Equal(t, 413, e.HTTPStatus)
	assert.False(t, e.Class.Retryable())
}

func TestJobNotVisibleYetIsRunning(t *testing.T) {
	s := startSim(t, taurusdbsim.Options{JobVisibilityDelay: 30 * time.Second, Duration: 10 * time.Second})
	d := newDriver(t, s, taurusdbsim.SecretKey)
	op, err := d.Start(ctx(t), job(section(nil)))
	require.NoError(t, err)
	require.NotEqual(t, op.BackupID, op.ID, "the job ID")

	st, err := d.Poll(ctx(t), op)
	require.NoError(t, err, "an invisible job is not an error")
	assert.Equal(t, provider.PhaseRunning, st.Phase)
	assert.Equal(t, -1.0, st.Percent, "no figure without the job")
	assert.Equal(t, "BUILDING", st.ProviderState, "read from the backup list")

	s.Advance(31 * time.Second)
	st, err = d.Poll(ctx(t), op)
	require.NoError(t, err)
	assert.Equal(t, provider.PhaseSucceeded, st.Phase)
	assert.Equal(t, "Completed", st.ProviderState, "read from the job")
}

func TestPollMissingJobAndBackup(t *testing.T) {
	s := startSim(t, taurusdbsim.Options{})
	d := newDriver(t, s, taurusdbsim.SecretKey)
	recent, old := time.Now(), time.Now().Add(-time.Hour)
	op := provider.Operation{ID: "8d1c7d4e-0000-4000-8000-000000000001", BackupID: "8d1c7d4e-0000-4000-8000-000000000002",
		Resource: taurusdbsim.InstanceID(0), Kind: backup.KindCreate, StartedAt: &recent}
	st, err := d.Poll(ctx(t), op)
	require.NoError(t, err)
	assert.Equal(t, provider.PhaseRunning, st.Phase, "within the visibility grace")
	assert.Equal(t, -1.0, st.Percent)
	op.StartedAt = &old
	st, err = d.Poll(ctx(t), op)
	require.NoError(t, err)
	assert.Equal(t, provider.PhaseGone, st.Phase, "after it")
}

func TestDeleteWhileBuildingIsBusy(t *testing.T) {
	s := startSim(t, taurusdbsim.Options{})
	d := newDriver(t, s, taurusdbsim.SecretKey)
	op, err := d.Start(ctx(t), job(section(nil)))
	require.NoError(t, err)
	cancelled, err := d.Cancel(ctx(t), op)
	require.NoError(t, err)
	assert.False(t, cancelled, "TaurusDB cannot stop a backup")
	e := pe(t, d.Delete(ctx(t), op))
	assert.Equal(t, provider.Busy, e.Class)
	assert.Len(t, s.Inventory(), 1)
	poll(t, s, d, op)
	require.NoError(t, d.Delete(ctx(t), op))
	assert.Empty(t, s.Inventory())
}

func TestLostCreateAdoptsWithJobID(t *testing.T) {
	s := startSim(t, taurusdbsim.Options{Duration: time.Minute})
	d := newDriver(t, s, taurusdbsim.SecretKey)
	j := job(section(map[string]any{"X-Language": "zh-cn"}))
	s.LoseNextCreate()
	_, err := d.Start(ctx(t), j)
	assert.Equal(t, provider.Unavailable, provider.ClassOf(err))
	op, err := d.Start(ctx(t), j)
	require.NoError(t, err, "the marker in its description proves the backup ours")
	jobID, ok := s.JobOf(op.BackupID)
	require.True(t, ok)
	assert.Equal(t, jobID, op.ID, "the backup's job was recovered from the job list")
	assert.Equal(t, "zh-cn", op.Extra["X-Language"])
	s.Advance(30 * time.Second)
	st, err := d.Poll(ctx(t), op)
	require.NoError(t, err)
	assert.InDelta(t, 50, st.Percent, 2, "progress from the job")
	assert.Equal(t, "Running", st.ProviderState)
	require.NotNil(t, st.StartedAt)
}

// TestAdoptedBackupGetsItsOwnJob: a backup adopted through its marker gets
// its own job from the job list, not that of a later backup of the instance.
func TestAdoptedBackupGetsItsOwnJob(t *testing.T) {
	s := startSim(t, taurusdbsim.Options{})
	d := newDriver(t, s, taurusdbsim.SecretKey)
	j := job(section(nil))
	s.LoseNextCreate()
	_, err := d.Start(ctx(t), j)
	require.Error(t, err)
	ours := s.Inventory()
	require.Len(t, ours, 1)
	s.Advance(s.Options().Duration + time.Second) // ours is built; a person makes another
	theirs := s.AddForeign(provider.Target{Resource: taurusdbsim.InstanceID(0), BackupName: "console-backup"})
	theirJob, ok := s.JobOf(theirs)
	require.True(t, ok)

	op, err := d.Find(ctx(t), j)
	require.NoError(t, err)
	require.NotNil(t, op)
	assert.Equal(t, ours[0], op.BackupID)
	ourJob, ok := s.JobOf(ours[0])
	require.True(t, ok)
	assert.Equal(t, ourJob, op.ID)
	assert.NotEqual(t, theirJob, op.ID)
}

// TestDescriptionCarriesTheMarker: the backup's description is the request's
// followed by the owner's marker, or the marker alone.
func TestDescriptionCarriesTheMarker(t *testing.T) {
	s := startSim(t, taurusdbsim.Options{})
	d := newDriver(t, s, taurusdbsim.SecretKey)
	for name, c := range map[string]struct {
		description any
		want        func(provider.Owner) string
	}{
		"with the request's":    {"Manual backup", func(o provider.Owner) string { return "Manual backup " + o.Marker() }},
		"without a description": {nil, func(o provider.Owner) string { return o.Marker() }},
	} {
		t.Run(name, func(t *testing.T) {
			j := job(section(map[string]any{"instance_id": taurusdbsim.InstanceID(9), "description": c.description}))
			op, err := d.Start(ctx(t), j)
			require.NoError(t, err)
			poll(t, s, d, op)
			b, err := d.Describe(ctx(t), op)
			require.NoError(t, err)
			var rec map[string]any
			require.NoError(t, json.Unmarshal(b.Record, &rec))
			assert.Equal(t, c.want(j.Owner), rec["description"])
			require.NoError(t, d.Delete(ctx(t), op))
		})
	}
}

func TestDescribeRecord(t *testing.T) {
	s := startSim(t, taurusdbsim.Options{})
	d := newDriver(t, s, taurusdbsim.SecretKey)
	op, err := d.Start(ctx(t), job(section(nil)))
	require.NoError(t, err)
	poll(t, s, d, op)
	b, err := d.Describe(ctx(t), op)
	require.NoError(t, err)
	assert.Equal(t, op.BackupID, b.ID)
	assert.Equal(t, "nightly-backup_01", b.Name)
	assert.Equal(t, "COMPLETED", b.State)
	require.NotNil(t, b.CreateTime)
	require.NotNil(t, b.SizeBytes)
	assert.Positive(t, *b.SizeBytes)
	var rec map[string]any
	require.NoError(t, json.Unmarshal(b.Record, &rec))
	assert.Equal(t, taurusdbsim.InstanceID(0), rec["instance_id"])
	assert.Equal(t, "manual", rec["type"])

	require.NoError(t, d.Delete(ctx(t), op))
	_, err = d.Describe(ctx(t), op)
	assert.Equal(t, provider.NotFound, provider.ClassOf(err))
}

func TestCallDeadline(t *testing.T) {
	s := startSim(t, taurusdbsim.Options{})
	d := newDriver(t, s, taurusdbsim.SecretKey)
	s.SetLatency(2 * time.Second)
	c, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, err := d.Find(c, job(section(nil)))
	assert.Less(t, time.Since(began), time.Second, "the context bounds the wait, not the SDK")
	assert.Equal(t, provider.Unavailable, provider.ClassOf(err))
}

func TestConfig(t *testing.T) {
	_, err := taurusdb.New(taurusdb.Config{})
	require.Error(t, err)
	for _, v := range []string{"BACKUPFLOW_TAURUSDB_ENDPOINT", "BACKUPFLOW_TAURUSDB_PROJECT_ID", "BACKUPFLOW_TAURUSDB_ACCESS_KEY", "BACKUPFLOW_TAURUSDB_SECRET_KEY"} {
		assert.Contains(t, err.Error(), v)
	}
	_, err = taurusdb.New(taurusdb.Config{Endpoint: "ftp://x", ProjectID: "short", AccessKey: "a", SecretKey: "s", SecretKeyFile: "s"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "BACKUPFLOW_TAURUSDB_ENDPOINT: the scheme must be https")
	assert.Contains(t, err.Error(), "BACKUPFLOW_TAURUSDB_PROJECT_ID: must be 32")
	assert.Contains(t, err.Error(), "both set")
	assert.NotContains(t, err.Error(), "\"s\"", "secrets never print")

	_, err = taurusdb.New(taurusdb.Config{Region: "nowhere-1", ProjectID: taurusdbsim.ProjectID, AccessKey: "a", SecretKey: "s"})
	assert.ErrorContains(t, err, "BACKUPFLOW_TAURUSDB_REGION")
	_, err = taurusdb.New(taurusdb.Config{Region: "cn-north-4", ProjectID: taurusdbsim.ProjectID, AccessKey: "a", SecretKey: "s"})
	assert.NoError(t, err, "the SDK's region table gives the endpoint")
}

func TestConfigFromEnvironment(t *testing.T) {
	s := startSim(t, taurusdbsim.Options{})
	file := filepath.Join(t.TempDir(), "sk")
	require.NoError(t, os.WriteFile(file, []byte(taurusdbsim.SecretKey+"\n"), 0o600))
	t.Setenv("BACKUPFLOW_TAURUSDB_ENDPOINT", s.Endpoint())
	t.Setenv("BACKUPFLOW_TAURUSDB_INSECURE", "true")
	t.Setenv("BACKUPFLOW_TAURUSDB_PROJECT_ID", taurusdbsim.ProjectID)
	t.Setenv("BACKUPFLOW_TAURUSDB_ACCESS_KEY", taurusdbsim.AccessKey)
	t.Setenv("BACKUPFLOW_TAURUSDB_SECRET_KEY_FILE", file)
	cfg, err := env.ParseAs[taurusdb.Config]()
	require.NoError(t, err)
	assert.Equal(t, 30*time.Second, cfg.CallTimeout)
	d, err := taurusdb.New(cfg)
	require.NoError(t, err)
	found, err := d.Find(ctx(t), job(section(nil)))
	require.NoError(t, err, "the secret key from the file signs")
	assert.Nil(t, found)
}

// TestUnknownJobAnswered400ThenFoundInListCompletes: the job API refuses a
// job ID it does not know yet with 400 and a DBS code, not 404. Within
// JobLookupGrace the backup list decides, so the backup completes although
// the job is still refused.
func TestUnknownJobAnswered400ThenFoundInListCompletes(t *testing.T) {
	s := startSim(t, taurusdbsim.Options{JobVisibilityDelay: time.Hour, UnknownJobStatus: 400, Duration: 10 * time.Second})
	d := newDriver(t, s, taurusdbsim.SecretKey)
	op, err := d.Start(ctx(t), job(section(nil)))
	require.NoError(t, err)
	require.NotEqual(t, op.BackupID, op.ID, "the job ID")

	st, err := d.Poll(ctx(t), op)
	require.NoError(t, err, "a refused job ID is not decided on within the grace")
	assert.Equal(t, provider.PhaseRunning, st.Phase)
	assert.Equal(t, "BUILDING", st.ProviderState, "read from the backup list")

	s.Advance(11 * time.Second)
	st, err = d.Poll(ctx(t), op)
	require.NoError(t, err)
	assert.Equal(t, provider.PhaseSucceeded, st.Phase)
	assert.Equal(t, "COMPLETED", st.ProviderState, "read from the backup list; the job is still refused")
}

// TestJobRefusalAfterGrace: after JobLookupGrace a 400 refusal of the job ID
// is taken at its word; a 404 still goes to the backup list.
func TestJobRefusalAfterGrace(t *testing.T) {
	for _, c := range []struct {
		unknownJobStatus int
		wantErr          provider.Class
	}{
		{400, provider.InvalidArgument},
		{404, ""},
	} {
		t.Run(strconv.Itoa(c.unknownJobStatus), func(t *testing.T) {
			s := startSim(t, taurusdbsim.Options{JobVisibilityDelay: time.Hour, UnknownJobStatus: c.unknownJobStatus})
			d := newDriver(t, s, taurusdbsim.SecretKey)
			op, err := d.Start(ctx(t), job(section(nil)))
			require.NoError(t, err)
			s.Advance(time.Minute) // the backup is COMPLETED in the list
			began := time.Now().Add(-taurusdb.JobLookupGrace - time.Second)
			op.StartedAt = &began

			st, err := d.Poll(ctx(t), op)
			if c.wantErr != "" {
				e := pe(t, err)
				assert.Equal(t, c.wantErr, e.Class)
				assert.Equal(t, 400, e.HTTPStatus)
				assert.Equal(t, "DBS.280127", e.Code)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, provider.PhaseSucceeded, st.Phase)
			assert.Equal(t, "COMPLETED", st.ProviderState)
		})
	}
}

// TestBackupSizeIsMB: the list gives size in MB; sizeBytes is 2^20 times it.
func TestBackupSizeIsMB(t *testing.T) {
	s := startSim(t, taurusdbsim.Options{})
	d := newDriver(t, s, taurusdbsim.SecretKey)
	op, err := d.Start(ctx(t), job(section(nil)))
	require.NoError(t, err)
	poll(t, s, d, op)
	b, err := d.Describe(ctx(t), op)
	require.NoError(t, err)
	require.NotNil(t, b.SizeBytes)
	assert.Equal(t, int64(taurusdbsim.BackupSizeMB*(1<<20)), *b.SizeBytes)
	var rec map[string]any
	require.NoError(t, json.Unmarshal(b.Record, &rec))
	assert.Equal(t, taurusdbsim.BackupSizeMB, rec["size"], "the record keeps the provider's MB")
}

// TestAvailableBackupSucceeds: AVAILABLE is a finished, usable backup.
func TestAvailableBackupSucceeds(t *testing.T) {
	s := startSim(t, taurusdbsim.Options{FinishedStatus: "AVAILABLE", JobVisibilityDelay: time.Hour, Duration: 10 * time.Second})
	d := newDriver(t, s, taurusdbsim.SecretKey)
	op, err := d.Start(ctx(t), job(section(nil)))
	require.NoError(t, err)
	s.Advance(11 * time.Second)
	st, err := d.Poll(ctx(t), op)
	require.NoError(t, err)
	assert.Equal(t, provider.PhaseSucceeded, st.Phase)
	assert.Equal(t, "AVAILABLE", st.ProviderState)
	assert.Equal(t, 100.0, st.Percent)
	assert.Empty(t, st.Message)
	b, err := d.Describe(ctx(t), op)
	require.NoError(t, err)
	assert.Equal(t, "AVAILABLE", b.State)
}

// TestJobEndings: every way a job can end, read through the job API.
func TestJobEndings(t *testing.T) {
	for _, c := range []struct {
		outcome string
		want    provider.Phase
	}{
		{taurusdbsim.JobCompleted, provider.PhaseSucceeded},
		{"Failed", provider.PhaseFailed},
		{"Canceled", provider.PhaseFailed},
		{"Unauthorized", provider.PhaseFailed},
	} {
		t.Run(c.outcome, func(t *testing.T) {
			s := startSim(t, taurusdbsim.Options{JobPendingFor: time.Second})
			d := newDriver(t, s, taurusdbsim.SecretKey)
			require.NoError(t, s.SetJobOutcome(taurusdbsim.InstanceID(5), c.outcome))
			op, err := d.Start(ctx(t), job(section(map[string]any{"instance_id": taurusdbsim.InstanceID(5)})))
			require.NoError(t, err)
			st, err := d.Poll(ctx(t), op)
			require.NoError(t, err)
			assert.Equal(t, "Pending", st.ProviderState)
			assert.Equal(t, provider.PhaseRunning, st.Phase)
			assert.Zero(t, st.Percent)
			st = poll(t, s, d, op)
			assert.Equal(t, c.want, st.Phase)
			assert.Equal(t, c.outcome, st.ProviderState)
		})
	}
}

// TestBusyCodesAreRetried: each code an instance busy with another operation
// answers a create with is Busy, and the create succeeds once it is free.
func TestBusyCodesAreRetried(t *testing.T) {
	for _, code := range taurusdbsim.BusyCodes {
		t.Run(code, func(t *testing.T) {
			s := startSim(t, taurusdbsim.Options{})
			d := newDriver(t, s, taurusdbsim.SecretKey)
			require.NoError(t, s.SetBusyWith(taurusdbsim.InstanceID(7), code))
			j := job(section(map[string]any{"instance_id": taurusdbsim.InstanceID(7)}))
			_, err := d.Start(ctx(t), j)
			e := pe(t, err)
			assert.Equal(t, provider.Busy, e.Class)
			assert.Equal(t, code, e.Code)
			assert.Equal(t, 409, e.HTTPStatus)
			s.SetBusy(taurusdbsim.InstanceID(7), false)
			_, err = d.Start(ctx(t), j)
			require.NoError(t, err)
		})
	}
}

// TestDocumentedCodesMapToDocumentedClass: every code docs/providers/taurusdb.md
// lists, answered by the provider with the status the page gives, reaches the
// driver's caller with the class the page gives. The answer meets the first
// call Start makes (the backup listing that looks for an earlier attempt's
// backup): the mapping is one function for every call.
func TestDocumentedCodesMapToDocumentedClass(t *testing.T) {
	doc, err := doctables.Read(doctable.Page("taurusdb"))
	require.NoError(t, err)
	require.NotEmpty(t, doc.Codes)
	s := startSim(t, taurusdbsim.Options{})
	d := newDriver(t, s, taurusdbsim.SecretKey)
	for _, c := range doc.Codes {
		t.Run(c.Code, func(t *testing.T) {
			s.AnswerNext(c.HTTPStatus, c.Code, "documented answer")
			_, err := d.Start(ctx(t), job(section(nil)))
			e := pe(t, err)
			assert.Equal(t, c.Class, e.Class)
			assert.Equal(t, c.Code, e.Code)
			assert.Equal(t, c.HTTPStatus, e.HTTPStatus)
		})
	}
}
