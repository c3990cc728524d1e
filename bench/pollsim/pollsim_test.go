package pollsim

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/provider"
)

// The baseline pauses like gax.Backoff in longrunning.Operation.Wait: each
// pause in (0, cur], cur = 1 s, 2 s, 4 s, ... capped at 60 s.
func TestGoogleLROPausesLikeGaxBackoff(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	caps := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60}
	for range 200 {
		s := GoogleLRO.New(rng)
		for _, c := range caps {
			d := s.Next(0, provider.Status{})
			require.Greater(t, d, time.Duration(0))
			require.LessOrEqual(t, d, c*time.Second)
		}
	}
	// Full jitter: the capped pauses average half the cap.
	s := GoogleLRO.New(rng)
	for range 10 {
		s.Next(0, provider.Status{})
	}
	var sum time.Duration
	for range 10_000 {
		sum += s.Next(0, provider.Status{})
	}
	assert.InDelta(t, 30, (sum / 10_000).Seconds(), 1.5)
}

func TestCurvesRiseFromZeroToTheEnd(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range append(MainCurves, NoFigure) {
		b := NewBackup(c, time.Hour, rng)
		assert.Zero(t, b.Fraction(0), c)
		assert.InDelta(t, 1, b.Fraction(time.Hour), 0.011, c)
		prev := -1.0
		for t0 := time.Duration(0); t0 <= time.Hour; t0 += time.Minute {
			f := b.Fraction(t0)
			require.GreaterOrEqual(t, f, prev, "%s never goes backwards", c)
			prev = f
			pct := b.Percent(t0)
			if c == NoFigure {
				require.Equal(t, -1.0, pct)
			} else {
				require.LessOrEqual(t, pct, 99.0, "a running backup reports at most 99%%")
				require.Equal(t, float64(int(pct)), pct, "whole percentages")
			}
		}
	}
	assert.Equal(t, 25.0, NewBackup(SlowStart, time.Hour, rng).Percent(30*time.Minute))
	assert.Equal(t, 95.0, NewBackup(FastStartStall, time.Hour, rng).Percent(36*time.Minute))
}

type every time.Duration

func (e every) Next(time.Duration, provider.Status) time.Duration { return time.Duration(e) }

func TestReplayCountsCallsAndDelay(t *testing.T) {
	b := NewBackup(Linear, time.Minute, nil)
	o, err := Replay(b, every(10*time.Second))
	require.NoError(t, err)
	assert.Equal(t, 7, o.Calls, "0.1 s, 10.1 s, ..., 60.1 s")
	assert.Equal(t, FirstPoll, o.Delay)
	assert.InDelta(t, 0.1/30, o.Ratio(), 1e-9, "a minute-long backup is allowed 30 s")
	assert.Equal(t, 15*time.Minute, NewBackup(Linear, 5*time.Hour, nil).Allowed(), "5 % of 5 h")

	_, err = Replay(b, every(0))
	require.Error(t, err, "a schedule that never waits is refused")
}

func TestPopulationIsLogUniformAndReproducible(t *testing.T) {
	a := Population(4000, 9, MainCurves, time.Minute, 12*time.Hour)
	b := Population(4000, 9, MainCurves, time.Minute, 12*time.Hour)
	require.Equal(t, a, b)
	under := 0
	for i, x := range a {
		require.GreaterOrEqual(t, x.Duration, time.Minute)
		require.LessOrEqual(t, x.Duration, 12*time.Hour)
		require.Equal(t, MainCurves[i%len(MainCurves)], x.Curve)
		if x.Duration < 27*time.Minute { // the log-midpoint of 1 min and 12 h is 26.8 min
			under++
		}
	}
	assert.InDelta(t, 0.5, float64(under)/float64(len(a)), 0.04)
}

// The benchmark's targets, on a smaller population, as a regression guard
// for the default policy: at most a third of the baseline's calls, no worse
// median detection delay, and p99 of delay ÷ max(30 s, 5 % of the duration)
// at most 1.
func TestDefaultPolicyMeetsTheTargets(t *testing.T) {
	backups := Population(2000, 1, MainCurves, time.Minute, 12*time.Hour)
	base, err := Run(backups, GoogleLRO, 2)
	require.NoError(t, err)
	pol, err := Run(backups, Policy("default", provider.DefaultPollPolicy), 2)
	require.NoError(t, err)
	b, p := Summarise(base), Summarise(pol)
	t.Logf("baseline: %.1f calls, median delay %s; policy: %.1f calls, median delay %s, p99 ratio %.2f",
		b.MeanCalls, b.P50Delay, p.MeanCalls, p.P50Delay, p.P99Ratio)
	assert.LessOrEqual(t, p.MeanCalls, b.MeanCalls/3)
	assert.LessOrEqual(t, p.P50Delay, b.P50Delay)
	assert.LessOrEqual(t, p.P99Ratio, 1.0)
}

func TestQuantileAndSummary(t *testing.T) {
	assert.Equal(t, 3.0, Quantile([]float64{5, 1, 3, 2, 4}, 0.5))
	assert.Equal(t, 5.0, Quantile([]float64{5, 1, 3, 2, 4}, 1))
	assert.Equal(t, 1.0, Quantile([]float64{5, 1, 3, 2, 4}, 0))
	s := Summarise([]Outcome{
		{Backup: Backup{Duration: time.Minute}, Calls: 2, Delay: 10 * time.Second},
		{Backup: Backup{Duration: time.Minute}, Calls: 4, Delay: 40 * time.Second},
	})
	assert.Equal(t, 3.0, s.MeanCalls)
	assert.Equal(t, 10*time.Second, s.P50Delay)
	assert.Equal(t, 0.5, s.Within, "40 s is over the 30 s allowed")
}
