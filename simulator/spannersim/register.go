package spannersim

import "github.com/backupflow/backupflow/simulator/simkit"

func init() {
	simkit.Register(simkit.Registration{Provider: "spanner", Start: startCloud})
}

// startCloud starts a simulator that asks for AccessToken and says how a
// worker reaches it.
func startCloud(o simkit.Options) (*simkit.Cloud, error) {
	sim, err := Start(Options{Duration: o.Duration, Resources: o.Resources, Token: AccessToken})
	if err != nil {
		return nil, err
	}
	return &simkit.Cloud{
		Provider:  "spanner",
		Simulator: sim,
		Env: map[string]string{
			"BACKUPFLOW_SPANNER_ENDPOINT":     sim.Endpoint(),
			"BACKUPFLOW_SPANNER_INSECURE":     "true",
			"BACKUPFLOW_SPANNER_ACCESS_TOKEN": AccessToken,
		},
		CreateSection: CreateSection,
		PlanSection:   PlanSection,
		CopySection:   CopySection,
	}, nil
}
