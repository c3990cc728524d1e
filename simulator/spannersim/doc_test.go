package spannersim_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/spanner/admin/database/apiv1/databasepb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rpccode "google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/backupflow/backupflow/internal/doctable"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/simulator/spannersim"
)

// observed is what the simulator answered: errors of calls, and the states
// of backups and operations, in the notation of the document's tables.
type observed struct {
	errs     []*status.Status
	states   map[string]bool // "field value"
	percents []int32
}

func (o *observed) err(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	o.errs = append(o.errs, status.Convert(err))
}

func (o *observed) state(field, value string) { o.states[field+" "+value] = true }

func (o *observed) backup(b *databasepb.Backup) { o.state("Backup.state", b.GetState().String()) }

func (o *observed) operation(op *longrunningpb.Operation) {
	o.state("Operation.done", map[bool]string{true: "true", false: "false"}[op.GetDone()])
	var md databasepb.CreateBackupMetadata
	var cp databasepb.CopyBackupMetadata
	var progress *databasepb.OperationProgress
	switch {
	case op.GetMetadata().UnmarshalTo(&md) == nil:
		progress = md.GetProgress()
		if md.GetCancelTime() != nil {
			o.state("CreateBackupMetadata.cancel_time", "set")
		}
	case op.GetMetadata().UnmarshalTo(&cp) == nil:
		progress = cp.GetProgress()
	}
	o.percents = append(o.percents, progress.GetProgressPercent())
	var b databasepb.Backup
	if r := op.GetResponse(); r != nil && r.UnmarshalTo(&b) == nil {
		o.state("Operation.response", "Backup")
	}
	if e := op.GetError(); e != nil {
		if codes.Code(e.GetCode()) == codes.Canceled {
			o.state("Operation.error.code", "CANCELLED")
		} else {
			o.state("Operation.error.code", "any other")
		}
	}
}

// produced reports whether the simulator answered code with the row's signal.
func (o *observed) produced(code, signal string) bool {
	for _, st := range o.errs {
		if rpccode.Code(st.Code()).String() != code {
			continue
		}
		switch {
		case strings.HasPrefix(signal, "ErrorInfo "):
			for _, d := range st.Details() {
				if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == spannersim.ErrorDomain &&
					info.GetReason() == strings.TrimPrefix(signal, "ErrorInfo ") {
					return true
				}
			}
		case strings.HasPrefix(signal, `message contains "`):
			text := strings.TrimSuffix(strings.TrimPrefix(signal, `message contains "`), `"`)
			if strings.Contains(strings.ToLower(st.Message()), strings.ToLower(text)) {
				return true
			}
		case signal == "any", signal == "other":
			return true
		}
	}
	return false
}

// TestDocumentedStatesAndCodesAreProduced drives the simulator through the
// official client, by its rules where it has one and by fault injection for
// the codes only a broken server gives, and checks it produced every code
// (with its signal) and every state docs/providers/spanner.md lists.
func TestDocumentedStatesAndCodesAreProduced(t *testing.T) {
	codeRows, err := doctable.Read(doctable.Page("spanner"), "Error codes", 0)
	require.NoError(t, err)
	stateRows, err := doctable.Read(doctable.Page("spanner"), "States read", 0)
	require.NoError(t, err)

	srv := start(t, spannersim.Options{Token: spannersim.AccessToken})
	c := client(t, srv)
	cx := func() context.Context { return authed(t, spannersim.AccessToken) }
	obs := &observed{states: map[string]bool{}}
	getOp := func(name string) {
		op, err := c.GetOperation(cx(), &longrunningpb.GetOperationRequest{Name: name}, noRetry)
		require.NoError(t, err)
		obs.operation(op)
	}
	getBackup := func(name string) {
		b, err := c.GetBackup(cx(), &databasepb.GetBackupRequest{Name: name}, noRetry)
		require.NoError(t, err)
		obs.backup(b)
	}
	create := func(id string, db int) string {
		op, err := c.CreateBackup(cx(), createReq(id, db, 48*time.Hour), noRetry)
		require.NoError(t, err)
		return op.Name()
	}

	// A backup through its life: CREATING, progress, READY.
	first := create("first", 50)
	getBackup(spannersim.Instance + "/backups/first")
	getOp(first)
	// The rules' refusals.
	_, err = c.CreateBackup(cx(), createReq("second", 50, 48*time.Hour), noRetry)
	obs.err(t, err) // pending creation, with its ErrorInfo
	srv.FailNextPendingCreation(false)
	_, err = c.CreateBackup(cx(), createReq("second", 51, 48*time.Hour), noRetry)
	obs.err(t, err) // pending creation, message only
	copyReq := func(id, source string) *databasepb.CopyBackupRequest {
		return &databasepb.CopyBackupRequest{Parent: spannersim.CopyInstance, BackupId: id, SourceBackup: source,
			ExpireTime: timestamppb.New(srv.Now().Add(48 * time.Hour))}
	}
	_, err = c.CopyBackup(cx(), copyReq("early", spannersim.Instance+"/backups/first"), noRetry)
	obs.err(t, err) // source still being created
	notReady := createReq("on-creating-db", 0, 48*time.Hour)
	notReady.Backup.Database = spannersim.CreatingDatabase
	_, err = c.CreateBackup(cx(), notReady, noRetry)
	obs.err(t, err) // database not ready
	srv.Advance(dur / 2)
	getOp(first)
	srv.Advance(dur)
	getOp(first)
	getBackup(spannersim.Instance + "/backups/first")
	cp, err := c.CopyBackup(cx(), copyReq("copy", spannersim.Instance+"/backups/first"), noRetry)
	require.NoError(t, err)
	err = c.DeleteBackup(cx(), &databasepb.DeleteBackupRequest{Name: spannersim.Instance + "/backups/first"}, noRetry)
	obs.err(t, err) // source being copied
	_, err = c.CreateBackup(cx(), createReq("first", 52, 48*time.Hour), noRetry)
	obs.err(t, err) // name taken
	_, err = c.CreateBackup(cx(), createReq("short", 52, time.Hour), noRetry)
	obs.err(t, err) // expireTime under 6 hours
	_, err = c.CreateBackup(cx(), createReq("nodb", 100000, 48*time.Hour), noRetry)
	obs.err(t, err) // unknown database
	_, err = c.GetBackup(cx(), &databasepb.GetBackupRequest{Name: "projects/other/instances/i/backups/b"}, noRetry)
	obs.err(t, err) // another project
	_, err = c.GetBackup(authed(t, "wrong"), &databasepb.GetBackupRequest{Name: spannersim.Instance + "/backups/first"}, noRetry)
	obs.err(t, err) // bad credentials
	_, err = c.UpdateBackup(cx(), &databasepb.UpdateBackupRequest{}, noRetry)
	obs.err(t, err) // a method the simulator does not serve

	// Operations that end early: cancelled, deleted while made, failed.
	cancelled := create("cancelled", 53)
	require.NoError(t, c.CancelOperation(cx(), &longrunningpb.CancelOperationRequest{Name: cancelled}, noRetry))
	getOp(cancelled)
	deleted := create("deleted", 54)
	require.NoError(t, c.DeleteBackup(cx(), &databasepb.DeleteBackupRequest{Name: spannersim.Instance + "/backups/deleted"}, noRetry))
	getOp(deleted)
	failed := create("failed", 55)
	require.True(t, srv.FailBackup(spannersim.Instance+"/backups/failed", codes.Internal, "the backup failed"))
	getOp(failed)
	getOp(cp.Name())

	// Codes only a broken or overloaded server gives: injected.
	srv.FailNext(provider.Throttled, 1, time.Second)
	srv.FailNext(provider.Unavailable, 1, 0)
	for _, injected := range []codes.Code{codes.DeadlineExceeded, codes.Canceled, codes.Internal, codes.Unknown,
		codes.Aborted, codes.DataLoss, codes.OutOfRange, codes.FailedPrecondition} {
		srv.FailNextCode(injected)
	}
	for range 10 {
		_, err := c.GetDatabase(cx(), &databasepb.GetDatabaseRequest{Name: spannersim.DatabaseName(0)}, noRetry)
		obs.err(t, err)
	}

	if len(obs.percents) > 0 && slices.Min(obs.percents) == 0 && slices.Max(obs.percents) == 100 {
		obs.state("OperationProgress.progress_percent", "0..100")
	}
	for _, row := range codeRows {
		assert.True(t, obs.produced(row["code"], row["signal"]), "the document lists %s (%s, signal %q) but the simulator never produced it",
			row["code"], row["condition"], row["signal"])
	}
	for _, row := range stateRows {
		assert.True(t, obs.states[row["field"]+" "+row["value"]], "the document lists %s = %s but the simulator never produced it; produced: %v",
			row["field"], row["value"], obs.states)
	}
}
