package simkit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"google.golang.org/grpc"
)

// Listen listens on addr, which must be a loopback address ("127.0.0.1:0",
// a free port, when empty): a simulator never serves beyond the machine.
func Listen(addr string) (net.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("simulator address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("simulator address %q: only loopback addresses are allowed", addr)
	}
	return net.Listen("tcp", addr)
}

// Server is a simulator's running loopback server.
type Server struct {
	ln       net.Listener
	scheme   string
	stop     func()
	shutdown func(context.Context) error
}

// ServeHTTP serves h on addr (see Listen) until Close.
func ServeHTTP(addr string, h http.Handler) (*Server, error) {
	ln, err := Listen(addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // the listener was closed under us; nothing to report to
		}
	}()
	return &Server{ln: ln, scheme: "http://", stop: func() { _ = srv.Close() }, shutdown: srv.Shutdown}, nil
}

// ServeGRPC serves g on addr (see Listen) until Close.
func ServeGRPC(addr string, g *grpc.Server) (*Server, error) {
	ln, err := Listen(addr)
	if err != nil {
		return nil, err
	}
	go func() { _ = g.Serve(ln) }()
	return &Server{ln: ln, stop: g.Stop, shutdown: func(ctx context.Context) error {
		done := make(chan struct{})
		go func() { g.GracefulStop(); close(done) }()
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			g.Stop()
			return ctx.Err()
		}
	}}, nil
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Endpoint is what a client is given: http://host:port for HTTP, host:port
// for gRPC.
func (s *Server) Endpoint() string { return s.scheme + s.Addr() }

// Close stops the server at once.
func (s *Server) Close() { s.stop() }

// Shutdown stops the server gracefully, letting calls in flight finish.
func (s *Server) Shutdown(ctx context.Context) error { return s.shutdown(ctx) }
