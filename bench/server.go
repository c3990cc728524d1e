package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/log"

	"github.com/backupflow/backupflow/deploy/dev/devserver"
)

// serveArg makes the bench binary run only a Temporal server: the benchmark
// runs the server in a child process so its CPU and memory are its own.
// refreshOnReadArg, after it, keeps the dev server's default of re-reading
// search attributes from the database on every use (a diagnostic).
const (
	serveArg         = "__serve-temporal"
	refreshOnReadArg = "refresh-search-attributes-on-read"
)

type serverInfo struct {
	Address   string `json:"address"`
	Namespace string `json:"namespace"`
}

// serve runs backupflow's embedded dev server (in-memory SQLite, every
// service in one process, loopback only, no UI; its namespace has
// backupflow's search attributes), prints its address as one JSON line and
// runs until stdin closes or a signal. It caches search attributes as a
// production server does, unless refreshOnRead.
func serve(refreshOnRead bool) error {
	// No server logs, as with temporaltest: under the in-flight test's load
	// SQLite writes time out now and then, which the server retries, and
	// each would print a stack trace between the progress lines.
	srv, err := devserver.Start(devserver.Options{Ephemeral: true, NoUI: true, Namespace: "bench", CacheSearchAttributes: !refreshOnRead,
		Logger: log.NewNoopLogger()})
	if err != nil {
		return err
	}
	defer srv.Stop()
	info := serverInfo{Address: srv.FrontendAddress(), Namespace: srv.Namespace()}
	if err := json.NewEncoder(os.Stdout).Encode(info); err != nil {
		return err
	}
	stdinClosed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stdinClosed)
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	select {
	case <-stdinClosed:
	case <-sig:
	}
	return nil
}

// server is a Temporal server in a child process.
type server struct {
	serverInfo
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan error
}

// startServer starts the bench binary itself in server mode.
func startServer(refreshOnRead bool) (*server, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{serveArg}
	if refreshOnRead {
		args = append(args, refreshOnReadArg)
	}
	cmd := exec.Command(self, args...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, stdin: stdin, done: make(chan error, 1)}
	line := make(chan error, 1)
	go func() {
		r := bufio.NewReader(stdout)
		b, err := r.ReadBytes('\n')
		if err == nil {
			err = json.Unmarshal(b, &s.serverInfo)
		}
		line <- err
		_, _ = io.Copy(io.Discard, r)
	}()
	go func() { s.done <- cmd.Wait() }()
	select {
	case err := <-line:
		if err != nil {
			s.stop()
			return nil, fmt.Errorf("temporal server did not start: %w", err)
		}
	case err := <-s.done:
		return nil, fmt.Errorf("temporal server exited at start: %v", err)
	case <-time.After(2 * time.Minute):
		s.stop()
		return nil, errors.New("temporal server did not start within 2 minutes")
	}
	return s, nil
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// Settling: the server is idle once it uses under a tenth of a core over one
// window; settle gives up waiting after settleLimit.
const (
	settleWindow = 200 * time.Millisecond
	settleLimit  = 10 * time.Second
)

// settle waits until the server has finished the work left behind by what
// it was just asked (visibility records, task cleanup), and returns how long
// that took: up to the start of its first idle window.
func (s *server) settle() time.Duration {
	began := time.Now()
	prev, err := cpuTime(s.pid())
	for err == nil && time.Since(began) < settleLimit {
		time.Sleep(settleWindow)
		var cur time.Duration
		if cur, err = cpuTime(s.pid()); err == nil && cur-prev < settleWindow/10 {
			return time.Since(began) - settleWindow
		}
		prev = cur
	}
	return time.Since(began)
}

// dial returns a client of the server's namespace.
func (s *server) dial() (client.Client, error) {
	return client.Dial(client.Options{HostPort: s.Address, Namespace: s.Namespace, Logger: quietLogger()})
}

// stop closes the server's stdin and waits for it to exit (killing it after 30 s).
func (s *server) stop() {
	_ = s.stdin.Close()
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}
