package otcrdssim

import (
	"net/http"

	"github.com/backupflow/backupflow/simulator/huaweicloudsim"
)

// Error codes the simulator answers with, from OTC's RDS v3 error-code table
// (docs/providers/otcrds.md says which use of each is a guess). Gateway
// answers (authentication, throttling, unknown API) carry GatewayCodePrefix.
const (
	CodeParameterError     = "DBS.200001" // 400
	CodeInstanceNotFound   = "DBS.200002" // 404
	CodeInstanceBusy       = "DBS.200019" // 409: the instance is not ACTIVE
	CodeNameExists         = "DBS.201201" // 409: "The object already exists."
	CodeBackupInProgress   = "RDS.3004"   // 409: create while another backup builds
	CodeBackupBuilding     = "DBS.201205" // 409: delete while the backup builds
	CodeInvalidDescription = "DBS.280127" // 400
	CodeNoSuchDatabase     = "DBS.280128" // 400
	CodeManualBackupLimit  = "RDS.3003"   // 413
	CodeBackupDeleting     = "RDS.3016"   // 400: "The backup file is being deleted."
	CodeBackupNotFound     = "DBS.201010" // 404: "The backup information does not exist."
	// GatewayCodePrefix is OTC's API gateway's: APIG.0301 where Huawei Cloud says APIGW.0301.
	GatewayCodePrefix = "APIG"
)

// noSuchAPI answers a path the API does not have, as OTC's gateway does.
func noSuchAPI(w http.ResponseWriter, r *http.Request) {
	huaweicloudsim.WriteError(w, huaweicloudsim.Errf(http.StatusNotFound, GatewayCodePrefix+".0101",
		"The API does not exist or has not been published in the environment: %s %s", r.Method, r.URL.Path))
}

// withCode is e answered with code instead (OTC's code for the same rule).
func withCode(e *huaweicloudsim.APIError, code string) *huaweicloudsim.APIError {
	if e == nil {
		return nil
	}
	cp := *e
	cp.Code = code
	return &cp
}
