package clouds

import (
	"github.com/backupflow/backupflow/simulator/otcrdssim"
	"github.com/backupflow/backupflow/simulator/taurusdbsim"
)

func startTaurusDB(o Options) (*Cloud, error) {
	sim, err := taurusdbsim.Start(taurusdbsim.Options{Duration: o.Duration, Resources: o.Resources})
	if err != nil {
		return nil, err
	}
	return &Cloud{
		Provider:  "taurusdb",
		Simulator: sim,
		Env: map[string]string{
			"BACKUPFLOW_TAURUSDB_ENDPOINT":   sim.Endpoint(),
			"BACKUPFLOW_TAURUSDB_INSECURE":   "true",
			"BACKUPFLOW_TAURUSDB_PROJECT_ID": taurusdbsim.ProjectID,
			"BACKUPFLOW_TAURUSDB_ACCESS_KEY": taurusdbsim.AccessKey,
			"BACKUPFLOW_TAURUSDB_SECRET_KEY": taurusdbsim.SecretKey,
		},
		CreateSection: taurusdbsim.CreateSection,
	}, nil
}

// startOTCRDS uses OTC's documented token authentication (IAM X-Auth-Token).
func startOTCRDS(o Options) (*Cloud, error) {
	sim, err := otcrdssim.Start(otcrdssim.Options{Duration: o.Duration, Resources: o.Resources})
	if err != nil {
		return nil, err
	}
	return &Cloud{
		Provider:  "otcrds",
		Simulator: sim,
		Env: map[string]string{
			"BACKUPFLOW_OTCRDS_ENDPOINT":     sim.Endpoint(),
			"BACKUPFLOW_OTCRDS_INSECURE":     "true",
			"BACKUPFLOW_OTCRDS_PROJECT_ID":   otcrdssim.ProjectID,
			"BACKUPFLOW_OTCRDS_AUTH":         "token",
			"BACKUPFLOW_OTCRDS_IAM_ENDPOINT": sim.IAMEndpoint(),
			"BACKUPFLOW_OTCRDS_USERNAME":     otcrdssim.Username,
			"BACKUPFLOW_OTCRDS_PASSWORD":     otcrdssim.Password,
			"BACKUPFLOW_OTCRDS_DOMAIN":       otcrdssim.Domain,
			// The simulator's backups run for seconds, not OTC's typical minutes.
			"BACKUPFLOW_OTCRDS_EXPECTED_DURATION": o.Duration.String(),
		},
		CreateSection: otcrdssim.CreateSection,
		// OTC's backup list returns no description, so only a create's own
		// answer proves a backup ours (as provider/otcrds's conformance
		// harness declares).
		ProofByCreateResponseOnly: true,
	}, nil
}
