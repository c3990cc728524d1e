package alirds

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
)

// codeInfo is how one Alibaba error code is classified.
type codeInfo struct {
	class provider.Class
	// verified: the code (and its HTTP status) appears in Alibaba's public
	// RDS / OpenAPI error documentation. Unverified codes are our best guess
	// for what the docs leave open; the simulator (simulator/alirds) answers
	// with exactly these, so the two agree and are easy to correct together.
	verified bool
}

// codes is the one table of Alibaba error codes the driver knows. Anything
// else is classified by HTTP status in classify.
var codes = map[string]codeInfo{
	// Flow control: HTTP 400, but "try later".
	"Throttling":         {provider.Throttled, true},
	"Throttling.User":    {provider.Throttled, true},
	"Throttling.Api":     {provider.Throttled, true},
	"ServiceUnavailable": {provider.Unavailable, true}, // 503
	"InternalError":      {provider.Internal, true},    // 500 (retryable class)
	// A new nonce is drawn on every attempt, so a repeat is worth retrying.
	"SignatureNonceUsed": {provider.Unavailable, true},

	// Credentials and access: give up.
	"SignatureDoesNotMatch":       {provider.Permission, true},
	"IncompleteSignature":         {provider.Permission, true},
	"InvalidAccessKeyId.NotFound": {provider.Permission, true},
	"InvalidAccessKeyId.Inactive": {provider.Permission, true},
	"InvalidTimeStamp.Expired":    {provider.Permission, true}, // the worker's clock is off: an operator must fix it
	"Forbidden.RAM":               {provider.Permission, true},
	"Forbidden":                   {provider.Permission, true},
	"NoPermission":                {provider.Permission, true},
	// A locked instance (expired, overdue, manual lock) needs the account owner.
	"IncorrectDBInstanceLockMode": {provider.Permission, true},

	// Invalid requests: give up.
	"InvalidParameter":                    {provider.InvalidArgument, true},
	"MissingParameter":                    {provider.InvalidArgument, true},
	"MissingDBInstanceId":                 {provider.InvalidArgument, true},
	"BackupType.NotSupport":               {provider.InvalidArgument, true},
	"InvalidBackupMethod.ValueNotSupport": {provider.InvalidArgument, true},
	"IncorrectDBInstanceEngine":           {provider.InvalidArgument, true},
	"IncorrectDBInstanceType":             {provider.InvalidArgument, true},
	"InvalidAction.NotFound":              {provider.InvalidArgument, true},
	"InvalidVersion":                      {provider.InvalidArgument, false},
	"InvalidStartTime.Malformed":          {provider.InvalidArgument, true},
	"InvalidEndTime.Malformed":            {provider.InvalidArgument, true},
	"InvalidPageSize":                     {provider.InvalidArgument, false},
	"InvalidPageNumber":                   {provider.InvalidArgument, false},
	"InvalidTimeStamp.Format":             {provider.InvalidArgument, true},

	// Missing things.
	"InvalidDBInstanceId.NotFound": {provider.NotFound, true},
	"InvalidDBName.NotFound":       {provider.NotFound, true},
	"InvalidBackupSetID.NotFound":  {provider.NotFound, true},

	// Preconditions that clear by themselves: wait.
	"IncorrectDBInstanceState":         {provider.Busy, true},  // instance not Running (403)
	"BackupJobExists":                  {provider.Busy, false}, // a backup task is ongoing; terraform-provider-alicloud retries on it, status unverified
	"OperationDenied.DBInstanceStatus": {provider.Busy, false},

	// The 20-per-day limit: give up for today.
	"QuotaExceeded.BackupCount": {provider.Quota, false},
}

// UnverifiedCodes lists the codes of the table that Alibaba's public docs do
// not confirm (see codeInfo.verified).
func UnverifiedCodes() []string {
	var out []string
	for c, info := range codes {
		if !info.verified {
			out = append(out, c)
		}
	}
	return out
}

// classify maps any error of an SDK call into the provider taxonomy. It is
// the only place Alibaba errors are interpreted. Server errors keep their
// code, message, request ID and HTTP status, and a Retry-After header as the
// retry hint (Alibaba documents none; the simulator sends one with throttling).
func classify(err error) error {
	if err == nil {
		return nil
	}
	var pe *provider.Error
	if errors.As(err, &pe) {
		return err
	}
	var se *sdkerrors.ServerError
	if errors.As(err, &se) {
		e := &provider.Error{
			Provider:   backup.ProviderAliRDS,
			Code:       se.ErrorCode(),
			Message:    se.Message(),
			RequestID:  se.RequestId(),
			HTTPStatus: se.HttpStatus(),
			RetryAfter: retryAfter(se.RespHeaders),
			Err:        err,
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
		return &provider.Error{Class: class, Provider: backup.ProviderAliRDS, Code: ce.ErrorCode(), Message: ce.Message(), Err: err}
	}
	var ue *url.Error
	var ne net.Error
	if errors.As(err, &ue) || errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &provider.Error{Class: provider.Unavailable, Provider: backup.ProviderAliRDS, Message: err.Error(), Err: err}
	}
	return &provider.Error{Class: provider.Internal, Provider: backup.ProviderAliRDS, Message: err.Error(), Err: err}
}

// classOf classifies a server error code, falling back on the HTTP status.
func classOf(code string, status int) provider.Class {
	if info, ok := codes[code]; ok {
		return info.class
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

// retryAfter reads a Retry-After header (seconds or an HTTP date).
func retryAfter(h map[string][]string) time.Duration {
	v := http.Header(h).Get("Retry-After")
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}
