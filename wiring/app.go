package wiring

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/backupflow/backupflow/activities"
	"github.com/backupflow/backupflow/internal/searchattr"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/workflows"
)

// App is an assembled worker process.
type App struct {
	Config Config
	Client client.Client
	Worker worker.Worker
	Logger *slog.Logger
}

// Run polls the task queue until ctx ends, then stops, letting running
// activities finish within BACKUPFLOW_STOP_TIMEOUT.
func (a *App) Run(ctx context.Context) error {
	if err := a.Worker.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	a.Logger.Info("worker polling", "taskQueue", a.Config.Worker.TaskQueue, "namespace", a.Config.Temporal.Namespace,
		"address", a.Config.Temporal.Address, "providers", a.Config.Providers)
	<-ctx.Done()
	a.Logger.Info("stopping worker", "stopTimeout", a.Config.Worker.StopTimeout)
	a.Worker.Stop()
	return nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(s))
	return l, err
}

// NewLogger returns the process logger: structured, JSON by default.
func NewLogger(cfg Config) *slog.Logger {
	level, _ := parseLevel(cfg.Worker.LogLevel) // validated in Config.Validate
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Worker.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}

// ClientOptions builds Temporal client options from the TEMPORAL_* settings.
func ClientOptions(cfg TemporalConfig, logger *slog.Logger) (client.Options, error) {
	opts := client.Options{HostPort: cfg.Address, Namespace: cfg.Namespace, Logger: sdklog.NewStructuredLogger(logger)}
	if key := provider.SecretFrom(cfg.APIKey, cfg.APIKeyFile); key != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(key.Reveal())
	}
	useTLS := cfg.TLS || cfg.TLSCertPath != "" || cfg.TLSCACertPath != "" || opts.Credentials != nil
	if !useTLS {
		return opts, nil
	}
	tc := &tls.Config{ServerName: cfg.TLSServerName, InsecureSkipVerify: cfg.TLSDisableHostVerification, MinVersion: tls.VersionTLS12}
	if cfg.TLSCertPath != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertPath, cfg.TLSKeyPath)
		if err != nil {
			return opts, fmt.Errorf("TEMPORAL_TLS_CLIENT_CERT_PATH/TEMPORAL_TLS_CLIENT_KEY_PATH: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if cfg.TLSCACertPath != "" {
		pem, err := os.ReadFile(cfg.TLSCACertPath)
		if err != nil {
			return opts, fmt.Errorf("TEMPORAL_TLS_SERVER_CA_CERT_PATH: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return opts, fmt.Errorf("TEMPORAL_TLS_SERVER_CA_CERT_PATH: no PEM certificate in %s", cfg.TLSCACertPath)
		}
		tc.RootCAs = pool
	}
	opts.ConnectionOptions.TLS = tc
	return opts, nil
}

// NewTemporalClient dials Temporal.
func NewTemporalClient(cfg Config, logger *slog.Logger) (client.Client, func(), error) {
	opts, err := ClientOptions(cfg.Temporal, logger)
	if err != nil {
		return nil, nil, err
	}
	c, err := client.Dial(opts)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to Temporal at %s (TEMPORAL_ADDRESS): %w", cfg.Temporal.Address, err)
	}
	return c, c.Close, nil
}

// NewSearchAttributeChecker checks the namespace's search attributes once per process.
func NewSearchAttributeChecker(c client.Client, cfg Config, logger *slog.Logger) activities.SearchAttributeChecker {
	return &searchattr.Checker{Client: c, Namespace: cfg.Temporal.Namespace, Logger: logger}
}

// NewPollPolicy returns the configured poll policy.
func NewPollPolicy(cfg Config) provider.PollPolicy { return cfg.Poll.Policy() }

// NewWorker creates the worker and registers the workflows and activities.
func NewWorker(c client.Client, cfg Config, acts *activities.Activities) worker.Worker {
	w := worker.New(c, cfg.Worker.TaskQueue, worker.Options{
		MaxConcurrentActivityExecutionSize:      cfg.Worker.MaxConcurrentActivities,
		MaxConcurrentLocalActivityExecutionSize: cfg.Worker.MaxConcurrentActivities,
		WorkerStopTimeout:                       cfg.Worker.StopTimeout,
	})
	workflows.Register(w, acts)
	return w
}

// NewApp bundles the parts.
func NewApp(cfg Config, c client.Client, w worker.Worker, logger *slog.Logger) *App {
	return &App{Config: cfg, Client: c, Worker: w, Logger: logger}
}

// String describes the config without secrets, for start-up logs.
func (c Config) String() string {
	return fmt.Sprintf("temporal=%s namespace=%s taskQueue=%s providers=%s",
		c.Temporal.Address, c.Temporal.Namespace, c.Worker.TaskQueue, strings.Join(c.Providers, ","))
}
