package taurusdb

import (
	"errors"
	"time"

	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/huaweicloud"
)

// classify maps any error of an SDK call into the provider taxonomy, once:
// through huaweicloud.MapError, whose tables hold the family's codes and
// TaurusDB's own (docs/providers/taurusdb.md, "Error codes"; a test holds
// the two together). A code wins over the HTTP status; the provider's code,
// message, request ID, status and Retry-After hint are kept.
func classify(err error) error { return huaweicloud.MapError(name, err) }

// JobLookupGrace is how long after its backup began a refusal of a job ID we
// hold means "not visible yet" rather than what its code says. The job API
// is only said to take seconds to show a new job, and it does not promise to
// answer an ID it does not know yet with 404: it may be a 400 with a DBS code
// (docs/providers/taurusdb.md, "A job ID the job API refuses"). Five
// minutes covers those seconds many times over, plus the skew between the
// provider's clock (the backup's begin_time) and the worker's.
const JobLookupGrace = 5 * time.Minute

// settledByList reports whether err, the job API's answer about op's job, is
// a refusal the backup list must settle before anything is decided: a 404 at
// any time (the backup list holds the backup's fate), or any other 4xx but
// throttling within JobLookupGrace of the backup's start (or when that start
// is unknown). After the grace a 400 is taken at its word.
func (d *Driver) settledByList(op provider.Operation, err error) bool {
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.HTTPStatus < 400 || pe.HTTPStatus >= 500 || pe.Class == provider.Throttled {
		return false
	}
	if pe.Class == provider.NotFound || op.StartedAt == nil {
		return true
	}
	return d.now().Sub(*op.StartedAt) < JobLookupGrace
}
