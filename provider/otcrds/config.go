package otcrds

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth"
	rds "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/rds/v3"

	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/huaweicloud"
)

// Authentication modes (BACKUPFLOW_OTCRDS_AUTH).
const (
	// AuthToken is OTC's documented authentication (docs/providers/otcrds.md,
	// "Authentication"): an IAM token from
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

// check reports every missing or malformed setting, naming its variable.
func (c Config) check() error {
	_, _, endpointErr := c.endpoints()
	var errs huaweicloud.ConfigErrors
	errs.CheckProjectID("BACKUPFLOW_OTCRDS_PROJECT_ID", c.ProjectID)
	switch c.Auth {
	case AuthAKSK:
		if c.AccessKey == "" {
			errs.Add("BACKUPFLOW_OTCRDS_ACCESS_KEY", "is required with BACKUPFLOW_OTCRDS_AUTH=aksk")
		}
		errs.Secret("BACKUPFLOW_OTCRDS_SECRET_KEY", c.SecretKey, c.SecretKeyFile, "BACKUPFLOW_OTCRDS_AUTH=aksk")
	case AuthToken, "":
		if c.Username == "" {
			errs.Add("BACKUPFLOW_OTCRDS_USERNAME", "is required with BACKUPFLOW_OTCRDS_AUTH=token")
		}
		if c.Domain == "" {
			errs.Add("BACKUPFLOW_OTCRDS_DOMAIN", "is required with BACKUPFLOW_OTCRDS_AUTH=token")
		}
		errs.Secret("BACKUPFLOW_OTCRDS_PASSWORD", c.Password, c.PasswordFile, "BACKUPFLOW_OTCRDS_AUTH=token")
	default:
		errs.Add("BACKUPFLOW_OTCRDS_AUTH", "must be token or aksk, got %q", c.Auth)
	}
	if c.CallTimeout < 0 {
		errs.Add("BACKUPFLOW_OTCRDS_CALL_TIMEOUT", "must not be negative")
	}
	if c.ExpectedDuration < 0 {
		errs.Add("BACKUPFLOW_OTCRDS_EXPECTED_DURATION", "must not be negative")
	}
	return errors.Join(endpointErr, errs.Err())
}

// endpoints are the RDS and IAM URLs the clients are given, each checked by
// provider.CheckEndpoint (IAM's "" with aksk, which needs none).
func (c Config) endpoints() (rdsURL, iamURL string, err error) {
	var errs huaweicloud.ConfigErrors
	rdsURL = errs.Endpoint("BACKUPFLOW_OTCRDS_ENDPOINT", "BACKUPFLOW_OTCRDS_INSECURE", c.Endpoint, c.Insecure)
	if c.Auth == AuthToken || c.Auth == "" {
		iamURL = errs.Endpoint("BACKUPFLOW_OTCRDS_IAM_ENDPOINT", "BACKUPFLOW_OTCRDS_INSECURE", c.IAMEndpoint, c.Insecure)
	}
	return rdsURL, iamURL, errs.Err()
}

// New builds a driver from the configuration; errors name each bad variable.
func New(cfg Config) (*Driver, error) {
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("otcrds configuration: %w", err)
	}
	endpoint, iamEndpoint, _ := cfg.endpoints() // checked above
	timeout := cfg.CallTimeout
	if timeout == 0 {
		timeout = huaweicloud.DefaultCallTimeout
	}
	d := &Driver{transport: huaweicloud.NewTransport(), expected: cfg.ExpectedDuration, now: time.Now}
	if d.expected == 0 {
		d.expected = 10 * time.Minute
	}
	var cred auth.ICredential
	credType := ""
	if cfg.Auth == AuthAKSK {
		// Signed with the wall clock: the gateway compares X-Sdk-Date with its own.
		cred = &akskCredentials{accessKey: cfg.AccessKey, secretKey: provider.SecretFrom(cfg.SecretKey, cfg.SecretKeyFile), projectID: cfg.ProjectID, now: time.Now}
		credType = akskCredentialsType
	} else {
		d.tokens = &tokenSource{
			url:  iamEndpoint + "/v3/auth/tokens",
			user: cfg.Username, password: provider.SecretFrom(cfg.Password, cfg.PasswordFile).Reveal(), domain: cfg.Domain, projectID: cfg.ProjectID,
			client: &http.Client{Transport: d.transport, Timeout: timeout, CheckRedirect: refuseRedirect},
			now:    func() time.Time { return d.now() },
		}
		cred = &tokenCredentials{source: d.tokens, projectID: cfg.ProjectID, timeout: timeout}
		credType = tokenCredentialsType
	}
	d.newClient = func(rt http.RoundTripper) (*rds.RdsClient, error) {
		hc, err := huaweicloud.BuildClient(rds.RdsClientBuilder(), huaweicloud.ClientOptions{
			Endpoint: endpoint, EndpointVar: "BACKUPFLOW_OTCRDS_ENDPOINT", Credential: cred, CredentialType: credType, Timeout: timeout, Transport: rt,
		})
		if err != nil {
			return nil, err
		}
		return rds.NewRdsClient(hc), nil
	}
	var err error
	if d.client, err = d.newClient(d.transport); err != nil {
		return nil, fmt.Errorf("otcrds: %w", err)
	}
	return d, nil
}
