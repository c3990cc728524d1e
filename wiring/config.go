// Package wiring assembles the worker: config from the environment
// (caarlos0/env/v11), then Temporal client, drivers, activities and worker,
// put together by google/wire (wire.go, generated wire_gen.go).
package wiring

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/backupflow/backupflow/provider"
)

// Config is everything the worker reads from its environment. Secrets have a
// NAME and a NAME_FILE form and are never logged (provider.Secret).
type Config struct {
	Temporal TemporalConfig
	Worker   WorkerConfig
	Poll     PollConfig
	Ops      OpsConfig
	// Providers lists the providers this worker runs, e.g. "spanner,alirds".
	Providers []string `env:"BACKUPFLOW_PROVIDERS" envSeparator:","`
	Drivers   DriverConfigs
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

// OpsConfig configures the ops HTTP server (health, readiness, metrics,
// codec server), the optional payload codec and the provider call limiter.
type OpsConfig struct {
	// Addr is where /healthz, /readyz, /metrics and /codec/ are served
	// ("off" disables the server; port 0 picks a free port).
	Addr string `env:"BACKUPFLOW_OPS_ADDR" envDefault:"127.0.0.1:9090"`
	// CodecKeyFile names a file holding the current 256-bit AES key (base64
	// or hex); when set, every payload and failure message the worker writes
	// is encrypted with it (AES-GCM).
	CodecKeyFile string `env:"BACKUPFLOW_CODEC_KEY_FILE"`
	// CodecOldKeyFiles name files of earlier keys, used only to decrypt
	// what was written before a rotation.
	CodecOldKeyFiles []string `env:"BACKUPFLOW_CODEC_OLD_KEY_FILES" envSeparator:","`
	// CodecAuthTokenFile names a file holding the bearer token the codec
	// endpoint requires; unset means no token is required.
	CodecAuthTokenFile string `env:"BACKUPFLOW_CODEC_AUTH_TOKEN_FILE"`
	// CodecCORSOrigins may call the codec endpoint from a browser (the Web UI).
	CodecCORSOrigins []string `env:"BACKUPFLOW_CODEC_CORS_ORIGINS" envSeparator:","`
	// ProviderRateLimit caps each provider's API calls per second from this
	// worker; 0 means no limit.
	ProviderRateLimit float64 `env:"BACKUPFLOW_PROVIDER_RATE_LIMIT" envDefault:"0"`
	// ProviderRateBurst is the number of calls allowed at once above the rate.
	ProviderRateBurst int `env:"BACKUPFLOW_PROVIDER_RATE_BURST" envDefault:"10"`
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

// LoadConfig reads the environment. Every bad variable is reported, by name.
func LoadConfig() (Config, error) {
	cfg, err := env.ParseAs[Config]()
	if err != nil {
		return cfg, nameVariables(err)
	}
	return cfg, cfg.Validate()
}

// nameVariables rewrites env/v11's parse errors, which name struct fields,
// to name the environment variables an operator actually sets.
func nameVariables(err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return err
	}
	keys := map[string][]string{} // field name -> env keys
	collectEnvKeys(reflect.TypeFor[Config](), keys)
	var out []error
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) {
			var set []string
			for _, k := range keys[pe.Name] {
				if v, ok := os.LookupEnv(k); ok {
					set = append(set, fmt.Sprintf("%s=%q", k, v))
				}
			}
			if len(set) > 0 {
				out = append(out, fmt.Errorf("%s: not a valid %s: %v", strings.Join(set, ", "), pe.Type, pe.Err))
				continue
			}
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

func collectEnvKeys(t reflect.Type, keys map[string][]string) {
	for f := range t.Fields() {
		if f.Type.Kind() == reflect.Struct && f.Tag.Get("env") == "" {
			collectEnvKeys(f.Type, keys)
			continue
		}
		if tag := f.Tag.Get("env"); tag != "" {
			keys[f.Name] = append(keys[f.Name], strings.Split(tag, ",")[0])
		}
	}
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
		if _, ok := driverFactories[p]; !ok {
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
	if len(o.CodecOldKeyFiles) > 0 && o.CodecKeyFile == "" {
		bad("BACKUPFLOW_CODEC_OLD_KEY_FILES", "is set but BACKUPFLOW_CODEC_KEY_FILE is not: old keys only decrypt; name the current key too")
	}
	if slices.Contains(o.CodecOldKeyFiles, "") {
		bad("BACKUPFLOW_CODEC_OLD_KEY_FILES", "has an empty entry; want a comma-separated list of key files")
	}
	if o.CodecAuthTokenFile != "" && o.CodecKeyFile == "" {
		bad("BACKUPFLOW_CODEC_AUTH_TOKEN_FILE", "is set but BACKUPFLOW_CODEC_KEY_FILE is not: there is no codec endpoint to protect")
	}
	if o.ProviderRateLimit < 0 {
		bad("BACKUPFLOW_PROVIDER_RATE_LIMIT", "must not be negative, got %v", o.ProviderRateLimit)
	}
	if o.ProviderRateBurst < 1 {
		bad("BACKUPFLOW_PROVIDER_RATE_BURST", "must be at least 1, got %d", o.ProviderRateBurst)
	}
	p := c.Poll
	if p.Min <= 0 || p.Max < p.Min {
		bad("BACKUPFLOW_POLL_MIN", "must be positive and not above BACKUPFLOW_POLL_MAX (%s > %s)", p.Min, p.Max)
	}
	if p.DelayFraction < 0 || p.DelayFraction > 1 {
		bad("BACKUPFLOW_POLL_DELAY_FRACTION", "must be between 0 and 1, got %v", p.DelayFraction)
	}
	return errors.Join(errs...)
}
