package alirds

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/backupflow/backupflow/provider"
)

// Config is the driver's configuration, read from the environment.
type Config struct {
	// Region is the RDS region, e.g. cn-hangzhou (BACKUPFLOW_ALIRDS_REGION, required).
	Region string `env:"BACKUPFLOW_ALIRDS_REGION"`
	// Endpoint overrides the SDK's endpoint resolution: host[:port], or a URL
	// https://host[:port] (plaintext only with Insecure, see
	// provider.CheckEndpoint). Empty: the SDK's endpoint for the region
	// (rds.aliyuncs.com or rds.<region>.aliyuncs.com).
	Endpoint string `env:"BACKUPFLOW_ALIRDS_ENDPOINT"`
	// AccessKeyID is the AccessKey ID (BACKUPFLOW_ALIRDS_ACCESS_KEY_ID, required).
	AccessKeyID string `env:"BACKUPFLOW_ALIRDS_ACCESS_KEY_ID"`
	// AccessKeySecret is the AccessKey secret, given directly or through a file
	// (BACKUPFLOW_ALIRDS_ACCESS_KEY_SECRET or ..._FILE, one required).
	AccessKeySecret     provider.Secret `env:"BACKUPFLOW_ALIRDS_ACCESS_KEY_SECRET"`
	AccessKeySecretFile provider.Secret `env:"BACKUPFLOW_ALIRDS_ACCESS_KEY_SECRET_FILE,file"`
	// Insecure speaks plain HTTP, to a loopback simulator only; production
	// always uses HTTPS (BACKUPFLOW_ALIRDS_INSECURE).
	Insecure bool `env:"BACKUPFLOW_ALIRDS_INSECURE"`
	// ConnectTimeout and ReadTimeout bound each SDK call, whose methods take no context
	// (BACKUPFLOW_ALIRDS_CONNECT_TIMEOUT, BACKUPFLOW_ALIRDS_READ_TIMEOUT).
	ConnectTimeout time.Duration `env:"BACKUPFLOW_ALIRDS_CONNECT_TIMEOUT" envDefault:"5s"`
	ReadTimeout    time.Duration `env:"BACKUPFLOW_ALIRDS_READ_TIMEOUT" envDefault:"30s"`
}

// ConfigFromEnv reads the configuration from the environment.
func ConfigFromEnv() (Config, error) {
	cfg, err := env.ParseAs[Config]()
	if err != nil {
		return Config{}, fmt.Errorf("alirds configuration: %w", err)
	}
	return cfg, nil
}

var regionRule = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// endpoint is a parsed Endpoint: the host[:port] the SDK calls, and the scheme.
type endpoint struct {
	host   string
	scheme string // "HTTPS" or "HTTP"
}

// check reports every missing or malformed setting, naming its variable.
func (c Config) check() error {
	var errs []error
	if c.Region == "" {
		errs = append(errs, errors.New("BACKUPFLOW_ALIRDS_REGION is required (e.g. cn-hangzhou)"))
	} else if !regionRule.MatchString(c.Region) {
		errs = append(errs, fmt.Errorf("BACKUPFLOW_ALIRDS_REGION %q is malformed: letters, digits, '-' and '_' only", c.Region))
	}
	if c.AccessKeyID == "" {
		errs = append(errs, errors.New("BACKUPFLOW_ALIRDS_ACCESS_KEY_ID is required"))
	}
	if provider.SecretFrom(c.AccessKeySecret, c.AccessKeySecretFile) == "" {
		errs = append(errs, errors.New("BACKUPFLOW_ALIRDS_ACCESS_KEY_SECRET or BACKUPFLOW_ALIRDS_ACCESS_KEY_SECRET_FILE is required"))
	}
	if c.ConnectTimeout <= 0 {
		errs = append(errs, errors.New("BACKUPFLOW_ALIRDS_CONNECT_TIMEOUT must be positive"))
	}
	if c.ReadTimeout <= 0 {
		errs = append(errs, errors.New("BACKUPFLOW_ALIRDS_READ_TIMEOUT must be positive"))
	}
	if _, err := c.endpoint(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// endpoint checks Endpoint and Insecure by the one rule of every driver
// (provider.CheckEndpoint) and returns what the SDK is given.
func (c Config) endpoint() (endpoint, error) {
	checked, err := provider.CheckEndpoint("BACKUPFLOW_ALIRDS_ENDPOINT", "BACKUPFLOW_ALIRDS_INSECURE", c.Endpoint, c.Insecure)
	if err != nil {
		return endpoint{}, err
	}
	ep := endpoint{host: checked.Host, scheme: "HTTPS"}
	if checked.Plaintext() {
		ep.scheme = "HTTP"
	}
	return ep, nil
}

// New returns a driver for the configuration, or an error naming every
// missing or malformed environment variable.
func New(cfg Config) (*Driver, error) {
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("alirds: %w", err)
	}
	ep, _ := cfg.endpoint() // checked above
	return &Driver{
		cfg:       cfg,
		endpoint:  ep,
		secret:    provider.SecretFrom(cfg.AccessKeySecret, cfg.AccessKeySecretFile),
		transport: newTransport(cfg),
		now:       time.Now,
	}, nil
}

// newTransport is the HTTP transport every SDK client of a driver shares.
// The SDK builds its own http.Client, with no way to give it a CheckRedirect,
// so the transport refuses redirects (provider.NoRedirects): a redirect would
// send the signed request on to wherever Location points. Not being a bare
// *http.Transport also keeps the SDK, which rewrites the dial and TLS
// settings of one on every call, away from it: that keeps the driver safe for
// concurrent use and keeps our timeouts.
func newTransport(c Config) http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: c.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = c.ConnectTimeout
	t.ResponseHeaderTimeout = c.ReadTimeout
	t.MaxIdleConnsPerHost = 16
	return provider.NoRedirects(t, "BACKUPFLOW_ALIRDS_ENDPOINT")
}
