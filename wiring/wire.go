//go:build wireinject

package wiring

import (
	"github.com/google/wire"
	"go.temporal.io/sdk/client"
)

var workerParts = wire.NewSet(
	NewLogger,
	NewRegistry,
	NewSearchAttributeChecker,
	NewPollPolicy,
	NewMetrics,
	NewCodec,
	NewHealth,
	NewLimiter,
	NewActivities,
	NewNotifier,
	NewWorker,
	NewApp,
)

// InitializeWorker assembles a worker that dials Temporal as configured.
func InitializeWorker(cfg Config) (*App, func(), error) {
	wire.Build(workerParts, NewTemporalClient, wire.Value(ExtraDrivers(nil)))
	return nil, nil, nil
}

// InitializeWorkerWithClient assembles a worker on an existing client, with
// extra drivers (tests and the dev stack bind drivers to their simulators).
func InitializeWorkerWithClient(cfg Config, c client.Client, extra ExtraDrivers) (*App, error) {
	wire.Build(workerParts)
	return nil, nil
}
