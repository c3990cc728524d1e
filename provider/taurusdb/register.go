package taurusdb

import (
	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
)

func init() {
	provider.Register(backup.ProviderTaurusDB, func(c Config) (provider.Driver, error) { return New(c) }, validate)
}
