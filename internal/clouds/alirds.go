package clouds

import (
	"github.com/backupflow/backupflow/provider/alirds"
	"github.com/backupflow/backupflow/simulator/alirdssim"
)

func startAliRDS(o Options) (*Cloud, error) {
	sim, err := alirdssim.Start(alirdssim.Options{Duration: o.Duration, Resources: o.Resources})
	if err != nil {
		return nil, err
	}
	return &Cloud{
		Provider:  "alirds",
		Simulator: sim,
		Env: map[string]string{
			"BACKUPFLOW_ALIRDS_REGION":            alirdssim.Region,
			"BACKUPFLOW_ALIRDS_ENDPOINT":          sim.Endpoint(),
			"BACKUPFLOW_ALIRDS_INSECURE":          "true",
			"BACKUPFLOW_ALIRDS_ACCESS_KEY_ID":     alirdssim.AccessKeyID,
			"BACKUPFLOW_ALIRDS_ACCESS_KEY_SECRET": alirdssim.AccessKeySecret,
		},
		CreateSection:             alirdssim.CreateSection,
		ProofByCreateResponseOnly: alirds.ProofByCreateResponseOnly,
	}, nil
}
