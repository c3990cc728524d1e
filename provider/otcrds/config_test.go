package otcrds_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/otcrds"
	"github.com/backupflow/backupflow/simulator/otcrdssim"
)

// TestEndpointsFollowTheSharedRule: both endpoints (RDS and IAM) are checked
// by provider.CheckEndpoint under the one BACKUPFLOW_OTCRDS_INSECURE.
func TestEndpointsFollowTheSharedRule(t *testing.T) {
	good := otcrds.Config{Endpoint: "https://rds.eu-de.otc.t-systems.com", ProjectID: otcrdssim.ProjectID, Auth: otcrds.AuthToken,
		IAMEndpoint: "https://iam.eu-de.otc.t-systems.com", Username: "u", Password: "p", Domain: "d"}
	_, err := otcrds.New(good)
	require.NoError(t, err)
	cases := map[string]struct {
		mutate func(*otcrds.Config)
		want   string
	}{
		"http to a remote host": {func(c *otcrds.Config) { c.Endpoint = "http://rds.eu-de.otc.t-systems.com" },
			"BACKUPFLOW_OTCRDS_ENDPOINT: plain http is only for a loopback simulator with BACKUPFLOW_OTCRDS_INSECURE=true"},
		"IAM over http to a remote host": {func(c *otcrds.Config) { c.IAMEndpoint = "http://iam.eu-de.otc.t-systems.com" },
			"BACKUPFLOW_OTCRDS_IAM_ENDPOINT: plain http is only for a loopback simulator with BACKUPFLOW_OTCRDS_INSECURE=true"},
		"insecure with remote endpoints": {func(c *otcrds.Config) {
			c.Insecure, c.Endpoint, c.IAMEndpoint = true, "http://rds.eu-de.otc.t-systems.com", "http://127.0.0.1:1"
		}, "BACKUPFLOW_OTCRDS_INSECURE: true (plaintext) is only allowed with a loopback endpoint (127.0.0.0/8, ::1, localhost); BACKUPFLOW_OTCRDS_ENDPOINT"},
		"insecure with a remote IAM endpoint": {func(c *otcrds.Config) {
			c.Insecure, c.Endpoint, c.IAMEndpoint = true, "http://127.0.0.1:1", "iam.eu-de.otc.t-systems.com"
		}, "BACKUPFLOW_OTCRDS_INSECURE: true (plaintext) is only allowed with a loopback endpoint (127.0.0.0/8, ::1, localhost); BACKUPFLOW_OTCRDS_IAM_ENDPOINT"},
		"https with insecure": {func(c *otcrds.Config) { c.Insecure, c.IAMEndpoint = true, "http://127.0.0.1:1" },
			"BACKUPFLOW_OTCRDS_INSECURE: is true (plaintext) but BACKUPFLOW_OTCRDS_ENDPOINT is an https:// URL"},
		"IAM endpoint with user info": {func(c *otcrds.Config) { c.IAMEndpoint = "https://u:s3cr3t@iam.eu-de.otc.t-systems.com" },
			"BACKUPFLOW_OTCRDS_IAM_ENDPOINT: must not carry user info"},
		"IAM endpoint with a path": {func(c *otcrds.Config) { c.IAMEndpoint = "https://iam.eu-de.otc.t-systems.com/v3" },
			"BACKUPFLOW_OTCRDS_IAM_ENDPOINT: must be https://host[:port] or host[:port], without a path"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := good
			c.mutate(&cfg)
			_, err := otcrds.New(cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.NotContains(t, err.Error(), "s3cr3t")
		})
	}
}

// TestIAMEndpointWithoutSchemeIsHTTPS: a bare host is spoken over TLS, and the
// token URL is built on the checked endpoint.
func TestIAMEndpointWithoutSchemeIsHTTPS(t *testing.T) {
	s := startSim(t, otcrdssim.Options{})
	cfg := tokenConfig(s, otcrdssim.Password)
	cfg.Insecure = false
	cfg.Endpoint = "rds.example.invalid"
	cfg.IAMEndpoint = s.IAMEndpoint()[len("http://"):] // plaintext simulator, spoken to in TLS: refused
	cfg.CallTimeout = 2 * time.Second
	d := newDriver(t, cfg)
	e := pe(t, d.Preflight(ctx(t), job(section(nil))))
	assert.Equal(t, provider.Unavailable, e.Class, "%v", e)
	assert.Contains(t, e.Message, "https://"+cfg.IAMEndpoint+"/v3/auth/tokens")
	assert.Zero(t, s.TokensIssued())
}

// TestRedirectNotFollowed: neither the RDS client (signed, or with the
// X-Auth-Token) nor the IAM client (with the password) follows a redirect:
// the target records every request and must receive none.
func TestRedirectNotFollowed(t *testing.T) {
	s := startSim(t, otcrdssim.Options{})
	var reached atomic.Int32
	var sawSecret atomic.Bool
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		if r.Header.Get("X-Auth-Token") != "" || r.Header.Get("Authorization") != "" || r.ContentLength > 0 {
			sawSecret.Store(true)
		}
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(target.Close)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+r.URL.Path+"?token=secret-in-query", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirect.Close)

	cases := map[string]struct {
		cfg     otcrds.Config
		wantVar string
	}{
		"RDS with a token":    {tokenConfig(s, otcrdssim.Password), "BACKUPFLOW_OTCRDS_ENDPOINT"},
		"RDS signed":          {akskConfig(s, otcrdssim.SecretKey), "BACKUPFLOW_OTCRDS_ENDPOINT"},
		"IAM with a password": {tokenConfig(s, otcrdssim.Password), "BACKUPFLOW_OTCRDS_IAM_ENDPOINT"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := c.cfg
			if c.wantVar == "BACKUPFLOW_OTCRDS_IAM_ENDPOINT" {
				cfg.IAMEndpoint = redirect.URL
			} else {
				cfg.Endpoint = redirect.URL
			}
			e := pe(t, newDriver(t, cfg).Preflight(ctx(t), job(section(nil))))
			assert.Equal(t, provider.FailedPrecondition, e.Class, "%v", e)
			assert.Equal(t, http.StatusTemporaryRedirect, e.HTTPStatus)
			assert.Contains(t, e.Message, c.wantVar)
			assert.Contains(t, e.Message, target.URL)
			for _, leak := range []string{otcrdssim.Password, otcrdssim.SecretKey, "secret-in-query", "SDK-HMAC-SHA256", "Signature", "X-Auth-Token"} {
				assert.NotContains(t, e.Error(), leak)
			}
			assert.Zero(t, reached.Load(), "nothing reached the redirect target")
			assert.False(t, sawSecret.Load(), "no credential reached the redirect target")
		})
	}
}
