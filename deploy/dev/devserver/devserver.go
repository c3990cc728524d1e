// Package devserver runs a single-process Temporal development server: the
// four server services (frontend, history, matching, worker) on loopback,
// SQLite persistence (a file under a data directory, or in memory) or
// PostgreSQL persistence with SQL advanced visibility (DatabaseURL), the
// "default" namespace with backupflow's search attributes, and optionally the
// Temporal Web UI (github.com/temporalio/ui-server), whose assets are embedded
// in that module, so nothing is downloaded.
//
// The dev stack (go run ./deploy/dev) is built on it, and so can tests that
// need to stop and restart a file-backed server while workflows are in
// flight: Stop releases every port and the data directory, and Start on the
// same DataDir and Port resumes from where the server stopped. (Temporal's
// SQLite plugin keeps its database connection for the life of the process; a
// restart in the same process reuses it.)
//
// One limit comes from the UI module: its Start exits the process when it
// cannot listen. Start checks every port first, so that takes a port grabbed
// in the instant between the check and the UI's listen.
//
// The server configuration is adapted from the temporalite helper that ships
// inside go.temporal.io/server (temporaltest/internal/lite_server.go,
// Copyright (c) Temporal Technologies Inc., MIT License), which cannot be
// imported because it is internal. Differences: static service hosts instead
// of ringpop membership (no membership ports), every port bound to 127.0.0.1,
// no metrics or pprof listener, and port checks with errors that say which
// option to change.
package devserver

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiopts "github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"

	"github.com/backupflow/backupflow/internal/searchattr"
)

// Host is the only address the dev server listens on.
const Host = "127.0.0.1"

// DatabaseFile is the SQLite file's name inside Options.DataDir.
const DatabaseFile = "temporal.db"

// Defaults, the same as the Temporal CLI's dev server.
const (
	DefaultPort      = 7233
	DefaultUIPort    = 8233
	DefaultNamespace = "default"
)

// Options configure a dev server. Set exactly one of DataDir, Ephemeral and
// DatabaseURL; everything else has a default.
type Options struct {
	// DataDir holds the SQLite database (DataDir/temporal.db). It is created
	// when missing; an existing database is reused, so state survives a restart.
	DataDir string
	// Ephemeral keeps everything in an in-memory SQLite database instead.
	Ephemeral bool
	// DatabaseURL keeps everything in PostgreSQL instead:
	// postgres://user:password@host:port/database. Temporal's state goes in
	// that database and its visibility (SQL advanced visibility) in
	// database_visibility; both are created when missing (the user then needs
	// the right to create databases) and their schemas set up or updated by
	// the server's own schema tool, so state survives a restart.
	DatabaseURL string

	// Port is the frontend gRPC port (TEMPORAL_ADDRESS). 0 picks a free port.
	Port int
	// HTTPPort is the frontend's HTTP API port (Temporal's REST API, and
	// Nexus). 0 picks a free port.
	HTTPPort int
	// UIPort is the Web UI port. 0 picks a free port; NoUI turns the UI off.
	UIPort int
	NoUI   bool
	// CodecEndpoint is the codec endpoint the Web UI decodes payloads
	// through (its codec.endpoint setting), e.g. http://127.0.0.1:8088/codec.
	CodecEndpoint string
	// ServicePorts are the gRPC ports of the history, matching and worker
	// services, internal to the server. Zero entries pick free ports.
	ServicePorts [3]int

	// Namespace is created at start (default "default"), with backupflow's
	// search attributes (searchattr.Names).
	Namespace string

	// CacheSearchAttributes keeps search-attribute definitions in memory, as
	// a production server does. By default, as in the Temporal CLI's dev
	// server, every use re-reads them from the database (the cluster metadata
	// and the namespace, under one server-wide lock, for every start, upsert
	// and visibility write that carries search attributes), so one added
	// through the operator API is usable at once. With the cache, one added
	// later is usable after the namespace cache's next refresh (2 s);
	// backupflow's own are in the namespace from its creation either way.
	// The benchmark sets it: the default's cost is a test setting's, not
	// a workflow's.
	CacheSearchAttributes bool

	// Logger receives the server's logs. Nil means LogLevel on stderr.
	Logger log.Logger
	// LogLevel is debug, info, warn or error (the default).
	LogLevel string

	// StartTimeout bounds the wait for the namespace and the UI to answer
	// once the server's services have started (default 60s).
	StartTimeout time.Duration
	// StopTimeout bounds Stop (default 15s).
	StopTimeout time.Duration
}

// PortInUseError says that a port the server needs is taken.
type PortInUseError struct {
	// Option is the Options field the port came from: "Port", "HTTPPort" or "UIPort".
	Option string
	Port   int
	Err    error
}

func (e *PortInUseError) Error() string {
	return fmt.Sprintf("%s:%d (%s) is already in use: %v", Host, e.Port, e.Option, e.Err)
}

func (e *PortInUseError) Unwrap() error { return e.Err }

// DataDirInUseError says that another running server holds the data directory.
type DataDirInUseError struct{ Dir string }

func (e *DataDirInUseError) Error() string {
	return fmt.Sprintf("data directory %s is in use by another running dev server", e.Dir)
}

// Server is a running dev server.
type Server struct {
	opts     Options
	dbPath   string
	postgres *PostgresURL
	temporal temporal.Server
	ui       *uiserver.Server
	uiDone   chan struct{}
	quiet    *atomic.Bool
	unlockMu sync.Mutex
	unlock   func()

	stopOnce sync.Once
	stopErr  error
}

// Start checks the ports, prepares the database, starts the Temporal server
// and the UI, and returns once the namespace answers with its search
// attributes registered and the UI serves its health check.
func Start(opts Options) (*Server, error) {
	for attempt := 1; ; attempt++ {
		s, err := start(opts)
		// A port picked free can be taken by another process before the
		// server binds it: pick again. (A port the caller chose was checked.)
		if err == nil || attempt == 3 || !picksPorts(opts) || !strings.Contains(err.Error(), "address already in use") {
			return s, err
		}
	}
}

// picksPorts reports whether Start picks any of the server's ports itself.
func picksPorts(o Options) bool {
	return o.Port == 0 || o.HTTPPort == 0 || (!o.NoUI && o.UIPort == 0) || slices.Contains(o.ServicePorts[:], 0)
}

func start(opts Options) (*Server, error) {
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	if opts.LogLevel == "" {
		opts.LogLevel = "error"
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 60 * time.Second
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = 15 * time.Second
	}
	if n := btoi(opts.Ephemeral) + btoi(opts.DataDir != "") + btoi(opts.DatabaseURL != ""); n != 1 {
		return nil, errors.New("devserver: set exactly one of DataDir, Ephemeral and DatabaseURL")
	}
	switch opts.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return nil, fmt.Errorf("devserver: log level %q: want debug, info, warn or error", opts.LogLevel)
	}
	if err := opts.resolvePorts(); err != nil {
		return nil, err
	}

	s := &Server{opts: opts}
	started := false
	defer func() {
		if !started {
			s.release()
		}
	}()
	var logger log.Logger = opts.Logger
	if logger == nil {
		logger = log.NewZapLogger(log.BuildZapLogger(log.Config{Level: opts.LogLevel, Format: "console"}))
	}
	// A stopping server logs every interrupted call as an error: not news.
	s.quiet = &atomic.Bool{}
	if skipper, ok := logger.(log.SkipLogger); ok {
		logger = skipper.Skip(1) // report the caller, not the wrapper below
	}
	logger = quietable{Logger: logger, quiet: s.quiet}
	persistence, err := s.prepareDatabase(logger)
	if err != nil {
		return nil, err
	}
	cfg := s.serverConfig(persistence)
	authorizer, err := authorization.GetAuthorizerFromConfig(&cfg.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("devserver: authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&cfg.Global.Authorization, logger)
	if err != nil {
		return nil, fmt.Errorf("devserver: claim mapper: %w", err)
	}
	hosts := map[primitives.ServiceName]static.Hosts{
		primitives.FrontendService: static.SingleLocalHost(hostPort(opts.Port)),
		primitives.HistoryService:  static.SingleLocalHost(hostPort(opts.ServicePorts[0])),
		primitives.MatchingService: static.SingleLocalHost(hostPort(opts.ServicePorts[1])),
		primitives.WorkerService:   static.SingleLocalHost(hostPort(opts.ServicePorts[2])),
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(cfg),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dynamicconfig.StaticClient{
			dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): !opts.CacheSearchAttributes,
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("devserver: create Temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		_ = srv.Stop()
		return nil, fmt.Errorf("devserver: start Temporal server: %w", err)
	}
	s.temporal = srv

	ctx, cancel := context.WithTimeout(context.Background(), opts.StartTimeout)
	defer cancel()
	if err := s.waitForNamespace(ctx); err != nil {
		_ = s.Stop()
		return nil, err
	}
	if !opts.NoUI {
		if err := s.startUI(ctx); err != nil {
			_ = s.Stop()
			return nil, err
		}
	}
	started = true
	return s, nil
}

// resolvePorts checks the user-visible ports and picks free ones where asked.
func (o *Options) resolvePorts() error {
	type port struct {
		option string
		p      *int
	}
	ports := []port{{"Port", &o.Port}, {"HTTPPort", &o.HTTPPort}}
	if !o.NoUI {
		ports = append(ports, port{"UIPort", &o.UIPort})
	}
	seen := map[int]string{}
	for _, p := range ports {
		if *p.p == 0 {
			free, err := FreePort()
			if err != nil {
				return err
			}
			*p.p = free
		} else if err := CheckPort(*p.p); err != nil {
			return &PortInUseError{Option: p.option, Port: *p.p, Err: err}
		}
		if other, dup := seen[*p.p]; dup {
			return fmt.Errorf("devserver: %s and %s are both %d", other, p.option, *p.p)
		}
		seen[*p.p] = p.option
	}
	for i := range o.ServicePorts {
		if o.ServicePorts[i] == 0 {
			for range 10 { // a free port that is not one of ours
				free, err := FreePort()
				if err != nil {
					return err
				}
				if _, dup := seen[free]; !dup {
					o.ServicePorts[i] = free
					break
				}
			}
		} else if err := CheckPort(o.ServicePorts[i]); err != nil {
			return &PortInUseError{Option: fmt.Sprintf("ServicePorts[%d]", i), Port: o.ServicePorts[i], Err: err}
		}
		if o.ServicePorts[i] == 0 {
			return errors.New("devserver: no free port for an internal service")
		}
		seen[o.ServicePorts[i]] = fmt.Sprintf("ServicePorts[%d]", i)
	}
	return nil
}

// CheckPort reports whether 127.0.0.1:port can be listened on, by listening.
func CheckPort(port int) error {
	l, err := net.Listen("tcp", hostPort(port))
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return syscall.EADDRINUSE
		}
		return err
	}
	return l.Close()
}

// FreePort returns a port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", Host+":0")
	if err != nil {
		return 0, fmt.Errorf("devserver: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func hostPort(port int) string { return net.JoinHostPort(Host, strconv.Itoa(port)) }

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// prepareDatabase creates the schema in a new database (file, memory or
// PostgreSQL) and the namespace when it does not exist yet, and returns the
// server's persistence settings.
func (s *Server) prepareDatabase(logger log.Logger) (config.Persistence, error) {
	if s.opts.DatabaseURL != "" {
		return s.preparePostgres(logger)
	}
	sqlCfg := &config.SQL{PluginName: sqliteplugin.PluginName, ConnectAttributes: map[string]string{}}
	if s.opts.Ephemeral {
		// A shared-cache in-memory database lives while a connection is open;
		// a random name keeps servers in one process apart.
		sqlCfg.ConnectAttributes["mode"] = "memory"
		sqlCfg.ConnectAttributes["cache"] = "shared"
		sqlCfg.DatabaseName = strconv.Itoa(rand.IntN(1 << 30))
	} else {
		dir, err := filepath.Abs(s.opts.DataDir)
		if err != nil {
			return config.Persistence{}, fmt.Errorf("devserver: data directory: %w", err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return config.Persistence{}, fmt.Errorf("devserver: data directory: %w", err)
		}
		if s.unlock, err = lockDataDir(dir); err != nil {
			return config.Persistence{}, err
		}
		s.dbPath = filepath.Join(dir, DatabaseFile)
		sqlCfg.ConnectAttributes["mode"] = "rwc"
		sqlCfg.DatabaseName = s.dbPath
	}
	// (An in-memory database gets its schema from the SQLite plugin itself.)
	if _, err := os.Stat(s.dbPath); !s.opts.Ephemeral && errors.Is(err, os.ErrNotExist) {
		if err := sqliteschema.SetupSchema(sqlCfg); err != nil {
			return config.Persistence{}, fmt.Errorf("devserver: create the database schema: %w", err)
		}
	}
	attrs := map[string]enumspb.IndexedValueType{}
	for _, n := range searchattr.Names {
		attrs[n] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	if err := s.createNamespace(sqlCfg, attrs); err != nil {
		return config.Persistence{}, err
	}
	return config.Persistence{
		DefaultStore:     sqliteplugin.PluginName,
		VisibilityStore:  sqliteplugin.PluginName,
		NumHistoryShards: 1,
		DataStores:       map[string]config.DataStore{sqliteplugin.PluginName: {SQL: sqlCfg}},
	}, nil
}

// preparePostgres sets up both PostgreSQL databases and the namespace, which
// it creates bare: waitForNamespace then registers the search attributes
// through the operator API, as an operator does on a production cluster.
func (s *Server) preparePostgres(logger log.Logger) (config.Persistence, error) {
	p, err := ParsePostgresURL(s.opts.DatabaseURL)
	if err != nil {
		return config.Persistence{}, fmt.Errorf("devserver: %w", err)
	}
	s.postgres = &p
	if err := preparePostgres(p, logger); err != nil {
		return config.Persistence{}, err
	}
	state, visibility := p.postgresStores()
	if err := s.createNamespace(state, nil); err != nil {
		return config.Persistence{}, err
	}
	return config.Persistence{
		DefaultStore:     "postgres",
		VisibilityStore:  "postgres-visibility",
		NumHistoryShards: postgresShards,
		DataStores: map[string]config.DataStore{
			"postgres":            {SQL: state},
			"postgres-visibility": {SQL: visibility},
		},
	}, nil
}

// createNamespace writes the namespace into the state database unless it is
// there, before the server starts, so it answers from the first call. The
// helper lives in the server's SQLite package but works through the SQL
// plugin interface, so it serves PostgreSQL as well.
func (s *Server) createNamespace(state *config.SQL, attrs map[string]enumspb.IndexedValueType) error {
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, s.opts.Namespace, false, attrs)
	if err != nil {
		return fmt.Errorf("devserver: namespace %s: %w", s.opts.Namespace, err)
	}
	if err := sqliteschema.CreateNamespaces(state, ns); err != nil {
		return fmt.Errorf("devserver: create namespace %s: %w", s.opts.Namespace, err)
	}
	return nil
}

const clusterName = "active"

// serverConfig is lite_server.go's configuration with static hosts and
// loopback-only listeners.
func (s *Server) serverConfig(persistence config.Persistence) *config.Config {
	o := s.opts
	frontend := hostPort(o.Port)
	cfg := &config.Config{}
	cfg.Global.Membership = config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: Host}
	cfg.Persistence = persistence
	info := cluster.ClusterInformation{Enabled: true, InitialFailoverVersion: 1, RPCAddress: frontend, HTTPAddress: hostPort(o.HTTPPort)}
	cfg.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation:       map[string]cluster.ClusterInformation{clusterName: info},
	}
	cfg.DCRedirectionPolicy = config.DCRedirectionPolicy{Policy: "noop"}
	service := func(port, httpPort int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: port, HTTPPort: httpPort, BindOnIP: Host}}
	}
	cfg.Services = map[string]config.Service{
		string(primitives.FrontendService): service(o.Port, o.HTTPPort),
		string(primitives.HistoryService):  service(o.ServicePorts[0], 0),
		string(primitives.MatchingService): service(o.ServicePorts[1], 0),
		string(primitives.WorkerService):   service(o.ServicePorts[2], 0),
	}
	cfg.Archival.History.State = "disabled"
	cfg.Archival.Visibility.State = "disabled"
	cfg.NamespaceDefaults.Archival.History.State = "disabled"
	cfg.NamespaceDefaults.Archival.Visibility.State = "disabled"
	// The server's own system workers dial this.
	cfg.PublicClient = config.PublicClient{HostPort: frontend}
	return cfg
}

// waitForNamespace dials the frontend until the namespace answers, and makes
// sure the search attributes are registered (a database from before they
// existed gets them here).
func (s *Server) waitForNamespace(ctx context.Context) error {
	var lastErr error
	for {
		c, err := s.Dial(client.Options{})
		if err == nil {
			err = searchattr.Register(ctx, c, s.opts.Namespace)
			c.Close()
			if err == nil {
				return nil
			}
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("devserver: frontend %s not ready within %s: %w", s.FrontendAddress(), s.opts.StartTimeout, lastErr)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *Server) startUI(ctx context.Context) error {
	// Settings of the Temporal CLI's dev server: no auth, plain HTTP cookies.
	s.ui = uiserver.NewServer(uiopts.WithConfigProvider(&uiconfig.Config{
		Host:                Host,
		Port:                s.opts.UIPort,
		TemporalGRPCAddress: s.FrontendAddress(),
		EnableUI:            true,
		DefaultNamespace:    s.opts.Namespace,
		CORS:                uiconfig.CORS{CookieInsecure: true},
		Codec:               uiconfig.Codec{Endpoint: s.opts.CodecEndpoint},
		HideLogs:            true,
		DisableNewsFetch:    true, // nothing leaves the machine
	}))
	s.uiDone = make(chan struct{})
	// Start blocks until Stop; it exits the process on a listen error, which
	// the port check in Start makes unlikely.
	go func() {
		defer close(s.uiDone)
		_ = s.ui.Start()
	}()
	health := "http://" + s.UIAddress() + "/healthz"
	hc := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, health, nil)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("devserver: Web UI on %s not ready within %s: %v", s.UIAddress(), s.opts.StartTimeout, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// FrontendAddress is the frontend's host:port (TEMPORAL_ADDRESS).
func (s *Server) FrontendAddress() string { return hostPort(s.opts.Port) }

// HTTPAddress is the frontend HTTP API's host:port.
func (s *Server) HTTPAddress() string { return hostPort(s.opts.HTTPPort) }

// UIAddress is the Web UI's host:port, "" when it is off.
func (s *Server) UIAddress() string {
	if s.opts.NoUI {
		return ""
	}
	return hostPort(s.opts.UIPort)
}

// UIURL is the Web UI's workflow list for the namespace, "" when the UI is off.
func (s *Server) UIURL() string {
	if s.opts.NoUI {
		return ""
	}
	return "http://" + s.UIAddress() + "/namespaces/" + s.opts.Namespace + "/workflows"
}

// Namespace is the namespace created at start.
func (s *Server) Namespace() string { return s.opts.Namespace }

// DatabasePath is the SQLite file's absolute path, "" when ephemeral or on PostgreSQL.
func (s *Server) DatabasePath() string { return s.dbPath }

// PostgresDatabase is the PostgreSQL URL without its password, "" on SQLite.
func (s *Server) PostgresDatabase() string {
	if s.postgres == nil {
		return ""
	}
	return s.postgres.Redacted()
}

// Options returns the options in force, with the ports that were picked:
// Start(s.Options()) after s.Stop() restarts the same server on the same ports.
func (s *Server) Options() Options { return s.opts }

// Dial returns a client of this server; HostPort and (when empty) Namespace
// are filled in. The caller closes it.
func (s *Server) Dial(opts client.Options) (client.Client, error) {
	opts.HostPort = s.FrontendAddress()
	if opts.Namespace == "" {
		opts.Namespace = s.opts.Namespace
	}
	return client.Dial(opts)
}

// Stop stops the UI, then the Temporal server, within Options.StopTimeout.
// It is safe to call more than once; later calls return the first result.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.quiet.Store(true)
		done := make(chan error, 1)
		go func() {
			if s.ui != nil {
				s.ui.Stop()
				<-s.uiDone
			}
			var err error
			if s.temporal != nil {
				err = s.temporal.Stop()
			}
			s.release()
			done <- err
		}()
		select {
		case s.stopErr = <-done:
		case <-time.After(s.opts.StopTimeout):
			s.stopErr = fmt.Errorf("devserver: not stopped within %s", s.opts.StopTimeout)
		}
	})
	return s.stopErr
}

// quietable drops everything below Fatal once quiet is set.
type quietable struct {
	log.Logger
	quiet *atomic.Bool
}

func (l quietable) Debug(msg string, tags ...tag.Tag) {
	if !l.quiet.Load() {
		l.Logger.Debug(msg, tags...)
	}
}

func (l quietable) Info(msg string, tags ...tag.Tag) {
	if !l.quiet.Load() {
		l.Logger.Info(msg, tags...)
	}
}

func (l quietable) Warn(msg string, tags ...tag.Tag) {
	if !l.quiet.Load() {
		l.Logger.Warn(msg, tags...)
	}
}

func (l quietable) Error(msg string, tags ...tag.Tag) {
	if !l.quiet.Load() {
		l.Logger.Error(msg, tags...)
	}
}

func (l quietable) DPanic(msg string, tags ...tag.Tag) {
	if !l.quiet.Load() {
		l.Logger.DPanic(msg, tags...)
	}
}

// With keeps the prepended tags efficient and the logger quietable.
func (l quietable) With(tags ...tag.Tag) log.Logger {
	return quietable{Logger: log.With(l.Logger, tags...), quiet: l.quiet}
}

// release gives the data directory up.
func (s *Server) release() {
	s.unlockMu.Lock()
	defer s.unlockMu.Unlock()
	if s.unlock != nil {
		s.unlock()
		s.unlock = nil
	}
}
