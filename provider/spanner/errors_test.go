package spanner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/googleapis/gax-go/v2/apierror"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/backupflow/backupflow/internal/doctable"
	"github.com/backupflow/backupflow/provider"
)

func TestMapErrorEveryCode(t *testing.T) {
	cases := []struct {
		code  codes.Code
		msg   string
		class provider.Class
		name  string
	}{
		{codes.Canceled, "context canceled", provider.Unavailable, "CANCELLED"},
		{codes.Unknown, "unknown", provider.Internal, "UNKNOWN"},
		{codes.InvalidArgument, "bad expire_time", provider.InvalidArgument, "INVALID_ARGUMENT"},
		{codes.DeadlineExceeded, "deadline", provider.Unavailable, "DEADLINE_EXCEEDED"},
		{codes.NotFound, "Backup not found", provider.NotFound, "NOT_FOUND"},
		{codes.AlreadyExists, "Backup already exists", provider.AlreadyExists, "ALREADY_EXISTS"},
		{codes.PermissionDenied, "missing spanner.backups.create", provider.Permission, "PERMISSION_DENIED"},
		{codes.ResourceExhausted, "quota", provider.Throttled, "RESOURCE_EXHAUSTED"},
		{codes.FailedPrecondition, "there is already a pending backup creation for database d", provider.Busy, "FAILED_PRECONDITION"},
		{codes.FailedPrecondition, "Source backup b is not ready for copying", provider.Busy, "FAILED_PRECONDITION"},
		{codes.FailedPrecondition, "Backup b is still being created and cannot be deleted", provider.Busy, "FAILED_PRECONDITION"},
		{codes.FailedPrecondition, "Backup b cannot be deleted while it is being copied", provider.Busy, "FAILED_PRECONDITION"},
		{codes.FailedPrecondition, "Database dialect does not support this operation", provider.FailedPrecondition, "FAILED_PRECONDITION"},
		{codes.Aborted, "aborted", provider.Internal, "ABORTED"},
		{codes.OutOfRange, "out of range", provider.InvalidArgument, "OUT_OF_RANGE"},
		{codes.Unimplemented, "not implemented", provider.Unsupported, "UNIMPLEMENTED"},
		{codes.Internal, "internal", provider.Internal, "INTERNAL"},
		{codes.Unavailable, "unavailable", provider.Unavailable, "UNAVAILABLE"},
		{codes.DataLoss, "data loss", provider.Internal, "DATA_LOSS"},
		{codes.Unauthenticated, "invalid credentials", provider.Permission, "UNAUTHENTICATED"},
	}
	seen := map[codes.Code]bool{}
	for _, c := range cases {
		seen[c.code] = true
		t.Run(fmt.Sprintf("%s/%s", c.name, c.msg), func(t *testing.T) {
			// As the SDK returns it: an *apierror.APIError wrapping the status.
			src := status.Error(c.code, c.msg)
			if ae, ok := apierror.FromError(src); ok {
				src = ae
			}
			err := classify(src)
			var pe *provider.Error
			require.True(t, errors.As(err, &pe), "%T", err)
			assert.Equal(t, c.class, pe.Class)
			assert.Equal(t, c.name, pe.Code)
			assert.Equal(t, c.msg, pe.Message)
			assert.Equal(t, "spanner", pe.Provider)
			assert.ErrorIs(t, err, src, "the SDK error stays wrapped")
		})
	}
	for c := codes.Canceled; c <= codes.Unauthenticated; c++ {
		assert.True(t, seen[c], "code %s is covered", c)
	}
	assert.NoError(t, classify(nil))
}

func TestMapErrorKeepsRetryInfoAndRequestID(t *testing.T) {
	st, err := status.New(codes.ResourceExhausted, "slow down").WithDetails(
		&errdetails.RetryInfo{RetryDelay: durationpb.New(9 * time.Second)},
		&errdetails.RequestInfo{RequestId: "req-42"},
	)
	require.NoError(t, err)
	src, _ := apierror.FromError(st.Err())
	var pe *provider.Error
	require.ErrorAs(t, classify(src), &pe)
	assert.Equal(t, provider.Throttled, pe.Class)
	assert.Equal(t, 9*time.Second, pe.RetryAfter)
	assert.Equal(t, "req-42", pe.RequestID)
	assert.Contains(t, pe.Error(), "request req-42")
}

func TestMapErrorNonStatusErrors(t *testing.T) {
	var pe *provider.Error
	require.ErrorAs(t, classify(fmt.Errorf("dial: %w", context.DeadlineExceeded)), &pe)
	assert.Equal(t, provider.Unavailable, pe.Class, "a deadline is worth retrying")
	require.ErrorAs(t, classify(errors.New("something odd")), &pe)
	assert.Equal(t, provider.Internal, pe.Class)
	already := provider.Invalid("spanner.backupId", "bad")
	assert.Same(t, already, classify(already), "classified errors pass through")
}

// TestPendingCreationByDetailsOrPhrase: the structured detail decides when
// present; the message is the fallback; neither leaves FailedPrecondition.
func TestPendingCreationByDetailsOrPhrase(t *testing.T) {
	withInfo := func(msg, domain, reason string) error {
		st, err := status.New(codes.FailedPrecondition, msg).WithDetails(&errdetails.ErrorInfo{Domain: domain, Reason: reason})
		require.NoError(t, err)
		return st.Err()
	}
	cases := []struct {
		name string
		err  error
		want provider.Class
	}{
		{"detail, terse message", withInfo("Precondition check failed.", "spanner.googleapis.com", "PENDING_BACKUP_CREATION"), provider.Busy},
		{"phrase, no detail", status.Error(codes.FailedPrecondition, "There is already a pending backup creation for this database."), provider.Busy},
		{"detail of another domain", withInfo("Precondition check failed.", "example.com", "PENDING_BACKUP_CREATION"), provider.FailedPrecondition},
		{"unknown reason", withInfo("Precondition check failed.", "spanner.googleapis.com", "KMS_KEY_DISABLED"), provider.FailedPrecondition},
		{"unknown reason, busy phrase", withInfo("Source backup b is not ready for copying.", "spanner.googleapis.com", "OTHER"), provider.Busy},
		{"neither", status.Error(codes.FailedPrecondition, "Precondition check failed."), provider.FailedPrecondition},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, provider.ClassOf(classify(c.err)))
		})
	}
}

// TestDocumentedCodesMapToTheirClass: every row of the "Error codes" table
// of docs/providers/spanner.md, built as the gRPC status its signal
// describes, maps to the class the row names; and the table covers every
// code classOf maps.
func TestDocumentedCodesMapToTheirClass(t *testing.T) {
	rows, err := doctable.Read(doctable.Page("spanner"), "Error codes", 0)
	require.NoError(t, err)
	listed := map[string]bool{}
	for _, row := range rows {
		c, ok := code.Code_value[row["code"]]
		require.True(t, ok, "unknown code %q", row["code"])
		listed[row["code"]] = true
		signal := row["signal"]
		st := status.New(codes.Code(c), "Precondition check failed.")
		switch {
		case strings.HasPrefix(signal, "ErrorInfo "):
			st, err = st.WithDetails(&errdetails.ErrorInfo{Domain: "spanner.googleapis.com", Reason: strings.TrimPrefix(signal, "ErrorInfo ")})
			require.NoError(t, err)
		case strings.HasPrefix(signal, `message contains "`):
			st = status.New(codes.Code(c), "Backup b: "+strings.TrimSuffix(strings.TrimPrefix(signal, `message contains "`), `"`)+".")
		default:
			require.Contains(t, []string{"any", "other"}, signal, "row %v", row)
		}
		src, _ := apierror.FromError(st.Err())
		t.Run(row["code"]+"/"+row["condition"], func(t *testing.T) {
			got := provider.ClassOf(classify(src))
			assert.True(t, got.Known())
			assert.Equal(t, provider.Class(row["class"]), got, "signal %q", signal)
		})
	}
	for c := codes.Canceled; c <= codes.Unauthenticated; c++ {
		assert.True(t, listed[code.Code(c).String()], "the document lists %s, which classOf maps", code.Code(c))
	}
}
