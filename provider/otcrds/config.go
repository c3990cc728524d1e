package otcrds

import (
	"time"

	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/huaweicloud"
)

// Authentication modes (BACKUPFLOW_OTCRDS_AUTH).
const (
	// AuthToken is OTC's documented authentication: an IAM token from
	// POST /v3/auth/tokens (user, password, domain, project), sent as X-Auth-Token.
	AuthToken = "token"
	// AuthAKSK signs each request with an AK/SK signature in OTC's own form
	// (signer.go; docs/providers/otcrds.md, "Authentication").
	AuthAKSK = "aksk"
)

// Config is the driver's configuration, read from the environment with
// caarlos0/env/v11 (env.Parse). Secrets may be given directly or through a
// *_FILE path; they never print.
type Config struct {
	// Endpoint is the RDS API URL, e.g. https://rds.eu-de.otc.t-systems.com,
	// or http://127.0.0.1:PORT for the simulator (with Insecure).
	Endpoint string `env:"BACKUPFLOW_OTCRDS_ENDPOINT"`
	// Insecure allows plain http to loopback endpoints, RDS and IAM alike: a
	// simulator (provider.CheckEndpoint).
	Insecure bool `env:"BACKUPFLOW_OTCRDS_INSECURE"`
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

type resolved struct {
	// endpoint and iamEndpoint are the checked URLs ("" for IAM with aksk).
	endpoint, iamEndpoint string
	secretKey, password   string
}

// resolve checks the configuration, naming each variable at fault.
func (c Config) resolve() (resolved, error) {
	var errs huaweicloud.ConfigErrors
	var r resolved
	r.endpoint = errs.Endpoint("BACKUPFLOW_OTCRDS_ENDPOINT", "BACKUPFLOW_OTCRDS_INSECURE", c.Endpoint, c.Insecure)
	errs.CheckProjectID("BACKUPFLOW_OTCRDS_PROJECT_ID", c.ProjectID)
	switch c.Auth {
	case AuthAKSK:
		if c.AccessKey == "" {
			errs.Add("BACKUPFLOW_OTCRDS_ACCESS_KEY", "is required with BACKUPFLOW_OTCRDS_AUTH=aksk")
		}
		r.secretKey = errs.Secret("BACKUPFLOW_OTCRDS_SECRET_KEY", c.SecretKey, c.SecretKeyFile, "BACKUPFLOW_OTCRDS_AUTH=aksk")
	case AuthToken, "":
		r.iamEndpoint = errs.Endpoint("BACKUPFLOW_OTCRDS_IAM_ENDPOINT", "BACKUPFLOW_OTCRDS_INSECURE", c.IAMEndpoint, c.Insecure)
		if c.Username == "" {
			errs.Add("BACKUPFLOW_OTCRDS_USERNAME", "is required with BACKUPFLOW_OTCRDS_AUTH=token")
		}
		if c.Domain == "" {
			errs.Add("BACKUPFLOW_OTCRDS_DOMAIN", "is required with BACKUPFLOW_OTCRDS_AUTH=token")
		}
		r.password = errs.Secret("BACKUPFLOW_OTCRDS_PASSWORD", c.Password, c.PasswordFile, "BACKUPFLOW_OTCRDS_AUTH=token")
	default:
		errs.Add("BACKUPFLOW_OTCRDS_AUTH", "must be token or aksk, got %q", c.Auth)
	}
	if c.CallTimeout < 0 {
		errs.Add("BACKUPFLOW_OTCRDS_CALL_TIMEOUT", "must not be negative")
	}
	if c.ExpectedDuration < 0 {
		errs.Add("BACKUPFLOW_OTCRDS_EXPECTED_DURATION", "must not be negative")
	}
	return r, errs.Err()
}
