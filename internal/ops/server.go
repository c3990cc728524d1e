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

// Handler serves /healthz, /readyz and /metrics. The codec endpoint has its
// own listener (CodecServer): scrapers and probes must not reach it.
func Handler(m *Metrics, h *Health) http.Handler {
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
	return mux
}

// CodecServer is the codec endpoint (/codec/encode and /codec/decode,
// Temporal's remote codec protocol), which lets the Temporal Web UI and CLI
// show encrypted payloads and failures.
type CodecServer struct {
	Codec converter.PayloadCodec
	// Token, when set, is accepted as "Authorization: Bearer <token>".
	Token string
	// OIDC, when set, accepts the Web UI user's access token.
	OIDC *OIDC
	// Origins may call the endpoint from a browser (CORS), e.g. the Web UI's
	// https://temporal-ui.example.com. Exact matches only; there is no "*".
	Origins []string
	// Logger receives refused requests (never their tokens); nil discards.
	Logger *slog.Logger
}

// corsAllowHeaders are the headers the Web UI sends (Authorization and
// Authorization-Extras only with its passAccessToken setting).
const corsAllowHeaders = "Authorization, Authorization-Extras, Content-Type, X-Namespace"

// Handler serves the codec endpoint under /codec/. Without Token and OIDC it
// asks for no authentication: the configuration allows that only on loopback.
func (c *CodecServer) Handler() http.Handler {
	inner := http.StripPrefix("/codec", converter.NewPayloadCodecHTTPHandler(c.Codec))
	logger := c.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.Handle("/codec/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Every answer depends on Origin, cached or not.
		w.Header().Add("Vary", "Origin")
		if origin := r.Header.Get("Origin"); origin != "" {
			if !slices.Contains(c.Origins, origin) {
				logger.Info("codec request refused: origin not allowed", "origin", origin)
				http.Error(w, "origin not allowed", http.StatusForbidden)
				return
			}
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
		}
		if r.Method == http.MethodOptions { // CORS preflight: no credentials are sent with it
			w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			w.Header().Set("Access-Control-Allow-Headers", corsAllowHeaders)
			w.Header().Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST, OPTIONS")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if status, why := c.authenticate(r); status != http.StatusOK {
			logger.Info("codec request refused", "status", status, "reason", why, "remote", r.RemoteAddr)
			if status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="backupflow codec"`)
			}
			http.Error(w, http.StatusText(status), status)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 8<<20)
		inner.ServeHTTP(w, r)
	}))
	return mux
}

// authenticate returns 200, or the status to refuse with and why (for the log).
func (c *CodecServer) authenticate(r *http.Request) (int, string) {
	if c.Token == "" && c.OIDC == nil {
		return http.StatusOK, ""
	}
	token, ok := bearer(r.Header.Get("Authorization"))
	if !ok {
		return http.StatusUnauthorized, "no bearer token"
	}
	if c.Token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(c.Token)) == 1 {
		return http.StatusOK, ""
	}
	if c.OIDC == nil {
		return http.StatusUnauthorized, "wrong token"
	}
	err := c.OIDC.Verify(r.Context(), token)
	var unavailable *IssuerUnavailableError
	switch {
	case err == nil:
		return http.StatusOK, ""
	case errors.As(err, &unavailable):
		return http.StatusServiceUnavailable, err.Error()
	default:
		return http.StatusUnauthorized, err.Error()
	}
}

// bearer returns the token of an "Authorization: Bearer <token>" header (the
// scheme is case-insensitive).
func bearer(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	token = strings.TrimSpace(token)
	return token, ok && strings.EqualFold(scheme, "Bearer") && token != ""
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

// Server is an HTTP server of the worker (ops or codec).
type Server struct {
	srv *http.Server
	ln  net.Listener
	err chan error
}

// Listen binds addr (host:port; port 0 picks a free port) and serves the ops handler h.
func Listen(addr string, h http.Handler, logger *slog.Logger) (*Server, error) {
	return listen("ops server (BACKUPFLOW_OPS_ADDR", addr, h, logger)
}

// ListenCodec binds addr and serves the codec endpoint h.
func ListenCodec(addr string, h http.Handler, logger *slog.Logger) (*Server, error) {
	return listen("codec server (BACKUPFLOW_CODEC_ADDR", addr, h, logger)
}

func listen(what, addr string, h http.Handler, logger *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s=%s): %w", what, addr, err)
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
