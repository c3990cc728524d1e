package wiring

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/backupflow/backupflow/activities"
	"github.com/backupflow/backupflow/internal/ops"
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
	// Metrics is the registry /metrics serves (the SDK's and backupflow's).
	Metrics *ops.Metrics
	// Health is the worker's readiness (see ops.Health for the rule).
	Health *ops.Health
	// Codec encrypts payloads when BACKUPFLOW_CODEC_KEY_FILE is set, else nil.
	Codec *ops.Codec
	// RPOWatch exports the inventories' RPO gauges while the worker runs;
	// nil when BACKUPFLOW_RPO_WATCH_INTERVAL disables it.
	RPOWatch *ops.RPOWatch
	// opsAddr and codecAddr receive the servers' bound addresses once they listen.
	opsAddr, codecAddr chan string
}

// Run serves the ops endpoints (and the codec endpoint, when
// BACKUPFLOW_CODEC_ADDR is set), polls the task queue until ctx ends (or the
// worker fails fatally), then stops: readiness turns false, running
// activities get BACKUPFLOW_STOP_TIMEOUT to finish, and only then does the
// ops server shut down, so probes and scrapes see the whole drain.
func (a *App) Run(ctx context.Context) error {
	var srv, codecSrv *ops.Server
	if a.Config.Ops.Addr != "off" {
		var err error
		srv, err = ops.Listen(a.Config.Ops.Addr, ops.Handler(a.Metrics, a.Health), a.Logger)
		if err != nil {
			return err
		}
		a.Logger.Info("ops server listening", "addr", srv.Addr())
		publish(a.opsAddr, srv.Addr())
	}
	if a.Config.Ops.CodecAddr != "" {
		var err error
		codecSrv, err = ServeCodec(a.Config.Ops, a.Codec, a.Config.Ops.CodecAddr, a.Logger)
		if err != nil {
			a.shutdown(srv)
			return err
		}
		publish(a.codecAddr, codecSrv.Addr())
	}
	if err := a.Worker.Start(); err != nil {
		a.shutdown(codecSrv)
		a.shutdown(srv)
		return fmt.Errorf("start worker: %w", err)
	}
	a.Health.Started()
	stopWatch := a.startRPOWatch()
	a.Logger.Info("worker polling", "taskQueue", a.Config.Worker.TaskQueue, "namespace", a.Config.Temporal.Namespace,
		"address", a.Config.Temporal.Address, "providers", a.Config.Providers)
	var runErr error
	select {
	case <-ctx.Done():
	case <-a.Health.Fatal():
		runErr = fmt.Errorf("worker stopped: %w", a.Health.FatalError())
		a.Logger.Error("worker failed", "error", runErr)
	}
	a.Health.Stopping()
	a.Logger.Info("stopping worker", "stopTimeout", a.Config.Worker.StopTimeout)
	a.Worker.Stop()
	stopWatch()
	a.Logger.Info("worker stopped")
	a.shutdown(codecSrv)
	a.shutdown(srv)
	return runErr
}

// OpsAddr returns the ops server's bound address once Run has bound it.
func (a *App) OpsAddr(ctx context.Context) (string, error) { return waitAddr(ctx, a.opsAddr) }

// CodecAddr returns the codec endpoint's bound address once Run has bound it.
func (a *App) CodecAddr(ctx context.Context) (string, error) { return waitAddr(ctx, a.codecAddr) }

func waitAddr(ctx context.Context, ch chan string) (string, error) {
	select {
	case addr := <-ch:
		publish(ch, addr)
		return addr, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func publish(ch chan string, addr string) {
	select {
	case ch <- addr:
	default:
	}
}

func (a *App) shutdown(srv *ops.Server) {
	if srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		a.Logger.Warn("HTTP server shutdown", "addr", srv.Addr(), "error", err)
	}
}

// ServeCodec starts the codec endpoint on addr with the BACKUPFLOW_CODEC_*
// settings of o (token, OIDC, CORS origins). The dev stack serves it too.
func ServeCodec(o OpsConfig, codec *ops.Codec, addr string, logger *slog.Logger) (*ops.Server, error) {
	if codec == nil {
		return nil, fmt.Errorf("BACKUPFLOW_CODEC_ADDR: the codec endpoint needs BACKUPFLOW_CODEC_KEY_FILE")
	}
	cs := &ops.CodecServer{Codec: codec, Origins: o.CodecCORSOrigins, Logger: logger}
	if f := o.CodecAuthTokenFile; f != "" {
		token, err := ops.ReadToken(f)
		if err != nil {
			return nil, err
		}
		cs.Token = token
	}
	if o.CodecOIDCIssuer != "" {
		cs.OIDC = &ops.OIDC{Issuer: o.CodecOIDCIssuer, Audience: o.CodecOIDCAudience}
	}
	srv, err := ops.ListenCodec(addr, cs.Handler(), logger)
	if err != nil {
		return nil, err
	}
	logger.Info("codec server listening", "addr", srv.Addr(), "token", cs.Token != "", "oidcIssuer", o.CodecOIDCIssuer,
		"origins", o.CodecCORSOrigins, "keyIds", codec.KeyIDs())
	return srv, nil
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

// NewTemporalClient dials Temporal, with the SDK's metrics going to the
// worker's registry and payloads and failures encrypted when a codec is
// configured.
func NewTemporalClient(cfg Config, logger *slog.Logger, metrics *ops.Metrics, codec *ops.Codec) (client.Client, func(), error) {
	opts, err := ClientOptions(cfg.Temporal, logger)
	if err != nil {
		return nil, nil, err
	}
	opts.MetricsHandler = metrics.SDKHandler()
	if codec != nil {
		codec.ApplyTo(&opts)
	}
	c, err := client.Dial(opts)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to Temporal at %s (TEMPORAL_ADDRESS): %w", cfg.Temporal.Address, err)
	}
	return c, c.Close, nil
}

// NewCodec loads the payload codec's key ring (BACKUPFLOW_CODEC_KEY_FILE,
// BACKUPFLOW_CODEC_OLD_KEY_FILES); nil when no key is set.
//
// The codec must be on the client the worker runs on: InitializeWorker puts
// it there; a caller of InitializeWorkerWithClient must build its client with
// Converters (the same keys), and so must every client that starts backups
// or reads their results (the starter, backup.Client users).
func NewCodec(cfg Config) (*ops.Codec, error) {
	if cfg.Ops.CodecKeyFile == "" {
		return nil, nil
	}
	return ops.LoadCodec(cfg.Ops.CodecKeyFile, cfg.Ops.CodecOldKeyFiles...)
}

// Converters returns the data converter and failure converter for a client
// of backupflow's workflows (client.Options.DataConverter and
// .FailureConverter; the data converter also goes in backup.Client): with
// keyFile set (BACKUPFLOW_CODEC_KEY_FILE), payloads and failure messages
// are encrypted with that key and decrypted with it or any of oldKeyFiles
// (BACKUPFLOW_CODEC_OLD_KEY_FILES); without, Temporal's defaults.
func Converters(keyFile string, oldKeyFiles ...string) (converter.DataConverter, converter.FailureConverter, error) {
	if keyFile == "" {
		if len(oldKeyFiles) > 0 {
			return nil, nil, fmt.Errorf("BACKUPFLOW_CODEC_OLD_KEY_FILES: is set but BACKUPFLOW_CODEC_KEY_FILE is not")
		}
		var none *ops.Codec
		dc, fc := none.Converters()
		return dc, fc, nil
	}
	codec, err := ops.LoadCodec(keyFile, oldKeyFiles...)
	if err != nil {
		return nil, nil, err
	}
	dc, fc := codec.Converters()
	return dc, fc, nil
}

// NewMetrics returns the worker's metrics registry.
func NewMetrics() (*ops.Metrics, error) { return ops.NewMetrics() }

// NewHealth returns the worker's readiness, probing Temporal through c.
func NewHealth(c client.Client) *ops.Health { return ops.NewHealth(c) }

// NewLimiter returns the per-provider call limiter (BACKUPFLOW_PROVIDER_RATE_LIMIT), nil when unlimited.
func NewLimiter(cfg Config) activities.CallLimiter {
	if l := ops.NewProviderLimiter(cfg.Ops.ProviderRateLimit, cfg.Ops.ProviderRateBurst); l != nil {
		return l
	}
	return nil
}

// NewActivities returns the activities, reporting to metrics and paced by
// limiter, knowing which providers the server limits (CallsPerSecond).
func NewActivities(cfg Config, registry *provider.Registry, policy provider.PollPolicy, sa activities.SearchAttributeChecker,
	metrics *ops.Metrics, limiter activities.CallLimiter) (*activities.Activities, error) {
	limits, err := cfg.CallsPerSecond()
	if err != nil {
		return nil, err
	}
	a := activities.New(registry, policy, sa)
	a.Metrics = metrics
	a.Limiter = limiter
	a.ClusterLimited = map[string]bool{}
	for p := range limits {
		a.ClusterLimited[p] = true
	}
	return a, nil
}

// NewSearchAttributeChecker checks the namespace's search attributes once per process.
func NewSearchAttributeChecker(c client.Client, cfg Config, logger *slog.Logger) activities.SearchAttributeChecker {
	return &searchattr.Checker{Client: c, Namespace: cfg.Temporal.Namespace, Logger: logger}
}

// NewPollPolicy returns the configured poll policy.
func NewPollPolicy(cfg Config) provider.PollPolicy { return cfg.Poll.Policy() }

// NewWorker creates the main worker, which registers the workflows and
// activities, and one worker per provider on that provider's task queue
// (backup.ProviderTaskQueue), capped at the provider's
// BACKUPFLOW_<PROVIDER>_CALLS_PER_SECOND by the server. The main worker's
// progress queries answer with the live figures (ops.LiveProgress).
func NewWorker(c client.Client, cfg Config, acts *activities.Activities, notifier *activities.Notifier, health *ops.Health, codec *ops.Codec,
	logger *slog.Logger) (worker.Worker, error) {
	// Process-wide; it takes effect when the process's first worker starts.
	worker.SetStickyWorkflowCacheSize(cfg.Worker.WorkflowCacheSize)
	dc := codec.DataConverter() // a nil codec's is the default
	activityOptions := worker.Options{
		MaxConcurrentActivityExecutionSize: cfg.Worker.MaxConcurrentActivities,
		WorkerStopTimeout:                  cfg.Worker.StopTimeout,
		OnFatalError:                       health.WorkerFailed,
	}
	mainOptions := activityOptions
	mainOptions.MaxConcurrentLocalActivityExecutionSize = cfg.Worker.MaxConcurrentActivities
	mainOptions.Interceptors = []interceptor.WorkerInterceptor{&ops.LiveProgress{Client: c, DataConverter: dc, Logger: logger}}
	w := worker.New(c, cfg.Worker.TaskQueue, mainOptions)
	workflows.Register(w, acts, &activities.Inventories{Temporal: c, TaskQueue: cfg.Worker.TaskQueue, Namespace: cfg.Temporal.Namespace}, notifier)
	providers, err := newProviderWorkers(c, cfg, acts, activityOptions)
	if err != nil {
		return nil, err
	}
	return &workers{Worker: w, providers: providers}, nil
}

// NewApp bundles the parts.
func NewApp(cfg Config, c client.Client, w worker.Worker, logger *slog.Logger, metrics *ops.Metrics,
	health *ops.Health, codec *ops.Codec) *App {
	return &App{Config: cfg, Client: c, Worker: w, Logger: logger, Metrics: metrics, Health: health, Codec: codec,
		RPOWatch: newRPOWatch(cfg, c, metrics, codec, logger), opsAddr: make(chan string, 1), codecAddr: make(chan string, 1)}
}

// String describes the config without secrets, for start-up logs.
func (c Config) String() string {
	return fmt.Sprintf("temporal=%s namespace=%s taskQueue=%s providers=%s",
		c.Temporal.Address, c.Temporal.Namespace, c.Worker.TaskQueue, strings.Join(c.Providers, ","))
}
