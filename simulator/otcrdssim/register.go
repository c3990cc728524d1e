package otcrdssim

import "github.com/backupflow/backupflow/simulator/simkit"

func init() {
	simkit.Register(simkit.Registration{Provider: "otcrds", Start: startCloud})
}

// startCloud starts a simulator and says how a worker reaches it, with
// OTC's documented token authentication (IAM X-Auth-Token).
func startCloud(o simkit.Options) (*simkit.Cloud, error) {
	sim, err := Start(Options{Duration: o.Duration, Resources: o.Resources})
	if err != nil {
		return nil, err
	}
	return &simkit.Cloud{
		Provider:  "otcrds",
		Simulator: sim,
		Env: map[string]string{
			"BACKUPFLOW_OTCRDS_ENDPOINT":     sim.Endpoint(),
			"BACKUPFLOW_OTCRDS_INSECURE":     "true",
			"BACKUPFLOW_OTCRDS_PROJECT_ID":   ProjectID,
			"BACKUPFLOW_OTCRDS_AUTH":         "token",
			"BACKUPFLOW_OTCRDS_IAM_ENDPOINT": sim.IAMEndpoint(),
			"BACKUPFLOW_OTCRDS_USERNAME":     Username,
			"BACKUPFLOW_OTCRDS_PASSWORD":     Password,
			"BACKUPFLOW_OTCRDS_DOMAIN":       Domain,
			// The simulator's backups run for seconds, not OTC's typical minutes.
			"BACKUPFLOW_OTCRDS_EXPECTED_DURATION": o.Duration.String(),
		},
		CreateSection: CreateSection,
		PlanSection:   PlanSection,
		// OTC's backup list returns no description, so only a create's own
		// answer proves a backup ours (as provider/otcrds's conformance
		// harness declares).
		ProofByCreateResponseOnly: true,
	}, nil
}
