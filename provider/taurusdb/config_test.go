package taurusdb_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/taurusdb"
	"github.com/backupflow/backupflow/simulator/taurusdbsim"
)

// TestEndpointFollowsTheSharedRule: the endpoint is checked by
// provider.CheckEndpoint, with this driver's variables named.
func TestEndpointFollowsTheSharedRule(t *testing.T) {
	good := taurusdb.Config{ProjectID: taurusdbsim.ProjectID, AccessKey: "a", SecretKey: "s"}
	cases := map[string]struct {
		endpoint, region string
		insecure         bool
		want             string
	}{
		"http to a remote host": {endpoint: "http://gaussdb.example.com",
			want: "BACKUPFLOW_TAURUSDB_ENDPOINT: plain http is only for a loopback simulator with BACKUPFLOW_TAURUSDB_INSECURE=true"},
		"http to loopback without insecure": {endpoint: "http://127.0.0.1:8080",
			want: "BACKUPFLOW_TAURUSDB_ENDPOINT: plain http is only for a loopback simulator"},
		"insecure to a remote host": {endpoint: "http://gaussdb.example.com", insecure: true,
			want: "BACKUPFLOW_TAURUSDB_INSECURE: true (plaintext) is only allowed with a loopback endpoint"},
		"https with insecure": {endpoint: "https://127.0.0.1:8080", insecure: true,
			want: "BACKUPFLOW_TAURUSDB_INSECURE: is true (plaintext) but BACKUPFLOW_TAURUSDB_ENDPOINT is an https:// URL"},
		"insecure with a region's endpoint": {region: "cn-north-4", insecure: true,
			want: "BACKUPFLOW_TAURUSDB_INSECURE: requires BACKUPFLOW_TAURUSDB_ENDPOINT"},
		"user info": {endpoint: "https://ak:s3cr3t@gaussdb.example.com", want: "BACKUPFLOW_TAURUSDB_ENDPOINT: must not carry user info"},
		"query":     {endpoint: "https://gaussdb.example.com/?X-Auth-Token=s3cr3t", want: "BACKUPFLOW_TAURUSDB_ENDPOINT: must not carry a query"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := good
			cfg.Endpoint, cfg.Region, cfg.Insecure = c.endpoint, c.region, c.insecure
			_, err := taurusdb.New(cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.NotContains(t, err.Error(), "s3cr3t")
		})
	}
	for _, endpoint := range []string{"gaussdb.example.com", "https://gaussdb.example.com:443/"} {
		cfg := good
		cfg.Endpoint = endpoint
		_, err := taurusdb.New(cfg)
		assert.NoError(t, err, endpoint)
	}
}

// TestRedirectNotFollowed: the SDK client stops at a redirect, so the signed
// request never reaches the Location, and the answer is not taken for a
// success: it is a FailedPrecondition naming the variable to fix.
func TestRedirectNotFollowed(t *testing.T) {
	var reached atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"backups":[],"total_count":0}`))
	}))
	t.Cleanup(target.Close)
	for _, status := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target.URL+r.URL.RequestURI(), status)
			}))
			t.Cleanup(redirect.Close)
			d, err := taurusdb.New(taurusdb.Config{Endpoint: redirect.URL, Insecure: true, ProjectID: taurusdbsim.ProjectID,
				AccessKey: taurusdbsim.AccessKey, SecretKey: provider.Secret(taurusdbsim.SecretKey)})
			require.NoError(t, err)
			_, err = d.Find(ctx(t), job(section(nil)))
			e := pe(t, err)
			assert.Equal(t, provider.FailedPrecondition, e.Class, "%v", err)
			assert.Equal(t, status, e.HTTPStatus)
			assert.Contains(t, e.Error(), "BACKUPFLOW_TAURUSDB_ENDPOINT")
			assert.Contains(t, e.Error(), target.URL)
			for _, leak := range []string{taurusdbsim.SecretKey, "SDK-HMAC-SHA256", "Signature", "X-Sdk-Date"} {
				assert.NotContains(t, e.Error(), leak)
			}
			assert.Zero(t, reached.Load(), "the signed request never reached the redirect target")
		})
	}
}
