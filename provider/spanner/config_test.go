package spanner_test

import (
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/spanner"
	"github.com/backupflow/backupflow/simulator/spannersim"
)

// TestEndpointFollowsTheSharedRule: the endpoint is checked by
// provider.CheckEndpoint, with this driver's variables named.
func TestEndpointFollowsTheSharedRule(t *testing.T) {
	cases := map[string]struct {
		cfg  spanner.Config
		want string
	}{
		"http to a remote host": {spanner.Config{Endpoint: "http://spanner.example.com:443"},
			"BACKUPFLOW_SPANNER_ENDPOINT: plain http is only for a loopback simulator with BACKUPFLOW_SPANNER_INSECURE=true"},
		"insecure to a remote host": {spanner.Config{Endpoint: "spanner.example.com:443", Insecure: true},
			"BACKUPFLOW_SPANNER_INSECURE: true (plaintext) is only allowed with a loopback endpoint"},
		"insecure to a private address": {spanner.Config{Endpoint: "10.1.2.3:9010", Insecure: true},
			"BACKUPFLOW_SPANNER_INSECURE: true (plaintext) is only allowed with a loopback endpoint"},
		"https with insecure": {spanner.Config{Endpoint: "https://127.0.0.1:9010", Insecure: true},
			"BACKUPFLOW_SPANNER_INSECURE: is true (plaintext) but BACKUPFLOW_SPANNER_ENDPOINT is an https:// URL"},
		"insecure without endpoint": {spanner.Config{Insecure: true}, "BACKUPFLOW_SPANNER_INSECURE: requires BACKUPFLOW_SPANNER_ENDPOINT"},
		"user info": {spanner.Config{Endpoint: "https://tok:s3cr3t@spanner.googleapis.com"},
			"BACKUPFLOW_SPANNER_ENDPOINT: must not carry user info"},
		"negative call timeout": {spanner.Config{CallTimeout: -time.Second}, "BACKUPFLOW_SPANNER_CALL_TIMEOUT"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := spanner.New(c.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.NotContains(t, err.Error(), "s3cr3t")
		})
	}
	for _, ok := range []spanner.Config{
		{Endpoint: "spanner.googleapis.com", AccessToken: "t"},
		{Endpoint: "https://spanner.googleapis.com:443", AccessToken: "t"},
		{Endpoint: "http://127.0.0.1:9010", Insecure: true},
		{Endpoint: "localhost:9010", Insecure: true},
	} {
		d, err := spanner.New(ok)
		require.NoError(t, err, "%+v", ok)
		require.NoError(t, d.Close())
	}
}

// TestURLFormReachesTheSimulator: http://host:port with Insecure dials the
// same simulator as host:port does.
func TestURLFormReachesTheSimulator(t *testing.T) {
	srv := startSim(t)
	d, err := spanner.New(spanner.Config{Endpoint: "http://" + srv.Endpoint(), Insecure: true, AccessToken: provider.Secret(spannersim.AccessToken)})
	require.NoError(t, err)
	defer d.Close()
	require.NoError(t, d.Preflight(testCtx(t), jobOf(backup.KindCreate, spannersim.CreateSection(1))))
}

// TestCallTimeoutBoundsAStalledCall: a server that accepts and never answers
// fails the call after CallTimeout as Unavailable, well before the caller's
// own deadline.
func TestCallTimeoutBoundsAStalledCall(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	d, err := spanner.New(spanner.Config{Endpoint: ln.Addr().String(), Insecure: true, AccessToken: "t", CallTimeout: 300 * time.Millisecond})
	require.NoError(t, err)
	defer d.Close()
	start := time.Now()
	err = d.Preflight(testCtx(t), jobOf(backup.KindCreate, spannersim.CreateSection(1)))
	elapsed := time.Since(start)
	var pe *provider.Error
	require.True(t, errors.As(err, &pe), "%v", err)
	assert.Equal(t, provider.Unavailable, pe.Class, "%v", err)
	assert.Less(t, elapsed, 10*time.Second, "the call timeout, not the 30 s test deadline, ended the call")
	assert.GreaterOrEqual(t, elapsed, 300*time.Millisecond)
}
