package alirds_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/alirds"
	"github.com/backupflow/backupflow/provider/providertest"
	"github.com/backupflow/backupflow/simulator/alirdssim"
)

func TestConfigFromEnv(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secretFile, []byte(alirdssim.AccessKeySecret+"\n"), 0o600))
	s := startSim(t)
	t.Setenv("BACKUPFLOW_ALIRDS_REGION", alirdssim.Region)
	t.Setenv("BACKUPFLOW_ALIRDS_ENDPOINT", s.Endpoint())
	t.Setenv("BACKUPFLOW_ALIRDS_ACCESS_KEY_ID", alirdssim.AccessKeyID)
	t.Setenv("BACKUPFLOW_ALIRDS_ACCESS_KEY_SECRET_FILE", secretFile)
	t.Setenv("BACKUPFLOW_ALIRDS_INSECURE", "true")
	cfg, err := alirds.ConfigFromEnv()
	require.NoError(t, err)
	assert.Equal(t, 5*time.Second, cfg.ConnectTimeout, "default")
	assert.Equal(t, 30*time.Second, cfg.ReadTimeout, "default")
	assert.NotContains(t, fmt.Sprintf("%v %+v", cfg, cfg), alirdssim.AccessKeySecret, "the secret never prints")

	d, err := alirds.New(cfg)
	require.NoError(t, err)
	require.NoError(t, d.Preflight(testCtx(t), providertest.Job(backup.KindCreate, alirdssim.CreateSection(70))),
		"the secret read from the file (trimmed) signs requests the simulator accepts")
}

func TestNewNamesEveryBadVariable(t *testing.T) {
	_, err := alirds.New(alirds.Config{})
	require.Error(t, err)
	for _, name := range []string{"BACKUPFLOW_ALIRDS_REGION", "BACKUPFLOW_ALIRDS_ACCESS_KEY_ID", "BACKUPFLOW_ALIRDS_ACCESS_KEY_SECRET", "BACKUPFLOW_ALIRDS_CONNECT_TIMEOUT", "BACKUPFLOW_ALIRDS_READ_TIMEOUT"} {
		assert.Contains(t, err.Error(), name)
	}
	assert.NotContains(t, err.Error(), "BACKUPFLOW_ALIRDS_ENDPOINT")

	good := alirds.Config{Region: "cn-hangzhou", AccessKeyID: "id", AccessKeySecret: "secret", ConnectTimeout: time.Second, ReadTimeout: time.Second}
	_, err = alirds.New(good)
	require.NoError(t, err, "production: no endpoint override, HTTPS")

	bad := []struct {
		name   string
		mutate func(*alirds.Config)
		want   string
	}{
		{"malformed region", func(c *alirds.Config) { c.Region = "cn hangzhou" }, "BACKUPFLOW_ALIRDS_REGION"},
		// The endpoint rule is provider.CheckEndpoint's, naming this driver's variables.
		{"insecure without endpoint", func(c *alirds.Config) { c.Insecure = true }, "BACKUPFLOW_ALIRDS_INSECURE: requires BACKUPFLOW_ALIRDS_ENDPOINT"},
		{"insecure to a remote host", func(c *alirds.Config) { c.Insecure, c.Endpoint = true, "rds.aliyuncs.com" },
			"BACKUPFLOW_ALIRDS_INSECURE: true (plaintext) is only allowed with a loopback endpoint"},
		{"plain http to a remote host", func(c *alirds.Config) { c.Insecure, c.Endpoint = true, "http://rds.aliyuncs.com" },
			"BACKUPFLOW_ALIRDS_INSECURE: true (plaintext) is only allowed with a loopback endpoint"},
		{"plain http without insecure", func(c *alirds.Config) { c.Endpoint = "http://127.0.0.1:8080" },
			"BACKUPFLOW_ALIRDS_ENDPOINT: plain http is only for a loopback simulator with BACKUPFLOW_ALIRDS_INSECURE=true"},
		{"https with insecure", func(c *alirds.Config) { c.Insecure, c.Endpoint = true, "https://127.0.0.1:8080" },
			"BACKUPFLOW_ALIRDS_INSECURE: is true (plaintext) but BACKUPFLOW_ALIRDS_ENDPOINT is an https:// URL"},
		{"endpoint with user info", func(c *alirds.Config) { c.Endpoint = "https://id:secret@rds.aliyuncs.com" }, "BACKUPFLOW_ALIRDS_ENDPOINT: must not carry user info"},
		{"endpoint with a query", func(c *alirds.Config) { c.Endpoint = "https://rds.aliyuncs.com/?Signature=x" }, "BACKUPFLOW_ALIRDS_ENDPOINT: must not carry a query"},
		{"endpoint with a path", func(c *alirds.Config) { c.Endpoint = "https://rds.aliyuncs.com/v1" }, "BACKUPFLOW_ALIRDS_ENDPOINT: must be https://host[:port]"},
		{"endpoint with a scheme we do not speak", func(c *alirds.Config) { c.Endpoint = "ftp://rds.aliyuncs.com" }, "BACKUPFLOW_ALIRDS_ENDPOINT: the scheme must be https"},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			cfg := good
			b.mutate(&cfg)
			_, err := alirds.New(cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), b.want)
		})
	}
}

// TestProductionSpeaksHTTPS: without BACKUPFLOW_ALIRDS_INSECURE the driver
// opens a TLS connection (its first bytes are a TLS handshake record).
func TestProductionSpeaksHTTPS(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	first := make(chan []byte, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		b := make([]byte, 3)
		_, _ = bufio.NewReader(conn).Read(b)
		first <- b
	}()
	d := newDriver(t, alirds.Config{Region: alirdssim.Region, Endpoint: ln.Addr().String(), AccessKeyID: "id", AccessKeySecret: "secret",
		ConnectTimeout: 2 * time.Second, ReadTimeout: 2 * time.Second})
	err = d.Preflight(testCtx(t), providertest.Job(backup.KindCreate, alirdssim.CreateSection(71)))
	require.Error(t, err)
	assert.Equal(t, provider.Unavailable, provider.ClassOf(err), "%v", err)
	b := <-first
	assert.Equal(t, byte(0x16), b[0], "a TLS handshake record, not plain HTTP (got %q)", b)
	assert.Equal(t, byte(0x03), b[1])
}

// TestRedirectNotFollowed: the SDK's own http.Client would follow a redirect
// with the signed request; the driver's transport stops at the 307, so the
// target never hears of it, and the error names the variable to fix.
func TestRedirectNotFollowed(t *testing.T) {
	var reached atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Add(1) }))
	t.Cleanup(target.Close)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect) // the signed query too
	}))
	t.Cleanup(redirect.Close)

	cfg := simConfig(startSim(t))
	cfg.Endpoint = redirect.URL
	err := newDriver(t, cfg).Preflight(testCtx(t), providertest.Job(backup.KindCreate, alirdssim.CreateSection(72)))
	require.Error(t, err)
	var pe *provider.Error
	require.True(t, errors.As(err, &pe), "%v", err)
	assert.Equal(t, provider.FailedPrecondition, pe.Class, "%v", err)
	assert.Equal(t, http.StatusTemporaryRedirect, pe.HTTPStatus)
	assert.Contains(t, err.Error(), "BACKUPFLOW_ALIRDS_ENDPOINT")
	assert.Contains(t, err.Error(), target.URL)
	for _, leak := range []string{alirdssim.AccessKeySecret, "Signature", "AccessKeyId", "?"} {
		assert.NotContains(t, err.Error(), leak)
	}
	assert.Zero(t, reached.Load(), "the signed request never reached the redirect target")
}
