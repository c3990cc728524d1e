// Command dev runs backupflow's whole development stack in one process, with
// nothing installed but Go:
//
//   - a Temporal server (SQLite under --data-dir, in memory with --ephemeral,
//     or PostgreSQL with --db) with the "default" namespace and backupflow's
//     search attributes,
//   - the Temporal Web UI,
//   - a simulator for every provider (Spanner, TaurusDB, ApsaraDB RDS, OTC RDS),
//     speaking the provider's real API on 127.0.0.1,
//   - the backupflow worker, wired to those simulators,
//   - unless --no-demo, one backup per provider and a Spanner copy, whose
//     progress it prints.
//
// It then serves until Ctrl-C (SIGINT or SIGTERM), and stops the worker, the
// UI, the server and the simulators, in that order.
//
//	go run ./deploy/dev
//	go run ./deploy/dev --ephemeral --backup-duration 5s
//	go run ./deploy/dev --db postgres://temporal:secret@127.0.0.1:5432/temporal
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/backupflow/backupflow/deploy/dev/devserver"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, a second one kills the process outright.
		<-ctx.Done()
		stop()
	}()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "backupflow dev:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	dataDir        string
	ephemeral      bool
	db             string
	port           int
	httpPort       int
	uiPort         int
	noUI           bool
	backupDuration time.Duration
	noDemo         bool
	serverOnly     bool
	logLevel       string
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: go run ./deploy/dev [flags]\n\n"+
			"Runs a Temporal server with its Web UI, the provider simulators and the backupflow\n"+
			"worker in one process, starts a demo backup per provider, and serves until Ctrl-C.\n\nFlags:")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.dataDir, "data-dir", "./.data/dev", "directory of the Temporal SQLite database; state survives restarts")
	fs.BoolVar(&o.ephemeral, "ephemeral", false, "keep Temporal's state in memory instead of --data-dir")
	fs.StringVar(&o.db, "db", "", "keep Temporal's state in PostgreSQL instead of --data-dir: postgres://user:password@host:port/database\n"+
		"(that database and database_visibility, created when missing; schemas set up by Temporal's schema tool)")
	fs.IntVar(&o.port, "port", devserver.DefaultPort, "Temporal frontend gRPC port (TEMPORAL_ADDRESS)")
	fs.IntVar(&o.httpPort, "http-port", 7243, "Temporal frontend HTTP API port")
	fs.IntVar(&o.uiPort, "ui-port", devserver.DefaultUIPort, "Temporal Web UI port")
	fs.BoolVar(&o.noUI, "no-ui", false, "do not serve the Web UI")
	fs.DurationVar(&o.backupDuration, "backup-duration", 20*time.Second, "how long a simulated backup runs")
	fs.BoolVar(&o.noDemo, "no-demo", false, "do not start the demo backups")
	fs.BoolVar(&o.serverOnly, "server-only", false, "run only the Temporal server and Web UI: no simulators, worker or demo")
	fs.StringVar(&o.logLevel, "log-level", "error", "Temporal server log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q (see --help)", fs.Args())
	}
	switch o.logLevel {
	case "debug", "info", "warn", "error":
	default:
		return o, fmt.Errorf("--log-level %q: want debug, info, warn or error", o.logLevel)
	}
	if o.db != "" {
		if o.ephemeral {
			return o, errors.New("--db and --ephemeral: choose one")
		}
		if _, err := devserver.ParsePostgresURL(o.db); err != nil {
			return o, fmt.Errorf("--db: %w", err)
		}
	}
	if o.serverOnly {
		o.noDemo = true
	}
	if o.backupDuration <= 0 {
		return o, fmt.Errorf("--backup-duration must be positive, got %s", o.backupDuration)
	}
	return o, nil
}

// run is the whole command: start, print, demo, serve until ctx ends, stop.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	out := &printer{w: stdout}
	st, err := startStack(o, out)
	if err != nil {
		return err
	}
	st.printBanner()

	demoDone := make(chan struct{})
	if o.noDemo {
		close(demoDone)
	} else {
		go func() {
			defer close(demoDone)
			st.runDemo(ctx)
			if ctx.Err() == nil {
				st.applyDemoPlan(ctx)
			}
		}()
	}

	<-ctx.Done()
	out.printf("\nstopping: %s\n", st.parts())
	t0 := time.Now()
	err = st.stop()
	<-demoDone // its calls fail fast once the server is gone
	if err != nil {
		return err
	}
	out.printf("stopped in %s\n", time.Since(t0).Round(10*time.Millisecond))
	return nil
}

// portFlags names the flag behind each devserver port option.
var portFlags = map[string]string{"Port": "--port", "HTTPPort": "--http-port", "UIPort": "--ui-port"}

// explainStartError turns a devserver error into one that names the flag.
func explainStartError(err error) error {
	var dirInUse *devserver.DataDirInUseError
	if errors.As(err, &dirInUse) {
		return fmt.Errorf("--data-dir: %w; stop it, or use another --data-dir or --ephemeral", err)
	}
	var inUse *devserver.PortInUseError
	if !errors.As(err, &inUse) {
		return err
	}
	name, ok := portFlags[inUse.Option]
	if !ok {
		return err
	}
	return fmt.Errorf("%s %d: %s:%d is already in use (is another dev stack or Temporal server running?); "+
		"stop it or choose another port with %s", name, inUse.Port, devserver.Host, inUse.Port, name)
}
