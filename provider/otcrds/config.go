package otcrds

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"time"

	"github.com/backupflow/backupflow/provider"
)

// Authentication modes (BACKUPFLOW_OTCRDS_AUTH).
const (
	// AuthToken is OTC's documented authentication: an IAM token from
	// POST /v3/auth/tokens (user, password, domain, project), sent as X-Auth-Token.
	AuthToken = "token"
	// AuthAKSK signs each request with the SDK's AK/SK signature.
	AuthAKSK = "aksk"
)

// Config is the driver's configuration, read from the environment with
// caarlos0/env/v11 (env.Parse). Secrets may be given directly or through a
// *_FILE path; they never print.
type Config struct {
	// Endpoint is the RDS API URL, e.g. https://rds.eu-de.otc.t-systems.com,
	// or http://127.0.0.1:PORT for the simulator.
	Endpoint string `env:"BACKUPFLOW_OTCRDS_ENDPOINT"`
	// ProjectID is always given, so the SDK never calls IAM to look it up.
	ProjectID string `env:"BACKUPFLOW_OTCRDS_PROJECT_ID"`
	// Auth is token (default) or aksk.
	Auth string `env:"BACKUPFLOW_OTCRDS_AUTH" envDefault:"token"`

	// AK/SK authentication.
	AccessKey     string          `env:"BACKUPFLOW_OTCRDS_ACCESS_KEY"`
	SecretKey     provider.Secret `env:"BACKUPFLOW_OTCRDS_SECRET_KEY"`
	SecretKeyFile provider.Secret `env:"BACKUPFLOW_OTCRDS_SECRET_KEY_FILE,file"`

	// Token authentication: IAM endpoint (e.g. https://iam.eu-de.otc.t-systems.com),
	// IAM user name, password and domain (tenant) name.
	IAMEndpoint  string          `env:"BACKUPFLOW_OTCRDS_IAM_ENDPOINT"`
	Username     string          `env:"BACKUPFLOW_OTCRDS_USERNAME"`
	Password     provider.Secret `env:"BACKUPFLOW_OTCRDS_PASSWORD"`
	PasswordFile provider.Secret `env:"BACKUPFLOW_OTCRDS_PASSWORD_FILE,file"`
	Domain       string          `env:"BACKUPFLOW_OTCRDS_DOMAIN"`

	// CallTimeout bounds each SDK call (the SDK's HttpConfig timeout) and each IAM call.
	CallTimeout time.Duration `env:"BACKUPFLOW_OTCRDS_CALL_TIMEOUT" envDefault:"30s"`
	// ExpectedDuration scales the progress estimate: OTC reports no backup
	// progress, so Poll estimates 100·elapsed/(elapsed+ExpectedDuration).
	ExpectedDuration time.Duration `env:"BACKUPFLOW_OTCRDS_EXPECTED_DURATION" envDefault:"10m"`
}

var projectIDRule = regexp.MustCompile(`^[A-Za-z0-9]{32}$`)

type resolved struct {
	secretKey, password string
}

func checkURL(bad func(string, string, ...any), name, v string) {
	if v == "" {
		bad(name, "is required")
		return
	}
	if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad(name, "must be an http(s) URL, got %q", v)
	}
}

// resolve checks the configuration, naming each variable at fault.
func (c Config) resolve() (resolved, error) {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	var r resolved
	checkURL(bad, "BACKUPFLOW_OTCRDS_ENDPOINT", c.Endpoint)
	if c.ProjectID == "" {
		bad("BACKUPFLOW_OTCRDS_PROJECT_ID", "is required")
	} else if !projectIDRule.MatchString(c.ProjectID) {
		bad("BACKUPFLOW_OTCRDS_PROJECT_ID", "must be 32 letters and digits")
	}
	switch c.Auth {
	case AuthAKSK:
		if c.AccessKey == "" {
			bad("BACKUPFLOW_OTCRDS_ACCESS_KEY", "is required with BACKUPFLOW_OTCRDS_AUTH=aksk")
		}
		if c.SecretKey != "" && c.SecretKeyFile != "" {
			bad("BACKUPFLOW_OTCRDS_SECRET_KEY", "and BACKUPFLOW_OTCRDS_SECRET_KEY_FILE are both set; set one")
		}
		r.secretKey = provider.SecretFrom(c.SecretKey, c.SecretKeyFile).Reveal()
		if r.secretKey == "" {
			bad("BACKUPFLOW_OTCRDS_SECRET_KEY", "is required with BACKUPFLOW_OTCRDS_AUTH=aksk (or BACKUPFLOW_OTCRDS_SECRET_KEY_FILE)")
		}
	case AuthToken, "":
		checkURL(bad, "BACKUPFLOW_OTCRDS_IAM_ENDPOINT", c.IAMEndpoint)
		if c.Username == "" {
			bad("BACKUPFLOW_OTCRDS_USERNAME", "is required with BACKUPFLOW_OTCRDS_AUTH=token")
		}
		if c.Domain == "" {
			bad("BACKUPFLOW_OTCRDS_DOMAIN", "is required with BACKUPFLOW_OTCRDS_AUTH=token")
		}
		if c.Password != "" && c.PasswordFile != "" {
			bad("BACKUPFLOW_OTCRDS_PASSWORD", "and BACKUPFLOW_OTCRDS_PASSWORD_FILE are both set; set one")
		}
		r.password = provider.SecretFrom(c.Password, c.PasswordFile).Reveal()
		if r.password == "" {
			bad("BACKUPFLOW_OTCRDS_PASSWORD", "is required with BACKUPFLOW_OTCRDS_AUTH=token (or BACKUPFLOW_OTCRDS_PASSWORD_FILE)")
		}
	default:
		bad("BACKUPFLOW_OTCRDS_AUTH", "must be token or aksk, got %q", c.Auth)
	}
	if c.CallTimeout < 0 {
		bad("BACKUPFLOW_OTCRDS_CALL_TIMEOUT", "must not be negative")
	}
	if c.ExpectedDuration < 0 {
		bad("BACKUPFLOW_OTCRDS_EXPECTED_DURATION", "must not be negative")
	}
	return r, errors.Join(errs...)
}
