package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/provider"
)

// The tuning table's re-implementation, at the default exponent and share,
// must be the production policy, or its alternatives mean nothing.
func TestVariantPolicyAtTheDefaultsIsTheProductionPolicy(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	v := variantPolicy{provider.DefaultPollPolicy, 3, 0.5}
	for _, e := range []time.Duration{0, 100 * time.Millisecond, 7 * time.Second, time.Minute, 17 * time.Minute, 3 * time.Hour, 11 * time.Hour} {
		for _, pct := range []float64{-1, 0, 0.5, 1, 7, 33.3, 50, 90, 98, 99, 100} {
			for _, hint := range []time.Duration{0, 45 * time.Second, time.Hour} {
				st := provider.Status{Phase: provider.PhaseRunning, Percent: pct, RetryAfter: hint}
				want := provider.DefaultPollPolicy.Next(t0.Add(e), t0, st)
				require.Equal(t, want, v.Next(e, st), "elapsed %s, %.1f%%, hint %s", e, pct, hint)
			}
		}
	}
}

func TestPreviousPolicyIsTheOldFormula(t *testing.T) {
	p := previousPolicy{provider.DefaultPollPolicy}
	running := func(pct float64) provider.Status { return provider.Status{Phase: provider.PhaseRunning, Percent: pct} }
	require.Equal(t, time.Second, p.Next(0, running(0)), "fresh: Min")
	require.Equal(t, 10*time.Second, p.Next(10*time.Second, running(-1)), "no figure: the age")
	require.Equal(t, 30*time.Second, p.Next(10*time.Minute, running(50)), "budget caps the ETA")
	require.Equal(t, 10*time.Minute, p.Next(6*time.Hour, running(50)), "5% of elapsed, capped at Max")
}
