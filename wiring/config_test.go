package wiring

import (
	"bytes"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func load(t *testing.T, vars map[string]string) (Config, error) {
	t.Helper()
	for k, v := range vars {
		t.Setenv(k, v)
	}
	return LoadConfig()
}

func TestConfigNamesEveryMalformedVariable(t *testing.T) {
	_, err := load(t, map[string]string{
		"BACKUPFLOW_PROVIDERS":                 "spanner,oracle",
		"BACKUPFLOW_POLL_MIN":                  "soon",
		"BACKUPFLOW_MAX_CONCURRENT_ACTIVITIES": "many",
	})
	require.Error(t, err)
	for _, name := range []string{"BACKUPFLOW_POLL_MIN", "BACKUPFLOW_MAX_CONCURRENT_ACTIVITIES"} {
		assert.Contains(t, err.Error(), name)
	}
}

func TestConfigNamesEveryInvalidVariable(t *testing.T) {
	_, err := load(t, map[string]string{
		"BACKUPFLOW_PROVIDERS":           "spanner,oracle",
		"BACKUPFLOW_LOG_FORMAT":          "xml",
		"TEMPORAL_TLS_CLIENT_CERT_PATH":  "/cert.pem",
		"BACKUPFLOW_WORKFLOW_CACHE_SIZE": "1",
		"BACKUPFLOW_MEMORY_LIMIT_BYTES":  "-5",
	})
	require.Error(t, err)
	for _, want := range []string{`unknown provider "oracle"`, "BACKUPFLOW_LOG_FORMAT", "TEMPORAL_TLS_CLIENT_KEY_PATH",
		"BACKUPFLOW_WORKFLOW_CACHE_SIZE: must be at least 2, got 1", "BACKUPFLOW_MEMORY_LIMIT_BYTES: must not be negative"} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestConfigRequiresProviders(t *testing.T) {
	_, err := load(t, map[string]string{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "BACKUPFLOW_PROVIDERS: is required")
}

func TestSecretsFromFilesAndNeverPrinted(t *testing.T) {
	keyFile := t.TempDir() + "/api-key"
	require.NoError(t, writeFile(keyFile, "very-secret-key\n"))
	cfg, err := load(t, map[string]string{"BACKUPFLOW_PROVIDERS": "memory", "TEMPORAL_API_KEY_FILE": keyFile})
	require.NoError(t, err)
	assert.Equal(t, "very-secret-key\n", cfg.Temporal.APIKeyFile.Reveal())

	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "config", cfg, "temporal", cfg.Temporal, "key", cfg.Temporal.APIKeyFile)
	printed := logs.String() + fmt.Sprintf("%v %+v %#v %s", cfg, cfg.Temporal, cfg.Temporal, cfg)
	assert.NotContains(t, printed, "very-secret-key")
	assert.Contains(t, printed, "[redacted]")
}

func TestDefaults(t *testing.T) {
	cfg, err := ParseConfig(map[string]string{})
	require.NoError(t, err)
	assert.Equal(t, "backups", cfg.Worker.TaskQueue)
	assert.Equal(t, "127.0.0.1:7233", cfg.Temporal.Address)
	assert.Equal(t, "default", cfg.Temporal.Namespace)
}

func TestSoftMemoryLimitIsNinetyPercent(t *testing.T) {
	assert.Equal(t, int64(483183819), SoftMemoryLimit(512<<20), "512 MiB -> about 460 MiB")
	assert.Zero(t, SoftMemoryLimit(0), "no container limit, no soft limit")

	t.Setenv("GOMEMLIMIT", "")
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	assert.Equal(t, SoftMemoryLimit(1<<30), ApplyMemoryLimit(WorkerConfig{MemoryLimitBytes: 1 << 30}))
}

func TestCodecEndpointConfig(t *testing.T) {
	base := map[string]string{"BACKUPFLOW_PROVIDERS": "memory", "BACKUPFLOW_CODEC_KEY_FILE": "/keys/current"}
	with := func(vars map[string]string) map[string]string {
		out := maps.Clone(base)
		maps.Copy(out, vars)
		return out
	}
	for name, c := range map[string]struct {
		vars map[string]string
		want string // "" means valid
	}{
		"loopback, no auth":        {map[string]string{"BACKUPFLOW_CODEC_ADDR": "127.0.0.1:8089"}, ""},
		"localhost, no auth":       {map[string]string{"BACKUPFLOW_CODEC_ADDR": "localhost:8089"}, ""},
		"IPv6 loopback, no auth":   {map[string]string{"BACKUPFLOW_CODEC_ADDR": "[::1]:8089"}, ""},
		"all interfaces, no auth":  {map[string]string{"BACKUPFLOW_CODEC_ADDR": "0.0.0.0:8089"}, "BACKUPFLOW_CODEC_ADDR: 0.0.0.0:8089 is not a loopback address, so the endpoint needs authentication"},
		"empty host, no auth":      {map[string]string{"BACKUPFLOW_CODEC_ADDR": ":8089"}, "BACKUPFLOW_CODEC_ADDR: :8089 is not a loopback address"},
		"pod IP, no auth":          {map[string]string{"BACKUPFLOW_CODEC_ADDR": "10.1.2.3:8089"}, "is not a loopback address"},
		"all interfaces, token":    {map[string]string{"BACKUPFLOW_CODEC_ADDR": "0.0.0.0:8089", "BACKUPFLOW_CODEC_AUTH_TOKEN_FILE": "/t"}, ""},
		"all interfaces, OIDC":     {map[string]string{"BACKUPFLOW_CODEC_ADDR": "0.0.0.0:8089", "BACKUPFLOW_CODEC_OIDC_ISSUER": "https://id.example.com/realms/ops", "BACKUPFLOW_CODEC_OIDC_AUDIENCE": "temporal-ui"}, ""},
		"OIDC issuer alone":        {map[string]string{"BACKUPFLOW_CODEC_ADDR": "0.0.0.0:8089", "BACKUPFLOW_CODEC_OIDC_ISSUER": "https://id.example.com"}, "BACKUPFLOW_CODEC_OIDC_ISSUER: and BACKUPFLOW_CODEC_OIDC_AUDIENCE must be set together"},
		"OIDC audience alone":      {map[string]string{"BACKUPFLOW_CODEC_ADDR": "127.0.0.1:8089", "BACKUPFLOW_CODEC_OIDC_AUDIENCE": "temporal-ui"}, "must be set together"},
		"OIDC issuer over http":    {map[string]string{"BACKUPFLOW_CODEC_ADDR": "0.0.0.0:8089", "BACKUPFLOW_CODEC_OIDC_ISSUER": "http://id.example.com", "BACKUPFLOW_CODEC_OIDC_AUDIENCE": "a"}, "BACKUPFLOW_CODEC_OIDC_ISSUER: must be an https:// URL"},
		"OIDC issuer, loopback":    {map[string]string{"BACKUPFLOW_CODEC_ADDR": "0.0.0.0:8089", "BACKUPFLOW_CODEC_OIDC_ISSUER": "http://127.0.0.1:5556", "BACKUPFLOW_CODEC_OIDC_AUDIENCE": "a"}, ""},
		"CORS star":                {map[string]string{"BACKUPFLOW_CODEC_ADDR": "127.0.0.1:8089", "BACKUPFLOW_CODEC_CORS_ORIGINS": "https://ui.example.com,*"}, `BACKUPFLOW_CODEC_CORS_ORIGINS: "*" is not allowed`},
		"CORS with a path":         {map[string]string{"BACKUPFLOW_CODEC_ADDR": "127.0.0.1:8089", "BACKUPFLOW_CODEC_CORS_ORIGINS": "https://ui.example.com/"}, `BACKUPFLOW_CODEC_CORS_ORIGINS: "https://ui.example.com/" is not an origin`},
		"CORS listed":              {map[string]string{"BACKUPFLOW_CODEC_ADDR": "127.0.0.1:8089", "BACKUPFLOW_CODEC_CORS_ORIGINS": "https://ui.example.com,http://localhost:8080"}, ""},
		"token without endpoint":   {map[string]string{"BACKUPFLOW_CODEC_AUTH_TOKEN_FILE": "/t"}, "BACKUPFLOW_CODEC_ADDR: is not set, so there is no codec endpoint"},
		"endpoint without a key":   {map[string]string{"BACKUPFLOW_CODEC_KEY_FILE": "", "BACKUPFLOW_CODEC_ADDR": "127.0.0.1:8089"}, "BACKUPFLOW_CODEC_ADDR: is set but BACKUPFLOW_CODEC_KEY_FILE is not"},
		"endpoint on the ops port": {map[string]string{"BACKUPFLOW_CODEC_ADDR": "127.0.0.1:9090"}, "BACKUPFLOW_CODEC_ADDR: must differ from BACKUPFLOW_OPS_ADDR"},
		"endpoint not host:port":   {map[string]string{"BACKUPFLOW_CODEC_ADDR": "8089"}, `BACKUPFLOW_CODEC_ADDR: must be host:port, got "8089"`},
		"old keys":                 {map[string]string{"BACKUPFLOW_CODEC_OLD_KEY_FILES": "/keys/2025,/keys/2024"}, ""},
		"old keys without current": {map[string]string{"BACKUPFLOW_CODEC_KEY_FILE": "", "BACKUPFLOW_CODEC_OLD_KEY_FILES": "/keys/2025"}, "BACKUPFLOW_CODEC_OLD_KEY_FILES: is set but BACKUPFLOW_CODEC_KEY_FILE is not"},
		"old keys, empty entry":    {map[string]string{"BACKUPFLOW_CODEC_OLD_KEY_FILES": "/keys/2025,"}, "BACKUPFLOW_CODEC_OLD_KEY_FILES: has an empty entry"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := load(t, with(c.vars))
			if c.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.Equal(t, 1, strings.Count(err.Error(), "\n")+1, "one rule broken, one error: %v", err)
		})
	}
}

func TestConvertersWithoutCurrentKey(t *testing.T) {
	_, _, err := Converters("", "/keys/old")
	require.ErrorContains(t, err, "BACKUPFLOW_CODEC_OLD_KEY_FILES")
	dc, fc, err := Converters("")
	require.NoError(t, err)
	assert.NotNil(t, dc)
	assert.NotNil(t, fc)
}

func TestCallsPerSecondIsReadPerProvider(t *testing.T) {
	cfg, err := ParseConfig(map[string]string{
		"BACKUPFLOW_PROVIDERS":                 "spanner,alirds,taurusdb",
		"BACKUPFLOW_SPANNER_CALLS_PER_SECOND":  "5",
		"BACKUPFLOW_ALIRDS_CALLS_PER_SECOND":   "0",
		"BACKUPFLOW_OTCRDS_CALLS_PER_SECOND":   "3", // not a configured provider
		"BACKUPFLOW_TAURUSDB_CALLS_PER_SECOND": "0.5",
	})
	require.NoError(t, err)
	limits, err := cfg.CallsPerSecond()
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{"spanner": 5, "taurusdb": 0.5}, limits, "0 and unset mean no limit")

	cfg, err = ParseConfig(map[string]string{
		"BACKUPFLOW_PROVIDERS":                "spanner,alirds",
		"BACKUPFLOW_SPANNER_CALLS_PER_SECOND": "fast",
		"BACKUPFLOW_ALIRDS_CALLS_PER_SECOND":  "NaN",
	})
	require.NoError(t, err)
	err = cfg.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), `BACKUPFLOW_SPANNER_CALLS_PER_SECOND: must be a non-negative number of calls per second, got "fast"`)
	assert.Contains(t, err.Error(), `BACKUPFLOW_ALIRDS_CALLS_PER_SECOND: must be a non-negative number of calls per second, got "NaN"`)
}
