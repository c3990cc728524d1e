package spanner_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/spanner/admin/database/apiv1/databasepb"
	"github.com/caarlos0/env/v11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/spanner"
	"github.com/backupflow/backupflow/simulator/spannersim"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func ownerNow() provider.Owner {
	return provider.Owner{WorkflowID: fmt.Sprintf("test-%d", time.Now().UnixNano()), RunID: "r1", StartedAt: time.Now().Add(-time.Second).UTC()}
}

func jobOf(kind backup.Kind, section json.RawMessage) provider.Job {
	return provider.Job{Kind: kind, Section: section, Owner: ownerNow()}
}

func mustStart(t *testing.T, d provider.Driver, job provider.Job) provider.Operation {
	t.Helper()
	_, err := d.Validate(job.Kind, job.Section, time.Now())
	require.NoError(t, err)
	require.NoError(t, d.Preflight(testCtx(t), job))
	op, err := d.Start(testCtx(t), job)
	require.NoError(t, err)
	return op
}

// finish advances the simulator past a backup's duration and polls it to the end.
func finish(t *testing.T, srv *spannersim.Server, d provider.Driver, op provider.Operation) provider.Status {
	t.Helper()
	srv.Advance(2 * simDuration)
	st, err := d.Poll(testCtx(t), op)
	require.NoError(t, err)
	require.True(t, st.Phase.Done(), "%+v", st)
	return st
}

func record(t *testing.T, b backup.Backup) *databasepb.Backup {
	t.Helper()
	var rec databasepb.Backup
	require.NoError(t, protojson.Unmarshal(b.Record, &rec))
	return &rec
}

func createSection(t *testing.T, id string, db int, mutate func(*backup.SpannerCreate)) json.RawMessage {
	t.Helper()
	var s backup.SpannerCreate
	s.Parent, s.BackupID = spannersim.Instance, id
	s.Backup.Database = spannersim.DatabaseName(db)
	s.Backup.ExpireTime = time.Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339)
	if mutate != nil {
		mutate(&s)
	}
	b, err := json.Marshal(s)
	require.NoError(t, err)
	return b
}

func copySection(t *testing.T, id, source string, mutate func(*backup.SpannerCopy)) json.RawMessage {
	t.Helper()
	s := backup.SpannerCopy{Parent: spannersim.CopyInstance, BackupID: id, SourceBackup: source,
		ExpireTime: time.Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339)}
	if mutate != nil {
		mutate(&s)
	}
	b, err := json.Marshal(s)
	require.NoError(t, err)
	return b
}

var opNameRe = regexp.MustCompile(`^projects/demo-project/instances/(demo|copy)-instance/backups/[a-z0-9-]+/operations/[^/]+$`)

func TestOperationIsNamedAndTargetsAreResources(t *testing.T) {
	srv := startSim(t)
	d := newDriver(t, srv, spannersim.AccessToken)
	job := jobOf(backup.KindCreate, createSection(t, "named", 3, nil))
	target, err := d.Validate(job.Kind, job.Section, time.Now())
	require.NoError(t, err)
	assert.Equal(t, provider.Target{Resource: spannersim.DatabaseName(3), BackupName: "named"}, target)

	op := mustStart(t, d, job)
	assert.Regexp(t, opNameRe, op.ID, "the documented operation name format")
	assert.True(t, strings.HasPrefix(op.ID, spannersim.Instance+"/backups/named/operations/"))
	assert.Equal(t, spannersim.Instance+"/backups/named", op.BackupName)
	assert.Equal(t, "named", op.BackupID)
	require.NotNil(t, op.StartedAt)
	require.Equal(t, provider.PhaseSucceeded, finish(t, srv, d, op).Phase)

	cjob := jobOf(backup.KindCopy, copySection(t, "named-copy", op.BackupName, nil))
	target, err = d.Validate(cjob.Kind, cjob.Section, time.Now())
	require.NoError(t, err)
	assert.Equal(t, provider.Target{Resource: spannersim.CopyInstance + "/backups/named-copy", BackupName: "named-copy"}, target)
	cop := mustStart(t, d, cjob)
	assert.Regexp(t, opNameRe, cop.ID)
	assert.Equal(t, backup.KindCopy, cop.Kind)
}

func TestDescribeReturnsTheBackupRecord(t *testing.T) {
	srv := startSim(t)
	d := newDriver(t, srv, spannersim.AccessToken)
	version := srv.Now().Add(-10 * time.Minute).Truncate(time.Second)
	expire := time.Now().Add(10 * 24 * time.Hour).UTC().Truncate(time.Second)
	job := jobOf(backup.KindCreate, createSection(t, "described", 4, func(s *backup.SpannerCreate) {
		s.Backup.VersionTime = version.Format(time.RFC3339)
		s.Backup.ExpireTime = expire.Format(time.RFC3339)
		s.EncryptionConfig = &backup.SpannerEncryptionConfig{EncryptionType: "GOOGLE_DEFAULT_ENCRYPTION"}
	}))
	op := mustStart(t, d, job)
	st := finish(t, srv, d, op)
	require.Equal(t, provider.PhaseSucceeded, st.Phase)
	assert.Equal(t, "READY", st.ProviderState)
	assert.Equal(t, 100.0, st.Percent)

	b, err := d.Describe(testCtx(t), op)
	require.NoError(t, err)
	assert.Equal(t, spannersim.Instance+"/backups/described", b.ID)
	assert.Equal(t, "described", b.Name)
	assert.Equal(t, "READY", b.State)
	require.NotNil(t, b.SizeBytes)
	assert.Positive(t, *b.SizeBytes)
	require.NotNil(t, b.ExpireTime)
	assert.Equal(t, expire.Add(time.Duration(spanner.MarkerMicros(job.Owner))*time.Microsecond), b.ExpireTime.UTC(),
		"the requested second, its sub-second part the owner's marker")
	rec := record(t, b)
	assert.Equal(t, spannersim.DatabaseName(4), rec.GetDatabase())
	assert.True(t, version.Equal(rec.GetVersionTime().AsTime()), "versionTime reaches the provider")
	assert.Equal(t, databasepb.EncryptionInfo_GOOGLE_DEFAULT_ENCRYPTION, rec.GetEncryptionInfo().GetEncryptionType())
	assert.Contains(t, string(b.Record), `"state":"READY"`, "the record is the provider's JSON")
}

func TestEncryptionConfigReachesTheProvider(t *testing.T) {
	srv := startSim(t)
	d := newDriver(t, srv, spannersim.AccessToken)
	const (
		k1 = "projects/demo-project/locations/us-central1/keyRings/ring/cryptoKeys/k1"
		k2 = "projects/demo-project/locations/us-east1/keyRings/ring/cryptoKeys/k2"
	)
	describe := func(op provider.Operation) *databasepb.Backup {
		require.Equal(t, provider.PhaseSucceeded, finish(t, srv, d, op).Phase)
		b, err := d.Describe(testCtx(t), op)
		require.NoError(t, err)
		return record(t, b)
	}
	versions := func(rec *databasepb.Backup) []string {
		var out []string
		for _, e := range rec.GetEncryptionInformation() {
			require.Equal(t, databasepb.EncryptionInfo_CUSTOMER_MANAGED_ENCRYPTION, e.GetEncryptionType())
			out = append(out, e.GetKmsKeyVersion())
		}
		return out
	}

	multi := mustStart(t, d, jobOf(backup.KindCreate, createSection(t, "cmek-multi", 10, func(s *backup.SpannerCreate) {
		s.EncryptionConfig = &backup.SpannerEncryptionConfig{EncryptionType: "CUSTOMER_MANAGED_ENCRYPTION", KmsKeyNames: []string{k1, k2}}
	})))
	assert.Equal(t, []string{k1 + "/cryptoKeyVersions/1", k2 + "/cryptoKeyVersions/1"}, versions(describe(multi)))

	single := mustStart(t, d, jobOf(backup.KindCreate, createSection(t, "cmek-single", 11, func(s *backup.SpannerCreate) {
		s.EncryptionConfig = &backup.SpannerEncryptionConfig{EncryptionType: "CUSTOMER_MANAGED_ENCRYPTION", KmsKeyName: k1}
	})))
	singleRec := describe(single)
	assert.Equal(t, []string{k1 + "/cryptoKeyVersions/1"}, versions(singleRec))

	// USE_DATABASE_ENCRYPTION (explicit) on a CMEK database uses the database's key.
	var s backup.SpannerCreate
	s.Parent, s.BackupID = spannersim.CMEKInstance, "dbenc"
	s.Backup.Database = spannersim.CMEKDatabase
	s.Backup.ExpireTime = time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	s.EncryptionConfig = &backup.SpannerEncryptionConfig{EncryptionType: "USE_DATABASE_ENCRYPTION"}
	raw, _ := json.Marshal(s)
	assert.Equal(t, []string{spannersim.DemoKMSKey + "/cryptoKeyVersions/1"}, versions(describe(mustStart(t, d, jobOf(backup.KindCreate, raw)))))

	// Copies: the default inherits the source's encryption; the others override it.
	inherit := mustStart(t, d, jobOf(backup.KindCopy, copySection(t, "copy-inherit", single.BackupName, nil)))
	assert.Equal(t, []string{k1 + "/cryptoKeyVersions/1"}, versions(describe(inherit)))
	explicit := mustStart(t, d, jobOf(backup.KindCopy, copySection(t, "copy-default", single.BackupName, func(c *backup.SpannerCopy) {
		c.EncryptionConfig = &backup.SpannerEncryptionConfig{EncryptionType: "USE_CONFIG_DEFAULT_OR_BACKUP_ENCRYPTION"}
	})))
	assert.Equal(t, []string{k1 + "/cryptoKeyVersions/1"}, versions(describe(explicit)))
	google := mustStart(t, d, jobOf(backup.KindCopy, copySection(t, "copy-google", single.BackupName, func(c *backup.SpannerCopy) {
		c.EncryptionConfig = &backup.SpannerEncryptionConfig{EncryptionType: "GOOGLE_DEFAULT_ENCRYPTION"}
	})))
	assert.Equal(t, databasepb.EncryptionInfo_GOOGLE_DEFAULT_ENCRYPTION, describe(google).GetEncryptionInfo().GetEncryptionType())
	cmek := mustStart(t, d, jobOf(backup.KindCopy, copySection(t, "copy-cmek", single.BackupName, func(c *backup.SpannerCopy) {
		c.EncryptionConfig = &backup.SpannerEncryptionConfig{EncryptionType: "CUSTOMER_MANAGED_ENCRYPTION", KmsKeyNames: []string{k2}}
	})))
	assert.Equal(t, []string{k2 + "/cryptoKeyVersions/1"}, versions(describe(cmek)))
}

func TestValidateAcceptsDocumentedVariants(t *testing.T) {
	d := &spanner.Driver{} // Validate makes no call: no client needed
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const key = "projects/p/locations/l/keyRings/r/cryptoKeys/k"
	create := func(mut func(m map[string]any)) json.RawMessage {
		m := validCreate(now)
		mut(m)
		return raw(m)
	}
	cases := map[string]json.RawMessage{
		"expire exactly 6h": create(func(m map[string]any) { with(m, "backup.expireTime", now.Add(6*time.Hour).Format(time.RFC3339)) }),
		"expire 366d less a second": create(func(m map[string]any) {
			with(m, "backup.expireTime", now.Add(366*24*time.Hour-time.Second).Format(time.RFC3339))
		}),
		"expire with offset": create(func(m map[string]any) {
			with(m, "backup.expireTime", now.Add(48*time.Hour).In(time.FixedZone("", 5*3600+1800)).Format(time.RFC3339))
		}),
		"expire with nanoseconds": create(func(m map[string]any) { with(m, "backup.expireTime", "2026-03-10T15:01:23.045123456Z") }),
		"versionTime now":         create(func(m map[string]any) { with(m, "backup.versionTime", now.Format(time.RFC3339)) }),
		"versionTime 7 days ago":  create(func(m map[string]any) { with(m, "backup.versionTime", now.Add(-7*24*time.Hour).Format(time.RFC3339)) }),
		"database encryption": create(func(m map[string]any) {
			m["encryptionConfig"] = map[string]any{"encryptionType": "USE_DATABASE_ENCRYPTION"}
		}),
		"google default encryption": create(func(m map[string]any) {
			m["encryptionConfig"] = map[string]any{"encryptionType": "GOOGLE_DEFAULT_ENCRYPTION"}
		}),
		"cmek kmsKeyName": create(func(m map[string]any) {
			m["encryptionConfig"] = map[string]any{"encryptionType": "CUSTOMER_MANAGED_ENCRYPTION", "kmsKeyName": key}
		}),
		"cmek kmsKeyNames": create(func(m map[string]any) {
			m["encryptionConfig"] = map[string]any{"encryptionType": "CUSTOMER_MANAGED_ENCRYPTION", "kmsKeyNames": []string{key, key + "2"}}
		}),
		"backupId 2 chars":  create(func(m map[string]any) { m["backupId"] = "b1" }),
		"backupId 60 chars": create(func(m map[string]any) { m["backupId"] = "b" + strings.Repeat("_-9", 19) + "az" }),
	}
	for name, section := range cases {
		t.Run("create/"+name, func(t *testing.T) {
			_, err := d.Validate(backup.KindCreate, section, now)
			assert.NoError(t, err)
		})
	}
	copyCases := map[string]func(m map[string]any){
		"no encryption config": func(map[string]any) {},
		"config default": func(m map[string]any) {
			m["encryptionConfig"] = map[string]any{"encryptionType": "USE_CONFIG_DEFAULT_OR_BACKUP_ENCRYPTION"}
		},
		"google default": func(m map[string]any) {
			m["encryptionConfig"] = map[string]any{"encryptionType": "GOOGLE_DEFAULT_ENCRYPTION"}
		},
		"cmek": func(m map[string]any) {
			m["encryptionConfig"] = map[string]any{"encryptionType": "CUSTOMER_MANAGED_ENCRYPTION", "kmsKeyNames": []string{key}}
		},
		"expire 1h from now": func(m map[string]any) { m["expireTime"] = now.Add(time.Hour).Format(time.RFC3339) }, // fine if the source is older than 5h
		"expire 366d less a second": func(m map[string]any) {
			m["expireTime"] = now.Add(366*24*time.Hour - time.Second).Format(time.RFC3339)
		},
		"same ID, new instance": func(m map[string]any) { m["backupId"] = "nightly-1" },
	}
	for name, mut := range copyCases {
		t.Run("copy/"+name, func(t *testing.T) {
			m := validCopy(now)
			mut(m)
			_, err := d.Validate(backup.KindCopy, raw(m), now)
			assert.NoError(t, err)
		})
	}
	_, err := d.Validate("restore", raw(validCreate(now)), now)
	var pe *provider.Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "kind", pe.Field)
}

func TestOnePendingCreationPerDatabaseIsBusy(t *testing.T) {
	srv := startSim(t)
	d := newDriver(t, srv, spannersim.AccessToken)
	first := mustStart(t, d, jobOf(backup.KindCreate, createSection(t, "first", 5, nil)))
	second := jobOf(backup.KindCreate, createSection(t, "second", 5, nil))
	_, err := d.Start(testCtx(t), second)
	var pe *provider.Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, provider.Busy, pe.Class, "%v", err)
	assert.True(t, pe.Class.Retryable())
	assert.Equal(t, "FAILED_PRECONDITION", pe.Code)
	assert.Contains(t, pe.Message, "pending")
	assert.NotEmpty(t, pe.RequestID, "the provider's request ID is kept")
	assert.NotContains(t, srv.Inventory(), spannersim.Instance+"/backups/second")

	// Another database is not blocked.
	mustStart(t, d, jobOf(backup.KindCreate, createSection(t, "other-db", 6, nil)))

	require.Equal(t, provider.PhaseSucceeded, finish(t, srv, d, first).Phase)
	op, err := d.Start(testCtx(t), second)
	require.NoError(t, err, "once the first backup is done the second may start")
	assert.Contains(t, op.ID, "/backups/second/operations/")
}

func TestStartAdoptsOwnBackupOnPendingCreation(t *testing.T) {
	srv := startSim(t)
	d := newDriver(t, srv, spannersim.AccessToken)
	job := jobOf(backup.KindCreate, createSection(t, "mine", 7, nil))
	op := mustStart(t, d, job)
	// Spanner may answer a retried create with FAILED_PRECONDITION (pending creation) rather than ALREADY_EXISTS.
	srv.FailNext(provider.Busy, 1, 0)
	again, err := newDriver(t, srv, spannersim.AccessToken).Start(testCtx(t), job)
	require.NoError(t, err)
	assert.Equal(t, op.ID, again.ID)
}

// requireNotOurs checks err refuses the backup as not proven ours, naming it
// and why, at the backupId field, not retried.
func requireNotOurs(t *testing.T, err error, name, why string) {
	t.Helper()
	var pe *provider.Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, provider.AlreadyExists, pe.Class, "%v", err)
	assert.False(t, pe.Class.Retryable())
	assert.Equal(t, []string{name}, provider.UnprovenOf(err))
	assert.Equal(t, "spanner.backupId", pe.Field)
	assert.Contains(t, pe.Message, name)
	assert.Contains(t, pe.Message, why)
}

// assertStartAndFindRefuse checks that neither Start nor Find takes the backup.
func assertStartAndFindRefuse(t *testing.T, d provider.Driver, job provider.Job, name, why string) {
	t.Helper()
	_, err := d.Start(testCtx(t), job)
	requireNotOurs(t, err, name, why)
	found, err := d.Find(testCtx(t), job)
	assert.Nil(t, found)
	requireNotOurs(t, err, name, why)
}

// TestSameIDBackupOfAnotherRunIsNotOurs: a second run of the same workflow
// ID, with the same request, finds the first run's backup under its ID. The
// first run's marker is not the second's, so the backup is refused as not
// proven, named, and kept; the first run still adopts it.
func TestSameIDBackupOfAnotherRunIsNotOurs(t *testing.T) {
	srv := startSim(t)
	d := newDriver(t, srv, spannersim.AccessToken)
	first := jobOf(backup.KindCreate, createSection(t, "taken", 8, nil))
	src := mustStart(t, d, first)
	second := first
	second.Owner.RunID = "r2"
	require.NotEqual(t, spanner.MarkerMicros(first.Owner), spanner.MarkerMicros(second.Owner))
	assertStartAndFindRefuse(t, d, second, src.BackupName, "its expire_time carries no backupflow marker of this workflow")

	again, err := d.Start(testCtx(t), first)
	require.NoError(t, err, "the owner's own retry adopts it")
	assert.Equal(t, src.ID, again.ID)
	assert.Equal(t, "expireTimeMarker", again.Extra["proof"])
	require.Equal(t, provider.PhaseSucceeded, finish(t, srv, d, src).Phase)

	// Copies: the same for a copy of the same source.
	cpFirst := jobOf(backup.KindCopy, copySection(t, "copy-taken", src.BackupName, nil))
	cp := mustStart(t, d, cpFirst)
	cpSecond := cpFirst
	cpSecond.Owner.RunID = "r2"
	assertStartAndFindRefuse(t, d, cpSecond, cp.BackupName, "no backupflow marker")
	again, err = d.Start(testCtx(t), cpFirst)
	require.NoError(t, err)
	assert.Equal(t, cp.ID, again.ID)
	assert.Equal(t, []string{cp.BackupName, src.BackupName}, srv.Inventory(), "nothing made, nothing deleted")
}

// TestMarkedBackupOfAnotherTargetIsNotOurs: the marker alone is not enough;
// the backup must also be of the requested database (or source). A job
// changed under the same owner (or a one-in-a-million marker collision) is
// refused naming what the backup is of.
func TestMarkedBackupOfAnotherTargetIsNotOurs(t *testing.T) {
	srv := startSim(t)
	d := newDriver(t, srv, spannersim.AccessToken)
	job := jobOf(backup.KindCreate, createSection(t, "taken", 8, nil))
	src := mustStart(t, d, job)
	otherDB := job
	otherDB.Section = createSection(t, "taken", 9, nil)
	assertStartAndFindRefuse(t, d, otherDB, src.BackupName, "it is a backup of "+spannersim.DatabaseName(8)+", not of "+spannersim.DatabaseName(9))
	require.Equal(t, provider.PhaseSucceeded, finish(t, srv, d, src).Phase)

	other := mustStart(t, d, jobOf(backup.KindCreate, createSection(t, "other-source", 12, nil)))
	require.Equal(t, provider.PhaseSucceeded, finish(t, srv, d, other).Phase)
	cpJob := jobOf(backup.KindCopy, copySection(t, "copy-taken", src.BackupName, nil))
	cp := mustStart(t, d, cpJob)
	otherSource := cpJob
	otherSource.Section = copySection(t, "copy-taken", other.BackupName, nil)
	assertStartAndFindRefuse(t, d, otherSource, cp.BackupName, "it is a copy of "+src.BackupName+", not of "+other.BackupName)
	assert.Len(t, srv.Inventory(), 3, "no extra backup was created: %v", srv.Inventory())
}

// TestForeignBackupsAreNeverOurs: backups somebody else made under the
// requested ID (whole-second expire_time, as people send it) are refused by
// Start and Find, for a create and for a copy of the same source, and
// survive; nothing of theirs is deleted or cancelled.
func TestForeignBackupsAreNeverOurs(t *testing.T) {
	srv := startSim(t)
	d := newDriver(t, srv, spannersim.AccessToken)
	job := jobOf(backup.KindCreate, createSection(t, "wanted", 32, nil))
	target, err := d.Validate(job.Kind, job.Section, time.Now())
	require.NoError(t, err)
	theirs := srv.AddForeign(target)
	assertStartAndFindRefuse(t, d, job, theirs, "no backupflow marker")
	srv.Advance(2 * simDuration)
	assertStartAndFindRefuse(t, d, job, theirs, "no backupflow marker") // READY now, and its operation finished

	cpJob := jobOf(backup.KindCopy, copySection(t, "wanted-copy", theirs, nil))
	theirCopy := srv.AddForeignCopy(spannersim.CopyInstance+"/backups/wanted-copy", theirs)
	require.NoError(t, d.Preflight(testCtx(t), cpJob))
	assertStartAndFindRefuse(t, d, cpJob, theirCopy, "no backupflow marker")
	assert.Equal(t, []string{theirCopy, theirs}, srv.Inventory())
	assert.Zero(t, srv.CallsTo("DeleteBackup")+srv.CallsTo("CancelOperation"))
}

func TestPreflightCreateChecksDatabase(t *testing.T) {
	srv := startSim(t)
	d := newDriver(t, srv, spannersim.AccessToken)
	check := func(section json.RawMessage) error {
		return d.Preflight(testCtx(t), jobOf(backup.KindCreate, section))
	}
	assert.Equal(t, provider.NotFound, provider.ClassOf(check(createSection(t, "b1", 9999, nil))), "unknown database")
	creating := createSection(t, "b1", 0, func(s *backup.SpannerCreate) { s.Backup.Database = spannersim.CreatingDatabase })
	assert.Equal(t, provider.Busy, provider.ClassOf(check(creating)), "a database still being created")
	otherProject := createSection(t, "b1", 0, func(s *backup.SpannerCreate) {
		s.Parent = "projects/someone-else/instances/i"
		s.Backup.Database = s.Parent + "/databases/d"
	})
	assert.Equal(t, provider.Permission, provider.ClassOf(check(otherProject)))

	old := createSection(t, "b1", 2, func(s *backup.SpannerCreate) {
		s.Backup.VersionTime = srv.Now().Add(-2 * time.Hour).Format(time.RFC3339)
	})
	_, err := d.Validate(backup.KindCreate, old, time.Now())
	require.NoError(t, err, "2 hours back is within the 7-day local bound")
	err = check(old)
	var pe *provider.Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, provider.InvalidArgument, pe.Class)
	assert.Equal(t, "spanner.backup.versionTime", pe.Field)
	assert.Contains(t, pe.Rule, "earliestVersionTime")

	recent := createSection(t, "b1", 2, func(s *backup.SpannerCreate) {
		s.Backup.VersionTime = srv.Now().Add(-30 * time.Minute).Format(time.RFC3339)
	})
	assert.NoError(t, check(recent))
	assert.NoError(t, check(createSection(t, "b1", 2, nil)))
}

func TestPreflightCopyChecksSource(t *testing.T) {
	srv := startSim(t)
	d := newDriver(t, srv, spannersim.AccessToken)
	check := func(section json.RawMessage) error {
		return d.Preflight(testCtx(t), jobOf(backup.KindCopy, section))
	}
	assert.Equal(t, provider.NotFound, provider.ClassOf(check(copySection(t, "c1", spannersim.Instance+"/backups/nope", nil))))

	src := mustStart(t, d, jobOf(backup.KindCreate, createSection(t, "src", 13, nil)))
	still := jobOf(backup.KindCopy, copySection(t, "c1", src.BackupName, nil))
	err := d.Preflight(testCtx(t), still)
	assert.Equal(t, provider.Busy, provider.ClassOf(err), "a source still CREATING is busy, not failed: %v", err)
	_, err = d.Start(testCtx(t), still)
	assert.Equal(t, provider.Busy, provider.ClassOf(err), "the provider's FAILED_PRECONDITION is busy too: %v", err)
	assert.NotContains(t, srv.Inventory(), spannersim.CopyInstance+"/backups/c1")

	require.Equal(t, provider.PhaseSucceeded, finish(t, srv, d, src).Phase)
	b, err := d.Describe(testCtx(t), src)
	require.NoError(t, err)
	created := *b.CreateTime
	expiring := func(at time.Time) json.RawMessage {
		return copySection(t, "c1", src.BackupName, func(c *backup.SpannerCopy) { c.ExpireTime = at.Format(time.RFC3339Nano) })
	}
	for name, at := range map[string]time.Time{
		"under 6 hours after the source's createTime": created.Add(5 * time.Hour),
		"over 366 days after the source's createTime": created.Add(367 * 24 * time.Hour),
	} {
		err := check(expiring(at))
		var pe *provider.Error
		require.ErrorAs(t, err, &pe, name)
		assert.Equal(t, provider.InvalidArgument, pe.Class, name)
		assert.Equal(t, "spanner.expireTime", pe.Field, name)
	}
	assert.NoError(t, check(expiring(created.Add(6*time.Hour+time.Second))))
	assert.NoError(t, check(expiring(created.Add(366*24*time.Hour-time.Second))))

	// The bounds hold for the value sent, the requested second plus the
	// owner's marker: at the exact edges one of the two falls outside
	// unless the marker equals the source's own sub-second part.
	owner := ownerNow()
	m := time.Duration(spanner.MarkerMicros(owner)) * time.Microsecond
	c := created.Sub(created.Truncate(time.Second))
	edge := func(at time.Time) error {
		return d.Preflight(testCtx(t), provider.Job{Kind: backup.KindCopy, Owner: owner, Section: expiring(at)})
	}
	low, high := edge(created.Add(6*time.Hour)), edge(created.Add(366*24*time.Hour))
	refused := func(err error) {
		t.Helper()
		var pe *provider.Error
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, "spanner.expireTime", pe.Field)
		assert.Contains(t, pe.Rule, "ownership marker", "the requested value was within the bounds; the rule says why it is refused")
	}
	switch {
	case m < c:
		refused(low)
		assert.NoError(t, high)
	case m > c:
		refused(high)
		assert.NoError(t, low)
	default:
		assert.NoError(t, low)
		assert.NoError(t, high)
	}
}

// TestExpireTimeBoundsHoldForTheValueSent: Validate, knowing no owner,
// requires every instant of the requested second to be within the bounds;
// Start checks the one value it sends.
func TestExpireTimeBoundsHoldForTheValueSent(t *testing.T) {
	d := &spanner.Driver{}
	now := time.Date(2026, 3, 1, 12, 0, 0, 700_000_000, time.UTC)
	validate := func(kind backup.Kind, m map[string]any) error {
		_, err := d.Validate(kind, raw(m), now)
		return err
	}
	refused := func(t *testing.T, err error, field string) {
		t.Helper()
		var pe *provider.Error
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, field, pe.Field)
		assert.Contains(t, pe.Rule, "ownership marker")
	}
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339Nano) }
	// 6h and 0.1s ahead: within the bounds, but its second begins 0.6s before now+6h.
	refused(t, validate(backup.KindCreate, with(validCreate(now), "backup.expireTime", at(6*time.Hour+100*time.Millisecond))), "spanner.backup.expireTime")
	assert.NoError(t, validate(backup.KindCreate, with(validCreate(now), "backup.expireTime", at(6*time.Hour+300*time.Millisecond))))
	// 366 days less 0.5s: within, but its second ends 0.3s past now+366d.
	refused(t, validate(backup.KindCreate, with(validCreate(now), "backup.expireTime", at(366*24*time.Hour-500*time.Millisecond))), "spanner.backup.expireTime")
	refused(t, validate(backup.KindCopy, with(validCopy(now), "expireTime", at(366*24*time.Hour-500*time.Millisecond))), "spanner.expireTime")
	assert.NoError(t, validate(backup.KindCopy, with(validCopy(now), "expireTime", at(366*24*time.Hour-800*time.Millisecond))))

	// Start: the value sent decides, to the microsecond.
	srv := startSim(t)
	sd := newDriver(t, srv, spannersim.AccessToken)
	owner := ownerNow()
	for spanner.MarkerMicros(owner) == 0 || spanner.MarkerMicros(owner) == 999_999 {
		owner.RunID += "x" // a marker inside the second, so both sides of it exist
	}
	sec := srv.Now().Add(7 * time.Hour).Truncate(time.Second)
	requested := sec.Add(999_999 * time.Microsecond) // any requested sub-second part is replaced
	sent := spanner.MarkedExpire(requested, owner)
	require.Equal(t, sec.Add(time.Duration(spanner.MarkerMicros(owner))*time.Microsecond), sent)
	job := provider.Job{Kind: backup.KindCreate, Owner: owner, Section: createSection(t, "edge", 34, func(s *backup.SpannerCreate) {
		s.Backup.ExpireTime = requested.Format(time.RFC3339Nano)
	})}
	sd.SetClock(func() time.Time { return sent.Add(-6*time.Hour + time.Microsecond) }) // the requested value is still 6h ahead
	_, err := sd.Start(testCtx(t), job)
	refused(t, err, "spanner.backup.expireTime")
	assert.Zero(t, srv.CallsTo("CreateBackup"))
	sd.SetClock(func() time.Time { return sent.Add(-6 * time.Hour) }) // exactly 6h before the value sent
	op, err := sd.Start(testCtx(t), job)
	require.NoError(t, err)
	b, err := sd.Describe(testCtx(t), op)
	require.NoError(t, err)
	assert.Equal(t, sent, b.ExpireTime.UTC(), "the value checked is the value stored")
}

// TestDeletePendingBackup: Delete removes a backup still being created (its
// operation ends CANCELLED); only the source of a running copy is Busy.
func TestDeletePendingBackup(t *testing.T) {
	srv := startSim(t)
	d := newDriver(t, srv, spannersim.AccessToken)
	op := mustStart(t, d, jobOf(backup.KindCreate, createSection(t, "pending-delete", 14, nil)))
	require.NoError(t, d.Delete(testCtx(t), op))
	assert.NotContains(t, srv.Inventory(), op.BackupName)
	st, err := d.Poll(testCtx(t), op)
	require.NoError(t, err)
	assert.Equal(t, provider.PhaseCancelled, st.Phase, "%+v", st)
	require.NoError(t, d.Delete(testCtx(t), op), "already gone is fine")

	// While a copy runs, its source cannot be deleted.
	src := mustStart(t, d, jobOf(backup.KindCreate, createSection(t, "busy-source", 14, nil)))
	require.Equal(t, provider.PhaseSucceeded, finish(t, srv, d, src).Phase)
	cp := mustStart(t, d, jobOf(backup.KindCopy, copySection(t, "busy-copy", src.BackupName, nil)))
	err = d.Delete(testCtx(t), src)
	assert.Equal(t, provider.Busy, provider.ClassOf(err), "%v", err)
	assert.Contains(t, srv.Inventory(), src.BackupName)
	require.Equal(t, provider.PhaseSucceeded, finish(t, srv, d, cp).Phase)
	require.NoError(t, d.Delete(testCtx(t), src))
	assert.NotContains(t, srv.Inventory(), src.BackupName)
}

func TestCancelOutcomes(t *testing.T) {
	srv := startSim(t)
	d := newDriver(t, srv, spannersim.AccessToken)
	op := mustStart(t, d, jobOf(backup.KindCreate, createSection(t, "cancelled", 15, nil)))
	srv.Advance(simDuration / 2)
	ok, err := d.Cancel(testCtx(t), op)
	require.NoError(t, err)
	assert.True(t, ok, "a running operation of ours is stopped")
	assert.NotContains(t, srv.Inventory(), op.BackupName, "the pending backup is deleted at once")
	assert.Equal(t, 1, srv.CallsTo("DeleteBackup"), "by deleting it")
	assert.Zero(t, srv.CallsTo("CancelOperation"), "not by the asynchronous cancel")
	st, err := d.Poll(testCtx(t), op)
	require.NoError(t, err)
	assert.Equal(t, provider.PhaseCancelled, st.Phase)
	assert.Equal(t, "CANCELLED", st.ProviderState)

	// Lost race: the backup finished first, the cancel changes nothing, the caller deletes.
	done := mustStart(t, d, jobOf(backup.KindCreate, createSection(t, "finished", 16, nil)))
	srv.Advance(2 * simDuration)
	ok, err = d.Cancel(testCtx(t), done)
	require.NoError(t, err)
	assert.False(t, ok, "a finished operation cannot be stopped")
	assert.Equal(t, 1, srv.CallsTo("DeleteBackup"), "and its backup is left for the caller")
	st, err = d.Poll(testCtx(t), done)
	require.NoError(t, err)
	assert.Equal(t, provider.PhaseSucceeded, st.Phase, "the cancel lost the race")
	assert.Contains(t, srv.Inventory(), done.BackupName)

	unknown := op
	unknown.ID = spannersim.Instance + "/backups/none/operations/_auto_op_0"
	ok, err = d.Cancel(testCtx(t), unknown)
	require.NoError(t, err)
	assert.False(t, ok)
	noOp := done
	noOp.ID = done.BackupName
	ok, err = d.Cancel(testCtx(t), noOp)
	require.NoError(t, err)
	assert.False(t, ok, "without an operation name nothing can be cancelled")
}

// TestCancelOfAnAdoptedOperationDeletes: an operation Find adopted by the
// marker is proven ours, so Cancel stops it by deleting its pending backup,
// as for an operation our own create returned.
func TestCancelOfAnAdoptedOperationDeletes(t *testing.T) {
	srv := startSim(t)
	d := newDriver(t, srv, spannersim.AccessToken)
	j := jobOf(backup.KindCreate, createSection(t, "adopted", 17, nil))
	srv.LoseNextCreate()
	_, err := d.Start(testCtx(t), j)
	require.Error(t, err, "the create's answer was lost")
	found, err := d.Find(testCtx(t), j)
	require.NoError(t, err)
	require.NotNil(t, found)
	assert.Contains(t, found.ID, "/operations/")
	ok, err := d.Cancel(testCtx(t), *found)
	require.NoError(t, err)
	assert.True(t, ok, "a running operation of ours is stopped")
	assert.Equal(t, 1, srv.CallsTo("DeleteBackup"), "by deleting its backup, proven ours by the marker")
	assert.Zero(t, srv.CallsTo("CancelOperation"))
	assert.Empty(t, srv.Inventory())

	// An operation recorded with no proof at all is only asked to cancel.
	op := mustStart(t, d, jobOf(backup.KindCreate, createSection(t, "unproven", 18, nil)))
	delete(op.Extra, "proof")
	ok, err = d.Cancel(testCtx(t), op)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, 1, srv.CallsTo("DeleteBackup"))
	assert.Equal(t, 1, srv.CallsTo("CancelOperation"))
}

// TestFindAfterAnEarlierForeignBackupUnderTheName: a foreign backup under
// the name, deleted by its owner, leaves its operation listed; the backup
// made afterwards is ours and Find returns our own operation, not theirs.
func TestFindAfterAnEarlierForeignBackupUnderTheName(t *testing.T) {
	srv := startSim(t)
	d := newDriver(t, srv, spannersim.AccessToken)
	job := jobOf(backup.KindCreate, createSection(t, "reused", 33, nil))
	target, err := d.Validate(job.Kind, job.Section, time.Now())
	require.NoError(t, err)
	theirs := srv.AddForeign(target)
	srv.Advance(2 * simDuration)
	require.NoError(t, d.Delete(testCtx(t), provider.Operation{BackupName: theirs}), "its owner deletes it")
	op := mustStart(t, d, job)
	srv.Advance(2 * simDuration)
	found, err := d.Find(testCtx(t), job)
	require.NoError(t, err)
	require.NotNil(t, found)
	assert.Equal(t, op.ID, found.ID, "the newest operation is ours and returned our backup")
}

func TestPollWithoutOperationFallsBackToTheBackup(t *testing.T) {
	srv := startSim(t)
	d := newDriver(t, srv, spannersim.AccessToken)
	op := mustStart(t, d, jobOf(backup.KindCreate, createSection(t, "fallback", 17, nil)))
	bare := op
	bare.ID = op.BackupName // as Find returns when the operation is no longer listed
	st, err := d.Poll(testCtx(t), bare)
	require.NoError(t, err)
	assert.Equal(t, provider.PhaseRunning, st.Phase)
	assert.Equal(t, -1.0, st.Percent, "no progress without the operation")
	srv.Advance(2 * simDuration)
	st, err = d.Poll(testCtx(t), bare)
	require.NoError(t, err)
	assert.Equal(t, provider.PhaseSucceeded, st.Phase)
	require.NoError(t, d.Delete(testCtx(t), bare))
	st, err = d.Poll(testCtx(t), bare)
	require.NoError(t, err)
	assert.Equal(t, provider.PhaseGone, st.Phase)

	// An operation Spanner no longer knows: the backup decides.
	forgotten := op
	forgotten.ID = op.BackupName + "/operations/_auto_op_forgotten"
	st, err = d.Poll(testCtx(t), forgotten)
	require.NoError(t, err)
	assert.Equal(t, provider.PhaseGone, st.Phase)
}

func TestEveryCodeThroughTheSDK(t *testing.T) {
	srv := startSim(t)
	d := newDriver(t, srv, spannersim.AccessToken)
	op := mustStart(t, d, jobOf(backup.KindCreate, createSection(t, "codes", 18, nil)))
	want := map[codes.Code]provider.Class{
		codes.Canceled: provider.Unavailable, codes.Unknown: provider.Internal, codes.InvalidArgument: provider.InvalidArgument,
		codes.DeadlineExceeded: provider.Unavailable, codes.NotFound: provider.NotFound, codes.AlreadyExists: provider.AlreadyExists,
		codes.PermissionDenied: provider.Permission, codes.ResourceExhausted: provider.Throttled,
		codes.FailedPrecondition: provider.FailedPrecondition, // the injected message names no transient state
		codes.Aborted:            provider.Internal, codes.OutOfRange: provider.InvalidArgument, codes.Unimplemented: provider.Unsupported,
		codes.Internal: provider.Internal, codes.Unavailable: provider.Unavailable, codes.DataLoss: provider.Internal,
		codes.Unauthenticated: provider.Permission,
	}
	for c, class := range want {
		t.Run(c.String(), func(t *testing.T) {
			srv.FailNextCode(c)
			_, err := d.Describe(testCtx(t), op)
			var pe *provider.Error
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, class, pe.Class)
			assert.Equal(t, strings.ToUpper(regexp.MustCompile(`([a-z])([A-Z])`).ReplaceAllString(c.String(), "${1}_${2}")),
				strings.ReplaceAll(pe.Code, "CANCELLED", "CANCELED"))
			assert.Regexp(t, `^sim-req-\d+$`, pe.RequestID)
			assert.Contains(t, pe.Message, "injected")
		})
	}
	srv.FailNext(provider.Throttled, 1, 3*time.Second)
	_, err := d.Poll(testCtx(t), op)
	var pe *provider.Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, provider.Throttled, pe.Class)
	assert.Equal(t, 3*time.Second, pe.RetryAfter, "RetryInfo becomes RetryAfter")
}

// TestSurvivesRandomFaults drives a create and a copy the way the activities
// do (Find, else Start; retry retryable errors) while a fifth of all calls
// fail, and checks that exactly one backup of each results.
func TestSurvivesRandomFaults(t *testing.T) {
	srv := startSim(t)
	d := newDriver(t, srv, spannersim.AccessToken)
	srv.SetFaultRate(0.2, 7)
	retry := func(what string, fn func() error) {
		t.Helper()
		for range 50 {
			err := fn()
			if err == nil {
				return
			}
			require.True(t, provider.ClassOf(err).Retryable(), "%s: %v", what, err)
		}
		t.Fatalf("%s did not succeed in 50 attempts", what)
	}
	run := func(job provider.Job) provider.Operation {
		var op provider.Operation
		retry("preflight", func() error { return d.Preflight(testCtx(t), job) })
		retry("start", func() error {
			found, err := d.Find(testCtx(t), job)
			if err != nil {
				return err
			}
			if found != nil {
				op = *found
				return nil
			}
			op, err = d.Start(testCtx(t), job)
			return err
		})
		srv.Advance(2 * simDuration)
		retry("poll", func() error {
			st, err := d.Poll(testCtx(t), op)
			if err == nil && st.Phase != provider.PhaseSucceeded {
				return fmt.Errorf("phase %s: %w", st.Phase, provider.Errorf(provider.Unavailable, "not yet"))
			}
			return err
		})
		return op
	}
	src := run(jobOf(backup.KindCreate, createSection(t, "chaos", 19, nil)))
	run(jobOf(backup.KindCopy, copySection(t, "chaos-copy", src.BackupName, nil)))
	assert.Equal(t, []string{spannersim.CopyInstance + "/backups/chaos-copy", spannersim.Instance + "/backups/chaos"}, srv.Inventory())
	assert.Positive(t, srv.Faults())
}

func TestNewReportsConfigErrorsByVariable(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.json")
	cases := map[string]spanner.Config{
		"BACKUPFLOW_SPANNER_INSECURE":         {Insecure: true},
		"BACKUPFLOW_SPANNER_ENDPOINT":         {Endpoint: "spanner.example.com/v1"},
		"BACKUPFLOW_SPANNER_CREDENTIALS_FILE": {CredentialsFile: missing},
		"BACKUPFLOW_SPANNER_ACCESS_TOKEN":     {AccessToken: "a", AccessTokenFile: "b"},
	}
	for variable, cfg := range cases {
		_, err := spanner.New(cfg)
		require.Error(t, err, variable)
		assert.Contains(t, err.Error(), variable)
	}
	_, err := spanner.New(spanner.Config{Endpoint: "spanner.example.com:443", Insecure: true})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "loopback")
	_, err = spanner.New(spanner.Config{Endpoint: "127.0.0.1:1", Insecure: true, CredentialsFile: os.Args[0]})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "BACKUPFLOW_SPANNER_CREDENTIALS_FILE")
	assert.NotContains(t, fmt.Sprintf("%v %+v", spanner.Config{AccessToken: "s3cr3t"}, spanner.Config{AccessToken: "s3cr3t"}), "s3cr3t")
}

func TestConfigFromEnvironmentWithTokenFile(t *testing.T) {
	srv := startSim(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(spannersim.AccessToken+"\n"), 0o600))
	t.Setenv("BACKUPFLOW_SPANNER_ENDPOINT", srv.Endpoint())
	t.Setenv("BACKUPFLOW_SPANNER_INSECURE", "true")
	t.Setenv("BACKUPFLOW_SPANNER_ACCESS_TOKEN_FILE", tokenFile)
	cfg, err := env.ParseAs[spanner.Config]()
	require.NoError(t, err)
	assert.Equal(t, srv.Endpoint(), cfg.Endpoint)
	d, err := spanner.New(cfg)
	require.NoError(t, err)
	defer d.Close()
	require.NoError(t, d.Preflight(testCtx(t), jobOf(backup.KindCreate, spannersim.CreateSection(1))), "the token from the file is accepted")

	bad, err := spanner.New(spanner.Config{Endpoint: srv.Endpoint(), Insecure: true})
	require.NoError(t, err)
	defer bad.Close()
	err = bad.Preflight(testCtx(t), jobOf(backup.KindCreate, spannersim.CreateSection(1)))
	assert.Equal(t, provider.Permission, provider.ClassOf(err), "no token: %v", err)
	var pe *provider.Error
	require.True(t, errors.As(err, &pe))
	assert.Equal(t, "UNAUTHENTICATED", pe.Code)
}

// TestFindWhenTheOperationIsNoLongerListed: ListBackupOperations only lists
// operations that ended within 7 days; Find then adopts the backup itself
// (a copy is recognised by the database and versionTime it inherits).
func TestFindWhenTheOperationIsNoLongerListed(t *testing.T) {
	srv := startSim(t)
	d := newDriver(t, srv, spannersim.AccessToken)
	create := jobOf(backup.KindCreate, createSection(t, "old-source", 21, nil))
	src := mustStart(t, d, create)
	require.Equal(t, provider.PhaseSucceeded, finish(t, srv, d, src).Phase)
	other := mustStart(t, d, jobOf(backup.KindCreate, createSection(t, "old-other", 22, nil)))
	require.Equal(t, provider.PhaseSucceeded, finish(t, srv, d, other).Phase)
	cpJob := jobOf(backup.KindCopy, copySection(t, "old-copy", src.BackupName, nil))
	cp := mustStart(t, d, cpJob)
	require.Equal(t, provider.PhaseSucceeded, finish(t, srv, d, cp).Phase)
	srv.Advance(8 * 24 * time.Hour)

	for _, job := range []provider.Job{create, cpJob} {
		found, err := d.Find(testCtx(t), job)
		require.NoError(t, err)
		require.NotNil(t, found)
		assert.Equal(t, found.BackupName, found.ID, "no operation: the backup name stands in")
		st, err := d.Poll(testCtx(t), *found)
		require.NoError(t, err)
		assert.Equal(t, provider.PhaseSucceeded, st.Phase)
		ok, err := d.Cancel(testCtx(t), *found)
		require.NoError(t, err)
		assert.False(t, ok)
	}
	wrongSource := cpJob
	wrongSource.Section = copySection(t, "old-copy", other.BackupName, nil)
	_, err := d.Find(testCtx(t), wrongSource)
	assert.Equal(t, provider.AlreadyExists, provider.ClassOf(err), "%v", err)
}

// TestCancelFallsBackToCancelOperation: when Spanner refuses to delete the
// pending backup, Cancel asks for the operation's cancellation instead.
func TestCancelFallsBackToCancelOperation(t *testing.T) {
	srv := startSim(t)
	d := newDriver(t, srv, spannersim.AccessToken)
	op := mustStart(t, d, jobOf(backup.KindCreate, createSection(t, "fallback-cancel", 23, nil)))
	srv.FailNextCall("DeleteBackup", codes.FailedPrecondition)
	ok, err := d.Cancel(testCtx(t), op)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, 1, srv.CallsTo("DeleteBackup"))
	assert.Equal(t, 1, srv.CallsTo("CancelOperation"))
	st, err := d.Poll(testCtx(t), op)
	require.NoError(t, err)
	assert.Equal(t, provider.PhaseCancelled, st.Phase)
	assert.NotContains(t, srv.Inventory(), op.BackupName)

	// Any other refusal of the delete is reported, classified.
	other := mustStart(t, d, jobOf(backup.KindCreate, createSection(t, "refused-cancel", 24, nil)))
	srv.FailNextCall("DeleteBackup", codes.PermissionDenied)
	_, err = d.Cancel(testCtx(t), other)
	assert.Equal(t, provider.Permission, provider.ClassOf(err), "%v", err)
	assert.Contains(t, srv.Inventory(), other.BackupName)
}

// TestCancelNeverDeletesABackupThatIsNotOurs: once our operation has ended,
// a backup under the same name is somebody else's, and Cancel leaves it.
func TestCancelNeverDeletesABackupThatIsNotOurs(t *testing.T) {
	srv := startSim(t)
	d := newDriver(t, srv, spannersim.AccessToken)
	section := createSection(t, "reused-name", 25, nil)
	ours := mustStart(t, d, jobOf(backup.KindCreate, section))
	ok, err := d.Cancel(testCtx(t), ours)
	require.NoError(t, err)
	require.True(t, ok)
	theirs := mustStart(t, newDriver(t, srv, spannersim.AccessToken), jobOf(backup.KindCreate, section))
	require.NotEqual(t, ours.ID, theirs.ID)

	ok, err = d.Cancel(testCtx(t), ours)
	require.NoError(t, err)
	assert.False(t, ok, "our operation has ended")
	assert.Contains(t, srv.Inventory(), theirs.BackupName, "the other backup under that name is untouched")
	assert.Equal(t, 1, srv.CallsTo("DeleteBackup"), "only our own pending backup was deleted")
}

// TestStartRechecksExpireTime: Spanner checks expireTime when it processes
// the request, so a start that waited past the 6-hour edge (a busy
// database) fails naming expireTime before any create call is made.
func TestStartRechecksExpireTime(t *testing.T) {
	srv := startSim(t)
	d := newDriver(t, srv, spannersim.AccessToken)
	t0 := time.Now()
	owner := ownerNow()
	expiring := func(id string, after time.Duration) provider.Job {
		return provider.Job{Kind: backup.KindCreate, Owner: owner, Section: createSection(t, id, 26, func(s *backup.SpannerCreate) {
			s.Backup.ExpireTime = t0.Add(after).UTC().Format(time.RFC3339Nano)
		})}
	}
	late := expiring("late", 6*time.Hour+30*time.Minute)
	_, err := d.Validate(late.Kind, late.Section, t0)
	require.NoError(t, err, "valid when requested")
	require.NoError(t, d.Preflight(testCtx(t), late))

	d.SetClock(func() time.Time { return t0.Add(time.Hour) }) // the start waited an hour
	srv.Advance(time.Hour)
	_, err = d.Start(testCtx(t), late)
	var pe *provider.Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, provider.InvalidArgument, pe.Class)
	assert.Equal(t, "spanner.backup.expireTime", pe.Field)
	assert.Contains(t, pe.Rule, "at least 6 hours")
	assert.False(t, pe.Class.Retryable())
	assert.Zero(t, srv.CallsTo("CreateBackup"), "no create call reached Spanner")

	// The same wait with room to spare starts normally.
	op, err := d.Start(testCtx(t), expiring("later", 8*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 1, srv.CallsTo("CreateBackup"))

	// A backup of ours already made is adopted, even though a new create
	// could no longer be made with that expireTime.
	d.SetClock(func() time.Time { return t0.Add(2*time.Hour + time.Minute) })
	again, err := d.Start(testCtx(t), expiring("later", 8*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, op.ID, again.ID)
	assert.Equal(t, 1, srv.CallsTo("CreateBackup"))
}

// TestPendingCreationIsBusyByDetailsOrPhrase: through the SDK, the refusal
// of a second pending creation is Busy whether only its ErrorInfo detail or
// only its message says so; a FAILED_PRECONDITION saying neither is not.
func TestPendingCreationIsBusyByDetailsOrPhrase(t *testing.T) {
	srv := startSim(t)
	d := newDriver(t, srv, spannersim.AccessToken)
	job := jobOf(backup.KindCreate, createSection(t, "pending-kinds", 28, nil))
	for name, inject := range map[string]func(){
		"detail only": func() { srv.FailNextPendingCreation(true) },
		"phrase only": func() { srv.FailNextPendingCreation(false) },
	} {
		t.Run(name, func(t *testing.T) {
			inject()
			srv.FailNext(provider.Unavailable, 1, 0) // the adopting lookup fails, so the refusal itself is returned
			_, err := d.Start(testCtx(t), job)
			var pe *provider.Error
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, provider.Busy, pe.Class, "%v", err)
			assert.Equal(t, "FAILED_PRECONDITION", pe.Code)
		})
	}
	srv.FailNextCode(codes.FailedPrecondition)
	_, err := d.Start(testCtx(t), job)
	assert.Equal(t, provider.FailedPrecondition, provider.ClassOf(err), "%v", err)
	assert.Empty(t, srv.Inventory())

	// The real refusal (a second backup of a database) carries both.
	first := mustStart(t, d, jobOf(backup.KindCreate, createSection(t, "first-of-db", 29, nil)))
	_, err = d.Start(testCtx(t), jobOf(backup.KindCreate, createSection(t, "second-of-db", 29, nil)))
	assert.Equal(t, provider.Busy, provider.ClassOf(err), "%v", err)
	assert.Equal(t, []string{first.BackupName}, srv.Inventory())
}

// TestExpiredBackupIsGone: after its expireTime Spanner deletes a backup;
// the driver sees it gone.
func TestExpiredBackupIsGone(t *testing.T) {
	srv := startSim(t)
	d := newDriver(t, srv, spannersim.AccessToken)
	op := mustStart(t, d, jobOf(backup.KindCreate, createSection(t, "expiring", 30, func(s *backup.SpannerCreate) {
		s.Backup.ExpireTime = srv.Now().Add(7 * time.Hour).Format(time.RFC3339Nano)
	})))
	require.Equal(t, provider.PhaseSucceeded, finish(t, srv, d, op).Phase)
	srv.Advance(7 * time.Hour)
	_, err := d.Describe(testCtx(t), op)
	assert.Equal(t, provider.NotFound, provider.ClassOf(err), "%v", err)
	bare := op
	bare.ID = op.BackupName
	st, err := d.Poll(testCtx(t), bare)
	require.NoError(t, err)
	assert.Equal(t, provider.PhaseGone, st.Phase)
	require.NoError(t, d.Delete(testCtx(t), op), "already gone is fine")
}

// TestFailedBackupIsFailed: an operation ending with an error other than
// CANCELLED is a failed backup; the code and message are kept.
func TestFailedBackupIsFailed(t *testing.T) {
	srv := startSim(t)
	d := newDriver(t, srv, spannersim.AccessToken)
	op := mustStart(t, d, jobOf(backup.KindCreate, createSection(t, "doomed", 31, nil)))
	require.True(t, srv.FailBackup(op.BackupName, codes.Internal, "the backup could not be completed"))
	st, err := d.Poll(testCtx(t), op)
	require.NoError(t, err)
	assert.Equal(t, provider.PhaseFailed, st.Phase)
	assert.Equal(t, "INTERNAL", st.ProviderState)
	assert.Equal(t, "the backup could not be completed", st.Message)
}

// The database filter's ":" means "contains": a backup of db-12 matches a
// filter on db-1, so List compares the database exactly.
func TestListOfADatabaseIsExact(t *testing.T) {
	srv := startSim(t)
	d := newDriver(t, srv, spannersim.AccessToken)
	ours := srv.AddBackups(spannersim.DatabaseName(1), 2)
	srv.AddBackups(spannersim.DatabaseName(12), 3)
	got, err := d.List(testCtx(t), backup.KindCreate, spannersim.DatabaseName(1))
	require.NoError(t, err)
	var names []string
	for _, b := range got {
		names = append(names, b.ID)
	}
	assert.ElementsMatch(t, ours, names)
}

// A copy's target is its destination backup: List shows the backups of the
// destination instance, and none of the source's.
func TestListOfACopyTargetIsTheDestinationInstance(t *testing.T) {
	srv := startSim(t)
	d := newDriver(t, srv, spannersim.AccessToken)
	source := srv.AddBackups(spannersim.DatabaseName(2), 1)[0]
	job := jobOf(backup.KindCopy, copySection(t, "listed-copy", source, nil))
	target, err := d.Validate(job.Kind, job.Section, time.Now())
	require.NoError(t, err)
	op := mustStart(t, d, job)
	require.Equal(t, provider.PhaseSucceeded, finish(t, srv, d, op).Phase)

	got, err := d.List(testCtx(t), backup.KindCopy, target.Resource)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, spannersim.CopyInstance+"/backups/listed-copy", got[0].ID)
	assert.Equal(t, "listed-copy", got[0].Name)
	assert.Equal(t, "READY", got[0].State)
	assert.NotNil(t, got[0].ExpireTime, "Spanner reports the expire time")
	assert.NotNil(t, got[0].SizeBytes)

	for kind, resource := range map[backup.Kind]string{backup.KindCreate: target.Resource, backup.KindCopy: spannersim.DatabaseName(2)} {
		_, err := d.List(testCtx(t), kind, resource)
		var pe *provider.Error
		require.ErrorAs(t, err, &pe, "a %s target is not %s", kind, resource)
		assert.Equal(t, provider.InvalidArgument, pe.Class)
		assert.Equal(t, "resource", pe.Field)
	}
}
