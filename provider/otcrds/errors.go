package otcrds

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/huaweicloud"
)

// classify maps any error of an SDK call, or of the IAM token client, into
// the provider taxonomy, once: through huaweicloud.MapError, whose table
// holds the family's codes (docs/providers/otcrds.md, "Error codes"; a test
// holds the two together). A code wins over the HTTP status; the provider's
// code, message, request ID, status and Retry-After hint are kept.
func classify(err error) error { return huaweicloud.MapError(name, err) }

// codeBackupDeleting is OTC's answer to deleting a backup already being
// deleted: for Delete, that is done.
const codeBackupDeleting = "RDS.3016"

// iamError classifies an IAM error answer ({"error": {code, title, message}}).
func iamError(resp *http.Response, data []byte) *provider.Error {
	var body struct {
		Error struct {
			Title   string `json:"title"`
			Message string `json:"message"`
		} `json:"error"`
		ErrorCode string `json:"error_code"`
		ErrorMsg  string `json:"error_msg"`
	}
	_ = json.Unmarshal(data, &body)
	code := body.ErrorCode
	if code == "" && body.Error.Title != "" {
		code = "IAM." + strings.ReplaceAll(body.Error.Title, " ", "")
	}
	msg := body.Error.Message
	if msg == "" {
		msg = body.ErrorMsg
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	retryAfter, _ := provider.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return &provider.Error{
		Class:      huaweicloud.Classify(resp.StatusCode, ""),
		Provider:   name,
		Code:       code,
		Message:    "IAM token request refused: " + msg,
		RequestID:  resp.Header.Get("X-Request-Id"),
		HTTPStatus: resp.StatusCode,
		RetryAfter: retryAfter,
	}
}
