// Package wiring assembles the worker: config from the environment
// (caarlos0/env/v11), then Temporal client, drivers, activities and worker,
// put together by google/wire (wire.go, generated wire_gen.go).
package wiring

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/backupflow/backupflow/provider"
)

// Config is everything the worker reads from its environment. Secrets have a
// NAME and a NAME_FILE form and are never logged (provider.Secret).
type Config struct {
	Temporal TemporalConfig
	Worker   WorkerConfig
	Poll     PollConfig
	Ops      OpsConfig
	Notify   NotifyConfig
	// Providers lists the providers this worker runs, e.g. "spanner,alirds".
	Providers []string `env:"BACKUPFLOW_PROVIDERS" envSeparator:","`
	// Environment is where the drivers read their own settings (nil: the
	// process environment); ParseConfig sets it.
	Environment map[string]string
}

// TemporalConfig uses the variable names of the Temporal CLI, so one
// environment serves the CLI, the worker and the starter.
type TemporalConfig struct {
	Address                    string          `env:"TEMPORAL_ADDRESS" envDefault:"127.0.0.1:7233"`
	Namespace                  string          `env:"TEMPORAL_NAMESPACE" envDefault:"default"`
	TLS                        bool            `env:"TEMPORAL_TLS"`
	TLSCertPath                string          `env:"TEMPORAL_TLS_CLIENT_CERT_PATH"`
	TLSKeyPath                 string          `env:"TEMPORAL_TLS_CLIENT_KEY_PATH"`
	TLSCACertPath              string          `env:"TEMPORAL_TLS_SERVER_CA_CERT_PATH"`
	TLSServerName              string          `env:"TEMPORAL_TLS_SERVER_NAME"`
	TLSDisableHostVerification bool            `env:"TEMPORAL_TLS_DISABLE_HOST_VERIFICATION"`
	APIKey                     provider.Secret `env:"TEMPORAL_API_KEY"`
	APIKeyFile                 provider.Secret `env:"TEMPORAL_API_KEY_FILE,file"`
}

// WorkerConfig tunes the worker process.
type WorkerConfig struct {
	TaskQueue string `env:"BACKUPFLOW_TASK_QUEUE" envDefault:"backups"`
	// MaxConcurrentActivities bounds activity slots; an attempt is one provider call.
	MaxConcurrentActivities int `env:"BACKUPFLOW_MAX_CONCURRENT_ACTIVITIES" envDefault:"200"`
	// WorkflowCacheSize bounds the SDK's sticky workflow cache (process-wide).
	// A cached backup costs about 55 KB and is touched only a few times in its
	// life, while evicting one costs a replay of some twenty events: the SDK's
	// default (10,000) would hold every in-flight backup in memory.
	WorkflowCacheSize int `env:"BACKUPFLOW_WORKFLOW_CACHE_SIZE" envDefault:"1000"`
	// StopTimeout is how long a stopping worker lets running activities finish.
	StopTimeout time.Duration `env:"BACKUPFLOW_STOP_TIMEOUT" envDefault:"30s"`
	LogLevel    string        `env:"BACKUPFLOW_LOG_LEVEL" envDefault:"info"`
	// LogFormat is json (default) or text.
	LogFormat string `env:"BACKUPFLOW_LOG_FORMAT" envDefault:"json"`
	// MemoryLimitBytes is the container's memory limit (the Deployment passes
	// limits.memory). The Go runtime then collects garbage harder from 90 %
	// of it (SoftMemoryLimit), leaving the rest for what it does not count.
	// GOMEMLIMIT, when set, wins.
	MemoryLimitBytes int64 `env:"BACKUPFLOW_MEMORY_LIMIT_BYTES"`
}

// SoftMemoryLimit is the Go runtime's soft memory limit for a container
// limit: 90 %, or 0 (none) when there is no limit.
func SoftMemoryLimit(limitBytes int64) int64 {
	if limitBytes <= 0 {
		return 0
	}
	return limitBytes / 10 * 9
}

// ApplyMemoryLimit sets the runtime's soft memory limit from
// BACKUPFLOW_MEMORY_LIMIT_BYTES unless GOMEMLIMIT already set one; it
// returns the limit in force (math.MaxInt64 means none).
func ApplyMemoryLimit(cfg WorkerConfig) int64 {
	if soft := SoftMemoryLimit(cfg.MemoryLimitBytes); soft > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(soft)
	}
	return debug.SetMemoryLimit(-1)
}

// OpsConfig configures the ops HTTP server (health, readiness, metrics),
// the payload codec and its endpoint, and the provider call limiter.
type OpsConfig struct {
	// Addr is where /healthz, /readyz and /metrics are served ("off"
	// disables the server; port 0 picks a free port).
	Addr string `env:"BACKUPFLOW_OPS_ADDR" envDefault:"127.0.0.1:9090"`
	// CodecKeyFile names a file holding the current 256-bit AES key (base64
	// or hex); when set, every payload and failure message the worker writes
	// is encrypted with it (AES-GCM).
	CodecKeyFile string `env:"BACKUPFLOW_CODEC_KEY_FILE"`
	// CodecOldKeyFiles name files of earlier keys, used only to decrypt
	// what was written before a rotation.
	CodecOldKeyFiles []string `env:"BACKUPFLOW_CODEC_OLD_KEY_FILES" envSeparator:","`
	// CodecAddr is where the codec endpoint (/codec/) listens, apart from
	// the ops server; unset means no endpoint. Off loopback it requires
	// CodecAuthTokenFile or the OIDC settings.
	CodecAddr string `env:"BACKUPFLOW_CODEC_ADDR"`
	// CodecAuthTokenFile names a file holding a static bearer token the
	// codec endpoint accepts.
	CodecAuthTokenFile string `env:"BACKUPFLOW_CODEC_AUTH_TOKEN_FILE"`
	// CodecOIDCIssuer and CodecOIDCAudience make the codec endpoint accept
	// the Web UI user's access token from that issuer, for that audience.
	CodecOIDCIssuer   string `env:"BACKUPFLOW_CODEC_OIDC_ISSUER"`
	CodecOIDCAudience string `env:"BACKUPFLOW_CODEC_OIDC_AUDIENCE"`
	// CodecCORSOrigins may call the codec endpoint from a browser (the Web
	// UI's origin, e.g. https://temporal-ui.example.com); never "*".
	CodecCORSOrigins []string `env:"BACKUPFLOW_CODEC_CORS_ORIGINS" envSeparator:","`
	// ProviderRateLimit caps each provider's API calls per second from this
	// worker; 0 means no limit. A per-pod guard, mostly for the calls of
	// local activities; the cluster-wide limit is each provider's
	// BACKUPFLOW_<PROVIDER>_CALLS_PER_SECOND (CallsPerSecond).
	ProviderRateLimit float64 `env:"BACKUPFLOW_PROVIDER_RATE_LIMIT" envDefault:"0"`
	// ProviderRateBurst is the number of calls allowed at once above the rate.
	ProviderRateBurst int `env:"BACKUPFLOW_PROVIDER_RATE_BURST" envDefault:"10"`
	// RPOWatchInterval is how often the RPO watch lists the inventories for
	// the RPO gauges (ops.ParseRPOWatchInterval: at least 5s; 0 or off
	// disables it).
	RPOWatchInterval string `env:"BACKUPFLOW_RPO_WATCH_INTERVAL" envDefault:"1m"`
}

// PollConfig tunes the poll policy (see provider.PollPolicy).
type PollConfig struct {
	Min           time.Duration `env:"BACKUPFLOW_POLL_MIN" envDefault:"1s"`
	Max           time.Duration `env:"BACKUPFLOW_POLL_MAX" envDefault:"10m"`
	DelayFloor    time.Duration `env:"BACKUPFLOW_POLL_DELAY_FLOOR" envDefault:"30s"`
	DelayFraction float64       `env:"BACKUPFLOW_POLL_DELAY_FRACTION" envDefault:"0.05"`
}

// Policy returns the poll policy.
func (p PollConfig) Policy() provider.PollPolicy {
	return provider.PollPolicy{Min: p.Min, Max: p.Max, DelayFloor: p.DelayFloor, DelayFraction: p.DelayFraction}
}

// LoadConfig reads the process environment and validates it. Every bad
// variable is reported, by name.
func LoadConfig() (Config, error) {
	cfg, err := ParseConfig(nil)
	if err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// ParseConfig reads the configuration from environment (nil: the process
// environment) without validating it. The drivers are built later from the
// same environment, each reading its own BACKUPFLOW_<PROVIDER>_* variables.
func ParseConfig(environment map[string]string) (Config, error) {
	cfg, err := provider.ParseEnv[Config](environment)
	cfg.Environment = environment
	return cfg, err
}

// Validate checks what env tags cannot, naming each variable at fault.
func (c Config) Validate() error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	if len(c.Providers) == 0 {
		bad("BACKUPFLOW_PROVIDERS", "is required: a comma-separated list of %s", strings.Join(KnownProviders(), ", "))
	}
	for _, p := range c.Providers {
		if _, ok := provider.Lookup(p); !ok {
			bad("BACKUPFLOW_PROVIDERS", "unknown provider %q; known: %s", p, strings.Join(KnownProviders(), ", "))
		}
	}
	t := c.Temporal
	if t.Address == "" {
		bad("TEMPORAL_ADDRESS", "must not be empty")
	}
	if (t.TLSCertPath == "") != (t.TLSKeyPath == "") {
		bad("TEMPORAL_TLS_CLIENT_CERT_PATH", "and TEMPORAL_TLS_CLIENT_KEY_PATH must be set together")
	}
	if t.APIKey != "" && t.APIKeyFile != "" {
		bad("TEMPORAL_API_KEY", "and TEMPORAL_API_KEY_FILE are both set; set one")
	}
	w := c.Worker
	if w.TaskQueue == "" {
		bad("BACKUPFLOW_TASK_QUEUE", "must not be empty")
	}
	if w.MaxConcurrentActivities < 1 {
		bad("BACKUPFLOW_MAX_CONCURRENT_ACTIVITIES", "must be at least 1, got %d", w.MaxConcurrentActivities)
	}
	if w.WorkflowCacheSize < 2 {
		bad("BACKUPFLOW_WORKFLOW_CACHE_SIZE", "must be at least 2, got %d", w.WorkflowCacheSize)
	}
	if w.LogFormat != "json" && w.LogFormat != "text" {
		bad("BACKUPFLOW_LOG_FORMAT", "must be json or text, got %q", w.LogFormat)
	}
	if w.MemoryLimitBytes < 0 {
		bad("BACKUPFLOW_MEMORY_LIMIT_BYTES", "must not be negative, got %d", w.MemoryLimitBytes)
	}
	if _, err := parseLevel(w.LogLevel); err != nil {
		bad("BACKUPFLOW_LOG_LEVEL", "%v", err)
	}
	o := c.Ops
	if o.Addr == "" {
		bad("BACKUPFLOW_OPS_ADDR", "must be host:port or \"off\"")
	}
	errs = append(errs, o.validateCodec()...)
	if o.ProviderRateLimit < 0 {
		bad("BACKUPFLOW_PROVIDER_RATE_LIMIT", "must not be negative, got %v", o.ProviderRateLimit)
	}
	if o.ProviderRateBurst < 1 {
		bad("BACKUPFLOW_PROVIDER_RATE_BURST", "must be at least 1, got %d", o.ProviderRateBurst)
	}
	if err := o.validateRPOWatch(); err != nil {
		errs = append(errs, err)
	}
	if _, err := c.CallsPerSecond(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.Notify.validate()...)
	p := c.Poll
	if p.Min <= 0 || p.Max < p.Min {
		bad("BACKUPFLOW_POLL_MIN", "must be positive and not above BACKUPFLOW_POLL_MAX (%s > %s)", p.Min, p.Max)
	}
	if p.DelayFraction < 0 || p.DelayFraction > 1 {
		bad("BACKUPFLOW_POLL_DELAY_FRACTION", "must be between 0 and 1, got %v", p.DelayFraction)
	}
	return errors.Join(errs...)
}

// ValidateCodec checks the BACKUPFLOW_CODEC_* settings alone (Validate
// checks them with the rest).
func (o OpsConfig) ValidateCodec() error { return errors.Join(o.validateCodec()...) }

// validateCodec checks the codec settings: keys, and an endpoint that is
// on loopback or authenticated.
func (o OpsConfig) validateCodec() []error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	if len(o.CodecOldKeyFiles) > 0 && o.CodecKeyFile == "" {
		bad("BACKUPFLOW_CODEC_OLD_KEY_FILES", "is set but BACKUPFLOW_CODEC_KEY_FILE is not: old keys only decrypt; name the current key too")
	}
	if slices.Contains(o.CodecOldKeyFiles, "") {
		bad("BACKUPFLOW_CODEC_OLD_KEY_FILES", "has an empty entry; want a comma-separated list of key files")
	}
	if (o.CodecOIDCIssuer == "") != (o.CodecOIDCAudience == "") {
		bad("BACKUPFLOW_CODEC_OIDC_ISSUER", "and BACKUPFLOW_CODEC_OIDC_AUDIENCE must be set together")
	}
	if o.CodecOIDCIssuer != "" {
		if u, err := url.Parse(o.CodecOIDCIssuer); err != nil || u.Host == "" ||
			!(u.Scheme == "https" || u.Scheme == "http" && isLoopback(u.Hostname())) {
			bad("BACKUPFLOW_CODEC_OIDC_ISSUER", "must be an https:// URL (http:// only on loopback), got %q", o.CodecOIDCIssuer)
		}
	}
	for _, origin := range o.CodecCORSOrigins {
		if origin == "*" {
			bad("BACKUPFLOW_CODEC_CORS_ORIGINS", `"*" is not allowed: list the Web UI's origins, e.g. https://temporal-ui.example.com`)
			continue
		}
		if u, err := url.Parse(origin); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			bad("BACKUPFLOW_CODEC_CORS_ORIGINS", "%q is not an origin; want scheme://host[:port], e.g. https://temporal-ui.example.com", origin)
		}
	}
	authenticated := o.CodecAuthTokenFile != "" || o.CodecOIDCIssuer != ""
	if o.CodecAddr == "" {
		if authenticated {
			bad("BACKUPFLOW_CODEC_ADDR", "is not set, so there is no codec endpoint for BACKUPFLOW_CODEC_AUTH_TOKEN_FILE or BACKUPFLOW_CODEC_OIDC_ISSUER to protect")
		}
		return errs
	}
	if o.CodecKeyFile == "" {
		bad("BACKUPFLOW_CODEC_ADDR", "is set but BACKUPFLOW_CODEC_KEY_FILE is not: the endpoint has no key")
	}
	host, port, err := net.SplitHostPort(o.CodecAddr)
	if err != nil {
		bad("BACKUPFLOW_CODEC_ADDR", "must be host:port, got %q", o.CodecAddr)
		return errs
	}
	if o.CodecAddr == o.Addr && port != "0" {
		bad("BACKUPFLOW_CODEC_ADDR", "must differ from BACKUPFLOW_OPS_ADDR (%s): the codec endpoint has its own listener", o.Addr)
	}
	if !authenticated && !isLoopback(host) {
		bad("BACKUPFLOW_CODEC_ADDR", "%s is not a loopback address, so the endpoint needs authentication: "+
			"set BACKUPFLOW_CODEC_AUTH_TOKEN_FILE, or BACKUPFLOW_CODEC_OIDC_ISSUER with BACKUPFLOW_CODEC_OIDC_AUDIENCE", o.CodecAddr)
	}
	return errs
}

// isLoopback reports whether host (a listen or URL host) is only reachable
// from this machine. An empty host listens on every interface.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
