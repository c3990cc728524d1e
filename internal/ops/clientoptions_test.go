package ops_test

// Tests of wiring.ClientOptions (production connectivity: mTLS, API keys)
// against a real TLS gRPC listener on loopback.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/wiring"
)

type certKey struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	der  []byte
}

func issue(t *testing.T, tmpl *x509.Certificate, parent *certKey) *certKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	require.NoError(t, err)
	tmpl.SerialNumber = serial
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(time.Hour)
	signer, signerCert := key, tmpl
	if parent != nil {
		signer, signerCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, &key.PublicKey, signer)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &certKey{cert: cert, key: key, der: der}
}

func (c *certKey) write(t *testing.T, dir, name string) (certPath, keyPath string) {
	t.Helper()
	certPath, keyPath = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	require.NoError(t, os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.der}), 0o600))
	kb, err := x509.MarshalECPrivateKey(c.key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600))
	return certPath, keyPath
}

type pki struct {
	dir                     string
	ca, server, client      *certKey
	caPath, cliCert, cliKey string
	serverTLS               *tls.Config
}

func newPKI(t *testing.T, requireClientCert bool) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir()}
	p.ca = issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: "backupflow test CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}, nil)
	p.server = issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: "temporal.test"}, DNSNames: []string{"temporal.test"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}, p.ca)
	p.client = issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: "backupflow-worker"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}, p.ca)
	p.caPath, _ = p.ca.write(t, p.dir, "ca")
	p.cliCert, p.cliKey = p.client.write(t, p.dir, "client")
	pool := x509.NewCertPool()
	pool.AddCert(p.ca.cert)
	p.serverTLS = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{p.server.der}, PrivateKey: p.server.key}},
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
	}
	if requireClientCert {
		p.serverTLS.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return p
}

// seen is what the fake frontend observed of one call.
type seen struct {
	authorization []string
	clientCN      string
}

// fakeFrontend accepts TLS gRPC on loopback and records each call's
// authorization header and client certificate, answering Unavailable.
func fakeFrontend(t *testing.T, tc *tls.Config) (string, func() []seen) {
	t.Helper()
	var mu sync.Mutex
	var calls []seen
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(tc)), grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		var s seen
		md, _ := metadata.FromIncomingContext(stream.Context())
		s.authorization = md.Get("authorization")
		if p, ok := peer.FromContext(stream.Context()); ok {
			if info, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(info.State.PeerCertificates) > 0 {
				s.clientCN = info.State.PeerCertificates[0].Subject.CommonName
			}
		}
		mu.Lock()
		calls = append(calls, s)
		mu.Unlock()
		return status.Error(codes.PermissionDenied, "fake frontend")
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return ln.Addr().String(), func() []seen { mu.Lock(); defer mu.Unlock(); return append([]seen(nil), calls...) }
}

func dialOnce(t *testing.T, opts client.Options) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, opts)
	if err == nil {
		c.Close()
	}
}

func TestClientOptionsMutualTLS(t *testing.T) {
	p := newPKI(t, true)
	addr, calls := fakeFrontend(t, p.serverTLS)
	cfg := wiring.TemporalConfig{Address: addr, Namespace: "prod.a1b2c", TLSCertPath: p.cliCert, TLSKeyPath: p.cliKey,
		TLSCACertPath: p.caPath, TLSServerName: "temporal.test"}
	opts, err := wiring.ClientOptions(cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)

	tc := opts.ConnectionOptions.TLS
	require.NotNil(t, tc)
	assert.Equal(t, "temporal.test", tc.ServerName)
	assert.False(t, tc.InsecureSkipVerify)
	assert.Equal(t, uint16(tls.VersionTLS12), tc.MinVersion)
	require.Len(t, tc.Certificates, 1)
	assert.Equal(t, p.client.der, tc.Certificates[0].Certificate[0], "the client certificate is the one in TEMPORAL_TLS_CLIENT_CERT_PATH")
	want := x509.NewCertPool()
	want.AddCert(p.ca.cert)
	assert.True(t, want.Equal(tc.RootCAs), "the server is verified against TEMPORAL_TLS_SERVER_CA_CERT_PATH only")
	assert.Nil(t, opts.Credentials)

	dialOnce(t, opts)
	got := calls()
	require.NotEmpty(t, got, "the handshake with a server requiring client certificates succeeded")
	assert.Equal(t, "backupflow-worker", got[0].clientCN)

	// Without the client certificate the same server refuses the handshake.
	noCert := cfg
	noCert.TLSCertPath, noCert.TLSKeyPath = "", ""
	opts, err = wiring.ClientOptions(noCert, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	before := len(calls())
	dialOnce(t, opts)
	assert.Len(t, calls(), before, "no call got through without a client certificate")

	// A server name that does not match the certificate is refused.
	wrongName := cfg
	wrongName.TLSServerName = "other.test"
	opts, err = wiring.ClientOptions(wrongName, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	dialOnce(t, opts)
	assert.Len(t, calls(), before)
}

func TestClientOptionsAPIKey(t *testing.T) {
	p := newPKI(t, false)
	addr, calls := fakeFrontend(t, p.serverTLS)
	keyFile := filepath.Join(t.TempDir(), "api-key")
	require.NoError(t, os.WriteFile(keyFile, []byte("tmprl-api-key-123"), 0o600))
	// TEMPORAL_API_KEY_FILE is read by env's ",file" option: the field holds the contents.
	content, err := os.ReadFile(keyFile)
	require.NoError(t, err)
	cfg := wiring.TemporalConfig{Address: addr, Namespace: "prod.a1b2c", APIKeyFile: provider.Secret(content),
		TLSCACertPath: p.caPath, TLSServerName: "temporal.test"}
	opts, err := wiring.ClientOptions(cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.NotNil(t, opts.Credentials)
	require.NotNil(t, opts.ConnectionOptions.TLS, "an API key turns TLS on")
	assert.Empty(t, opts.ConnectionOptions.TLS.Certificates)

	dialOnce(t, opts)
	got := calls()
	require.NotEmpty(t, got)
	assert.Equal(t, []string{"Bearer tmprl-api-key-123"}, got[0].authorization)
	assert.Empty(t, got[0].clientCN)

	_, err = wiring.ClientOptions(wiring.TemporalConfig{Address: addr, TLSCertPath: filepath.Join(p.dir, "missing.pem"),
		TLSKeyPath: p.cliKey}, slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "TEMPORAL_TLS_CLIENT_CERT_PATH")
	_, err = wiring.ClientOptions(wiring.TemporalConfig{Address: addr, TLSCACertPath: p.cliKey}, slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "no PEM certificate")
}
