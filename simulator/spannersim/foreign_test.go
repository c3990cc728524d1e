package spannersim_test

import (
	"testing"
	"time"

	"cloud.google.com/go/spanner/admin/database/apiv1/databasepb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/simulator/spannersim"
)

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
