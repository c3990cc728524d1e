package ops_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/ops"
)

// serve runs the ops server on a free loopback port until the test ends.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	srv, err := ops.Listen("127.0.0.1:0", h, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, srv.Shutdown(ctx))
	})
	return "http://" + srv.Addr()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func TestHealthAndReadiness(t *testing.T) {
	m, err := ops.NewMetrics()
	require.NoError(t, err)
	var unreachable atomic.Bool
	unreachable.Store(true)
	var probes atomic.Int32
	h := ops.NewHealth(nil)
	h.CacheFor = 0 // every request probes, so the test sees each change
	h.Probe = func(context.Context) error {
		probes.Add(1)
		if unreachable.Load() {
			return errors.New("connection refused")
		}
		return nil
	}
	base := serve(t, ops.Handler(m, h, nil))

	code, body := get(t, base+"/healthz")
	assert.Equal(t, http.StatusOK, code, "alive as soon as the process serves HTTP")
	assert.Equal(t, "ok\n", body)

	code, body = get(t, base+"/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, "not started")
	assert.Zero(t, probes.Load(), "no Temporal call before the worker started")

	h.Started()
	code, body = get(t, base+"/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code, "started, but Temporal is unreachable")
	assert.Contains(t, body, "connection refused")

	unreachable.Store(false)
	code, body = get(t, base+"/readyz")
	assert.Equal(t, http.StatusOK, code, body)

	h.Stopping()
	code, body = get(t, base+"/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, "shutting down")
	code, _ = get(t, base+"/healthz")
	assert.Equal(t, http.StatusOK, code, "still alive while draining")
}

func TestReadinessFatalErrorAndProbeCache(t *testing.T) {
	var probes atomic.Int32
	h := ops.NewHealth(nil)
	h.CacheFor = time.Hour
	h.Probe = func(context.Context) error { probes.Add(1); return nil }
	h.Started()
	ctx := context.Background()
	for range 5 {
		require.NoError(t, h.Ready(ctx))
	}
	assert.Equal(t, int32(1), probes.Load(), "answers are cached for CacheFor")

	select {
	case <-h.Fatal():
		t.Fatal("no fatal error yet")
	default:
	}
	h.WorkerFailed(errors.New("namespace not found"))
	<-h.Fatal()
	err := h.Ready(ctx)
	require.ErrorContains(t, err, "namespace not found")

	// The default probe without a client reports it.
	require.Error(t, ops.Ping(nil)(ctx))
}

func codecServer(t *testing.T, token string, origins ...string) (*ops.Codec, string) {
	t.Helper()
	m, err := ops.NewMetrics()
	require.NoError(t, err)
	c := newCodec(t)
	return c, serve(t, ops.Handler(m, ops.NewHealth(nil), &ops.CodecServer{Codec: c, Token: token, Origins: origins}))
}

func post(t *testing.T, url, auth string, payloads []*commonpb.Payload) (int, []byte) {
	t.Helper()
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: payloads})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Namespace", "default")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, out
}

func TestCodecEndpointDecodesWhatTheWorkerEncoded(t *testing.T) {
	codec, base := codecServer(t, "")
	want := backup.Result{Provider: "alirds", Resource: "rm-orders", OperationID: "job-42"}
	p, err := codec.DataConverter().ToPayload(want)
	require.NoError(t, err)

	code, body := post(t, base+"/codec/decode", "", []*commonpb.Payload{p})
	require.Equal(t, http.StatusOK, code, string(body))
	var decoded commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(body, &decoded))
	require.Len(t, decoded.Payloads, 1)
	assert.Equal(t, "json/plain", string(decoded.Payloads[0].Metadata["encoding"]))
	var got backup.Result
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(decoded.Payloads[0], &got))
	assert.Equal(t, want, got)

	// The SDK's remote data converter (what tctl/CLI tooling uses) round-trips through the endpoint.
	remote := converter.NewRemoteDataConverter(converter.GetDefaultDataConverter(), converter.RemoteDataConverterOptions{Endpoint: base + "/codec"})
	rp, err := remote.ToPayload(want)
	require.NoError(t, err)
	assert.Equal(t, ops.EncodingEncrypted, string(rp.Metadata["encoding"]), "/codec/encode encrypts")
	var viaWorker backup.Result
	require.NoError(t, codec.DataConverter().FromPayload(rp, &viaWorker), "the worker reads what the endpoint encoded")
	assert.Equal(t, want, viaWorker)
}

func TestCodecEndpointRequiresTheToken(t *testing.T) {
	codec, base := codecServer(t, "let-me-in")
	p, err := codec.DataConverter().ToPayload("secret value")
	require.NoError(t, err)
	for _, auth := range []string{"", "Bearer wrong", "let-me-in", "Basic let-me-in"} {
		code, body := post(t, base+"/codec/decode", auth, []*commonpb.Payload{p})
		assert.Equal(t, http.StatusUnauthorized, code, "auth %q", auth)
		assert.NotContains(t, string(body), "secret value")
	}
	code, body := post(t, base+"/codec/decode", "Bearer let-me-in", []*commonpb.Payload{p})
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, string(body), "payloads")

	resp, err := http.Get(base + "/codec/decode")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func TestCodecEndpointCORS(t *testing.T) {
	_, base := codecServer(t, "tok", "https://temporal-ui.example.com")
	preflight := func(origin string) *http.Response {
		req, err := http.NewRequest(http.MethodOptions, base+"/codec/decode", nil)
		require.NoError(t, err)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,x-namespace")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	resp := preflight("https://temporal-ui.example.com")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "a preflight carries no token and is answered")
	assert.Equal(t, "https://temporal-ui.example.com", resp.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "true", resp.Header.Get("Access-Control-Allow-Credentials"))
	for _, h := range []string{"Authorization", "Content-Type", "X-Namespace"} {
		assert.True(t, strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), h), h)
	}
	resp = preflight("https://evil.example.com")
	assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"), "other origins get no CORS grant")
}

func TestNoCodecNoEndpoint(t *testing.T) {
	m, err := ops.NewMetrics()
	require.NoError(t, err)
	base := serve(t, ops.Handler(m, ops.NewHealth(nil), nil))
	code, _ := post(t, base+"/codec/decode", "", nil)
	assert.Equal(t, http.StatusNotFound, code)
}
