package alirds

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/internal/doctable"
	"github.com/backupflow/backupflow/provider"
)

var providerDoc = doctable.Page("alirds")

// TestDocCodesMatchTheMapping: the error-code table of the provider
// document and the driver's code table list the same codes, and each code,
// answered with the document's HTTP status, gets the document's class.
func TestDocCodesMatchTheMapping(t *testing.T) {
	rows, err := doctable.Read(providerDoc, "Error codes", 0)
	require.NoError(t, err)
	documented := map[string]bool{}
	for _, row := range rows {
		code := row["Code"]
		documented[code] = true
		status, err := strconv.Atoi(row["HTTP"])
		require.NoError(t, err, "HTTP column of %s", code)
		assert.Equal(t, provider.Class(row["Class"]), classOf(code, status), "class of %s", code)
		assert.True(t, provider.Class(row["Class"]).Known(), "%s: %q is not a class", code, row["Class"])
		assert.NotEmpty(t, row["Source"], "%s: a source URL, SDK file or guess", code)
	}
	for code := range codes {
		assert.True(t, documented[code], "the driver maps %s, which the document does not list", code)
	}
	assert.Len(t, documented, len(codes), "no code documented twice or missing from the driver")
}

// TestDocTaskStatesMatchThePhases: every BackupStatus the document lists
// gets the phase it says.
func TestDocTaskStatesMatchThePhases(t *testing.T) {
	rows, err := doctable.Read(providerDoc, "States read", 0)
	require.NoError(t, err)
	n := 0
	for _, row := range rows {
		if row["Field"] != "BackupStatus" {
			continue
		}
		n++
		assert.Equal(t, provider.Phase(row["Outcome"]), phaseOf(row["Value"]), "BackupStatus %s", row["Value"])
	}
	assert.Equal(t, 7, n, "the seven documented BackupStatus values")
}

// TestSignatureErrorsCarryNoStringToSign: Alibaba's message for a refused
// signature quotes its string to sign; neither our message nor the error
// we wrap may.
func TestSignatureErrorsCarryNoStringToSign(t *testing.T) {
	const sts = "POST&%2F&AccessKeyId%3DLTAI5tSomeKey%26Action%3DDescribeBackups%26SignatureNonce%3Dabc"
	for _, code := range []string{"SignatureDoesNotMatch", "IncompleteSignature"} {
		t.Run(code, func(t *testing.T) {
			body := fmt.Sprintf(`{"RequestId":"REQ-9","HostId":"rds.aliyuncs.com","Code":%q,"Message":"Specified signature is not matched with our calculation. server string to sign is:%s"}`, code, sts)
			err := classify(sdkerrors.NewServerError(400, body, ""))
			var pe *provider.Error
			require.True(t, errors.As(err, &pe))
			assert.Equal(t, provider.Permission, pe.Class)
			assert.Equal(t, code, pe.Code)
			assert.Equal(t, "REQ-9", pe.RequestID)
			assert.Equal(t, signatureMessage, pe.Message)
			for e := error(pe); e != nil; e = errors.Unwrap(e) {
				assert.NotContains(t, e.Error(), "string to sign", "%T", e)
				assert.NotContains(t, e.Error(), "LTAI5tSomeKey", "%T", e)
			}
			var se *sdkerrors.ServerError
			require.True(t, errors.As(err, &se), "an SDK error is still there to find")
			assert.Equal(t, code, se.ErrorCode())
		})
	}
}

// TestTransportErrorsCarryNoSignedURL: Go's HTTP client quotes the request
// URL, which holds the whole signed query.
func TestTransportErrorsCarryNoSignedURL(t *testing.T) {
	signed := "http://127.0.0.1:9/?AccessKeyId=LTAI5tSomeKey&Signature=c2lnbmF0dXJl&SignatureNonce=n-1"
	refused := &url.Error{Op: "Post", URL: signed, Err: errors.New("dial tcp 127.0.0.1:9: connect: connection refused")}
	for name, err := range map[string]error{
		"url error":                  refused,
		"SDK client error around it": sdkerrors.NewClientError(sdkerrors.TimeoutErrorCode, "timed out", refused),
	} {
		t.Run(name, func(t *testing.T) {
			got := classify(err)
			assert.Equal(t, provider.Unavailable, provider.ClassOf(got))
			for e := got; e != nil; e = errors.Unwrap(e) {
				for _, secret := range []string{"LTAI5tSomeKey", "Signature=", "SignatureNonce", "?"} {
					assert.False(t, strings.Contains(e.Error(), secret), "%T %q holds %q", e, e.Error(), secret)
				}
			}
			assert.Contains(t, errors.Unwrap(got).Error(), "127.0.0.1:9", "the host stays, to say what was unreachable")
		})
	}
}
