// Package reliability is backupflow's reliability suite (issue 7): worker
// crashes, Temporal server restarts, provider faults, cancellation at random
// stages, bad input (a fuzz target over every driver's validator), the
// workflow determinism check and secret hygiene.
//
// Every test runs over every provider in internal/clouds — it iterates
// clouds.Providers() and the started clouds.Set and never names a provider —
// so adding a provider there (one line) adds it here. Everything runs on
// 127.0.0.1, bounded in time and count. Random choices come from a seeded
// generator whose seed every test logs; BACKUPFLOW_RELIABILITY_SEED=<n>
// replays a run, and BACKUPFLOW_SOAK=1 runs the longer soak counts.
package reliability
