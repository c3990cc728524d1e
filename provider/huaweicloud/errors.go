package huaweicloud

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/response"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
)

// Error codes of the family that the drivers react to by name: the RDS
// family's codes plus the API gateway's authentication and throttling codes.
// docs/providers/taurusdb.md and docs/providers/otcrds.md ("Error codes")
// list each code with its source, or mark it as a guess.
const (
	CodeInvalidParameter  = "DBS.280127"
	CodeNotFound          = "DBS.200002"
	CodeNameExists        = "DBS.201201"
	CodeBackupInProgress  = "DBS.201205"
	CodeInstanceBusy      = "DBS.200011"
	CodeManualBackupLimit = "RDS.3003"
	// API gateway codes: IAM authentication failed, token expired, throttled.
	CodeAuthFailed   = "APIGW.0301"
	CodeTokenExpired = "APIGW.0307"
	CodeThrottled    = "APIGW.0308"
	// TaurusDB (GaussDB for MySQL) only: a backup of that name exists (409).
	CodeTaurusNameExists = "DBS.201209"
)

// codeClasses classifies the codes whose meaning is known across the family.
// A code wins over the HTTP status because the same status carries different
// meanings (400 is both "invalid parameter" and "name exists").
var codeClasses = map[string]provider.Class{
	// The instance is busy (being modified, rebooted, ...): retry later.
	"DBS.200011": provider.Busy,
	"DBS.200019": provider.Busy,
	"DBS.200047": provider.Busy,
	"DBS.201202": provider.Busy,
	"RDS.0011":   provider.Busy,
	// Another backup is in progress on the instance: retry later.
	"DBS.201205": provider.Busy,
	"RDS.3004":   provider.Busy,
	// The manual-backup limit is reached: give up (413).
	"RDS.3003": provider.Quota,
	// The backup name exists: the driver adopts it when it is ours.
	"DBS.201201": provider.AlreadyExists,
	"DBS.280127": provider.InvalidArgument,
	"DBS.200002": provider.NotFound,
	"APIGW.0301": provider.Permission,
	"APIGW.0307": provider.Permission,
	"APIGW.0308": provider.Throttled,
}

// serviceCodeClasses adds, per provider name, the codes only that service's
// API gives; they are looked up before the family's. Open Telekom Cloud RDS
// has none: it keeps exactly the family table.
var serviceCodeClasses = map[string]map[string]provider.Class{
	backup.ProviderTaurusDB: {
		// Codes the public GaussDB(for MySQL) tooling retries as "another
		// operation is under way on the instance" (docs/providers/taurusdb.md).
		"DBS.201014":   provider.Busy,
		"DBS.201015":   provider.Busy,
		"DBS.216011":   provider.Busy,
		"DBS.05000084": provider.Busy,
		"DBS.212033":   provider.Busy,
		// A backup of that name exists. It is a 409, which would otherwise
		// read as Busy: the driver adopts the backup when it is ours.
		CodeTaurusNameExists: provider.AlreadyExists,
	},
}

// Classify maps an HTTP status and a provider error code of the family into
// the taxonomy (the family's codes only; see ClassifyFor).
func Classify(status int, code string) provider.Class { return ClassifyFor("", status, code) }

// ClassifyFor maps an HTTP status and an error code of providerName's API
// into the taxonomy: the service's own codes, then the family's, then the status.
func ClassifyFor(providerName string, status int, code string) provider.Class {
	if c, ok := serviceCodeClasses[providerName][code]; ok {
		return c
	}
	if c, ok := codeClasses[code]; ok {
		return c
	}
	switch {
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return provider.Permission
	case status == http.StatusNotFound:
		return provider.NotFound
	case status == http.StatusConflict:
		return provider.Busy
	case status == http.StatusRequestEntityTooLarge:
		return provider.Quota
	case status == http.StatusTooManyRequests:
		return provider.Throttled
	case status == http.StatusRequestTimeout, status >= 500:
		return provider.Unavailable
	case status >= 400:
		return provider.InvalidArgument
	}
	// A 2xx/3xx the SDK could not decode: a provider or SDK bug, worth a retry.
	return provider.Internal
}

// ResponseError is an error answer together with the hint the SDK's own
// *sdkerr.ServiceResponseError drops: the Retry-After header.
type ResponseError struct {
	*sdkerr.ServiceResponseError
	RetryAfter time.Duration
}

func (e *ResponseError) Error() string { return e.ServiceResponseError.Error() }
func (e *ResponseError) Unwrap() error { return e.ServiceResponseError }

// ErrorHandler replaces the SDK's sdkerr.DefaultErrorHandler (install it with
// HcHttpClientBuilder.WithErrorHandler). It sees the whole *http.Response, so
// it keeps Retry-After, which ServiceResponseError has no field for.
type ErrorHandler struct{}

// HandleError implements sdkerr.ErrorHandler.
func (ErrorHandler) HandleError(_ *request.DefaultHttpRequest, resp *response.DefaultHttpResponse) error {
	if resp.GetStatusCode() < 400 {
		return nil
	}
	retryAfter, _ := provider.ParseRetryAfter(resp.Response.Header.Get("Retry-After"), time.Now())
	return &ResponseError{ServiceResponseError: sdkerr.NewServiceResponseError(resp.Response), RetryAfter: retryAfter}
}

// MapError turns whatever an SDK call returned into a *provider.Error, keeping
// the provider's code, message, request ID, HTTP status and retry hint. It is
// the only place errors of this API family are classified.
func MapError(providerName string, err error) error {
	if err == nil {
		return nil
	}
	var pe *provider.Error
	if errors.As(err, &pe) {
		if pe.Provider == "" {
			pe.Provider = providerName
		}
		return pe
	}
	var re *ResponseError
	if errors.As(err, &re) {
		return fromResponse(providerName, re.ServiceResponseError, re.RetryAfter, err)
	}
	var sre *sdkerr.ServiceResponseError
	if errors.As(err, &sre) {
		return fromResponse(providerName, sre, 0, err)
	}
	var sreVal sdkerr.ServiceResponseError
	if errors.As(err, &sreVal) {
		return fromResponse(providerName, &sreVal, 0, err)
	}
	if transient(err) {
		return &provider.Error{Class: provider.Unavailable, Provider: providerName,
			Message: "the provider could not be reached or the connection was lost: " + err.Error(), Err: err}
	}
	return &provider.Error{Class: provider.Internal, Provider: providerName, Message: err.Error(), Err: err}
}

func fromResponse(providerName string, sre *sdkerr.ServiceResponseError, retryAfter time.Duration, err error) *provider.Error {
	msg := sre.ErrorMessage
	if msg == "" {
		msg = http.StatusText(sre.StatusCode)
	}
	return &provider.Error{
		Class:      ClassifyFor(providerName, sre.StatusCode, sre.ErrorCode),
		Provider:   providerName,
		Code:       sre.ErrorCode,
		Message:    msg,
		RequestID:  sre.RequestId,
		HTTPStatus: sre.StatusCode,
		RetryAfter: retryAfter,
		Err:        err,
	}
}

// transient reports errors of the transport: refused or dropped connections,
// timeouts, a response cut short.
func transient(err error) bool {
	var ue *url.Error
	var ne net.Error
	var ce *sdkerr.ConnectionError
	var te *sdkerr.RequestTimeoutError
	return errors.As(err, &ue) || errors.As(err, &ne) || errors.As(err, &ce) || errors.As(err, &te) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// IsUnauthorized reports a 401 answer: the credentials (or token) were refused.
func IsUnauthorized(err error) bool {
	var pe *provider.Error
	return errors.As(err, &pe) && pe.Class == provider.Permission && pe.HTTPStatus == http.StatusUnauthorized
}

// WithField names the request field an error is about, keeping everything else.
func WithField(err error, field string) error {
	var pe *provider.Error
	if errors.As(err, &pe) {
		cp := *pe
		cp.Field = field
		return &cp
	}
	return err
}

// Errorf is provider.Errorf with the provider name set.
func Errorf(providerName string, class provider.Class, format string, args ...any) *provider.Error {
	return &provider.Error{Class: class, Provider: providerName, Message: fmt.Sprintf(format, args...)}
}
