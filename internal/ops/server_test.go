package ops_test

import (
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
	base := serve(t, ops.Handler(m, h))

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

func TestOpsPortServesNoCodec(t *testing.T) {
	m, err := ops.NewMetrics()
	require.NoError(t, err)
	base := serve(t, ops.Handler(m, ops.NewHealth(nil)))
	for _, path := range []string{"/codec/decode", "/codec/encode"} {
		resp, err := http.Post(base+path, "application/json", strings.NewReader(`{"payloads":[]}`))
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, "the codec endpoint has its own listener")
	}
}
