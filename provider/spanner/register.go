package spanner

import (
	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
)

func init() {
	provider.Register(backup.ProviderSpanner, func(c Config) (provider.Driver, error) { return New(c) }, validate)
}
