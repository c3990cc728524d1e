package provider

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func TestPollPolicy(t *testing.T) {
	p := DefaultPollPolicy
	next := func(elapsed time.Duration, percent float64, hint time.Duration) time.Duration {
		return p.Next(t0.Add(elapsed), t0, Status{Phase: PhaseRunning, Percent: percent, RetryAfter: hint})
	}
	cases := []struct {
		name       string
		elapsed    time.Duration
		percent    float64
		hint, want time.Duration
	}{
		{"fresh, no progress: the delay floor", 0, 0, 0, 30 * time.Second},
		{"no progress figure: the allowance for the age", time.Hour, -1, 0, 3 * time.Minute},
		{"still 0% after 10 min: the floor", 10 * time.Minute, 0, 0, 30 * time.Second},
		// aim 576 s; guard: earliest end 600·(100/51)^⅓ = 750.9 s, plus half of its 5%.
		{"half done after 10 min: the acceleration guard, not the 10 min ETA",
			10 * time.Minute, 50, 0, seconds(600*math.Cbrt(100.0/51) - 600 + 0.025*600*math.Cbrt(100.0/51))},
		// aim 19.8 s (the linear end if 90% is really almost 91%); guard 21.4 s.
		{"90% after 200 s: aim at the earliest linear end", 200 * time.Second, 90, 0, seconds(200.0 * 9 / 91)},
		// aim 150 s; guard: earliest end 67.3 s (cubic) plus half the 30 s floor.
		{"a fifth done after 40 s: the guard", 40 * time.Second, 20, 0, seconds(40*math.Cbrt(100.0/21) - 40 + 15)},
		{"99% after an hour: every half floor", time.Hour, 99, 0, 15 * time.Second},
		{"100% but not done: every half floor", time.Hour, 100, 0, 15 * time.Second},
		{"12 h backup at 50%: Max", 6 * time.Hour, 50, 0, 10 * time.Minute},
		{"retry hint wins", time.Minute, 50, 7 * time.Minute, 7 * time.Minute},
		{"retry hint beyond Max still wins", time.Minute, 50, 20 * time.Minute, 20 * time.Minute},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.InDelta(t, c.want.Seconds(), next(c.elapsed, c.percent, c.hint).Seconds(), 1e-6)
		})
	}
}

func TestPollPolicyMinClamp(t *testing.T) {
	p := PollPolicy{Min: 2 * time.Second, Max: time.Minute, DelayFloor: time.Second, DelayFraction: 0.05}
	assert.Equal(t, 2*time.Second, p.Next(t0.Add(time.Hour), t0, Status{Percent: 99}), "half the floor is below Min")
}

func allowance(p PollPolicy, d time.Duration) time.Duration {
	return max(p.DelayFloor, time.Duration(p.DelayFraction*float64(d)))
}

// A backup whose progress accelerates no faster than x³ is noticed within
// half its allowance, whatever the observation: the wait ends before its
// earliest end plus half that end's allowance.
func TestPollPolicyNeverLateForAcceleratingProgress(t *testing.T) {
	p := DefaultPollPolicy
	for _, e := range []time.Duration{time.Second, 30 * time.Second, 5 * time.Minute, time.Hour, 6 * time.Hour, 12 * time.Hour} {
		for pct := 1.0; pct <= 99; pct++ {
			w := p.Next(t0.Add(e), t0, Status{Phase: PhaseRunning, Percent: pct})
			// The earliest end consistent with the rounded-down figure pct:
			// a true share just under (pct+1)% on a cubic curve.
			end := seconds(e.Seconds() / math.Cbrt((pct+1)/100))
			if poll := e + w; poll > end {
				// (1 µs of slack for floating-point rounding at the bound)
				assert.LessOrEqual(t, poll-end, allowance(p, end)/2+time.Microsecond, "elapsed %s at %.0f%%: waits %s", e, pct, w)
			}
		}
	}
}

// Without a progress figure the wait is what the allowance covers.
func TestPollPolicyWithoutFigureWaitsTheAllowance(t *testing.T) {
	p := DefaultPollPolicy
	for _, e := range []time.Duration{0, time.Minute, time.Hour, 12 * time.Hour} {
		w := p.Next(t0.Add(e), t0, Status{Phase: PhaseRunning, Percent: -1})
		assert.Equal(t, min(allowance(p, e), p.Max), w, "elapsed %s", e)
	}
}

// replayLinear polls a linearly progressing backup of duration d (whole
// percentages, rounded down) from 100 ms after its start and returns the
// number of polls and the detection delay.
func replayLinear(t *testing.T, p PollPolicy, d time.Duration) (int, time.Duration) {
	t.Helper()
	at := 100 * time.Millisecond
	for calls := 1; calls <= 10_000; calls++ {
		if at >= d {
			return calls, at - d
		}
		pct := math.Floor(100 * float64(at) / float64(d))
		at += p.Next(t0.Add(at), t0, Status{Phase: PhaseRunning, Percent: pct})
	}
	require.FailNow(t, "no end", "after 10000 polls of a %s backup", d)
	return 0, 0
}

// Linear progress is noticed within half the delay floor, in a handful of
// calls, plus one per Max of run time and the last percent polled every half
// floor. (Polling every 30 s would take 2, 20, 120, 720 and 1440 calls.)
func TestPollPolicyLinearBackups(t *testing.T) {
	p := DefaultPollPolicy
	for _, c := range []struct {
		d        time.Duration
		maxCalls int
	}{
		{time.Minute, 4},
		{10 * time.Minute, 12},
		{time.Hour, 15},
		{6 * time.Hour, 36 + 20},
		{12 * time.Hour, 72 + 38},
	} {
		calls, delay := replayLinear(t, p, c.d)
		assert.LessOrEqual(t, delay, p.DelayFloor/2, "%s backup noticed late", c.d)
		assert.LessOrEqual(t, calls, c.maxCalls, "%s backup polled too often", c.d)
	}
}

func TestRetryDelayBacksOffAndCaps(t *testing.T) {
	assert.Equal(t, time.Second, Unavailable.RetryDelay(1))
	assert.Equal(t, 8*time.Second, Unavailable.RetryDelay(4))
	assert.Equal(t, 5*time.Minute, Unavailable.RetryDelay(30))
	assert.Equal(t, 30*time.Second, Busy.RetryDelay(1))
	assert.Equal(t, 5*time.Second, Throttled.RetryDelay(1))
}
