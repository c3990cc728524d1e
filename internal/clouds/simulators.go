package clouds

// The one list of simulators: each registers itself with simkit from its
// register.go, and Providers, Start and Set see exactly these.
import (
	_ "github.com/backupflow/backupflow/simulator/alirdssim"
	_ "github.com/backupflow/backupflow/simulator/otcrdssim"
	_ "github.com/backupflow/backupflow/simulator/spannersim"
	_ "github.com/backupflow/backupflow/simulator/taurusdbsim"
)
