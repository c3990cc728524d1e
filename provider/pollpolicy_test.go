package provider

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestPollPolicy(t *testing.T) {
	p := DefaultPollPolicy
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	next := func(elapsed time.Duration, percent float64, hint time.Duration) time.Duration {
		return p.Next(t0.Add(elapsed), t0, Status{Phase: PhaseRunning, Percent: percent, RetryAfter: hint})
	}
	cases := []struct {
		name       string
		elapsed    time.Duration
		percent    float64
		hint, want time.Duration
	}{
		{"fresh, no progress: the minimum", 0, 0, 0, time.Second},
		{"no progress figure: back off with the age", 10 * time.Second, -1, 0, 10 * time.Second},
		{"no progress figure: at most the delay budget", time.Hour, -1, 0, 3 * time.Minute},
		{"half done after 10 min: budget 30 s caps the 10 min ETA", 10 * time.Minute, 50, 0, 30 * time.Second},
		{"99% after an hour: aim at the predicted end", time.Hour, 99, 0, time.Hour / 99},
		{"12 h backup at 50%: 5% of elapsed", 6 * time.Hour, 50, 0, 10 * time.Minute},
		{"retry hint wins", time.Minute, 50, 7 * time.Minute, 7 * time.Minute},
		{"retry hint beyond Max still wins", time.Minute, 50, 20 * time.Minute, 20 * time.Minute},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, next(c.elapsed, c.percent, c.hint))
		})
	}
}

func TestRetryDelayBacksOffAndCaps(t *testing.T) {
	assert.Equal(t, time.Second, Unavailable.RetryDelay(1))
	assert.Equal(t, 8*time.Second, Unavailable.RetryDelay(4))
	assert.Equal(t, 5*time.Minute, Unavailable.RetryDelay(30))
	assert.Equal(t, 30*time.Second, Busy.RetryDelay(1))
	assert.Equal(t, 5*time.Second, Throttled.RetryDelay(1))
}
