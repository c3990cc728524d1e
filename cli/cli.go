// Package cli is backupflow's operator command (the backupflow binary,
// built from ./starter): start a backup or a copy from the same JSON request
// the Temporal CLI takes, follow its progress, cancel it, describe it, and
// list backups through Temporal visibility; validate, diff and apply plan
// files as Temporal Schedules (plan.go), hold a plan's backups (hold.go),
// check RPOs (status.go) and write audit reports (audit.go). It reads the worker's TEMPORAL_*
// variables. Main runs it as a process; Command runs it in-process.
//
// Outcomes are classified by backup.FailureOf, as for every Go client: the
// exit code and the JSON document's failure.type come from the class.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/caarlos0/env/v11"
	"go.temporal.io/sdk/client"
	"golang.org/x/term"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/wiring"
)

// Exit codes, for scripts. Usage lists them.
const (
	ExitOK        = 0
	ExitFailed    = 1 // the backup failed (or was terminated or timed out)
	ExitBadInput  = 2 // usage, a request field, an unknown workflow, an invalid plan file, a plan never applied
	ExitCancelled = 3 // the backup was cancelled
	ExitConflict  = 4 // a different backup of the resource is running
	ExitError     = 5 // connection and other errors; waiting interrupted
	ExitBreached  = 6 // status: a target's RPO is breached
	ExitUnknown   = 7 // status: no breach, but a target's RPO state could not be read; report: an inventory could not be read
)

const usage = `backupflow: start and follow database backups run by backupflow workers on Temporal.

Usage:
  backupflow create   (--input '<json>' | --input-file <path|->) [--wait]
  backupflow copy     (--input '<json>' | --input-file <path|->) [--wait]
  backupflow watch    <workflow-id>
  backupflow cancel   <workflow-id> [--reason <text>] [--wait]
  backupflow describe <workflow-id>
  backupflow list     [--provider p] [--resource r] [--state s] [--kind create|copy] [--limit n]
  backupflow plan     validate|diff|apply -f <file>
  backupflow plan     list
  backupflow plan     describe|pause|resume|trigger|delete (<plan> | -f <file>)
  backupflow plan     retain <plan> [--target t] [--dry-run] [-f <file>]
  backupflow hold     add --plan <plan> [--target t] [--backup id] --reason <text> [--by who]
  backupflow hold     remove --plan <plan> [--target t] [--backup id]
  backupflow hold     list --plan <plan>
  backupflow status   [--plan <plan>]
  backupflow report   --since <30d|time> [--until <time>] [--plan <plan>] [--format markdown|csv|json] [--out <file>]
  backupflow <command> --help

A request is the JSON that 'temporal workflow start --input' takes, e.g.
  {"provider": "alirds", "alirds": {"DBInstanceId": "rm-uf6wjk5xxxxxxx"}}
one file per provider in docs/examples/. The workflow ID is derived from the
request (create/<provider>/<resource>), so one backup per resource runs at a time.

A plan file (YAML or JSON) lists plans: when each runs, its targets' requests,
retention and copies. 'plan validate' checks it offline; 'plan diff' shows what
'plan apply' would change in each plan's Temporal Schedule, field by field.
'plan delete' removes a schedule only: no backup and no inventory is deleted.

Every command takes:
  --address     Temporal frontend host:port   (TEMPORAL_ADDRESS, default 127.0.0.1:7233)
  --namespace   Temporal namespace            (TEMPORAL_NAMESPACE, default "default")
  --task-queue  the workers' task queue       (BACKUPFLOW_TASK_QUEUE, default "backups")
  --output      text (default) or json: exactly one JSON document on stdout
TLS and API keys come from TEMPORAL_TLS*, TEMPORAL_API_KEY and TEMPORAL_API_KEY_FILE,
as for the Temporal CLI and the worker; when the workers encrypt payloads, set
BACKUPFLOW_CODEC_KEY_FILE (and BACKUPFLOW_CODEC_OLD_KEY_FILES) to the same key files.

--wait and watch show a progress bar on a terminal and lines like "RUNNING 42%"
otherwise; with --output json, progress goes to stderr when it is a terminal.

Exit codes:
  0  success: started; with --wait or watch, the backup succeeded; plan diff
     with or without changes
  1  the backup failed (or was terminated or timed out)
  2  bad input: usage, a request field (named in the message), an unknown workflow;
     an invalid plan file (every problem listed: plan, target, field, rule); a plan
     that was never applied or was deleted
  3  the backup was cancelled; its cleanup report is printed
  4  conflict: a different backup of the same resource is running (its workflow ID is printed)
  5  connection or other errors; also an interrupted wait (the backup goes on)
  6  status: a target's RPO is breached (a monitoring check fails)
  7  status: no RPO is breached but a target's state is unknown (its inventory
     or the applied plan could not be read); report: an inventory could not be read
`

// Command is the backupflow command with its surroundings (environment,
// streams, terminals, dialer), so tests run it in-process; Main runs it in
// the process's own.
type Command struct {
	// Env is the environment (TEMPORAL_*, BACKUPFLOW_TASK_QUEUE).
	Env            map[string]string
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// StdoutTTY and StderrTTY choose the progress bar over plain lines.
	StdoutTTY, StderrTTY bool
	// Dial connects to Temporal; nil means client.DialContext.
	Dial func(context.Context, client.Options) (client.Client, error)
	// Now is the clock status and report measure ages and windows by; nil means time.Now.
	Now func() time.Time
}

// Main runs the backupflow command with args (the process's arguments
// without its name) in this process's environment, standard streams and
// terminals, and returns the exit code. SIGINT or SIGTERM stops a wait (exit
// 5); the backup goes on.
func Main(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := &Command{
		Env:       env.ToMap(os.Environ()),
		Stdin:     os.Stdin,
		Stdout:    os.Stdout,
		Stderr:    os.Stderr,
		StdoutTTY: term.IsTerminal(int(os.Stdout.Fd())),
		StderrTTY: term.IsTerminal(int(os.Stderr.Fd())),
	}
	return c.Run(ctx, args)
}

// options are the flags every command shares.
type options struct {
	address, namespace, taskQueue, output string
	interval, connectTimeout              time.Duration
}

func (o *options) register(fs *flag.FlagSet) {
	fs.StringVar(&o.address, "address", "", "Temporal frontend host:port (overrides TEMPORAL_ADDRESS)")
	fs.StringVar(&o.namespace, "namespace", "", "Temporal namespace (overrides TEMPORAL_NAMESPACE)")
	fs.StringVar(&o.taskQueue, "task-queue", "", "the workers' task queue (overrides BACKUPFLOW_TASK_QUEUE)")
	fs.StringVar(&o.output, "output", "text", "text or json (one JSON document on stdout)")
	fs.DurationVar(&o.interval, "interval", time.Second, "how often to refresh progress while waiting")
	fs.DurationVar(&o.connectTimeout, "connect-timeout", 10*time.Second, "how long to try to reach Temporal")
}

func (o *options) check() error {
	if o.output != "text" && o.output != "json" {
		return &InputError{Field: "--output", Message: fmt.Sprintf("must be text or json, got %q", o.output)}
	}
	if o.interval <= 0 {
		return &InputError{Field: "--interval", Message: "must be positive"}
	}
	return nil
}

// Run runs one command and returns its exit code.
func (c *Command) Run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.Stderr, usage)
		return ExitBadInput
	}
	cmd, rest := args[0], args[1:]
	var o options
	var out Output
	switch cmd {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(c.Stdout, usage)
		return ExitOK
	case "create":
		out = c.start(ctx, backup.KindCreate, rest, &o)
	case "copy":
		out = c.start(ctx, backup.KindCopy, rest, &o)
	case "watch":
		out = c.watch(ctx, rest, &o)
	case "cancel":
		out = c.cancel(ctx, rest, &o)
	case "describe":
		out = c.describe(ctx, rest, &o)
	case "list":
		out = c.list(ctx, rest, &o)
	case "plan":
		out = c.plan(ctx, rest, &o)
	case "hold":
		out = c.hold(ctx, rest, &o)
	case "status":
		out = c.status(ctx, rest, &o)
	case "report":
		out = c.report(ctx, rest, &o)
	default:
		fmt.Fprintf(c.Stderr, "backupflow: unknown command %q\n\n%s", cmd, usage)
		return ExitBadInput
	}
	if _, ok := out.(helpShown); ok {
		return ExitOK
	}
	if msg := out.errorText(); msg != "" {
		fmt.Fprintln(c.Stderr, "backupflow: "+escapeControls(msg))
	}
	if o.output == "json" {
		if err := writeJSON(c.Stdout, out); err != nil {
			fmt.Fprintln(c.Stderr, "backupflow: "+err.Error())
			return ExitError
		}
	} else {
		var text strings.Builder
		out.writeText(&text)
		fmt.Fprint(c.Stdout, escapeControls(text.String()))
	}
	return out.exitCode()
}

// escapeControls writes every control character but newline and tab as its
// Go escape (\x1b, \r, \u0085), so an identifier or a provider message
// cannot move the cursor, clear the screen or forge a line of output.
func escapeControls(s string) string { return controlEscaper.Replace(s) }

var controlEscaper = func() *strings.Replacer {
	var pairs []string
	for r := rune(0); r < 0xa0; r++ { // every control character is below U+00A0
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			quoted := strconv.QuoteToASCII(string(r))
			pairs = append(pairs, string(r), quoted[1:len(quoted)-1])
		}
	}
	return strings.NewReplacer(pairs...)
}()

// flags parses a command's flags, allowing them before and after positional
// arguments ("cancel <id> --reason x"). It returns the positional arguments;
// errHelp means --help was asked for and printed.
func (c *Command) flags(name, synopsis string, args []string, o *options, define func(*flag.FlagSet)) ([]string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	o.register(fs)
	if define != nil {
		define(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: backupflow %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
		fmt.Fprintln(fs.Output(), "\nRun 'backupflow --help' for the request format and the exit codes.")
	}
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" || a == "--h" {
			fs.SetOutput(c.Stdout) // asked for: usage is the answer, on stdout
		}
	}
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, &InputError{Message: err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
	if err := o.check(); err != nil {
		return nil, err
	}
	return positional, nil
}

var errHelp = errors.New("help")

// cliConfig is the command's share of the worker's BACKUPFLOW_* settings.
type cliConfig struct {
	TaskQueue string `env:"BACKUPFLOW_TASK_QUEUE" envDefault:"backups"`
	// CodecKeyFile: when the workers encrypt payloads, so must every client.
	CodecKeyFile string `env:"BACKUPFLOW_CODEC_KEY_FILE"`
	// CodecOldKeyFiles read what was encrypted before a key rotation.
	CodecOldKeyFiles []string `env:"BACKUPFLOW_CODEC_OLD_KEY_FILES" envSeparator:","`
}

// settings resolves where to connect: the TEMPORAL_* variables the worker and
// the Temporal CLI read, then the flags, which win.
func (c *Command) settings(o options) (wiring.TemporalConfig, cliConfig, error) {
	opts := env.Options{Environment: c.Env}
	cfg, err := env.ParseAsWithOptions[wiring.TemporalConfig](opts)
	if err != nil {
		return cfg, cliConfig{}, envError(reflect.TypeFor[wiring.TemporalConfig](), err, c.Env)
	}
	sc, err := env.ParseAsWithOptions[cliConfig](opts)
	if err != nil {
		return cfg, sc, envError(reflect.TypeFor[cliConfig](), err, c.Env)
	}
	if o.address != "" {
		cfg.Address = o.address
	}
	if o.namespace != "" {
		cfg.Namespace = o.namespace
	}
	if o.taskQueue != "" {
		sc.TaskQueue = o.taskQueue
	}
	if sc.TaskQueue == "" {
		return cfg, sc, &InputError{Field: "--task-queue", Message: "must not be empty (BACKUPFLOW_TASK_QUEUE)"}
	}
	return cfg, sc, nil
}

// envError names the environment variable behind each of env/v11's parse
// errors (which name struct fields).
func envError(t reflect.Type, err error, environment map[string]string) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return &InputError{Message: "environment: " + err.Error()}
	}
	var msgs []string
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) {
			if f, ok := t.FieldByName(pe.Name); ok {
				key, _, _ := strings.Cut(f.Tag.Get("env"), ",")
				msgs = append(msgs, fmt.Sprintf("%s=%q: not a valid %s: %v", key, environment[key], pe.Type, pe.Err))
				continue
			}
		}
		msgs = append(msgs, e.Error())
	}
	return &InputError{Message: "environment: " + strings.Join(msgs, "; ")}
}

// connect dials Temporal and returns the typed backupflow client.
func (c *Command) connect(ctx context.Context, o options) (*backup.Client, func(), error) {
	cfg, sc, err := c.settings(o)
	if err != nil {
		return nil, nil, err
	}
	// The SDK logs through slog; only warnings and errors reach the operator.
	logger := slog.New(slog.NewTextHandler(c.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	copts, err := wiring.ClientOptions(cfg, logger)
	if err != nil {
		return nil, nil, &InputError{Message: err.Error()}
	}
	// Failures are encrypted like payloads; both converters come from one key ring.
	if copts.DataConverter, copts.FailureConverter, err = wiring.Converters(sc.CodecKeyFile, sc.CodecOldKeyFiles...); err != nil {
		return nil, nil, &InputError{Message: err.Error()} // names the variable and the file
	}
	dial := c.Dial
	if dial == nil {
		dial = client.DialContext
	}
	dctx, cancel := context.WithTimeout(ctx, o.connectTimeout)
	defer cancel()
	tc, err := dial(dctx, copts)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to Temporal at %s (namespace %s): %w", cfg.Address, cfg.Namespace, err)
	}
	bc := backup.NewClient(tc)
	bc.TaskQueue = sc.TaskQueue
	bc.DataConverter = copts.DataConverter
	return bc, tc.Close, nil
}

// readInput returns the request bytes from --input or --input-file ("-" is stdin).
func (c *Command) readInput(input, inputFile string) ([]byte, error) {
	switch {
	case input != "" && inputFile != "":
		return nil, &InputError{Field: "--input", Message: "give --input or --input-file, not both"}
	case input != "":
		return []byte(input), nil
	case inputFile == "-":
		b, err := io.ReadAll(c.Stdin)
		if err != nil {
			return nil, &InputError{Field: "--input-file", Message: "read stdin: " + err.Error()}
		}
		return b, nil
	case inputFile != "":
		b, err := os.ReadFile(inputFile)
		if err != nil {
			return nil, &InputError{Field: "--input-file", Message: err.Error()}
		}
		return b, nil
	}
	return nil, &InputError{Field: "--input", Message: "a request is required: --input '<json>' or --input-file <path> (see docs/examples/)"}
}

// start runs create and copy.
func (c *Command) start(ctx context.Context, kind backup.Kind, args []string, o *options) Output {
	var input, inputFile string
	var wait bool
	pos, err := c.flags(string(kind), "(--input '<json>' | --input-file <path|->) [--wait] [flags]", args, o, func(fs *flag.FlagSet) {
		fs.StringVar(&input, "input", "", "the request, as JSON (what 'temporal workflow start --input' takes)")
		fs.StringVar(&inputFile, "input-file", "", "read the request from this file; - reads stdin")
		fs.BoolVar(&wait, "wait", false, "wait for the backup to end, showing its progress")
	})
	if out := flagOutcome(err); out != nil {
		return out
	}
	if len(pos) > 0 {
		return errorReport(&InputError{Message: fmt.Sprintf("unexpected argument %q: give the request with --input or --input-file", pos[0])})
	}
	raw, err := c.readInput(input, inputFile)
	if err != nil {
		return errorReport(err)
	}
	req, err := ParseRequest(raw, kind)
	if err != nil {
		return errorReport(err)
	}
	bc, closeClient, err := c.connect(ctx, *o)
	if err != nil {
		return errorReport(err)
	}
	defer closeClient()
	h, err := bc.Start(ctx, kind, req)
	var conflict *backup.ConflictError
	if errors.As(err, &conflict) {
		return conflictReport(conflict)
	}
	if err != nil {
		return errorReport(err)
	}
	rep := &Report{WorkflowID: h.WorkflowID, RunID: h.RunID, WorkflowType: kind.WorkflowType(), Attached: h.Attached, Status: StatusRunning}
	if o.output == "text" {
		verb := "started"
		if h.Attached {
			verb = "attached to the identical backup already running:"
		}
		fmt.Fprintf(c.Stdout, "%s %s %s (run %s)\n", verb, kind.WorkflowType(), h.WorkflowID, h.RunID)
	}
	if !wait {
		return rep
	}
	c.follow(ctx, h, *o, rep)
	return rep
}

// conflictReport is the answer to a start refused because a different
// backup of the resource is running: exit 4, naming that backup.
func conflictReport(conflict *backup.ConflictError) *Report {
	rep := errorReport(conflict)
	rep.WorkflowID, rep.RunID, rep.ExitCode = conflict.WorkflowID, conflict.RunID, ExitConflict
	rep.Status = StatusRunning // the other backup's
	rep.Hint = fmt.Sprintf("follow it with 'backupflow watch %s' or stop it with 'backupflow cancel %s'", conflict.WorkflowID, conflict.WorkflowID)
	return rep
}

// watch follows an existing backup to its end.
func (c *Command) watch(ctx context.Context, args []string, o *options) Output {
	id, bc, closeClient, out := c.oneWorkflow(ctx, "watch", "<workflow-id> [flags]", args, o, nil)
	if out != nil {
		return out
	}
	defer closeClient()
	rep, h, err := c.describeExecution(ctx, bc, id)
	if err != nil {
		return errorReport(err)
	}
	c.follow(ctx, h, *o, rep)
	return rep
}

// cancel sends the cancel signal; with --wait it follows the cleanup to the end.
func (c *Command) cancel(ctx context.Context, args []string, o *options) Output {
	var reason string
	var wait bool
	id, bc, closeClient, out := c.oneWorkflow(ctx, "cancel", "<workflow-id> [--reason <text>] [--wait] [flags]", args, o, func(fs *flag.FlagSet) {
		fs.StringVar(&reason, "reason", "cancelled with backupflow cancel", "why, recorded in the workflow's progress and cleanup report")
		fs.BoolVar(&wait, "wait", false, "wait until the backup has stopped and cleaned up")
	})
	if out != nil {
		return out
	}
	defer closeClient()
	h := bc.Handle(id, "")
	if err := h.Cancel(ctx, reason); err != nil {
		if isNotFound(err) {
			return errorReport(&InputError{Message: fmt.Sprintf("no running workflow %s: %v", id, err)})
		}
		return errorReport(fmt.Errorf("signal %s: %w", id, err))
	}
	if o.output == "text" {
		fmt.Fprintf(c.Stdout, "asked %s to cancel (%q)\n", id, reason)
	}
	rep := &Report{WorkflowID: id, Status: StatusRunning, CancelRequested: true}
	if !wait {
		return rep
	}
	rep, h, err := c.describeExecution(ctx, bc, id)
	if err != nil {
		return errorReport(err)
	}
	rep.CancelRequested = true
	c.follow(ctx, h, *o, rep)
	return rep
}

// oneWorkflow parses the flags of a command that takes one workflow ID, then
// connects; on success the caller closes the client with closeClient.
func (c *Command) oneWorkflow(ctx context.Context, name, usage string, args []string, o *options, extra func(*flag.FlagSet)) (
	id string, bc *backup.Client, closeClient func(), out Output) {
	pos, err := c.flags(name, usage, args, o, extra)
	if out := flagOutcome(err); out != nil {
		return "", nil, nil, out
	}
	if id, err = oneID(pos); err != nil {
		return "", nil, nil, errorReport(err)
	}
	if bc, closeClient, err = c.connect(ctx, *o); err != nil {
		return "", nil, nil, errorReport(err)
	}
	return id, bc, closeClient, nil
}

func oneID(pos []string) (string, error) {
	if len(pos) != 1 || pos[0] == "" {
		return "", &InputError{Message: fmt.Sprintf("expected one workflow ID, got %d arguments", len(pos))}
	}
	return pos[0], nil
}

// flagOutcome turns a flag parsing result into the command's outcome: nil to
// go on, an empty outcome for --help, an error report otherwise.
func flagOutcome(err error) Output {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errHelp):
		return helpShown{}
	}
	return errorReport(err)
}

// helpShown is the outcome of --help: nothing more to print.
type helpShown struct{}

func (helpShown) exitCode() int       { return ExitOK }
func (helpShown) errorText() string   { return "" }
func (helpShown) writeText(io.Writer) {}

// progressView returns where progress goes: stdout in text mode (a bar on a
// terminal, lines otherwise); in json mode stdout holds only the document, so
// progress goes to stderr, and only when that is a terminal. Nil: no progress.
func (c *Command) progressView(o options) ProgressView {
	if o.output == "json" {
		if !c.StderrTTY {
			return nil
		}
		return NewProgressView(c.Stderr, true)
	}
	return NewProgressView(c.Stdout, c.StdoutTTY)
}
