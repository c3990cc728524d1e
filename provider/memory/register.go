package memory

import (
	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
)

// Config configures the in-process provider a worker runs (tests, experiments).
type Config struct {
	// Token is the access token the cloud accepts and the driver presents.
	Token provider.Secret `env:"BACKUPFLOW_MEMORY_TOKEN" envDefault:"memory"`
}

func init() {
	provider.Register(backup.ProviderMemory, func(c Config) (provider.Driver, error) {
		return NewCloud(c.Token.Reveal()).Driver(c.Token.Reveal()), nil
	}, validate)
}
