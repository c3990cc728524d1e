package alirdssim

import (
	"github.com/backupflow/backupflow/provider/alirds"
	"github.com/backupflow/backupflow/simulator/simkit"
)

func init() {
	simkit.Register(simkit.Registration{Provider: "alirds", Start: startCloud})
}

// startCloud starts a simulator and says how a worker reaches it.
func startCloud(o simkit.Options) (*simkit.Cloud, error) {
	sim, err := Start(Options{Duration: o.Duration, Resources: o.Resources})
	if err != nil {
		return nil, err
	}
	return &simkit.Cloud{
		Provider:  "alirds",
		Simulator: sim,
		Env: map[string]string{
			"BACKUPFLOW_ALIRDS_REGION":            Region,
			"BACKUPFLOW_ALIRDS_ENDPOINT":          sim.Endpoint(),
			"BACKUPFLOW_ALIRDS_INSECURE":          "true",
			"BACKUPFLOW_ALIRDS_ACCESS_KEY_ID":     AccessKeyID,
			"BACKUPFLOW_ALIRDS_ACCESS_KEY_SECRET": AccessKeySecret,
		},
		CreateSection:             CreateSection,
		PlanSection:               CreateSection, // Alibaba names no backups: every run's request is the same
		ProofByCreateResponseOnly: alirds.ProofByCreateResponseOnly,
	}, nil
}
