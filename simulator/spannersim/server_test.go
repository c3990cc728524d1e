package spannersim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	database "cloud.google.com/go/spanner/admin/database/apiv1"
	"cloud.google.com/go/spanner/admin/database/apiv1/databasepb"
	gax "github.com/googleapis/gax-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/simulator/spannersim"
)

const dur = time.Minute

// noRetry keeps the SDK from retrying injected faults.
var noRetry = gax.WithRetry(nil)

func start(t *testing.T, opts spannersim.Options) *spannersim.Server {
	t.Helper()
	if opts.Duration == 0 {
		opts.Duration = dur
	}
	srv, err := spannersim.Start(opts)
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	return srv
}

// client is the official admin client pointed at the simulator, unchanged.
func client(t *testing.T, srv *spannersim.Server) *database.DatabaseAdminClient {
	t.Helper()
	c, err := database.NewDatabaseAdminClient(context.Background(),
		option.WithEndpoint(srv.Endpoint()),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func authed(t *testing.T, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx(t), "authorization", "Bearer "+token)
}

func code(err error) codes.Code { return status.Code(err) }

func createReq(id string, db int, expireIn time.Duration) *databasepb.CreateBackupRequest {
	return &databasepb.CreateBackupRequest{
		Parent:   spannersim.Instance,
		BackupId: id,
		Backup: &databasepb.Backup{
			Database:   spannersim.DatabaseName(db),
			ExpireTime: timestamppb.New(time.Now().Add(expireIn)),
		},
	}
}

func mustCreate(t *testing.T, c *database.DatabaseAdminClient, id string, db int) *database.CreateBackupOperation {
	t.Helper()
	op, err := c.CreateBackup(ctx(t), createReq(id, db, 30*24*time.Hour), noRetry)
	require.NoError(t, err)
	return op
}

func TestStartListensOnLoopbackOnly(t *testing.T) {
	_, err := spannersim.Start(spannersim.Options{Addr: "0.0.0.0:0"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "loopback")
	srv := start(t, spannersim.Options{})
	assert.Regexp(t, `^127\.0\.0\.1:\d+$`, srv.Endpoint())
	def, err := spannersim.Start(spannersim.Options{})
	require.NoError(t, err)
	defer def.Close()
	assert.Equal(t, 2*time.Second, def.Options().Duration)
	assert.Equal(t, spannersim.DefaultResources, def.Options().Resources)
}

func TestBearerTokenIsChecked(t *testing.T) {
	srv := start(t, spannersim.Options{Token: spannersim.AccessToken})
	c := client(t, srv)
	req := &databasepb.GetDatabaseRequest{Name: spannersim.DatabaseName(0)}
	_, err := c.GetDatabase(ctx(t), req, noRetry)
	assert.Equal(t, codes.Unauthenticated, code(err), "no token")
	_, err = c.GetDatabase(authed(t, "wrong"), req, noRetry)
	assert.Equal(t, codes.Unauthenticated, code(err), "wrong token")
	db, err := c.GetDatabase(authed(t, spannersim.AccessToken), req, noRetry)
	require.NoError(t, err)
	assert.Equal(t, databasepb.Database_READY, db.GetState())
	assert.Equal(t, "1h", db.GetVersionRetentionPeriod())
	assert.Equal(t, 3, srv.Calls(), "refused calls are counted too")

	// Without Options.Token any caller is served (SPANNER_EMULATOR_HOST mode).
	open := start(t, spannersim.Options{})
	t.Setenv("SPANNER_EMULATOR_HOST", open.Endpoint())
	ec, err := database.NewDatabaseAdminClient(context.Background())
	require.NoError(t, err)
	defer ec.Close()
	_, err = ec.GetDatabase(ctx(t), req, noRetry)
	require.NoError(t, err, "the official client's emulator mode works unchanged")
}

func TestBackupStateMachine(t *testing.T) {
	srv := start(t, spannersim.Options{})
	c := client(t, srv)
	op := mustCreate(t, c, "sm-1", 3)
	assert.Regexp(t, `^projects/demo-project/instances/demo-instance/backups/sm-1/operations/_auto_op_[0-9a-f]{16}$`, op.Name())
	md, err := op.Metadata()
	require.NoError(t, err)
	assert.Equal(t, spannersim.Instance+"/backups/sm-1", md.GetName())
	assert.Equal(t, spannersim.DatabaseName(3), md.GetDatabase())
	assert.EqualValues(t, 0, md.GetProgress().GetProgressPercent())
	assert.False(t, op.Done())

	b, err := c.GetBackup(ctx(t), &databasepb.GetBackupRequest{Name: spannersim.Instance + "/backups/sm-1"}, noRetry)
	require.NoError(t, err)
	assert.Equal(t, databasepb.Backup_CREATING, b.GetState())
	assert.Zero(t, b.GetSizeBytes(), "no size while creating")
	assert.True(t, b.GetVersionTime().AsTime().Equal(b.GetCreateTime().AsTime()), "versionTime defaults to createTime")

	// A fresh handle resumes the same operation by name.
	resumed := c.CreateBackupOperation(op.Name())
	srv.Advance(dur / 2)
	res, err := resumed.Poll(ctx(t), noRetry)
	require.NoError(t, err)
	assert.Nil(t, res)
	md, _ = resumed.Metadata()
	assert.InDelta(t, 50, md.GetProgress().GetProgressPercent(), 2)
	assert.Nil(t, md.GetProgress().GetEndTime())

	srv.Advance(dur)
	res, err = resumed.Poll(ctx(t), noRetry)
	require.NoError(t, err)
	require.True(t, resumed.Done())
	assert.Equal(t, databasepb.Backup_READY, res.GetState())
	assert.Positive(t, res.GetSizeBytes())
	md, _ = resumed.Metadata()
	assert.EqualValues(t, 100, md.GetProgress().GetProgressPercent())
	assert.NotNil(t, md.GetProgress().GetEndTime())
	assert.Equal(t, databasepb.EncryptionInfo_GOOGLE_DEFAULT_ENCRYPTION, res.GetEncryptionInfo().GetEncryptionType())
	assert.Equal(t, []string{spannersim.Instance + "/backups/sm-1"}, srv.Inventory())

	// Real time also finishes backups (integration tests rely on it).
	fast := start(t, spannersim.Options{Duration: time.Millisecond})
	fc := client(t, fast)
	fop := mustCreate(t, fc, "fast", 1)
	require.Eventually(t, func() bool {
		_, err := fop.Poll(ctx(t), noRetry)
		return err == nil && fop.Done()
	}, 5*time.Second, 5*time.Millisecond)
}

func TestCreateRulesAreEnforcedServerSide(t *testing.T) {
	srv := start(t, spannersim.Options{})
	c := client(t, srv)
	mustCreate(t, c, "pending", 4)
	now := time.Now()
	cases := []struct {
		name string
		req  *databasepb.CreateBackupRequest
		want codes.Code
	}{
		{"second pending creation on the database", createReq("pending-2", 4, 48*time.Hour), codes.FailedPrecondition},
		{"name taken", createReq("pending", 4, 48*time.Hour), codes.AlreadyExists},
		{"expire under 6h", createReq("e1", 5, 5*time.Hour), codes.InvalidArgument},
		{"expire over 366d", createReq("e2", 5, 367*24*time.Hour), codes.InvalidArgument},
		{"expire missing", &databasepb.CreateBackupRequest{Parent: spannersim.Instance, BackupId: "e3", Backup: &databasepb.Backup{Database: spannersim.DatabaseName(5)}}, codes.InvalidArgument},
		{"backup missing", &databasepb.CreateBackupRequest{Parent: spannersim.Instance, BackupId: "e4"}, codes.InvalidArgument},
		{"backup ID too short", createReq("e", 5, 48*time.Hour), codes.InvalidArgument},
		{"backup ID uppercase", createReq("E5", 5, 48*time.Hour), codes.InvalidArgument},
		{"bad parent", func() *databasepb.CreateBackupRequest {
			r := createReq("e6", 5, 48*time.Hour)
			r.Parent = "demo-instance"
			return r
		}(), codes.InvalidArgument},
		{"database in another instance", func() *databasepb.CreateBackupRequest {
			r := createReq("e7", 5, 48*time.Hour)
			r.Parent = spannersim.CopyInstance
			return r
		}(), codes.InvalidArgument},
		{"unknown instance", func() *databasepb.CreateBackupRequest {
			r := createReq("e8", 5, 48*time.Hour)
			r.Parent = "projects/demo-project/instances/nope"
			r.Backup.Database = r.Parent + "/databases/db-5"
			return r
		}(), codes.NotFound},
		{"unknown database", createReq("e9", 100000, 48*time.Hour), codes.NotFound},
		{"other project", func() *databasepb.CreateBackupRequest {
			r := createReq("e10", 5, 48*time.Hour)
			r.Parent = "projects/other/instances/i"
			r.Backup.Database = r.Parent + "/databases/d"
			return r
		}(), codes.PermissionDenied},
		{"database not ready", func() *databasepb.CreateBackupRequest {
			r := createReq("e11", 5, 48*time.Hour)
			r.Backup.Database = spannersim.CreatingDatabase
			return r
		}(), codes.FailedPrecondition},
		{"versionTime in the future", func() *databasepb.CreateBackupRequest {
			r := createReq("e12", 5, 48*time.Hour)
			r.Backup.VersionTime = timestamppb.New(now.Add(time.Hour))
			return r
		}(), codes.InvalidArgument},
		{"versionTime older than the retention period", func() *databasepb.CreateBackupRequest {
			r := createReq("e13", 5, 48*time.Hour)
			r.Backup.VersionTime = timestamppb.New(now.Add(-2 * time.Hour))
			return r
		}(), codes.InvalidArgument},
		{"encryption type unspecified", withEnc(&databasepb.CreateBackupEncryptionConfig{}), codes.InvalidArgument},
		{"cmek without key", withEnc(&databasepb.CreateBackupEncryptionConfig{EncryptionType: databasepb.CreateBackupEncryptionConfig_CUSTOMER_MANAGED_ENCRYPTION}), codes.InvalidArgument},
		{"key with google default", withEnc(&databasepb.CreateBackupEncryptionConfig{EncryptionType: databasepb.CreateBackupEncryptionConfig_GOOGLE_DEFAULT_ENCRYPTION, KmsKeyName: spannersim.DemoKMSKey}), codes.InvalidArgument},
		{"both key fields", withEnc(&databasepb.CreateBackupEncryptionConfig{EncryptionType: databasepb.CreateBackupEncryptionConfig_CUSTOMER_MANAGED_ENCRYPTION, KmsKeyName: spannersim.DemoKMSKey, KmsKeyNames: []string{spannersim.DemoKMSKey}}), codes.InvalidArgument},
		{"malformed key", withEnc(&databasepb.CreateBackupEncryptionConfig{EncryptionType: databasepb.CreateBackupEncryptionConfig_CUSTOMER_MANAGED_ENCRYPTION, KmsKeyNames: []string{"key"}}), codes.InvalidArgument},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.CreateBackup(ctx(t), tc.req, noRetry)
			require.Error(t, err)
			assert.Equal(t, tc.want, code(err), "%v", err)
		})
	}
	assert.Equal(t, []string{spannersim.Instance + "/backups/pending"}, srv.Inventory())

	// The bounds themselves are accepted, and another database runs concurrently.
	r := createReq("recent-version", 6, 48*time.Hour)
	r.Backup.VersionTime = timestamppb.New(srv.Now().Add(-30 * time.Minute))
	_, err := c.CreateBackup(ctx(t), r, noRetry)
	require.NoError(t, err)
	_, err = c.CreateBackup(ctx(t), createReq("edge", 7, 6*time.Hour+time.Minute), noRetry)
	require.NoError(t, err)
}

func withEnc(e *databasepb.CreateBackupEncryptionConfig) *databasepb.CreateBackupRequest {
	r := createReq("enc", 8, 48*time.Hour)
	r.EncryptionConfig = e
	return r
}

func TestCopyRules(t *testing.T) {
	srv := start(t, spannersim.Options{})
	c := client(t, srv)
	src := mustCreate(t, c, "src", 9)
	copyReq := func(id string, expire time.Time) *databasepb.CopyBackupRequest {
		return &databasepb.CopyBackupRequest{Parent: spannersim.CopyInstance, BackupId: id, SourceBackup: src.Name()[:len(spannersim.Instance+"/backups/src")],
			ExpireTime: timestamppb.New(expire)}
	}
	_, err := c.CopyBackup(ctx(t), copyReq("early", time.Now().Add(48*time.Hour)), noRetry)
	assert.Equal(t, codes.FailedPrecondition, code(err), "a CREATING source cannot be copied: %v", err)

	srv.Advance(2 * dur)
	srcBackup, err := c.GetBackup(ctx(t), &databasepb.GetBackupRequest{Name: spannersim.Instance + "/backups/src"}, noRetry)
	require.NoError(t, err)
	created := srcBackup.GetCreateTime().AsTime()
	assert.True(t, srcBackup.GetMaxExpireTime().AsTime().Equal(created.Add(366*24*time.Hour)))

	for name, expire := range map[string]time.Time{
		"under 6h after source createTime":  created.Add(5 * time.Hour),
		"over 366d after source createTime": created.Add(366*24*time.Hour + time.Second),
	} {
		_, err := c.CopyBackup(ctx(t), copyReq("bad-expire", expire), noRetry)
		assert.Equal(t, codes.InvalidArgument, code(err), name)
	}
	missing := copyReq("c0", created.Add(48*time.Hour))
	missing.ExpireTime = nil
	_, err = c.CopyBackup(ctx(t), missing, noRetry)
	assert.Equal(t, codes.InvalidArgument, code(err), "expire_time is required")
	gone := copyReq("c0", created.Add(48*time.Hour))
	gone.SourceBackup = spannersim.Instance + "/backups/nope"
	_, err = c.CopyBackup(ctx(t), gone, noRetry)
	assert.Equal(t, codes.NotFound, code(err))

	// Two copies of one source run at once; the source cannot be deleted meanwhile.
	cp1, err := c.CopyBackup(ctx(t), copyReq("c1", created.Add(6*time.Hour)), noRetry)
	require.NoError(t, err)
	cp2, err := c.CopyBackup(ctx(t), copyReq("c2", created.Add(366*24*time.Hour)), noRetry)
	require.NoError(t, err)
	md, err := cp1.Metadata()
	require.NoError(t, err)
	assert.Equal(t, spannersim.Instance+"/backups/src", md.GetSourceBackup())
	assert.Equal(t, spannersim.CopyInstance+"/backups/c1", md.GetName())
	srcBackup, err = c.GetBackup(ctx(t), &databasepb.GetBackupRequest{Name: spannersim.Instance + "/backups/src"}, noRetry)
	require.NoError(t, err)
	assert.Equal(t, []string{spannersim.CopyInstance + "/backups/c1", spannersim.CopyInstance + "/backups/c2"}, srcBackup.GetReferencingBackups())
	err = c.DeleteBackup(ctx(t), &databasepb.DeleteBackupRequest{Name: spannersim.Instance + "/backups/src"}, noRetry)
	assert.Equal(t, codes.FailedPrecondition, code(err), "a source being copied cannot be deleted")
	_, err = c.CopyBackup(ctx(t), copyReq("c1", created.Add(48*time.Hour)), noRetry)
	assert.Equal(t, codes.AlreadyExists, code(err))

	// Cancelling one copy releases it; the other finishes; then the source can go.
	require.NoError(t, c.CancelOperation(ctx(t), &longrunningpb.CancelOperationRequest{Name: cp2.Name()}, noRetry))
	srv.Advance(2 * dur)
	res, err := cp1.Poll(ctx(t), noRetry)
	require.NoError(t, err)
	assert.Equal(t, databasepb.Backup_READY, res.GetState())
	assert.Equal(t, spannersim.DatabaseName(9), res.GetDatabase(), "a copy keeps the source's database")
	assert.True(t, res.GetVersionTime().AsTime().Equal(srcBackup.GetVersionTime().AsTime()), "and its versionTime")
	_, err = cp2.Poll(ctx(t), noRetry)
	assert.Equal(t, codes.Canceled, code(err))
	require.NoError(t, c.DeleteBackup(ctx(t), &databasepb.DeleteBackupRequest{Name: spannersim.Instance + "/backups/src"}, noRetry))
	assert.Equal(t, []string{spannersim.CopyInstance + "/backups/c1"}, srv.Inventory())
}

func TestCancelAndDeleteSemantics(t *testing.T) {
	srv := start(t, spannersim.Options{})
	c := client(t, srv)
	running := mustCreate(t, c, "running", 10)
	name := spannersim.Instance + "/backups/running"

	srv.Advance(dur / 4)
	require.NoError(t, c.CancelOperation(ctx(t), &longrunningpb.CancelOperationRequest{Name: running.Name()}, noRetry))
	_, err := running.Poll(ctx(t), noRetry)
	require.True(t, running.Done())
	assert.Equal(t, codes.Canceled, code(err), "the operation ends CANCELLED")
	md, _ := running.Metadata()
	assert.NotNil(t, md.GetCancelTime())
	assert.InDelta(t, 25, md.GetProgress().GetProgressPercent(), 2, "progress stops where it was cancelled")
	_, err = c.GetBackup(ctx(t), &databasepb.GetBackupRequest{Name: name}, noRetry)
	assert.Equal(t, codes.NotFound, code(err), "and the backup is deleted")
	err = c.DeleteBackup(ctx(t), &databasepb.DeleteBackupRequest{Name: name}, noRetry)
	assert.Equal(t, codes.NotFound, code(err))

	// The database is free again.
	finished := mustCreate(t, c, "finished", 10)
	srv.Advance(2 * dur)
	require.NoError(t, c.CancelOperation(ctx(t), &longrunningpb.CancelOperationRequest{Name: finished.Name()}, noRetry), "cancel of a finished operation is a no-op")
	res, err := finished.Poll(ctx(t), noRetry)
	require.NoError(t, err)
	assert.Equal(t, databasepb.Backup_READY, res.GetState(), "the race: the backup stays")
	require.NoError(t, c.DeleteBackup(ctx(t), &databasepb.DeleteBackupRequest{Name: spannersim.Instance + "/backups/finished"}, noRetry))
	assert.Empty(t, srv.Inventory())
	// A finished operation still reports its result after the backup is deleted.
	op, err := c.GetOperation(ctx(t), &longrunningpb.GetOperationRequest{Name: finished.Name()}, noRetry)
	require.NoError(t, err)
	assert.True(t, op.GetDone())
	assert.NotNil(t, op.GetResponse())

	err = c.CancelOperation(ctx(t), &longrunningpb.CancelOperationRequest{Name: name + "/operations/none"}, noRetry)
	assert.Equal(t, codes.NotFound, code(err))
}

// TestDeletePendingBackup: DeleteBackup deletes a pending backup too; its
// create operation ends CANCELLED (without a cancel_time: nobody called
// CancelOperation) and the database is free for the next backup.
func TestDeletePendingBackup(t *testing.T) {
	srv := start(t, spannersim.Options{})
	c := client(t, srv)
	op := mustCreate(t, c, "pending", 11)
	name := spannersim.Instance + "/backups/pending"
	srv.Advance(dur / 2)
	require.NoError(t, c.DeleteBackup(ctx(t), &databasepb.DeleteBackupRequest{Name: name}, noRetry))
	assert.Empty(t, srv.Inventory())
	_, err := c.GetBackup(ctx(t), &databasepb.GetBackupRequest{Name: name}, noRetry)
	assert.Equal(t, codes.NotFound, code(err))

	_, err = op.Poll(ctx(t), noRetry)
	require.True(t, op.Done(), "the create operation has ended")
	assert.Equal(t, codes.Canceled, code(err))
	assert.Contains(t, status.Convert(err).Message(), "deleted while it was being created")
	md, _ := op.Metadata()
	assert.Nil(t, md.GetCancelTime(), "no cancel was requested")
	assert.InDelta(t, 50, md.GetProgress().GetProgressPercent(), 2, "progress stops where the backup was deleted")
	assert.NotNil(t, md.GetProgress().GetEndTime())
	srv.Advance(2 * dur)
	_, err = c.GetOperation(ctx(t), &longrunningpb.GetOperationRequest{Name: op.Name()}, noRetry)
	require.NoError(t, err)
	_, err = op.Poll(ctx(t), noRetry)
	assert.Equal(t, codes.Canceled, code(err), "it stays cancelled after its planned end")
	assert.Empty(t, srv.Inventory(), "and never reappears")

	again := mustCreate(t, c, "pending-2", 11)
	assert.False(t, again.Done(), "the database is free again")

	// A copy being made is deleted the same way, and releases its source.
	srv.Advance(2 * dur)
	created := srv.Now()
	cp, err := c.CopyBackup(ctx(t), &databasepb.CopyBackupRequest{Parent: spannersim.CopyInstance, BackupId: "cp", SourceBackup: spannersim.Instance + "/backups/pending-2",
		ExpireTime: timestamppb.New(created.Add(48 * time.Hour))}, noRetry)
	require.NoError(t, err)
	require.NoError(t, c.DeleteBackup(ctx(t), &databasepb.DeleteBackupRequest{Name: spannersim.CopyInstance + "/backups/cp"}, noRetry))
	_, err = cp.Poll(ctx(t), noRetry)
	assert.Equal(t, codes.Canceled, code(err))
	require.NoError(t, c.DeleteBackup(ctx(t), &databasepb.DeleteBackupRequest{Name: spannersim.Instance + "/backups/pending-2"}, noRetry),
		"the source is no longer being copied")
	assert.Empty(t, srv.Inventory())
}

func TestListingsAndFilters(t *testing.T) {
	srv := start(t, spannersim.Options{})
	c := client(t, srv)
	for i := range 5 {
		mustCreate(t, c, fmt.Sprintf("list-%d", i), 20+i)
	}
	srv.Advance(2 * dur)
	mustCreate(t, c, "list-running", 30)

	var names []string
	it := c.ListBackups(ctx(t), &databasepb.ListBackupsRequest{Parent: spannersim.Instance, PageSize: 2}, noRetry)
	for {
		b, err := it.Next()
		if err == iterator.Done {
			break
		}
		require.NoError(t, err)
		names = append(names, b.GetName())
	}
	assert.Len(t, names, 6, "pagination returns everything: %v", names)
	it = c.ListBackups(ctx(t), &databasepb.ListBackupsRequest{Parent: spannersim.Instance, Filter: "state:CREATING"}, noRetry)
	b, err := it.Next()
	require.NoError(t, err)
	assert.Equal(t, spannersim.Instance+"/backups/list-running", b.GetName())
	_, err = it.Next()
	assert.Equal(t, iterator.Done, err)

	listOps := func(filter string) ([]*longrunningpb.Operation, error) {
		var out []*longrunningpb.Operation
		it := c.ListBackupOperations(ctx(t), &databasepb.ListBackupOperationsRequest{Parent: spannersim.Instance, Filter: filter, PageSize: 4}, noRetry)
		for {
			op, err := it.Next()
			if err == iterator.Done {
				return out, nil
			}
			if err != nil {
				return nil, err
			}
			out = append(out, op)
		}
	}
	all, err := listOps("")
	require.NoError(t, err)
	require.Len(t, all, 6)
	assert.Contains(t, all[0].GetName(), "/backups/list-running/", "most recently started first")
	ops, err := listOps(`(metadata.@type=type.googleapis.com/google.spanner.admin.database.v1.CreateBackupMetadata) AND (metadata.name:"` + spannersim.Instance + `/backups/list-3")`)
	require.NoError(t, err)
	require.Len(t, ops, 1)
	assert.Contains(t, ops[0].GetName(), "/backups/list-3/operations/")
	ops, err = listOps("done:false")
	require.NoError(t, err)
	assert.Len(t, ops, 1)
	ops, err = listOps("(metadata.@type=type.googleapis.com/google.spanner.admin.database.v1.CopyBackupMetadata)")
	require.NoError(t, err)
	assert.Empty(t, ops)
	_, err = listOps("metadata.colour:red")
	assert.Equal(t, codes.InvalidArgument, code(err))

	// Operations that ended more than 7 days ago drop out of ListBackupOperations.
	srv.Advance(8 * 24 * time.Hour)
	mustCreate(t, c, "list-late", 31)
	ops, err = listOps("")
	require.NoError(t, err)
	require.Len(t, ops, 1, "only the recent operation is listed")
	assert.Contains(t, ops[0].GetName(), "/backups/list-late/")
	_, err = c.GetOperation(ctx(t), &longrunningpb.GetOperationRequest{Name: all[1].GetName()}, noRetry)
	assert.NoError(t, err, "old operations can still be fetched by name")

	var viaOps []string
	oit := c.ListOperations(ctx(t), &longrunningpb.ListOperationsRequest{Name: spannersim.Instance + "/backups/list-1/operations"}, noRetry)
	for {
		op, err := oit.Next()
		if err == iterator.Done {
			break
		}
		require.NoError(t, err)
		viaOps = append(viaOps, op.GetName())
	}
	assert.Len(t, viaOps, 1)
}

func TestFaultInjection(t *testing.T) {
	srv := start(t, spannersim.Options{})
	c := client(t, srv)
	get := func() error {
		_, err := c.GetDatabase(ctx(t), &databasepb.GetDatabaseRequest{Name: spannersim.DatabaseName(0)}, noRetry)
		return err
	}
	srv.FailNext(provider.Unavailable, 2, 0)
	assert.Equal(t, codes.Unavailable, code(get()))
	assert.Equal(t, codes.Unavailable, code(get()))
	require.NoError(t, get())

	srv.FailNext(provider.Throttled, 1, 7*time.Second)
	err := get()
	st := status.Convert(err)
	assert.Equal(t, codes.ResourceExhausted, st.Code())
	var hint time.Duration
	var requestID string
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.RetryInfo:
			hint = d.GetRetryDelay().AsDuration()
		case *errdetails.RequestInfo:
			requestID = d.GetRequestId()
		}
	}
	assert.Equal(t, 7*time.Second, hint, "the retry hint is a google.rpc.RetryInfo detail")
	assert.NotEmpty(t, requestID, "errors carry a google.rpc.RequestInfo")

	// Lost response: applied, then UNAVAILABLE.
	srv.LoseNextCreate()
	require.NoError(t, get(), "LoseNextCreate only affects creates and copies")
	_, err = c.CreateBackup(ctx(t), createReq("lost", 1, 48*time.Hour), noRetry)
	assert.Equal(t, codes.Unavailable, code(err))
	assert.Equal(t, []string{spannersim.Instance + "/backups/lost"}, srv.Inventory(), "the create was applied")
	assert.Equal(t, 4, srv.Faults())

	// Latency delays calls (a lower bound, never an upper one).
	srv.SetLatency(50 * time.Millisecond)
	began := time.Now()
	require.NoError(t, get())
	assert.GreaterOrEqual(t, time.Since(began), 50*time.Millisecond)
	srv.SetLatency(0)
}

func TestFaultRateIsDeterministicPerStream(t *testing.T) {
	pattern := func(stream int64) (codesSeen []codes.Code, faults int) {
		srv := start(t, spannersim.Options{})
		c := client(t, srv)
		srv.SetFaultRate(0.5, stream)
		for range 40 {
			_, err := c.GetDatabase(ctx(t), &databasepb.GetDatabaseRequest{Name: spannersim.DatabaseName(0)}, noRetry)
			codesSeen = append(codesSeen, code(err))
		}
		return codesSeen, srv.Faults()
	}
	a, fa := pattern(42)
	b, fb := pattern(42)
	other, _ := pattern(43)
	assert.Equal(t, a, b, "same stream, same faults")
	assert.Equal(t, fa, fb)
	assert.NotEqual(t, a, other, "another stream, other faults")
	assert.Greater(t, fa, 5)
	assert.Less(t, fa, 35)
	kinds := map[codes.Code]bool{}
	for _, c := range a {
		kinds[c] = true
	}
	assert.True(t, kinds[codes.Unavailable] && kinds[codes.ResourceExhausted] && kinds[codes.OK], "%v", kinds)
}

func TestSectionHelpersAreValidRequests(t *testing.T) {
	var cr backup.SpannerCreate
	require.NoError(t, backup.DecodeStrict(spannersim.CreateSection(1005), &cr))
	assert.Equal(t, spannersim.Instance, cr.Parent)
	assert.Equal(t, "bk-1005", cr.BackupID)
	assert.Equal(t, spannersim.DatabaseName(1005%spannersim.DefaultResources), cr.Backup.Database)
	assert.NotEqual(t, spannersim.CreateSection(3), spannersim.CreateSection(4))
	var cp backup.SpannerCopy
	require.NoError(t, backup.DecodeStrict(spannersim.CopySection(7, "bk-1"), &cp))
	assert.Equal(t, spannersim.Instance+"/backups/bk-1", cp.SourceBackup, "a bare ID is in demo-instance")
	require.NoError(t, json.Unmarshal(spannersim.CopySection(7, spannersim.CopyInstance+"/backups/x1"), &cp))
	assert.Equal(t, spannersim.CopyInstance+"/backups/x1", cp.SourceBackup)
	assert.Equal(t, spannersim.CopyInstance, cp.Parent)

	// The simulator accepts them as they are (through the official client).
	srv := start(t, spannersim.Options{})
	c := client(t, srv)
	exp, err := time.Parse(time.RFC3339, cr.Backup.ExpireTime)
	require.NoError(t, err)
	op, err := c.CreateBackup(ctx(t), &databasepb.CreateBackupRequest{Parent: cr.Parent, BackupId: cr.BackupID,
		Backup: &databasepb.Backup{Database: cr.Backup.Database, ExpireTime: timestamppb.New(exp)}}, noRetry)
	require.NoError(t, err)
	srv.Advance(2 * dur)
	_, err = op.Poll(ctx(t), noRetry)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(spannersim.CopySection(9, cr.Parent+"/backups/"+cr.BackupID), &cp))
	cexp, err := time.Parse(time.RFC3339, cp.ExpireTime)
	require.NoError(t, err)
	_, err = c.CopyBackup(ctx(t), &databasepb.CopyBackupRequest{Parent: cp.Parent, BackupId: cp.BackupID, SourceBackup: cp.SourceBackup,
		ExpireTime: timestamppb.New(cexp)}, noRetry)
	require.NoError(t, err)
}

// TestBackupsExpire: once the clock passes a backup's expireTime the backup
// is gone from get and list; one that is the source of a copy still running
// is kept until the copy ends.
func TestBackupsExpire(t *testing.T) {
	srv := start(t, spannersim.Options{})
	c := client(t, srv)
	t0 := srv.Now()
	create := func(id string, db int, expire time.Time) *database.CreateBackupOperation {
		op, err := c.CreateBackup(ctx(t), &databasepb.CreateBackupRequest{Parent: spannersim.Instance, BackupId: id,
			Backup: &databasepb.Backup{Database: spannersim.DatabaseName(db), ExpireTime: timestamppb.New(expire)}}, noRetry)
		require.NoError(t, err)
		return op
	}
	get := func(id string) error {
		_, err := c.GetBackup(ctx(t), &databasepb.GetBackupRequest{Name: spannersim.Instance + "/backups/" + id}, noRetry)
		return err
	}
	listed := func(parent string) []string {
		var names []string
		it := c.ListBackups(ctx(t), &databasepb.ListBackupsRequest{Parent: parent}, noRetry)
		for {
			b, err := it.Next()
			if err == iterator.Done {
				return names
			}
			require.NoError(t, err)
			names = append(names, b.GetName()[strings.LastIndex(b.GetName(), "/")+1:])
		}
	}
	create("short", 40, t0.Add(6*time.Hour+time.Minute))
	create("long", 41, t0.Add(48*time.Hour))
	srv.Advance(6 * time.Hour)
	require.NoError(t, get("short"), "not expired yet")
	assert.Equal(t, []string{"long", "short"}, listed(spannersim.Instance))
	srv.Advance(2 * time.Minute)
	assert.Equal(t, codes.NotFound, code(get("short")), "expired")
	assert.Equal(t, []string{"long"}, listed(spannersim.Instance))
	assert.Equal(t, []string{spannersim.Instance + "/backups/long"}, srv.Inventory())

	// A source whose expireTime passes while it is being copied is kept
	// until the copy ends.
	t1 := srv.Now()
	create("src", 42, t1.Add(7*time.Hour))
	srv.Advance(7*time.Hour - dur/2) // the source is READY and expires in dur/2
	cp, err := c.CopyBackup(ctx(t), &databasepb.CopyBackupRequest{Parent: spannersim.CopyInstance, BackupId: "cp", SourceBackup: spannersim.Instance + "/backups/src",
		ExpireTime: timestamppb.New(t1.Add(48 * time.Hour))}, noRetry)
	require.NoError(t, err)
	srv.Advance(3 * dur / 4) // past the source's expireTime, the copy still running
	src, err := c.GetBackup(ctx(t), &databasepb.GetBackupRequest{Name: spannersim.Instance + "/backups/src"}, noRetry)
	require.NoError(t, err, "kept while a copy runs")
	assert.True(t, srv.Now().After(src.GetExpireTime().AsTime()))
	assert.Equal(t, []string{spannersim.CopyInstance + "/backups/cp"}, src.GetReferencingBackups())
	assert.Contains(t, listed(spannersim.Instance), "src")
	srv.Advance(dur / 2) // the copy has ended
	res, err := cp.Poll(ctx(t), noRetry)
	require.NoError(t, err)
	assert.Equal(t, databasepb.Backup_READY, res.GetState())
	assert.Equal(t, codes.NotFound, code(get("src")), "expired once the copy ended")
	assert.Equal(t, []string{"cp"}, listed(spannersim.CopyInstance))
}

// TestPendingCreationDetails: the refusal of a second pending creation
// carries a google.rpc.ErrorInfo (our guess of Spanner's detail); injected
// refusals come with the detail and a terse message, or with the message only.
func TestPendingCreationDetails(t *testing.T) {
	srv := start(t, spannersim.Options{})
	c := client(t, srv)
	errorInfo := func(err error) *errdetails.ErrorInfo {
		for _, d := range status.Convert(err).Details() {
			if info, ok := d.(*errdetails.ErrorInfo); ok {
				return info
			}
		}
		return nil
	}
	mustCreate(t, c, "first", 43)
	_, err := c.CreateBackup(ctx(t), createReq("second", 43, 48*time.Hour), noRetry)
	assert.Equal(t, codes.FailedPrecondition, code(err))
	assert.Contains(t, status.Convert(err).Message(), "pending backup creation")
	info := errorInfo(err)
	require.NotNil(t, info)
	assert.Equal(t, spannersim.PendingCreationReason, info.GetReason())
	assert.Equal(t, spannersim.ErrorDomain, info.GetDomain())
	assert.Equal(t, spannersim.DatabaseName(43), info.GetMetadata()["database"])

	srv.FailNextPendingCreation(true)
	_, err = c.CreateBackup(ctx(t), createReq("third", 44, 48*time.Hour), noRetry)
	assert.Equal(t, codes.FailedPrecondition, code(err))
	assert.NotContains(t, status.Convert(err).Message(), "pending", "only the detail says it")
	require.NotNil(t, errorInfo(err))
	assert.Equal(t, spannersim.PendingCreationReason, errorInfo(err).GetReason())

	srv.FailNextPendingCreation(false)
	_, err = c.CreateBackup(ctx(t), createReq("third", 44, 48*time.Hour), noRetry)
	assert.Equal(t, codes.FailedPrecondition, code(err))
	assert.Contains(t, status.Convert(err).Message(), "pending")
	assert.Nil(t, errorInfo(err), "the message alone")
	assert.Equal(t, 4, srv.CallsTo("CreateBackup"))
}

func TestFailNextCallWaitsForItsMethod(t *testing.T) {
	srv := start(t, spannersim.Options{})
	c := client(t, srv)
	mustCreate(t, c, "target", 45)
	srv.FailNextCall("DeleteBackup", codes.Internal)
	_, err := c.GetDatabase(ctx(t), &databasepb.GetDatabaseRequest{Name: spannersim.DatabaseName(0)}, noRetry)
	require.NoError(t, err, "other methods pass")
	err = c.DeleteBackup(ctx(t), &databasepb.DeleteBackupRequest{Name: spannersim.Instance + "/backups/target"}, noRetry)
	assert.Equal(t, codes.Internal, code(err))
	assert.Equal(t, 1, srv.CallsTo("DeleteBackup"))
	assert.Equal(t, 1, srv.CallsTo("GetDatabase"))
	assert.Equal(t, 1, srv.CallsTo("CreateBackup"))
	assert.Equal(t, []string{spannersim.Instance + "/backups/target"}, srv.Inventory(), "the refused delete was not applied")
}

// TestExpireTimeIsKeptToTheMicrosecond: the simulator keeps expire_time as
// sent down to the microsecond and cuts anything finer (our guess of what
// Spanner does; the driver's ownership marker rests on it).
func TestExpireTimeIsKeptToTheMicrosecond(t *testing.T) {
	srv := start(t, spannersim.Options{})
	c := client(t, srv)
	sec := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)
	sent := sec.Add(123456789 * time.Nanosecond)
	req := createReq("micro", 1, 0)
	req.Backup.ExpireTime = timestamppb.New(sent)
	_, err := c.CreateBackup(ctx(t), req, noRetry)
	require.NoError(t, err)
	b, err := c.GetBackup(ctx(t), &databasepb.GetBackupRequest{Name: spannersim.Instance + "/backups/micro"}, noRetry)
	require.NoError(t, err)
	assert.Equal(t, sec.Add(123456*time.Microsecond), b.GetExpireTime().AsTime(), "microseconds kept, nanoseconds cut")
	srv.Advance(2 * dur)

	cexp := sec.Add(987654321 * time.Nanosecond)
	_, err = c.CopyBackup(ctx(t), &databasepb.CopyBackupRequest{Parent: spannersim.CopyInstance, BackupId: "micro-copy",
		SourceBackup: b.GetName(), ExpireTime: timestamppb.New(cexp)}, noRetry)
	require.NoError(t, err)
	cb, err := c.GetBackup(ctx(t), &databasepb.GetBackupRequest{Name: spannersim.CopyInstance + "/backups/micro-copy"}, noRetry)
	require.NoError(t, err)
	assert.Equal(t, sec.Add(987654*time.Microsecond), cb.GetExpireTime().AsTime())
}

// TestDropNextCreate: the next create or copy fails UNAVAILABLE and applies
// nothing; other calls pass it by and the one after it works.
func TestDropNextCreate(t *testing.T) {
	srv := start(t, spannersim.Options{})
	c := client(t, srv)
	srv.DropNextCreate()
	_, err := c.GetDatabase(ctx(t), &databasepb.GetDatabaseRequest{Name: spannersim.DatabaseName(2)}, noRetry)
	require.NoError(t, err, "only creates and copies are dropped")
	_, err = c.CreateBackup(ctx(t), createReq("dropped", 2, 48*time.Hour), noRetry)
	assert.Equal(t, codes.Unavailable, code(err))
	assert.Empty(t, srv.Inventory(), "nothing applied")
	assert.Equal(t, 1, srv.Faults())
	mustCreate(t, c, "dropped", 2)
	assert.Equal(t, []string{spannersim.Instance + "/backups/dropped"}, srv.Inventory())

	srv.Advance(2 * dur)
	srv.DropNextCreate()
	_, err = c.CopyBackup(ctx(t), &databasepb.CopyBackupRequest{Parent: spannersim.CopyInstance, BackupId: "dropped-copy",
		SourceBackup: spannersim.Instance + "/backups/dropped", ExpireTime: timestamppb.New(time.Now().Add(48 * time.Hour))}, noRetry)
	assert.Equal(t, codes.Unavailable, code(err))
	assert.Equal(t, []string{spannersim.Instance + "/backups/dropped"}, srv.Inventory())
}

// TestAddForeign: a foreign backup is made as a person would make it: the
// target's ID, a whole-second expire_time, begun now, with its operation
// listed like any other.
func TestAddForeign(t *testing.T) {
	srv := start(t, spannersim.Options{})
	c := client(t, srv)
	name := srv.AddForeign(provider.Target{Resource: spannersim.DatabaseName(4), BackupName: "theirs"})
	assert.Equal(t, spannersim.Instance+"/backups/theirs", name)
	assert.Equal(t, []string{name}, srv.Inventory())
	b, err := c.GetBackup(ctx(t), &databasepb.GetBackupRequest{Name: name}, noRetry)
	require.NoError(t, err)
	assert.Equal(t, spannersim.DatabaseName(4), b.GetDatabase())
	assert.Equal(t, databasepb.Backup_CREATING, b.GetState(), "begun now")
	assert.Zero(t, b.GetExpireTime().GetNanos(), "a whole-second expire_time: no marker")
	assert.WithinDuration(t, srv.Now(), b.GetCreateTime().AsTime(), time.Second)
	it := c.ListBackupOperations(ctx(t), &databasepb.ListBackupOperationsRequest{Parent: spannersim.Instance}, noRetry)
	op, err := it.Next()
	require.NoError(t, err)
	assert.Contains(t, op.GetName(), name+"/operations/")

	_, err = c.CreateBackup(ctx(t), createReq("theirs", 5, 48*time.Hour), noRetry)
	assert.Equal(t, codes.AlreadyExists, code(err), "the ID is taken")
	_, err = c.CreateBackup(ctx(t), createReq("mine", 4, 48*time.Hour), noRetry)
	assert.Equal(t, codes.FailedPrecondition, code(err), "and the database has a pending creation")
	assert.Panics(t, func() { srv.AddForeign(provider.Target{Resource: spannersim.DatabaseName(4), BackupName: "theirs"}) }, "the name is taken")

	// A copy target: a copy into that name of the newest READY backup, or of a named source.
	srv.Advance(2 * dur)
	cp := srv.AddForeign(provider.Target{Resource: spannersim.CopyInstance + "/backups/their-copy", BackupName: "their-copy"})
	assert.Equal(t, spannersim.CopyInstance+"/backups/their-copy", cp)
	src, err := c.GetBackup(ctx(t), &databasepb.GetBackupRequest{Name: name}, noRetry)
	require.NoError(t, err)
	assert.Equal(t, []string{cp}, src.GetReferencingBackups(), "it copies the READY backup")
	other := srv.AddForeignCopy(spannersim.CopyInstance+"/backups/their-other-copy", name)
	cb, err := c.GetBackup(ctx(t), &databasepb.GetBackupRequest{Name: other}, noRetry)
	require.NoError(t, err)
	assert.Equal(t, spannersim.DatabaseName(4), cb.GetDatabase())
	assert.Zero(t, cb.GetExpireTime().GetNanos())
	assert.Len(t, srv.Inventory(), 3)
}

// ListBackups pages as Spanner documents: page_size and page_token in,
// next_page_token out; a page_size of 0, or above the server's largest page
// (Options.PageSize), gets the largest page. AddBackups's backups are READY.
func TestListBackupsPagesInTheServersPageSize(t *testing.T) {
	srv := start(t, spannersim.Options{PageSize: 3})
	c := client(t, srv)
	made := srv.AddBackups(spannersim.DatabaseName(4), 7)
	for _, tc := range []struct {
		pageSize int32
		perPage  int
		calls    int
	}{{0, 3, 3}, {2, 2, 4}, {10, 3, 3}} {
		before := srv.CallsTo("ListBackups")
		var names []string
		it := c.ListBackups(ctx(t), &databasepb.ListBackupsRequest{Parent: spannersim.Instance, PageSize: tc.pageSize}, noRetry)
		for {
			b, err := it.Next()
			if err == iterator.Done {
				break
			}
			require.NoError(t, err)
			assert.Equal(t, databasepb.Backup_READY, b.GetState())
			names = append(names, b.GetName())
		}
		assert.ElementsMatch(t, made, names, "page_size %d", tc.pageSize)
		assert.Equal(t, tc.calls, srv.CallsTo("ListBackups")-before, "page_size %d: 7 backups in pages of %d", tc.pageSize, tc.perPage)
	}
}
