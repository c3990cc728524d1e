package clouds

import (
	"github.com/backupflow/backupflow/simulator/spannersim"
)

func startSpanner(o Options) (*Cloud, error) {
	sim, err := spannersim.Start(spannersim.Options{Duration: o.Duration, Resources: o.Resources, Token: spannersim.AccessToken})
	if err != nil {
		return nil, err
	}
	return &Cloud{
		Provider:  "spanner",
		Simulator: sim,
		Env: map[string]string{
			"BACKUPFLOW_SPANNER_ENDPOINT":     sim.Endpoint(),
			"BACKUPFLOW_SPANNER_INSECURE":     "true",
			"BACKUPFLOW_SPANNER_ACCESS_TOKEN": spannersim.AccessToken,
		},
		CreateSection: spannersim.CreateSection,
		CopySection:   spannersim.CopySection,
	}, nil
}
