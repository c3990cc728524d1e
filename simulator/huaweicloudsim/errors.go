package huaweicloudsim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Error codes the simulators answer with (see provider/huaweicloud for how
// the drivers classify them).
const (
	CodeInvalidParameter  = "DBS.280127"
	CodeNotFound          = "DBS.200002"
	CodeBackupInProgress  = "DBS.201205"
	CodeInstanceBusy      = "DBS.200011"
	CodeInstanceBusyRDS   = "DBS.200019"
	CodeBackupInProgRDS   = "RDS.3004"
	CodeManualBackupLimit = "RDS.3003"
	CodeAuthFailed        = "APIGW.0301"
	CodeForbidden         = "APIGW.0302"
	CodeTokenExpired      = "APIGW.0307"
	CodeThrottled         = "APIGW.0308"
	CodeNoSuchAPI         = "APIGW.0101"
	// CodeUnavailable is the simulator's own code for injected 5xx answers.
	CodeUnavailable = "SYS.0503"
)

// TimeLayout is the family's documented "yyyy-mm-ddThh:mm:ssZ" form with a
// numeric zone, e.g. 2020-07-07T01:17:05+0800.
const TimeLayout = "2006-01-02T15:04:05-0700"

// APIError is an error answer: HTTP status plus the {error_code, error_msg} body.
type APIError struct {
	Status     int
	Code       string
	Message    string
	RetryAfter time.Duration
}

func (e *APIError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// Errf builds an APIError.
func Errf(status int, code, format string, args ...any) *APIError {
	return &APIError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid is the provider's 400 answer to a bad parameter.
func Invalid(format string, args ...any) *APIError {
	return Errf(http.StatusBadRequest, CodeInvalidParameter, format, args...)
}

// NotAuthorizedFor is the gateway's 403 answer to valid credentials used on
// another project's path.
func NotAuthorizedFor(project string) *APIError {
	return Errf(http.StatusForbidden, CodeForbidden, "The credentials are not authorized for project %s", project)
}

// NoSuchInstance is the 404 answer to a create on an unknown instance.
func NoSuchInstance(id string) *APIError {
	return Errf(http.StatusNotFound, CodeNotFound, "The DB instance %s does not exist", id)
}

// Unauthorized is the gateway's 401 answer to refused credentials.
func Unauthorized(msg string) *APIError {
	return &APIError{Status: http.StatusUnauthorized, Code: CodeAuthFailed, Message: "Incorrect IAM authentication information: " + msg}
}

// WriteError writes e in the provider's error shape.
func WriteError(w http.ResponseWriter, e *APIError) {
	if e.RetryAfter > 0 {
		secs := int((e.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	WriteJSON(w, e.Status, map[string]string{"error_code": e.Code, "error_msg": e.Message})
}

// WriteJSON writes v as the JSON body with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// NewUUID returns a random UUID-shaped ID, as the family uses for backups and jobs.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// NewHex returns n random bytes as hex.
func NewHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
