package taurusdb

import (
	"errors"
	"fmt"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	gaussdb "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/gaussdb/v3"
	gaussregion "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/gaussdb/v3/region"

	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/huaweicloud"
)

// Config is the driver's configuration, read from the environment with
// caarlos0/env/v11 (env.Parse). Secrets may be given directly or through a
// *_FILE path; they never print.
type Config struct {
	// Endpoint is the TaurusDB API URL, e.g. https://gaussdb.eu-west-101.myhuaweicloud.eu,
	// or http://127.0.0.1:PORT for the simulator (with Insecure). When empty it
	// comes from Region through the SDK's region table.
	Endpoint string `env:"BACKUPFLOW_TAURUSDB_ENDPOINT"`
	// Insecure allows plain http to a loopback endpoint: a simulator
	// (provider.CheckEndpoint).
	Insecure bool `env:"BACKUPFLOW_TAURUSDB_INSECURE"`
	// Region is only needed when Endpoint is empty.
	Region string `env:"BACKUPFLOW_TAURUSDB_REGION"`
	// ProjectID is always given, so the SDK never calls IAM to look it up.
	ProjectID     string          `env:"BACKUPFLOW_TAURUSDB_PROJECT_ID"`
	AccessKey     string          `env:"BACKUPFLOW_TAURUSDB_ACCESS_KEY"`
	SecretKey     provider.Secret `env:"BACKUPFLOW_TAURUSDB_SECRET_KEY"`
	SecretKeyFile provider.Secret `env:"BACKUPFLOW_TAURUSDB_SECRET_KEY_FILE,file"`
	// CallTimeout bounds each SDK call (the SDK's HttpConfig timeout).
	CallTimeout time.Duration `env:"BACKUPFLOW_TAURUSDB_CALL_TIMEOUT" envDefault:"30s"`
}

// check reports every missing or malformed setting, naming its variable.
func (c Config) check() error {
	_, endpointErr := c.endpoint()
	var errs huaweicloud.ConfigErrors
	errs.CheckProjectID("BACKUPFLOW_TAURUSDB_PROJECT_ID", c.ProjectID)
	if c.AccessKey == "" {
		errs.Add("BACKUPFLOW_TAURUSDB_ACCESS_KEY", "is required")
	}
	errs.Secret("BACKUPFLOW_TAURUSDB_SECRET_KEY", c.SecretKey, c.SecretKeyFile, "")
	if c.CallTimeout < 0 {
		errs.Add("BACKUPFLOW_TAURUSDB_CALL_TIMEOUT", "must not be negative")
	}
	return errors.Join(endpointErr, errs.Err())
}

// endpoint is the API URL the SDK is given: Endpoint, checked by
// provider.CheckEndpoint, or Region's from the SDK's region table.
func (c Config) endpoint() (string, error) {
	var errs huaweicloud.ConfigErrors
	var url string
	switch {
	case c.Endpoint != "" || c.Insecure:
		url = errs.Endpoint("BACKUPFLOW_TAURUSDB_ENDPOINT", "BACKUPFLOW_TAURUSDB_INSECURE", c.Endpoint, c.Insecure)
	case c.Region != "":
		r, err := gaussregion.SafeValueOf(c.Region)
		if err != nil || len(r.Endpoints) == 0 {
			errs.Add("BACKUPFLOW_TAURUSDB_REGION", "unknown region %q; set BACKUPFLOW_TAURUSDB_ENDPOINT instead", c.Region)
		} else {
			url = r.Endpoints[0]
		}
	default:
		errs.Add("BACKUPFLOW_TAURUSDB_ENDPOINT", "is required (or BACKUPFLOW_TAURUSDB_REGION)")
	}
	return url, errs.Err()
}

// New builds a driver from the configuration; errors name each bad variable.
func New(cfg Config) (*Driver, error) {
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("taurusdb configuration: %w", err)
	}
	endpoint, _ := cfg.endpoint() // checked above
	sk := provider.SecretFrom(cfg.SecretKey, cfg.SecretKeyFile).Reveal()
	cred, err := basic.NewCredentialsBuilder().WithAk(cfg.AccessKey).WithSk(sk).WithProjectId(cfg.ProjectID).SafeBuild()
	if err != nil {
		return nil, fmt.Errorf("taurusdb credentials: %w", err)
	}
	hc, err := huaweicloud.BuildClient(gaussdb.GaussDBClientBuilder(), huaweicloud.ClientOptions{
		Endpoint: endpoint, EndpointVar: "BACKUPFLOW_TAURUSDB_ENDPOINT", Credential: cred, Timeout: cfg.CallTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("taurusdb: %w", err)
	}
	return &Driver{client: gaussdb.NewGaussDBClient(hc), now: time.Now}, nil
}
