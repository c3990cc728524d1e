// Package reliability is backupflow's reliability suite: worker
// crashes (the worker as a separate process, SIGKILLed and restarted),
// Temporal server restarts (file-backed SQLite dev server), provider faults,
// cancellation at random stages, bad input through the real workflow, and
// secret hygiene (histories, worker logs, metrics, wrong credentials). The
// fuzz target over every driver's validator is in ./validatefuzz. TestSoak
// is the production shape of all of these at once: Temporal on a private
// PostgreSQL cluster (internal/pgtest), three worker processes, kills, a
// server restart, provider faults and cancels (go tool task soak runs its
// full counts and writes reports/soak.md).
//
// Every test runs over every provider in internal/clouds — it iterates
// clouds.Providers() and the started clouds.Set and never names a provider —
// so adding a provider there (one line) adds it here. Everything runs on
// 127.0.0.1, bounded in time and count. Random choices come from a seeded
// generator whose seed every test logs; BACKUPFLOW_RELIABILITY_SEED=<n>
// replays a run, and BACKUPFLOW_SOAK=1 runs the longer soak counts.
//
//	go test ./reliability/...                                    # ~2.5 min
//	BACKUPFLOW_SOAK=1 go test -timeout 40m ./reliability/        # soak
//	go test -run='^$' -fuzz=FuzzValidate -fuzztime=60s ./reliability/validatefuzz/
package reliability
