package alirds

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"testing"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/provider"
)

func serverError(status int, code string) error {
	body := fmt.Sprintf(`{"RequestId":"REQ-1","HostId":"rds.aliyuncs.com","Code":%q,"Message":"msg of %s","Recommend":"r"}`, code, code)
	return sdkerrors.NewServerError(status, body, "")
}

// TestClassifyTable is the error-mapping table: each Alibaba answer and the
// class it must get, with code, message, request ID and status kept.
func TestClassifyTable(t *testing.T) {
	cases := []struct {
		status int
		code   string
		class  provider.Class
	}{
		{400, "Throttling", provider.Throttled},
		{400, "Throttling.User", provider.Throttled},
		{400, "Throttling.Api", provider.Throttled},
		{400, "Throttling.Something.New", provider.Throttled},
		{503, "ServiceUnavailable", provider.Unavailable},
		{500, "InternalError", provider.Internal},
		{502, "BadGateway", provider.Unavailable},
		{500, "UnknownError", provider.Internal},
		{400, "InvalidParameter", provider.InvalidArgument},
		{400, "MissingParameter", provider.InvalidArgument},
		{400, "BackupType.NotSupport", provider.InvalidArgument},
		{400, "InvalidBackupMethod.ValueNotSupport", provider.InvalidArgument},
		{403, "IncorrectDBInstanceEngine", provider.InvalidArgument},
		{404, "InvalidAccessKeyId.NotFound", provider.Permission},
		{400, "InvalidTimeStamp.Expired", provider.Permission},
		{403, "Forbidden.RAM", provider.Permission},
		{403, "IncorrectDBInstanceLockMode", provider.FailedPrecondition},
		{400, "SignatureNonceUsed", provider.Unavailable},
		{404, "InvalidDBInstanceId.NotFound", provider.NotFound},
		{400, "InvalidBackupSetID.NotFound", provider.NotFound},
		{404, "InvalidDBName.NotFound", provider.NotFound},
		{403, "IncorrectDBInstanceState", provider.Busy},
		{400, "BackupJobExists", provider.Busy},
		{400, "BackupTimesExceeded", provider.Quota},
		{400, "QuotaExceeded.Other", provider.Quota},
		{403, "SomethingForbidden", provider.Permission},
		{404, "SomethingMissing", provider.NotFound},
		{400, "SomethingWrong", provider.InvalidArgument},
		{429, "TooMany", provider.Throttled},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			err := classify(serverError(c.status, c.code))
			var pe *provider.Error
			require.True(t, errors.As(err, &pe))
			assert.Equal(t, c.class, pe.Class)
			assert.Equal(t, c.code, pe.Code)
			assert.Equal(t, "msg of "+c.code, pe.Message)
			assert.Equal(t, "REQ-1", pe.RequestID)
			assert.Equal(t, c.status, pe.HTTPStatus)
			assert.Equal(t, "alirds", pe.Provider)
			var se *sdkerrors.ServerError
			assert.True(t, errors.As(err, &se), "the SDK error stays reachable")
		})
	}
}

func TestClassifyRetryAfter(t *testing.T) {
	se := serverError(400, "Throttling.User").(*sdkerrors.ServerError)
	se.RespHeaders = map[string][]string{"Retry-After": {"7"}}
	var pe *provider.Error
	require.True(t, errors.As(classify(se), &pe))
	assert.Equal(t, 7*time.Second, pe.RetryAfter)

	se.RespHeaders = map[string][]string{"Retry-After": {time.Now().Add(time.Minute).UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT")}}
	require.True(t, errors.As(classify(se), &pe))
	assert.Greater(t, pe.RetryAfter, 30*time.Second)

	se.RespHeaders = nil
	require.True(t, errors.As(classify(se), &pe))
	assert.Zero(t, pe.RetryAfter)
}

func TestClassifyNonServerErrors(t *testing.T) {
	cases := []struct {
		name  string
		err   error
		class provider.Class
	}{
		{"lost connection", &url.Error{Op: "Post", URL: "http://127.0.0.1/", Err: errors.New("EOF")}, provider.Unavailable},
		{"dial", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, provider.Unavailable},
		{"deadline", context.DeadlineExceeded, provider.Unavailable},
		{"sdk timeout", sdkerrors.NewClientError(sdkerrors.TimeoutErrorCode, "timed out", nil), provider.Unavailable},
		{"sdk bad json", sdkerrors.NewClientError(sdkerrors.JsonUnmarshalErrorCode, "bad json", nil), provider.Unavailable},
		{"sdk endpoint", sdkerrors.NewClientError(sdkerrors.CanNotResolveEndpointErrorCode, "no endpoint", nil), provider.Internal},
		{"other", errors.New("boom"), provider.Internal},
		{"already classified", provider.Errorf(provider.Busy, "busy"), provider.Busy},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.class, provider.ClassOf(classify(c.err)))
		})
	}
	assert.NoError(t, classify(nil))
}
