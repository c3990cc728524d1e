package ops

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/converter"
)

// CodecServer configures the codec-server endpoint (/codec/encode and
// /codec/decode, Temporal's remote codec protocol), which lets the Temporal
// Web UI and CLI show encrypted payloads.
type CodecServer struct {
	Codec converter.PayloadCodec
	// Token, when set, must be presented as "Authorization: Bearer <token>".
	Token string
	// Origins may call the endpoint from a browser (CORS), e.g. the Web UI's
	// https://temporal-ui.example.com; "*" allows any origin.
	Origins []string
}

// Handler serves /healthz, /readyz, /metrics and, when codec is set, the
// codec endpoints.
func Handler(m *Metrics, h *Health, codec *CodecServer) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := h.Ready(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprintf(w, "not ready: %v\n", err)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry}))
	if codec != nil && codec.Codec != nil {
		mux.Handle("/codec/", codec.handler())
	}
	return mux
}

func (c *CodecServer) handler() http.Handler {
	inner := http.StripPrefix("/codec", converter.NewPayloadCodecHTTPHandler(c.Codec))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && c.allowed(origin) {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
			w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			w.Header().Set("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization")
			w.Header().Add("Vary", "Origin")
		}
		if r.Method == http.MethodOptions { // CORS preflight: no credentials are sent with it
			w.WriteHeader(http.StatusOK)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST, OPTIONS")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if c.Token != "" && !bearerMatches(r.Header.Get("Authorization"), c.Token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="backupflow codec"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 8<<20)
		inner.ServeHTTP(w, r)
	})
}

func (c *CodecServer) allowed(origin string) bool {
	return slices.Contains(c.Origins, "*") || slices.Contains(c.Origins, origin)
}

func bearerMatches(header, token string) bool {
	got, ok := strings.CutPrefix(header, "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) == 1
}

// ReadToken reads a bearer token file (BACKUPFLOW_CODEC_AUTH_TOKEN_FILE).
func ReadToken(path string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("BACKUPFLOW_CODEC_AUTH_TOKEN_FILE: %w", err)
	}
	t := strings.TrimSpace(string(raw))
	if t == "" {
		return "", fmt.Errorf("BACKUPFLOW_CODEC_AUTH_TOKEN_FILE %s is empty", path)
	}
	return t, nil
}

// Server is the ops HTTP server.
type Server struct {
	srv *http.Server
	ln  net.Listener
	err chan error
}

// Listen binds addr (host:port; port 0 picks a free port) and serves h.
func Listen(addr string, h http.Handler, logger *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ops server (BACKUPFLOW_OPS_ADDR=%s): %w", addr, err)
	}
	s := &Server{
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
			WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
			ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)},
		ln:  ln,
		err: make(chan error, 1),
	}
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.err <- err
	}()
	return s, nil
}

// Addr is the bound address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Shutdown stops accepting connections and waits (until ctx ends) for
// requests in progress.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.srv.Shutdown(ctx); err != nil {
		return err
	}
	return <-s.err
}
