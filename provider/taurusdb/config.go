package taurusdb

import (
	"time"

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

// resolve checks the configuration, naming each variable at fault, and returns
// the endpoint and secret key to use.
func (c Config) resolve() (endpoint string, secretKey string, err error) {
	var errs huaweicloud.ConfigErrors
	switch {
	case c.Endpoint != "" || c.Insecure:
		endpoint = errs.Endpoint("BACKUPFLOW_TAURUSDB_ENDPOINT", "BACKUPFLOW_TAURUSDB_INSECURE", c.Endpoint, c.Insecure)
	case c.Region != "":
		r, err := gaussregion.SafeValueOf(c.Region)
		if err != nil || len(r.Endpoints) == 0 {
			errs.Add("BACKUPFLOW_TAURUSDB_REGION", "unknown region %q; set BACKUPFLOW_TAURUSDB_ENDPOINT instead", c.Region)
		} else {
			endpoint = r.Endpoints[0]
		}
	default:
		errs.Add("BACKUPFLOW_TAURUSDB_ENDPOINT", "is required (or BACKUPFLOW_TAURUSDB_REGION)")
	}
	errs.CheckProjectID("BACKUPFLOW_TAURUSDB_PROJECT_ID", c.ProjectID)
	if c.AccessKey == "" {
		errs.Add("BACKUPFLOW_TAURUSDB_ACCESS_KEY", "is required")
	}
	secretKey = errs.Secret("BACKUPFLOW_TAURUSDB_SECRET_KEY", c.SecretKey, c.SecretKeyFile, "")
	if c.CallTimeout < 0 {
		errs.Add("BACKUPFLOW_TAURUSDB_CALL_TIMEOUT", "must not be negative")
	}
	return endpoint, secretKey, errs.Err()
}
