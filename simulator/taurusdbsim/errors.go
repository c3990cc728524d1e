package taurusdbsim

import (
	"net/http"

	"github.com/backupflow/backupflow/simulator/huaweicloudsim"
)

// CodeNameExists is TaurusDB's answer (409) to a backup name already used on
// the instance; the RDS family answers 400 DBS.201201 instead.
const CodeNameExists = "DBS.201209"

// BusyCodes are the 409 codes an instance busy with another operation can
// answer a create with (see SetBusyWith): the family's and those the public
// GaussDB(for MySQL) tooling retries.
var BusyCodes = []string{
	huaweicloudsim.CodeInstanceBusy, huaweicloudsim.CodeInstanceBusyRDS, "DBS.200047", "DBS.201202",
	"DBS.201014", "DBS.201015", "DBS.216011", "DBS.05000084", "DBS.212033",
}

// unknownJob is the refusal of a job ID the job API does not know (yet).
func (s *Server) unknownJob(id string) *huaweicloudsim.APIError {
	if s.opts.UnknownJobStatus == http.StatusBadRequest {
		return huaweicloudsim.Invalid("Invalid job ID %s", id)
	}
	return huaweicloudsim.Errf(http.StatusNotFound, huaweicloudsim.CodeNotFound, "The job %s does not exist", id)
}
