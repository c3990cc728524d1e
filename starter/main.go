// Command starter is backupflow's operator CLI (built as bin/backupflow):
// start a backup or a copy from the same JSON request the Temporal CLI takes,
// follow its progress, cancel it, describe it, and list backups through
// Temporal visibility. It reads the worker's TEMPORAL_* variables.
//
// Run `backupflow --help` for the commands and exit codes.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/caarlos0/env/v11"
	"golang.org/x/term"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	cli := &CLI{
		Env:       env.ToMap(os.Environ()),
		Stdin:     os.Stdin,
		Stdout:    os.Stdout,
		Stderr:    os.Stderr,
		StdoutTTY: term.IsTerminal(int(os.Stdout.Fd())),
		StderrTTY: term.IsTerminal(int(os.Stderr.Fd())),
	}
	code := cli.Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
