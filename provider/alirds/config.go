package alirds

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/backupflow/backupflow/provider"
)

// Config is the driver's configuration, read from the environment.
type Config struct {
	// Region is the RDS region, e.g. cn-hangzhou (BACKUPFLOW_ALIRDS_REGION, required).
	Region string `env:"BACKUPFLOW_ALIRDS_REGION"`
	// Endpoint overrides the SDK's endpoint resolution: host[:port], or a URL
	// https://host[:port] (http:// only with Insecure). Empty: the SDK's
	// endpoint for the region (rds.aliyuncs.com or rds.<region>.aliyuncs.com).
	Endpoint string `env:"BACKUPFLOW_ALIRDS_ENDPOINT"`
	// AccessKeyID is the AccessKey ID (BACKUPFLOW_ALIRDS_ACCESS_KEY_ID, required).
	AccessKeyID string `env:"BACKUPFLOW_ALIRDS_ACCESS_KEY_ID"`
	// AccessKeySecret is the AccessKey secret, given directly or through a file
	// (BACKUPFLOW_ALIRDS_ACCESS_KEY_SECRET or ..._FILE, one required).
	AccessKeySecret     provider.Secret `env:"BACKUPFLOW_ALIRDS_ACCESS_KEY_SECRET"`
	AccessKeySecretFile provider.Secret `env:"BACKUPFLOW_ALIRDS_ACCESS_KEY_SECRET_FILE,file"`
	// Insecure speaks plain HTTP, for the loopback simulator only; production
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

// check validates the configuration, naming each missing or malformed variable.
func (c Config) check() (endpoint, error) {
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
	ep := endpoint{host: c.Endpoint, scheme: "HTTPS"}
	if c.Insecure {
		ep.scheme = "HTTP"
	}
	if strings.Contains(c.Endpoint, "://") {
		u, err := url.Parse(c.Endpoint)
		switch {
		case err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "":
			errs = append(errs, fmt.Errorf("BACKUPFLOW_ALIRDS_ENDPOINT %q is malformed: use host[:port] or https://host[:port]", c.Endpoint))
		case u.Scheme == "http" && !c.Insecure:
			errs = append(errs, fmt.Errorf("BACKUPFLOW_ALIRDS_ENDPOINT %q is plain HTTP: set BACKUPFLOW_ALIRDS_INSECURE=true (simulator only) or use https://", c.Endpoint))
		case u.Scheme != "http" && u.Scheme != "https":
			errs = append(errs, fmt.Errorf("BACKUPFLOW_ALIRDS_ENDPOINT %q: the scheme must be https (or http for the simulator)", c.Endpoint))
		case u.Scheme == "https" && c.Insecure:
			errs = append(errs, fmt.Errorf("BACKUPFLOW_ALIRDS_ENDPOINT %q is https but BACKUPFLOW_ALIRDS_INSECURE=true asks for plain HTTP", c.Endpoint))
		default:
			ep.host = u.Host
		}
	} else if c.Endpoint != "" && strings.ContainsAny(c.Endpoint, "/?# ") {
		errs = append(errs, fmt.Errorf("BACKUPFLOW_ALIRDS_ENDPOINT %q is malformed: use host[:port] or https://host[:port]", c.Endpoint))
	}
	if c.Insecure {
		host := ep.host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if ip := net.ParseIP(host); c.Endpoint == "" || host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			errs = append(errs, fmt.Errorf("BACKUPFLOW_ALIRDS_INSECURE=true is for the loopback simulator only; BACKUPFLOW_ALIRDS_ENDPOINT %q is not a loopback address", c.Endpoint))
		}
	}
	return ep, errors.Join(errs...)
}

// newTransport is the HTTP transport every SDK client of a driver shares. It
// is wrapped in roundTripper so the SDK, which rewrites the dial and TLS
// settings of a bare *http.Transport on every call, leaves it alone: that
// keeps the driver safe for concurrent use and keeps our timeouts.
func newTransport(c Config) http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: c.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = c.ConnectTimeout
	t.ResponseHeaderTimeout = c.ReadTimeout
	t.MaxIdleConnsPerHost = 16
	return roundTripper{t}
}

type roundTripper struct{ http.RoundTripper }
