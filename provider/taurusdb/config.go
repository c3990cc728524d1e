package taurusdb

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"time"

	gaussregion "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/gaussdb/v3/region"

	"github.com/backupflow/backupflow/provider"
)

// Config is the driver's configuration, read from the environment with
// caarlos0/env/v11 (env.Parse). Secrets may be given directly or through a
// *_FILE path; they never print.
type Config struct {
	// Endpoint is the TaurusDB API URL, e.g. https://gaussdb.eu-west-101.myhuaweicloud.eu,
	// or http://127.0.0.1:PORT for the simulator. When empty it comes from Region
	// through the SDK's region table.
	Endpoint string `env:"BACKUPFLOW_TAURUSDB_ENDPOINT"`
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

var projectIDRule = regexp.MustCompile(`^[A-Za-z0-9]{32}$`)

// resolve checks the configuration, naming each variable at fault, and returns
// the endpoint and secret key to use.
func (c Config) resolve() (endpoint string, secretKey string, err error) {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	endpoint = c.Endpoint
	switch {
	case endpoint != "":
		if u, err := url.Parse(endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("BACKUPFLOW_TAURUSDB_ENDPOINT", "must be an http(s) URL, got %q", endpoint)
		}
	case c.Region != "":
		r, err := gaussregion.SafeValueOf(c.Region)
		if err != nil || len(r.Endpoints) == 0 {
			bad("BACKUPFLOW_TAURUSDB_REGION", "unknown region %q; set BACKUPFLOW_TAURUSDB_ENDPOINT instead", c.Region)
		} else {
			endpoint = r.Endpoints[0]
		}
	default:
		bad("BACKUPFLOW_TAURUSDB_ENDPOINT", "is required (or BACKUPFLOW_TAURUSDB_REGION)")
	}
	if c.ProjectID == "" {
		bad("BACKUPFLOW_TAURUSDB_PROJECT_ID", "is required")
	} else if !projectIDRule.MatchString(c.ProjectID) {
		bad("BACKUPFLOW_TAURUSDB_PROJECT_ID", "must be 32 letters and digits")
	}
	if c.AccessKey == "" {
		bad("BACKUPFLOW_TAURUSDB_ACCESS_KEY", "is required")
	}
	if c.SecretKey != "" && c.SecretKeyFile != "" {
		bad("BACKUPFLOW_TAURUSDB_SECRET_KEY", "and BACKUPFLOW_TAURUSDB_SECRET_KEY_FILE are both set; set one")
	}
	sk := provider.SecretFrom(c.SecretKey, c.SecretKeyFile)
	if sk == "" {
		bad("BACKUPFLOW_TAURUSDB_SECRET_KEY", "is required (or BACKUPFLOW_TAURUSDB_SECRET_KEY_FILE)")
	}
	if c.CallTimeout < 0 {
		bad("BACKUPFLOW_TAURUSDB_CALL_TIMEOUT", "must not be negative")
	}
	return endpoint, sk.Reveal(), errors.Join(errs...)
}
