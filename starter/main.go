// Command starter builds backupflow's operator CLI, the backupflow binary:
// start a backup or a copy from the same JSON request the Temporal CLI takes,
// follow its progress, cancel it, describe it, and list backups through
// Temporal visibility. It reads the worker's TEMPORAL_* variables. The
// command lives in package cli; this is only its process.
//
// Run `backupflow --help` for the commands and exit codes.
package main

import (
	"os"

	"github.com/backupflow/backupflow/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
