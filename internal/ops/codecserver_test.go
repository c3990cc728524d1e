package ops_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/ops"
)

const uiOrigin = "https://temporal-ui.example.com"

// codecEndpoint serves cs (with a fresh codec) on its own loopback listener.
func codecEndpoint(t *testing.T, cs ops.CodecServer) (*ops.Codec, string) {
	t.Helper()
	c := newCodec(t)
	cs.Codec = c
	srv, err := ops.ListenCodec("127.0.0.1:0", cs.Handler(), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv.Shutdown(testContext(t))) })
	return c, "http://" + srv.Addr()
}

// call sends one request; headers with an empty value are left out.
func call(t *testing.T, method, url string, headers map[string]string, payloads []*commonpb.Payload) (*http.Response, []byte) {
	t.Helper()
	var body io.Reader
	if payloads != nil {
		raw, err := protojson.Marshal(&commonpb.Payloads{Payloads: payloads})
		require.NoError(t, err)
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Namespace", "default")
	for k, v := range headers {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, out
}

func post(t *testing.T, url, auth string, payloads []*commonpb.Payload) (int, []byte) {
	t.Helper()
	resp, body := call(t, http.MethodPost, url, map[string]string{"Authorization": auth}, payloads)
	return resp.StatusCode, body
}

// decoded reads a /codec/decode answer as one backup.Result.
func decoded(t *testing.T, body []byte) backup.Result {
	t.Helper()
	var ps commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(body, &ps), string(body))
	require.Len(t, ps.Payloads, 1)
	assert.Equal(t, "json/plain", string(ps.Payloads[0].Metadata["encoding"]))
	var got backup.Result
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(ps.Payloads[0], &got))
	return got
}

var secretResult = backup.Result{Provider: "alirds", Resource: "rm-orders", OperationID: "job-42"}

func TestCodecEndpointDecodesWhatTheWorkerEncoded(t *testing.T) {
	codec, base := codecEndpoint(t, ops.CodecServer{})
	p, err := codec.DataConverter().ToPayload(secretResult)
	require.NoError(t, err)

	code, body := post(t, base+"/codec/decode", "", []*commonpb.Payload{p})
	require.Equal(t, http.StatusOK, code, string(body))
	assert.Equal(t, secretResult, decoded(t, body))

	// The SDK's remote data converter (what CLI tooling uses) round-trips through the endpoint.
	remote := converter.NewRemoteDataConverter(converter.GetDefaultDataConverter(), converter.RemoteDataConverterOptions{Endpoint: base + "/codec"})
	rp, err := remote.ToPayload(secretResult)
	require.NoError(t, err)
	assert.Equal(t, ops.EncodingEncrypted, string(rp.Metadata["encoding"]), "/codec/encode encrypts")
	var viaWorker backup.Result
	require.NoError(t, codec.DataConverter().FromPayload(rp, &viaWorker), "the worker reads what the endpoint encoded")
	assert.Equal(t, secretResult, viaWorker)

	resp, err := http.Get(base + "/codec/decode")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	resp, err = http.Get(base + "/metrics")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "the codec listener serves the codec only")
}

func TestCodecEndpointStaticToken(t *testing.T) {
	codec, base := codecEndpoint(t, ops.CodecServer{Token: "let-me-in"})
	p, err := codec.DataConverter().ToPayload(secretResult)
	require.NoError(t, err)
	for _, auth := range []string{"", "Bearer wrong", "let-me-in", "Basic let-me-in", "Bearer ", "Bearer let-me-in-too"} {
		resp, body := call(t, http.MethodPost, base+"/codec/decode", map[string]string{"Authorization": auth}, []*commonpb.Payload{p})
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "auth %q", auth)
		assert.Contains(t, resp.Header.Get("WWW-Authenticate"), "Bearer")
		assert.NotContains(t, string(body), "rm-orders")
	}
	for _, auth := range []string{"Bearer let-me-in", "bearer let-me-in"} {
		code, body := post(t, base+"/codec/decode", auth, []*commonpb.Payload{p})
		require.Equal(t, http.StatusOK, code, auth)
		assert.Equal(t, secretResult, decoded(t, body))
	}
}

// issuer is an OpenID provider on loopback: a discovery document and its JWKS.
type issuer struct {
	url string
	key *rsa.PrivateKey
}

const issuerKeyID = "test-key-1"

func newIssuer(t *testing.T) *issuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	iss := &issuer{key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": iss.url, "jwks_uri": iss.url + "/keys",
			"authorization_endpoint": iss.url + "/authorize", "token_endpoint": iss.url + "/token",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: &key.PublicKey, KeyID: issuerKeyID, Algorithm: string(jose.RS256), Use: "sig"},
		}})
	})
	srv := httptest.NewServer(mux) // 127.0.0.1
	t.Cleanup(srv.Close)
	iss.url = srv.URL
	return iss
}

// token signs claims with key under the issuer's key ID.
func token(t *testing.T, key *rsa.PrivateKey, claims jwt.Claims) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", issuerKeyID))
	require.NoError(t, err)
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	require.NoError(t, err)
	return raw
}

func TestCodecEndpointOIDCAccessToken(t *testing.T) {
	iss := newIssuer(t)
	const audience = "temporal-ui"
	codec, base := codecEndpoint(t, ops.CodecServer{Token: "static-token", OIDC: &ops.OIDC{Issuer: iss.url, Audience: audience}})
	p, err := codec.DataConverter().ToPayload(secretResult)
	require.NoError(t, err)

	now := time.Now()
	valid := jwt.Claims{Issuer: iss.url, Subject: "alice", Audience: jwt.Audience{audience},
		IssuedAt: jwt.NewNumericDate(now.Add(-time.Minute)), Expiry: jwt.NewNumericDate(now.Add(time.Hour))}
	expired, wrongAudience, wrongIssuer := valid, valid, valid
	expired.IssuedAt, expired.Expiry = jwt.NewNumericDate(now.Add(-2*time.Hour)), jwt.NewNumericDate(now.Add(-time.Hour))
	wrongAudience.Audience = jwt.Audience{"some-other-app"}
	wrongIssuer.Issuer = "https://issuer.example.com"
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)

	for name, c := range map[string]struct {
		auth string
		want int
	}{
		"valid":                  {"Bearer " + token(t, iss.key, valid), http.StatusOK},
		"static token":           {"Bearer static-token", http.StatusOK},
		"expired":                {"Bearer " + token(t, iss.key, expired), http.StatusUnauthorized},
		"wrong audience":         {"Bearer " + token(t, iss.key, wrongAudience), http.StatusUnauthorized},
		"wrong issuer":           {"Bearer " + token(t, iss.key, wrongIssuer), http.StatusUnauthorized},
		"signed by another key":  {"Bearer " + token(t, otherKey, valid), http.StatusUnauthorized},
		"no token":               {"", http.StatusUnauthorized},
		"not a JWT":              {"Bearer not.a.jwt", http.StatusUnauthorized},
		"token without Bearer":   {token(t, iss.key, valid), http.StatusUnauthorized},
		"unsigned (alg none)":    {"Bearer " + unsigned(t, valid), http.StatusUnauthorized},
		"static token, wrong":    {"Bearer static-token-x", http.StatusUnauthorized},
		"valid, scheme in lower": {"bearer " + token(t, iss.key, valid), http.StatusOK},
	} {
		t.Run(name, func(t *testing.T) {
			code, body := post(t, base+"/codec/decode", c.auth, []*commonpb.Payload{p})
			require.Equal(t, c.want, code, string(body))
			if c.want == http.StatusOK {
				assert.Equal(t, secretResult, decoded(t, body))
			} else {
				assert.NotContains(t, string(body), "rm-orders")
			}
		})
	}
}

// unsigned is a JWT with "alg": "none", which must never be accepted.
func unsigned(t *testing.T, claims jwt.Claims) string {
	t.Helper()
	enc := func(v any) string {
		raw, err := json.Marshal(v)
		require.NoError(t, err)
		return strings.TrimRight(base64URL(raw), "=")
	}
	return enc(map[string]string{"alg": "none", "typ": "JWT", "kid": issuerKeyID}) + "." + enc(claims) + "."
}

func TestCodecEndpointIssuerDown(t *testing.T) {
	// A port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	down := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	codec, base := codecEndpoint(t, ops.CodecServer{Token: "static-token", OIDC: &ops.OIDC{Issuer: down, Audience: "temporal-ui"}})
	p, err := codec.DataConverter().ToPayload(secretResult)
	require.NoError(t, err)

	code, _ := post(t, base+"/codec/decode", "Bearer some.jwt.value", []*commonpb.Payload{p})
	assert.Equal(t, http.StatusServiceUnavailable, code, "no token can be checked while the issuer is unreachable")
	code, body := post(t, base+"/codec/decode", "Bearer static-token", []*commonpb.Payload{p})
	require.Equal(t, http.StatusOK, code, "the static token does not depend on the issuer")
	assert.Equal(t, secretResult, decoded(t, body))
}

func TestCodecEndpointCORS(t *testing.T) {
	_, base := codecEndpoint(t, ops.CodecServer{Token: "tok", Origins: []string{uiOrigin}})
	preflight := func(origin string) *http.Response {
		resp, _ := call(t, http.MethodOptions, base+"/codec/decode", map[string]string{
			"Origin": origin, "Access-Control-Request-Method": "POST",
			"Access-Control-Request-Headers": "authorization,authorization-extras,content-type,x-namespace",
		}, nil)
		return resp
	}
	resp := preflight(uiOrigin)
	assert.Equal(t, http.StatusNoContent, resp.StatusCode, "a preflight carries no token and is answered")
	assert.Equal(t, uiOrigin, resp.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "true", resp.Header.Get("Access-Control-Allow-Credentials"))
	assert.Contains(t, resp.Header.Get("Access-Control-Allow-Methods"), "POST")
	allowed := strings.Split(resp.Header.Get("Access-Control-Allow-Headers"), ", ")
	assert.Subset(t, allowed, []string{"Authorization", "Authorization-Extras", "Content-Type", "X-Namespace"},
		"every header the Web UI sends")
	assert.Contains(t, resp.Header.Values("Vary"), "Origin")

	for _, origin := range []string{"https://evil.example.com", "null", uiOrigin + ".evil.example.com", "http://temporal-ui.example.com"} {
		resp = preflight(origin)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, origin)
		assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"), "%s gets no CORS grant", origin)
		assert.Empty(t, resp.Header.Get("Access-Control-Allow-Credentials"), origin)
		assert.Contains(t, resp.Header.Values("Vary"), "Origin", origin)
	}

	// Actual requests: a listed origin gets the grant, an unlisted one is
	// refused even with the token, and Vary: Origin is on every answer.
	resp, _ = call(t, http.MethodPost, base+"/codec/decode", map[string]string{"Origin": uiOrigin, "Authorization": "Bearer tok"}, []*commonpb.Payload{})
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, uiOrigin, resp.Header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, resp.Header.Values("Vary"), "Origin")
	resp, _ = call(t, http.MethodPost, base+"/codec/decode", map[string]string{"Origin": "https://evil.example.com", "Authorization": "Bearer tok"}, []*commonpb.Payload{})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
	for _, auth := range []string{"Bearer tok", ""} {
		resp, _ = call(t, http.MethodPost, base+"/codec/decode", map[string]string{"Authorization": auth}, []*commonpb.Payload{})
		assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"), "no Origin, no grant")
		assert.Contains(t, resp.Header.Values("Vary"), "Origin", "auth %q", auth)
	}
}
