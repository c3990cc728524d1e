package wiring

// The providers this build runs: each driver package registers itself
// (its register.go). This is the one list of drivers; adding a provider adds
// one line here.
import (
	_ "github.com/backupflow/backupflow/provider/alirds"
	_ "github.com/backupflow/backupflow/provider/memory"
	_ "github.com/backupflow/backupflow/provider/otcrds"
	_ "github.com/backupflow/backupflow/provider/spanner"
	_ "github.com/backupflow/backupflow/provider/taurusdb"
)
