package taurusdbsim

import "github.com/backupflow/backupflow/simulator/simkit"

func init() {
	simkit.Register(simkit.Registration{Provider: "taurusdb", Start: startCloud})
}

// startCloud starts a simulator and says how a worker reaches it (AK/SK).
func startCloud(o simkit.Options) (*simkit.Cloud, error) {
	sim, err := Start(Options{Duration: o.Duration, Resources: o.Resources})
	if err != nil {
		return nil, err
	}
	return &simkit.Cloud{
		Provider:  "taurusdb",
		Simulator: sim,
		Env: map[string]string{
			"BACKUPFLOW_TAURUSDB_ENDPOINT":   sim.Endpoint(),
			"BACKUPFLOW_TAURUSDB_INSECURE":   "true",
			"BACKUPFLOW_TAURUSDB_PROJECT_ID": ProjectID,
			"BACKUPFLOW_TAURUSDB_ACCESS_KEY": AccessKey,
			"BACKUPFLOW_TAURUSDB_SECRET_KEY": SecretKey,
		},
		CreateSection: CreateSection,
		PlanSection:   PlanSection,
	}, nil
}
