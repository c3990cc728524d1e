package wiring

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/backupflow/backupflow/activities"
	"github.com/backupflow/backupflow/notify"
)

// NotifyConfig says where events go (docs/notifications.md).
type NotifyConfig struct {
	// SinksFile names the sinks file; unset means no notifications.
	SinksFile string `env:"BACKUPFLOW_NOTIFY_SINKS_FILE"`
	// GiveUpAfter is how long one delivery is retried before it is dead-lettered.
	GiveUpAfter time.Duration `env:"BACKUPFLOW_NOTIFY_GIVE_UP_AFTER" envDefault:"24h"`
}

func (n NotifyConfig) validate() []error {
	var errs []error
	if n.GiveUpAfter < time.Second {
		errs = append(errs, fmt.Errorf("BACKUPFLOW_NOTIFY_GIVE_UP_AFTER: must be at least 1s, got %s", n.GiveUpAfter))
	}
	if n.SinksFile != "" {
		if _, err := notify.LoadSinks(n.SinksFile); err != nil {
			errs = append(errs, fmt.Errorf("BACKUPFLOW_NOTIFY_SINKS_FILE: %w", err))
		}
	}
	return errs
}

// NewNotifier returns the notifier over the configured sinks; without a
// sinks file it emits nothing.
func NewNotifier(c client.Client, cfg Config) (*activities.Notifier, error) {
	n := &activities.Notifier{Temporal: c, TaskQueue: cfg.Worker.TaskQueue, Deliverer: &notify.Deliverer{},
		GiveUpAfter: cfg.Notify.GiveUpAfter}
	if cfg.Notify.SinksFile == "" {
		return n, nil
	}
	sinks, err := notify.LoadSinks(cfg.Notify.SinksFile)
	if err != nil {
		return nil, fmt.Errorf("BACKUPFLOW_NOTIFY_SINKS_FILE: %w", err)
	}
	n.Sinks = sinks
	return n, nil
}
