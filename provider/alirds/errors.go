package alirds

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
)

// codes is the one table of Alibaba error codes the driver maps by name;
// anything else is classified by rule in classOf. Each code, its HTTP
// status, what backupflow does and the source are in docs/providers/alirds.md
// (a test holds the two together).
var codes = map[string]provider.Class{
	// Flow control (HTTP 400 or 403, but "try later") and server faults.
	"Throttling":         provider.Throttled,
	"Throttling.User":    provider.Throttled,
	"Throttling.Api":     provider.Throttled,
	"ServiceUnavailable": provider.Unavailable,
	"InternalError":      provider.Internal,
	// A new nonce is drawn on every attempt, so a repeat is worth retrying.
	"SignatureNonceUsed": provider.Unavailable,

	// Credentials and access: give up.
	"SignatureDoesNotMatch":       provider.Permission,
	"IncompleteSignature":         provider.Permission,
	"InvalidAccessKeyId.NotFound": provider.Permission,
	"InvalidAccessKeyId.Inactive": provider.Permission,
	"InvalidTimeStamp.Expired":    provider.Permission, // the worker's clock is off: an operator must fix it
	"Forbidden.RAM":               provider.Permission,

	// A lock (expired, manual, disk full) is lifted only by a person.
	"IncorrectDBInstanceLockMode": provider.FailedPrecondition,

	// Invalid requests: give up.
	"InvalidParameter":                    provider.InvalidArgument,
	"MissingParameter":                    provider.InvalidArgument,
	"MissingDBInstanceId":                 provider.InvalidArgument,
	"BackupType.NotSupport":               provider.InvalidArgument,
	"InvalidBackupMethod.ValueNotSupport": provider.InvalidArgument,
	"IncorrectDBInstanceEngine":           provider.InvalidArgument,
	"IncorrectDBInstanceType":             provider.InvalidArgument,
	"InvalidAction.NotFound":              provider.InvalidArgument,
	"InvalidVersion":                      provider.InvalidArgument,
	"InvalidStartTime.Malformed":          provider.InvalidArgument,
	"InvalidEndTime.Malformed":            provider.InvalidArgument,
	"InvalidPageSize":                     provider.InvalidArgument,
	"InvalidPageNumber":                   provider.InvalidArgument,
	"InvalidTimeStamp.Format":             provider.InvalidArgument,

	// Missing things.
	"InvalidDBInstanceId.NotFound": provider.NotFound,
	"InvalidDBName.NotFound":       provider.NotFound,
	"InvalidBackupSetID.NotFound":  provider.NotFound,

	// Preconditions that clear by themselves: wait. Preflight has already
	// failed the instance states a person must change.
	"IncorrectDBInstanceState":         provider.Busy,
	"OperationDenied.DBInstanceStatus": provider.Busy,
	"BackupJobExists":                  provider.Busy,

	// The 20-a-day limit: give up for today.
	"BackupTimesExceeded": provider.Quota,
}

// signatureMessage replaces the provider's message for the signature codes:
// Alibaba quotes its whole string to sign there (AccessKeyId, nonce, every
// parameter), which must not reach an error.
const signatureMessage = "the request signature was refused: check the AccessKey secret (BACKUPFLOW_ALIRDS_ACCESS_KEY_SECRET)"

// classify maps any error of an SDK call into the provider taxonomy. It is
// the only place Alibaba errors are interpreted. Server errors keep their
// code, message, request ID and HTTP status, and a Retry-After header as the
// retry hint (Alibaba documents none; the simulator sends one with
// throttling). docs/providers/alirds.md, "Error codes", gives each code's
// source or marks it as a guess. No signing material survives: not in the message, not in
// the wrapped error (Temporal records that too).
func classify(err error) error {
	if err == nil {
		return nil
	}
	var pe *provider.Error
	if errors.As(err, &pe) {
		if pe.Provider == "" {
			pe.Provider = backup.ProviderAliRDS
		}
		return pe // not err: a *url.Error around it quotes the signed URL
	}
	var se *sdkerrors.ServerError
	if errors.As(err, &se) {
		e := &provider.Error{
			Provider:   backup.ProviderAliRDS,
			Code:       se.ErrorCode(),
			Message:    se.Message(),
			RequestID:  se.RequestId(),
			HTTPStatus: se.HttpStatus(),
			RetryAfter: retryAfter(se.RespHeaders, time.Now()),
			Err:        se,
		}
		if e.Code == sdkerrors.SignatureDostNotMatchErrorCode || e.Code == sdkerrors.IncompleteSignatureErrorCode {
			e.Message = signatureMessage
			e.Err = plainServerError(se, signatureMessage)
		}
		e.Class = classOf(e.Code, e.HTTPStatus)
		if e.Message == "" {
			e.Message = http.StatusText(e.HTTPStatus)
		}
		return e
	}
	var ce *sdkerrors.ClientError
	if errors.As(err, &ce) {
		class := provider.Unavailable // timeouts, unreachable endpoints, truncated answers
		switch ce.ErrorCode() {
		case sdkerrors.UnsupportedCredentialErrorCode, sdkerrors.CanNotResolveEndpointErrorCode,
			sdkerrors.UnsupportedParamPositionErrorCode, sdkerrors.UnknownRequestTypeErrorCode,
			sdkerrors.MissingParamErrorCode, sdkerrors.InvalidParamErrorCode:
			class = provider.Internal // the driver or its configuration is wrong
		}
		cause := withoutQuery(ce.OriginError())
		return &provider.Error{Class: class, Provider: backup.ProviderAliRDS, Code: ce.ErrorCode(), Message: ce.Message(),
			Err: sdkerrors.NewClientError(ce.ErrorCode(), ce.Message(), cause)}
	}
	var ue *url.Error
	var ne net.Error
	if errors.As(err, &ue) || errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		err = withoutQuery(err)
		return &provider.Error{Class: provider.Unavailable, Provider: backup.ProviderAliRDS, Message: err.Error(), Err: err}
	}
	return &provider.Error{Class: provider.Internal, Provider: backup.ProviderAliRDS, Message: err.Error(), Err: err}
}

// withoutQuery drops the query string from the URL of a *url.Error: the SDK
// sends every RPC parameter, signature included, in the query, and Go's
// HTTP client quotes the whole URL in its errors. Other errors pass as they are.
func withoutQuery(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	u, perr := url.Parse(ue.URL)
	host := "the RDS endpoint"
	if perr == nil {
		host = u.Scheme + "://" + u.Host + "/"
	}
	return &url.Error{Op: ue.Op, URL: host, Err: ue.Err}
}

// plainServerError is an SDK server error with the same status, code and
// request ID as se but the given message, so callers that look for the
// SDK's error still find one.
func plainServerError(se *sdkerrors.ServerError, message string) error {
	body, _ := json.Marshal(map[string]string{"RequestId": se.RequestId(), "HostId": se.HostId(), "Code": se.ErrorCode(), "Message": message})
	return sdkerrors.NewServerError(se.HttpStatus(), string(body), "")
}

// classOf classifies a server error code, falling back on the HTTP status.
func classOf(code string, status int) provider.Class {
	if class, ok := codes[code]; ok {
		return class
	}
	switch {
	case strings.HasPrefix(code, "Throttling"), status == http.StatusTooManyRequests:
		return provider.Throttled
	case strings.HasPrefix(code, "QuotaExceeded"):
		return provider.Quota
	case strings.HasPrefix(code, "Forbidden"), strings.HasPrefix(code, "InvalidAccessKey"):
		return provider.Permission
	case strings.HasSuffix(code, ".NotFound"), status == http.StatusNotFound:
		return provider.NotFound
	case status == http.StatusInternalServerError:
		return provider.Internal
	case status >= 500:
		return provider.Unavailable
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return provider.Permission
	}
	return provider.InvalidArgument
}

// retryAfter is the hint of a Retry-After response header, zero without one.
func retryAfter(h map[string][]string, now time.Time) time.Duration {
	d, _ := provider.ParseRetryAfter(http.Header(h).Get("Retry-After"), now)
	return d
}
