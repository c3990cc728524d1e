package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/deploy/dev/devserver"
	"github.com/backupflow/backupflow/internal/clouds"
	"github.com/backupflow/backupflow/internal/ops"
	"github.com/backupflow/backupflow/simulator/simkit"
	"github.com/backupflow/backupflow/wiring"
)

// devWorkerEnv is what the dev worker sets on top of the production defaults.
// A variable of the same name in the process environment wins.
var devWorkerEnv = map[string]string{
	// Look at a running backup at least every 2 s, so progress shows while
	// demo backups of seconds run (production: 30 s or 5 % of the run time).
	"BACKUPFLOW_POLL_DELAY_FLOOR": "2s",
	"BACKUPFLOW_STOP_TIMEOUT":     "5s",
	"BACKUPFLOW_LOG_LEVEL":        "warn",
	"BACKUPFLOW_LOG_FORMAT":       "text",
}

// stack is everything the command runs.
type stack struct {
	opts   options
	out    *printer
	server *devserver.Server
	clouds clouds.Set
	client client.Client
	// dataConverter is the client's (encrypting when BACKUPFLOW_CODEC_KEY_FILE is set).
	dataConverter converter.DataConverter
	worker        *wiring.App
	// codec serves the codec endpoint for the Web UI when a key is set.
	codec    *ops.Server
	codecURL string
	// workerEnv is the environment a worker in another terminal needs.
	workerEnv map[string]string
}

// startStack starts the server (checking its ports first), the simulators
// and the worker. On error, whatever started is stopped again.
func startStack(o options, out *printer) (*stack, error) {
	st := &stack{opts: o, out: out}
	if err := st.startCodec(); err != nil {
		return nil, err
	}
	srvOpts := devserver.Options{
		Ephemeral:     o.ephemeral,
		Port:          o.port,
		HTTPPort:      o.httpPort,
		UIPort:        o.uiPort,
		NoUI:          o.noUI,
		CodecEndpoint: st.codecURL,
		LogLevel:      o.logLevel,
	}
	switch {
	case o.db != "":
		srvOpts.DatabaseURL = o.db
	case !o.ephemeral:
		srvOpts.DataDir = o.dataDir
	}
	srv, err := devserver.Start(srvOpts)
	if err != nil {
		_ = st.stop()
		return nil, explainStartError(err)
	}
	st.server = srv
	if o.serverOnly {
		return st, nil
	}

	st.clouds, err = clouds.Start(simkit.Options{Duration: o.backupDuration})
	if err != nil {
		_ = st.stop()
		return nil, err
	}
	if err := st.startWorker(); err != nil {
		_ = st.stop()
		return nil, err
	}
	return st, nil
}

// devEnvironment is the dev settings and the process's BACKUPFLOW_* variables.
func devEnvironment() map[string]string {
	environment := maps.Clone(devWorkerEnv)
	for _, kv := range os.Environ() {
		if k, v, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "BACKUPFLOW_") {
			environment[k] = v
		}
	}
	return environment
}

// startCodec serves the codec endpoint, with BACKUPFLOW_CODEC_KEY_FILE set,
// so that the Web UI shows decrypted payloads and failures: on loopback
// (BACKUPFLOW_CODEC_ADDR, else a free port), where it needs no login, and
// open to the UI's origin.
func (st *stack) startCodec() error {
	cfg, err := wiring.ParseConfig(devEnvironment())
	if err != nil || cfg.Ops.CodecKeyFile == "" {
		return nil // a bad variable is reported with the worker's config
	}
	o := cfg.Ops
	if o.CodecAddr == "" {
		o.CodecAddr = devserver.Host + ":0"
	}
	if len(o.CodecCORSOrigins) == 0 && !st.opts.noUI && st.opts.uiPort != 0 {
		// The page's origin is whichever host name the browser was given.
		o.CodecCORSOrigins = []string{fmt.Sprintf("http://%s:%d", devserver.Host, st.opts.uiPort), fmt.Sprintf("http://localhost:%d", st.opts.uiPort)}
	}
	if err := o.ValidateCodec(); err != nil {
		return fmt.Errorf("codec endpoint: %w", err)
	}
	codec, err := wiring.NewCodec(wiring.Config{Ops: o})
	if err != nil {
		return err
	}
	st.codec, err = wiring.ServeCodec(o, codec, o.CodecAddr, wiring.NewLogger(cfg))
	if err != nil {
		return err
	}
	st.codecURL = "http://" + st.codec.Addr() + "/codec"
	return nil
}

// workerConfig is the production config (env/v11 defaults) with the
// simulators' endpoints and test credentials, the dev settings, and the
// BACKUPFLOW_* variables of the process environment that the simulators do
// not set.
func (st *stack) workerConfig() (wiring.Config, map[string]string, error) {
	sims := st.clouds.Env()
	environment := devEnvironment()
	maps.Copy(environment, sims) // the simulators' settings win
	environment["TEMPORAL_ADDRESS"] = st.server.FrontendAddress()
	environment["TEMPORAL_NAMESPACE"] = st.server.Namespace()
	cfg, err := wiring.ParseConfig(environment)
	if err != nil {
		return cfg, nil, fmt.Errorf("worker config: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, nil, fmt.Errorf("worker config: %w", err)
	}
	// What `go run ./worker` in another terminal needs: the simulators and
	// the server. Logging settings are left to that terminal.
	shared := maps.Clone(sims)
	shared["TEMPORAL_ADDRESS"] = environment["TEMPORAL_ADDRESS"]
	shared["TEMPORAL_NAMESPACE"] = environment["TEMPORAL_NAMESPACE"]
	shared["BACKUPFLOW_POLL_DELAY_FLOOR"] = environment["BACKUPFLOW_POLL_DELAY_FLOOR"]
	return cfg, shared, nil
}

// startWorker assembles the worker with the production injector on a client
// of the dev server, and starts it polling.
func (st *stack) startWorker() error {
	cfg, shared, err := st.workerConfig()
	if err != nil {
		return err
	}
	st.workerEnv = shared
	logger := wiring.NewLogger(cfg)
	copts, err := wiring.ClientOptions(cfg.Temporal, logger)
	if err != nil {
		return err
	}
	copts.Logger = sdklog.NewStructuredLogger(logger.With(slog.String("component", "sdk")))
	// With BACKUPFLOW_CODEC_KEY_FILE set, the worker and the demo's client
	// must encrypt like every other client of that key.
	if copts.DataConverter, copts.FailureConverter, err = wiring.Converters(cfg.Ops.CodecKeyFile, cfg.Ops.CodecOldKeyFiles...); err != nil {
		return err
	}
	st.dataConverter = copts.DataConverter
	st.client, err = client.Dial(copts)
	if err != nil {
		return fmt.Errorf("connect to the dev server at %s: %w", cfg.Temporal.Address, err)
	}
	st.worker, err = wiring.InitializeWorkerWithClient(cfg, st.client, nil)
	if err != nil {
		return err
	}
	if err := st.worker.Worker.Start(); err != nil {
		st.worker = nil
		return fmt.Errorf("start worker: %w", err)
	}
	return nil
}

// stop stops the worker, the UI, the server and the simulators, in that
// order, each within its own bound.
func (st *stack) stop() error {
	var errs []error
	if st.worker != nil {
		if !within(10*time.Second, st.worker.Worker.Stop) {
			errs = append(errs, errors.New("worker did not stop within 10s"))
		}
	}
	if st.client != nil {
		st.client.Close()
	}
	if st.codec != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := st.codec.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("codec endpoint: %w", err))
		}
		cancel()
	}
	if st.server != nil {
		if err := st.server.Stop(); err != nil { // UI, then Temporal; bounded
			errs = append(errs, err)
		}
	}
	if st.clouds != nil {
		if !within(5*time.Second, st.clouds.Close) {
			errs = append(errs, errors.New("simulators did not stop within 5s"))
		}
	}
	return errors.Join(errs...)
}

// parts names what stop stops, in order.
func (st *stack) parts() string {
	var p []string
	if st.worker != nil {
		p = append(p, "worker")
	}
	if st.codec != nil {
		p = append(p, "codec endpoint")
	}
	if st.server.UIAddress() != "" {
		p = append(p, "Web UI")
	}
	p = append(p, "Temporal server")
	if len(st.clouds) > 0 {
		p = append(p, "simulators")
	}
	return strings.Join(p, ", ")
}

// within runs f and reports whether it returned within d.
func within(d time.Duration, f func()) bool {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// printBanner says what runs where, and how to reach it from other terminals.
func (st *stack) printBanner() {
	s := st.server
	var b strings.Builder
	fmt.Fprintf(&b, "backupflow dev stack\n\n")
	if u := s.UIURL(); u != "" {
		fmt.Fprintf(&b, "  Temporal Web UI    %s\n", u)
	}
	if st.codecURL != "" {
		fmt.Fprintf(&b, "  codec endpoint     %s  (decrypts payloads for the Web UI; loopback, no login)\n", st.codecURL)
	}
	fmt.Fprintf(&b, "  Temporal frontend  %s  (gRPC; HTTP API on %s)\n", s.FrontendAddress(), s.HTTPAddress())
	if db := s.PostgresDatabase(); db != "" {
		fmt.Fprintf(&b, "  Temporal state     %s and its _visibility database  (PostgreSQL, --db)\n", db)
	} else if p := s.DatabasePath(); p != "" {
		fmt.Fprintf(&b, "  Temporal state     %s  (kept across restarts; --ephemeral for in-memory)\n", p)
	} else {
		fmt.Fprintf(&b, "  Temporal state     in memory (--ephemeral): gone when this process ends\n")
	}
	fmt.Fprintf(&b, "  namespace          %s  (search attributes %s)\n", s.Namespace(), strings.Join(backup.SearchAttributeNames, ", "))
	if st.worker != nil {
		fmt.Fprintf(&b, "  worker             task queue %q, providers %s\n", st.worker.Config.Worker.TaskQueue, strings.Join(st.worker.Config.Providers, ", "))
	}
	for _, c := range st.clouds {
		fmt.Fprintf(&b, "  %-18s %s  (simulated %s backups)\n", c.Provider+" simulator", c.Simulator.Endpoint(), st.opts.backupDuration)
	}
	fmt.Fprintf(&b, "\nIn another terminal (Temporal CLI, go run ./starter, or a second go run ./worker):\n")
	fmt.Fprintf(&b, "  export TEMPORAL_ADDRESS=%s TEMPORAL_NAMESPACE=%s\n", s.FrontendAddress(), s.Namespace())
	if len(st.workerEnv) > 0 {
		fmt.Fprintf(&b, "  # simulator endpoints and the simulators' TEST-ONLY credentials (not secrets; valid for this run):\n")
	}
	for _, k := range slices.Sorted(maps.Keys(st.workerEnv)) {
		if k == "TEMPORAL_ADDRESS" || k == "TEMPORAL_NAMESPACE" {
			continue
		}
		fmt.Fprintf(&b, "  export %s=%s\n", k, shellQuote(st.workerEnv[k]))
	}
	fmt.Fprintf(&b, "\nCtrl-C stops everything.\n")
	st.out.printf("%s", b.String())
}

// shellQuote quotes v for a POSIX shell when it needs it.
func shellQuote(v string) string {
	if v != "" && strings.IndexFunc(v, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:,=@%+", r))
	}) < 0 {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}

// printer serialises output lines from concurrent goroutines.
type printer struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *printer) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format, args...)
}
