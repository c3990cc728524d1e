package alirdssim

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/simulator/simkit"
)

// codeSpec is one error answer the simulator can give: its HTTP status and
// the message it sends when the answer is injected (FailNextCode).
type codeSpec struct {
	status  int
	message string
}

// errorCodes is the one catalog of error codes the simulator answers with.
// Every answer goes through apiErr, which takes its status from here, so
// ErrorCodes is exactly what the simulator can produce. Statuses and sources
// are in docs/providers/alirds.md.
var errorCodes = map[string]codeSpec{
	// Flow control and server faults (FailNext, SetFaultRate, FailNextCode).
	"Throttling":         {http.StatusBadRequest, "Request was denied due to flow control."},
	"Throttling.User":    {http.StatusBadRequest, "Request was denied due to user flow control."},
	"Throttling.Api":     {http.StatusForbidden, "Request was denied due to api flow control."},
	"ServiceUnavailable": {http.StatusServiceUnavailable, "The request has failed due to a temporary failure of the server."},
	"InternalError":      {http.StatusInternalServerError, "The request processing has failed due to some unknown error, exception or failure."},

	// Authentication (authenticateLocked).
	"SignatureDoesNotMatch":       {http.StatusBadRequest, "Specified signature is not matched with our calculation."},
	"IncompleteSignature":         {http.StatusBadRequest, "The request signature does not conform to Aliyun standards."},
	"SignatureNonceUsed":          {http.StatusBadRequest, "Specified signature nonce was used already."},
	"InvalidAccessKeyId.NotFound": {http.StatusNotFound, "Specified access key is not found."},
	"InvalidTimeStamp.Expired":    {http.StatusBadRequest, "Specified time stamp or date value is expired."},
	"InvalidTimeStamp.Format":     {http.StatusBadRequest, "Specified time stamp or date value is not well formatted."},
	"InvalidVersion":              {http.StatusBadRequest, "Specified parameter Version is not valid."},
	"MissingParameter":            {http.StatusBadRequest, "A mandatory parameter is not supplied."},
	// Answers the simulator's model never reaches on its own; FailNextCode
	// gives them so the driver's mapping of each can be tested.
	"Forbidden.RAM":                    {http.StatusForbidden, "User not authorized to operate on the specified resource, or this API doesn't support RAM."},
	"InvalidAccessKeyId.Inactive":      {http.StatusBadRequest, "Specified access key is disabled."},
	"OperationDenied.DBInstanceStatus": {http.StatusForbidden, "The operation is not permitted due to status of instance."},
	"IncorrectDBInstanceEngine":        {http.StatusForbidden, "Current DB instance engine does not support this operation."},
	"IncorrectDBInstanceType":          {http.StatusBadRequest, "Current DB instance type does not support this operation."},

	// Request routing and parameters.
	"InvalidAction.NotFound":              {http.StatusNotFound, "Specified api is not found, please check your url and method."},
	"UnsupportedHTTPMethod":               {http.StatusMethodNotAllowed, "This http method is not supported."},
	"InvalidParameter":                    {http.StatusBadRequest, "The specified parameter is not valid."},
	"MissingDBInstanceId":                 {http.StatusBadRequest, "The input parameter \"DBInstanceId\" that is mandatory for processing this request is not supplied."},
	"BackupType.NotSupport":               {http.StatusBadRequest, "the specified backup type not support"},
	"InvalidBackupMethod.ValueNotSupport": {http.StatusBadRequest, "The specified parameter \"BackupMethod\" is not valid."},
	"InvalidStartTime.Malformed":          {http.StatusBadRequest, "Specified start time is not valid."},
	"InvalidEndTime.Malformed":            {http.StatusBadRequest, "Specified end time is not valid."},
	"InvalidPageSize":                     {http.StatusBadRequest, "PageSize must be between 30 and 100."},
	"InvalidPageNumber":                   {http.StatusBadRequest, "PageNumber must be 1 or more."},

	// Things that do not exist.
	"InvalidDBInstanceId.NotFound": {http.StatusNotFound, "The specified instance is not found."},
	"InvalidDBName.NotFound":       {http.StatusNotFound, "Specified DB name does not exist."},
	"InvalidBackupSetID.NotFound":  {http.StatusBadRequest, "Specified backup set ID does not exist."},

	// CreateBackup's preconditions (createBackupLocked).
	"IncorrectDBInstanceLockMode": {http.StatusForbidden, "Current DB instance lock mode does not support this operation."},
	"IncorrectDBInstanceState":    {http.StatusForbidden, "Current DB instance state does not support this operation."},
	"BackupJobExists":             {http.StatusBadRequest, "A backup job already exists in the specified DB instance."},
	"BackupTimesExceeded":         {http.StatusBadRequest, "Exceeding the daily backup times of this DB instance."},
}

// ErrorCodes returns every error code the simulator can answer with, and its HTTP status.
func ErrorCodes() map[string]int {
	out := make(map[string]int, len(errorCodes))
	for code, spec := range errorCodes {
		out[code] = spec.status
	}
	return out
}

// apiErr is an answer of a catalogued code; an uncatalogued code is a bug
// in the simulator, caught by every test that reaches it.
func apiErr(code, message string) *apiError {
	spec, ok := errorCodes[code]
	if !ok {
		panic(fmt.Sprintf("alirds simulator: error code %q is not in the catalog", code))
	}
	if message == "" {
		message = spec.message
	}
	return &apiError{status: spec.status, code: code, message: message}
}

// FailNextCode makes the next authenticated call answer with the given
// catalogued code (its status and default message) and have no effect.
func (s *Server) FailNextCode(code string) error {
	if _, ok := errorCodes[code]; !ok {
		return fmt.Errorf("alirds simulator: %q is not an error code the simulator knows", code)
	}
	s.Queue(simkit.Fault{Answer: code})
	return nil
}

// randomFault is a fault SetFaultRate injects: HTTP 503 ServiceUnavailable,
// HTTP 500 InternalError, HTTP 400 Throttling.User with Retry-After: 1, or a
// lost response after the call was applied.
func randomFault(r *rand.Rand) simkit.Fault {
	switch r.IntN(4) {
	case 0:
		return simkit.Fault{Class: provider.Unavailable}
	case 1:
		return simkit.Fault{Class: provider.Internal}
	case 2:
		return simkit.Fault{Class: provider.Throttled, RetryAfter: time.Second}
	}
	return simkit.Fault{Kind: simkit.Lose}
}

func faultError(class provider.Class, retryAfter time.Duration) *apiError {
	switch class {
	case provider.Unavailable:
		return apiErr("ServiceUnavailable", "The request has failed due to a temporary failure of the server.")
	case provider.Throttled:
		e := apiErr("Throttling.User", "Request was denied due to user flow control.")
		if retryAfter > 0 {
			e.retryAfter = retryAfter
		}
		return e
	default:
		return apiErr("InternalError", "The request processing has failed due to some unknown error, exception or failure.")
	}
}

// apiError is an answer in Alibaba's error shape.
type apiError struct {
	status     int
	code       string
	message    string
	retryAfter time.Duration
}

func writeError(w http.ResponseWriter, requestID string, e *apiError) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.retryAfter+time.Second-1)/time.Second)))
	}
	writeJSON(w, e.status, requestID, map[string]any{
		"RequestId": requestID,
		"HostId":    "rds.aliyuncs.com",
		"Code":      e.code,
		"Message":   e.message,
		"Recommend": "https://api.aliyun.com/troubleshoot?q=" + url.QueryEscape(e.code) + "&product=Rds",
	})
}

func writeJSON(w http.ResponseWriter, status int, requestID string, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"Code":"InternalError","Message":"encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.Header().Set("x-acs-request-id", requestID)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// ErrUnknownInstance is returned by the test knobs for an instance the fixture lacks.
var ErrUnknownInstance = errors.New("alirds simulator: no such instance")
