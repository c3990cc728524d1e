package clouds

import (
	"github.com/backupflow/backupflow/provider/alirds"
	alisim "github.com/backupflow/backupflow/simulator/alirds"
)

func startAliRDS(o Options) (*Cloud, error) {
	sim, err := alisim.Start(alisim.Options{Duration: o.Duration, Resources: o.Resources})
	if err != nil {
		return nil, err
	}
	return &Cloud{
		Provider:  "alirds",
		Simulator: sim,
		Env: map[string]string{
			"BACKUPFLOW_ALIRDS_REGION":            alisim.Region,
			"BACKUPFLOW_ALIRDS_ENDPOINT":          sim.Endpoint(),
			"BACKUPFLOW_ALIRDS_INSECURE":          "true",
			"BACKUPFLOW_ALIRDS_ACCESS_KEY_ID":     alisim.AccessKeyID,
			"BACKUPFLOW_ALIRDS_ACCESS_KEY_SECRET": alisim.AccessKeySecret,
		},
		CreateSection:             alisim.CreateSection,
		ProofByCreateResponseOnly: alirds.ProofByCreateResponseOnly,
	}, nil
}
