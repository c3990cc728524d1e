package otcrds_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/otcrds"
	"github.com/backupflow/backupflow/simulator/huaweicloudsim/huaweiclient"
	"github.com/backupflow/backupflow/simulator/otcrdssim"
)

var (
	ctx = huaweiclient.Ctx
	pe  = huaweiclient.ProviderError
	job = huaweiclient.CreateJob
)

func poll(t *testing.T, s *otcrdssim.Server, d provider.Driver, op provider.Operation) provider.Status {
	t.Helper()
	return huaweiclient.PollToEnd(t, s, d, op, s.Options().Duration/2)
}

// bothAuth runs f with a token driver and with an AK/SK driver.
func bothAuth(t *testing.T, s *otcrdssim.Server, f func(t *testing.T, d *otcrds.Driver)) {
	t.Run("token", func(t *testing.T) { f(t, newDriver(t, tokenConfig(s, otcrdssim.Password))) })
	t.Run("aksk", func(t *testing.T) { f(t, newDriver(t, akskConfig(s, otcrdssim.SecretKey))) })
}

// OTC's create-manual-backup API: "Read replicas do not support manual backup creation."
func TestPreflightRefusesReadReplica(t *testing.T) {
	s := startSim(t, otcrdssim.Options{})
	bothAuth(t, s, func(t *testing.T, d *otcrds.Driver) {
		j := job(section(map[string]any{"instance_id": otcrdssim.ReplicaInstance}))
		_, err := d.Validate(j.Kind, j.Section, time.Now())
		require.NoError(t, err, "the ID alone does not tell a replica")
		e := pe(t, d.Preflight(ctx(t), j))
		assert.Equal(t, provider.InvalidArgument, e.Class)
		assert.Equal(t, "otcrds.instance_id", e.Field)
		assert.Contains(t, e.Rule, "read replica")
		assert.False(t, e.Class.Retryable())
		assert.Empty(t, s.Inventory(), "no backup created")

		// Its primary can be backed up.
		require.NoError(t, d.Preflight(ctx(t), job(section(map[string]any{"instance_id": otcrdssim.ReplicaPrimary}))))
	})
	// Even without Preflight, the provider refuses, and nothing is created.
	d := newDriver(t, akskConfig(s, otcrdssim.SecretKey))
	_, err := d.Start(ctx(t), job(section(map[string]any{"instance_id": otcrdssim.ReplicaInstance})))
	assert.Equal(t, provider.InvalidArgument, pe(t, err).Class)
	assert.Empty(t, s.Inventory())
}

// OTC's create-manual-backup API, databases: "Only Microsoft SQL Server support partial backups."
func TestPreflightRefusesDatabasesOnNonSQLServer(t *testing.T) {
	s := startSim(t, otcrdssim.Options{})
	dbs := []map[string]string{{"name": "sales"}}
	bothAuth(t, s, func(t *testing.T, d *otcrds.Driver) {
		for _, inst := range []string{otcrdssim.InstanceID(0), otcrdssim.PostgreSQLInstance} {
			j := job(section(map[string]any{"instance_id": inst, "databases": dbs}))
			_, err := d.Validate(j.Kind, j.Section, time.Now())
			require.NoError(t, err)
			e := pe(t, d.Preflight(ctx(t), j))
			assert.Equal(t, provider.InvalidArgument, e.Class, inst)
			assert.Equal(t, "otcrds.databases", e.Field)
			assert.Contains(t, e.Rule, "SQL Server")
		}
		// Without databases, the same instances pass.
		require.NoError(t, d.Preflight(ctx(t), job(section(map[string]any{"instance_id": otcrdssim.PostgreSQLInstance}))))
	})
	assert.Empty(t, s.Inventory(), "no backup created")
	d := newDriver(t, akskConfig(s, otcrdssim.SecretKey))
	_, err := d.Start(ctx(t), job(section(map[string]any{"databases": dbs})))
	assert.Equal(t, provider.InvalidArgument, pe(t, err).Class, "the provider refuses too")
	assert.Empty(t, s.Inventory())
}

func TestSQLServerPartialBackup(t *testing.T) {
	s := startSim(t, otcrdssim.Options{})
	d := newDriver(t, tokenConfig(s, otcrdssim.Password))
	j := job(section(map[string]any{"instance_id": otcrdssim.SQLServerInstance, "databases": []map[string]string{{"name": "sales"}, {"name": "audit"}}}))
	require.NoError(t, d.Preflight(ctx(t), j))
	op, err := d.Start(ctx(t), j)
	require.NoError(t, err)
	assert.Equal(t, op.BackupID, op.ID, "no job ID on OTC: the backup ID")
	assert.Equal(t, provider.PhaseSucceeded, poll(t, s, d, op).Phase)
	b, err := d.Describe(ctx(t), op)
	require.NoError(t, err)
	var rec struct {
		Databases []struct{ Name string } `json:"databases"`
		Status    string                  `json:"status"`
	}
	require.NoError(t, json.Unmarshal(b.Record, &rec))
	assert.Equal(t, "COMPLETED", rec.Status)
	require.Len(t, rec.Databases, 2)
	assert.Equal(t, "sales", rec.Databases[0].Name)
	require.NotNil(t, b.SizeBytes)
	assert.Positive(t, *b.SizeBytes)
}

// OTC documents no instance ID format, so any non-empty ID passes Validate,
// and an ID the provider does not know is its own answer: NotFound, with
// the provider's code when the create refuses it.
func TestUnknownInstanceIsProvidersNotFound(t *testing.T) {
	s := startSim(t, otcrdssim.Options{})
	d := newDriver(t, tokenConfig(s, otcrdssim.Password))
	for _, id := range []string{
		"0123456789abcdef0123456789abcdefin01", // the documented example's shape
		"0123456789ABCDEF0123456789ABCDEFin01", // upper case
		"0123456789abcdef0123456789abcdefin07", // another engine suffix
		"my-instance",                          // any other form
	} {
		t.Run(id, func(t *testing.T) {
			j := job(section(map[string]any{"instance_id": id}))
			_, err := d.Validate(j.Kind, j.Section, time.Now())
			require.NoError(t, err, "OTC documents no ID format")
			e := pe(t, d.Preflight(ctx(t), j))
			assert.Equal(t, provider.NotFound, e.Class)
			assert.Equal(t, "otcrds.instance_id", e.Field)
			_, err = d.Start(ctx(t), j)
			e = pe(t, err)
			assert.Equal(t, provider.NotFound, e.Class)
			assert.Equal(t, otcrdssim.CodeInstanceNotFound, e.Code, "the provider's code is kept")
			assert.Equal(t, 404, e.HTTPStatus)
			assert.False(t, e.Class.Retryable())
		})
	}
	assert.Empty(t, s.Inventory())
}

// Preflight reads the instance status: work in progress is Busy (retried), a
// stopped or broken instance is FailedPrecondition (a person must act).
func TestPreflightInstanceStates(t *testing.T) {
	s := startSim(t, otcrdssim.Options{})
	d := newDriver(t, tokenConfig(s, otcrdssim.Password))
	inst := otcrdssim.InstanceID(7)
	j := job(section(map[string]any{"instance_id": inst}))
	cases := []struct {
		status string
		want   provider.Class // "" passes
	}{
		{"ACTIVE", ""},
		{"BACKING UP", ""},
		{"MODIFYING", provider.Busy},
		{"REBOOTING", provider.Busy},
		{"SHUTDOWN", provider.FailedPrecondition},
		{"FAILED", provider.FailedPrecondition},
	}
	for _, c := range cases {
		t.Run(c.status, func(t *testing.T) {
			s.SetInstanceStatus(inst, c.status)
			err := d.Preflight(ctx(t), j)
			if c.want == "" {
				require.NoError(t, err)
				return
			}
			e := pe(t, err)
			assert.Equal(t, c.want, e.Class)
			assert.Equal(t, "otcrds.instance_id", e.Field)
			assert.Contains(t, e.Message, c.status)
		})
	}
	s.SetInstanceStatus(inst, "SHUTDOWN")
	_, err := d.Start(ctx(t), j)
	assert.Equal(t, otcrdssim.CodeInstanceBusy, pe(t, err).Code, "the create itself refuses too")
	_, err = d.Start(ctx(t), job(section(map[string]any{"instance_id": otcrdssim.BusyInstance})))
	assert.Equal(t, provider.Busy, pe(t, err).Class)
	assert.Empty(t, s.Inventory())
}

// OTC's backup list returns no description, so a listed backup can never be
// proven ours: a same-name backup on the instance is refused as unproven,
// whoever made it (another workflow here, or this one's own earlier attempt),
// and nothing is created or deleted.
func TestSameNameIsNeverAdopted(t *testing.T) {
	s := startSim(t, otcrdssim.Options{})
	d := newDriver(t, tokenConfig(s, otcrdssim.Password))
	first := job(section(map[string]any{"name": "unique-name"}))
	op, err := d.Start(ctx(t), first)
	require.NoError(t, err)
	poll(t, s, d, op)

	other := first
	other.Owner = provider.Owner{WorkflowID: "someone-else", RunID: "r", StartedAt: time.Now().Add(-time.Hour)}
	for name, j := range map[string]provider.Job{"another workflow": other, "the same workflow": first} {
		t.Run(name, func(t *testing.T) {
			found, err := d.Find(ctx(t), j)
			assert.Nil(t, found)
			e := pe(t, err)
			assert.Equal(t, provider.AlreadyExists, e.Class)
			assert.False(t, e.Class.Retryable())
			assert.Equal(t, []string{op.BackupID}, e.Unproven)
			assert.Equal(t, "otcrds.name", e.Field)
			assert.Contains(t, e.Message, op.BackupID)
			assert.Contains(t, e.Message, j.Owner.Marker(), "names the marker a person can look for")
			_, err = d.Start(ctx(t), j)
			assert.Equal(t, []string{op.BackupID}, provider.UnprovenOf(err))
			assert.Equal(t, []string{op.BackupID}, s.Inventory(), "nothing created, nothing deleted")
		})
	}
}

// TestCreateStoresTheMarker: the backup's description is the request's
// followed by the owner's marker, or the marker alone.
func TestCreateStoresTheMarker(t *testing.T) {
	s := startSim(t, otcrdssim.Options{})
	d := newDriver(t, akskConfig(s, otcrdssim.SecretKey))
	withText := job(section(map[string]any{"instance_id": otcrdssim.InstanceID(11), "name": "with-text"}))
	op, err := d.Start(ctx(t), withText)
	require.NoError(t, err)
	stored, ok := s.Description(op.BackupID)
	require.True(t, ok)
	assert.Equal(t, "manual backup "+withText.Owner.Marker(), stored)

	without := job(section(map[string]any{"instance_id": otcrdssim.InstanceID(12), "name": "without-text", "description": nil}))
	op, err = d.Start(ctx(t), without)
	require.NoError(t, err)
	stored, ok = s.Description(op.BackupID)
	require.True(t, ok)
	assert.Equal(t, without.Owner.Marker(), stored)
}

// Backup names are unique in the whole project: a same-name backup on another
// instance is never ours (Find looks on the request's instance only), and the
// create's refusal is reported on otcrds.name with the project-wide rule.
func TestSameNameOnAnotherInstance(t *testing.T) {
	s := startSim(t, otcrdssim.Options{})
	d := newDriver(t, akskConfig(s, otcrdssim.SecretKey))
	theirs, err := d.Start(ctx(t), job(section(map[string]any{"instance_id": otcrdssim.InstanceID(3), "name": "shared-name"})))
	require.NoError(t, err)

	ours := job(section(map[string]any{"instance_id": otcrdssim.InstanceID(4), "name": "shared-name"}))
	found, err := d.Find(ctx(t), ours)
	require.NoError(t, err)
	assert.Nil(t, found, "a backup of another instance is not ours")
	_, err = d.Start(ctx(t), ours)
	e := pe(t, err)
	assert.Equal(t, provider.AlreadyExists, e.Class)
	assert.Equal(t, otcrdssim.CodeNameExists, e.Code)
	assert.Equal(t, 409, e.HTTPStatus)
	assert.Equal(t, "otcrds.name", e.Field)
	assert.Contains(t, e.Rule, "project")
	assert.Contains(t, e.Message, "shared-name")
	assert.False(t, e.Class.Retryable())
	assert.Equal(t, []string{theirs.BackupID}, s.Inventory(), "nothing created, nothing adopted")
}

func TestFindPagesThroughBackups(t *testing.T) {
	s := startSim(t, otcrdssim.Options{Duration: time.Second})
	d := newDriver(t, akskConfig(s, otcrdssim.SecretKey))
	var ops []provider.Operation
	for i := range 105 {
		op, err := d.Start(ctx(t), job(section(map[string]any{"name": "page-" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + "-" + itoa(i)})))
		require.NoError(t, err)
		ops = append(ops, op)
		s.Advance(2 * time.Second)
	}
	// The oldest one is on the second page (newest first); Find names it
	// (as unproven: OTC's list cannot prove a backup ours).
	found, err := d.Find(ctx(t), job(section(map[string]any{"name": "page-a-0"})))
	assert.Nil(t, found)
	assert.Equal(t, []string{ops[0].BackupID}, provider.UnprovenOf(err))
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestManualBackupLimitIsQuota(t *testing.T) {
	s := startSim(t, otcrdssim.Options{ManualBackupLimit: 1})
	d := newDriver(t, tokenConfig(s, otcrdssim.Password))
	_, err := d.Start(ctx(t), job(section(map[string]any{"instance_id": otcrdssim.InstanceID(1), "name": "first-backup"})))
	require.NoError(t, err)
	_, err = d.Start(ctx(t), job(section(map[string]any{"instance_id": otcrdssim.InstanceID(2), "name": "second-backup"})))
	e := pe(t, err)
	assert.Equal(t, provider.Quota, e.Class)
	assert.Equal(t, otcrdssim.CodeManualBackupLimit, e.Code)
	assert.Equal(t, 413, e.HTTPStatus)
}

// A backup still building cannot be deleted (Busy); once deleted it shows
// DELETING, which Poll reads as gone (not a success), and deleting it again
// is done, not an error.
func TestDeleteAndDeleting(t *testing.T) {
	s := startSim(t, otcrdssim.Options{DeleteDuration: time.Minute})
	d := newDriver(t, tokenConfig(s, otcrdssim.Password))
	op, err := d.Start(ctx(t), job(section(nil)))
	require.NoError(t, err)
	cancelled, err := d.Cancel(ctx(t), op)
	require.NoError(t, err)
	assert.False(t, cancelled)
	e := pe(t, d.Delete(ctx(t), op))
	assert.Equal(t, provider.Busy, e.Class)
	assert.Equal(t, otcrdssim.CodeBackupBuilding, e.Code)
	require.Equal(t, provider.PhaseSucceeded, poll(t, s, d, op).Phase)

	require.NoError(t, d.Delete(ctx(t), op))
	state, _ := s.BackupStatus(op.BackupID)
	require.Equal(t, "DELETING", state)
	st, err := d.Poll(ctx(t), op)
	require.NoError(t, err)
	assert.Equal(t, provider.PhaseGone, st.Phase, "a backup being deleted is no success")
	assert.Equal(t, "DELETING", st.ProviderState)
	assert.True(t, st.Phase.Done())
	require.NoError(t, d.Delete(ctx(t), op), "already being deleted (RDS.3016) is done")
	b, err := d.Describe(ctx(t), op)
	require.NoError(t, err)
	assert.Equal(t, "DELETING", b.State)
	assert.Nil(t, b.SizeBytes, "no size for a backup that is going away")
	listed, err := d.List(ctx(t), backup.KindCreate, op.Resource)
	require.NoError(t, err)
	for _, l := range listed {
		assert.NotEqual(t, op.BackupID, l.ID, "List leaves out a backup being deleted")
	}

	s.Advance(time.Minute)
	require.NoError(t, d.Delete(ctx(t), op), "already gone is done")
	st, err = d.Poll(ctx(t), op)
	require.NoError(t, err)
	assert.Equal(t, provider.PhaseRunning, st.Phase, "a just-started backup missing from the list may not be visible yet")
	old := time.Now().Add(-time.Hour)
	op.StartedAt = &old
	st, err = d.Poll(ctx(t), op)
	require.NoError(t, err)
	assert.Equal(t, provider.PhaseGone, st.Phase)
}

func TestFailedBackup(t *testing.T) {
	s := startSim(t, otcrdssim.Options{})
	d := newDriver(t, akskConfig(s, otcrdssim.SecretKey))
	op, err := d.Start(ctx(t), job(section(map[string]any{"instance_id": otcrdssim.FailingInstance})))
	require.NoError(t, err)
	st := poll(t, s, d, op)
	assert.Equal(t, provider.PhaseFailed, st.Phase)
	assert.Equal(t, "FAILED", st.ProviderState)
}

// OTC reports no progress: the estimate follows the provider's clock (Date).
func TestPollPercentFollowsProviderClock(t *testing.T) {
	s := startSim(t, otcrdssim.Options{Duration: 2 * time.Hour})
	cfg := akskConfig(s, otcrdssim.SecretKey)
	cfg.ExpectedDuration = 10 * time.Minute
	d := newDriver(t, cfg)
	op, err := d.Start(ctx(t), job(section(nil)))
	require.NoError(t, err)
	st, err := d.Poll(ctx(t), op)
	require.NoError(t, err)
	assert.Less(t, st.Percent, 1.0)
	s.Advance(5 * time.Minute)
	st, err = d.Poll(ctx(t), op)
	require.NoError(t, err)
	assert.InDelta(t, 100*5.0/15, st.Percent, 1, "100·5m/(5m+10m)")
	s.Advance(time.Hour)
	st, err = d.Poll(ctx(t), op)
	require.NoError(t, err)
	assert.InDelta(t, 100*65.0/75, st.Percent, 1)
	assert.Less(t, st.Percent, 100.0)
	assert.Equal(t, "BUILDING", st.ProviderState)
}

// fakeClock is the driver's clock in token tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestTokenRefreshBeforeExpiry(t *testing.T) {
	s := startSim(t, otcrdssim.Options{TokenTTL: time.Hour})
	d := newDriver(t, tokenConfig(s, otcrdssim.Password))
	clock := &fakeClock{t: time.Now()}
	d.SetClock(clock.Now)
	find := func() {
		t.Helper()
		_, err := d.Find(ctx(t), job(section(nil)))
		require.NoError(t, err)
	}
	find()
	assert.Equal(t, 1, s.TokensIssued())
	clock.Add(47 * time.Minute)
	find()
	assert.Equal(t, 1, s.TokensIssued(), "78%% of the lifetime: the token is reused")
	clock.Add(2 * time.Minute)
	find()
	assert.Equal(t, 2, s.TokensIssued(), "past 80%%: a new token before the old one expires")
	find()
	assert.Equal(t, 2, s.TokensIssued())
}

func TestTokenRefreshedOnceOn401(t *testing.T) {
	s := startSim(t, otcrdssim.Options{})
	d := newDriver(t, tokenConfig(s, otcrdssim.Password))
	_, err := d.Find(ctx(t), job(section(nil)))
	require.NoError(t, err)
	require.Equal(t, 1, s.TokensIssued())

	// The provider stops accepting the token (revoked): one 401, one new token, success.
	s.RevokeTokens()
	calls := s.Calls()
	_, err = d.Find(ctx(t), job(section(nil)))
	require.NoError(t, err)
	assert.Equal(t, 2, s.TokensIssued())
	assert.Equal(t, calls+3, s.Calls(), "refused call, token, retried call")

	// The provider's clock passes the token's expiry (the driver's does not).
	s.Advance(25 * time.Hour)
	_, err = d.Find(ctx(t), job(section(nil)))
	require.NoError(t, err, "an expired token is replaced once")
	assert.Equal(t, 3, s.TokensIssued())
}

func TestTokenRefusedIsPermission(t *testing.T) {
	s := startSim(t, otcrdssim.Options{})
	d := newDriver(t, tokenConfig(s, "wrong-password"))
	err := d.Preflight(ctx(t), job(section(nil)))
	e := pe(t, err)
	assert.Equal(t, provider.Permission, e.Class)
	assert.Equal(t, 401, e.HTTPStatus)
	assert.Contains(t, e.Message, "IAM")
	assert.False(t, e.Class.Retryable())
	assert.Equal(t, 1, s.Calls(), "only the IAM call: no RDS call without a token")
	assert.Zero(t, s.TokensIssued())
}

func TestAKSKRefusedIsPermission(t *testing.T) {
	s := startSim(t, otcrdssim.Options{})
	d := newDriver(t, akskConfig(s, "wrong"))
	e := pe(t, d.Preflight(ctx(t), job(section(nil))))
	assert.Equal(t, provider.Permission, e.Class)
	assert.Equal(t, "APIG.0301", e.Code)
	assert.Equal(t, 1, s.Calls(), "a 401 with AK/SK is not retried")
}

func TestConfig(t *testing.T) {
	_, err := otcrds.New(otcrds.Config{Auth: otcrds.AuthToken})
	require.Error(t, err)
	for _, v := range []string{"BACKUPFLOW_OTCRDS_ENDPOINT", "BACKUPFLOW_OTCRDS_PROJECT_ID", "BACKUPFLOW_OTCRDS_IAM_ENDPOINT",
		"BACKUPFLOW_OTCRDS_USERNAME", "BACKUPFLOW_OTCRDS_PASSWORD", "BACKUPFLOW_OTCRDS_DOMAIN"} {
		assert.Contains(t, err.Error(), v)
	}
	_, err = otcrds.New(otcrds.Config{Auth: otcrds.AuthAKSK, Endpoint: "http://127.0.0.1:1", Insecure: true, ProjectID: otcrdssim.ProjectID})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "BACKUPFLOW_OTCRDS_ACCESS_KEY")
	assert.Contains(t, err.Error(), "BACKUPFLOW_OTCRDS_SECRET_KEY")
	assert.NotContains(t, err.Error(), "BACKUPFLOW_OTCRDS_USERNAME", "token settings are not needed for aksk")
	_, err = otcrds.New(otcrds.Config{Auth: "basic", Endpoint: "http://127.0.0.1:1", Insecure: true, ProjectID: otcrdssim.ProjectID})
	assert.ErrorContains(t, err, "BACKUPFLOW_OTCRDS_AUTH: must be token or aksk")
}

func TestConfigFromEnvironment(t *testing.T) {
	s := startSim(t, otcrdssim.Options{})
	file := filepath.Join(t.TempDir(), "password")
	require.NoError(t, os.WriteFile(file, []byte(otcrdssim.Password+"\n"), 0o600))
	t.Setenv("BACKUPFLOW_OTCRDS_ENDPOINT", s.Endpoint())
	t.Setenv("BACKUPFLOW_OTCRDS_INSECURE", "true")
	t.Setenv("BACKUPFLOW_OTCRDS_PROJECT_ID", otcrdssim.ProjectID)
	t.Setenv("BACKUPFLOW_OTCRDS_IAM_ENDPOINT", s.IAMEndpoint())
	t.Setenv("BACKUPFLOW_OTCRDS_USERNAME", otcrdssim.Username)
	t.Setenv("BACKUPFLOW_OTCRDS_PASSWORD_FILE", file)
	t.Setenv("BACKUPFLOW_OTCRDS_DOMAIN", otcrdssim.Domain)
	cfg, err := env.ParseAs[otcrds.Config]()
	require.NoError(t, err)
	assert.Equal(t, otcrds.AuthToken, cfg.Auth, "token is the default")
	d, err := otcrds.New(cfg)
	require.NoError(t, err)
	require.NoError(t, d.Preflight(ctx(t), job(section(nil))))
	assert.Equal(t, 1, s.TokensIssued())
}
