package provider

import (
	"math"
	"time"
)

// PollPolicy decides when to look at a running operation again.
//
// A backup that runs for d should be noticed within its allowance
// A(d) = max(DelayFloor, DelayFraction × d) of finishing. Given the
// provider's progress p (a whole percentage; providers round down) after
// elapsed time e, the policy
//
//   - aims at the earliest moment a backup progressing linearly could end,
//     e × (99 − p) ÷ (p + 1) from now;
//   - never waits past the earliest moment a backup whose progress
//     accelerates (like x³, three times its average rate at the end) could
//     end, D₀ = e × (100 ÷ (p + 1))^⅓, plus half that end's allowance, so
//     even such a backup is noticed in time, with room to spare for timer
//     and dispatch latency;
//   - once at or past the aim (at 99 %, or a provider that says 100 % but
//     not done), looks every DelayFloor ÷ 2.
//
// Without a progress figure (unknown, or still 0 %) it waits A(e): a backup
// that ends during the wait is noticed within A(e) ≤ A(d). Provider retry
// hints always win. Every delay is clamped to [Min, Max], except that a hint
// may exceed Max. The benchmark (go run ./bench, reports/bench.md) measured
// about a ninth of the provider calls of the google-cloud-go LRO Wait
// schedule at a shorter median detection delay.
type PollPolicy struct {
	// Min and Max bound every delay.
	Min, Max time.Duration
	// DelayFloor and DelayFraction bound how late a finished backup may be noticed.
	DelayFloor    time.Duration
	DelayFraction float64
}

// DefaultPollPolicy is tuned by the poll-policy benchmark (see reports/bench.md).
var DefaultPollPolicy = PollPolicy{
	Min:           time.Second,
	Max:           10 * time.Minute,
	DelayFloor:    30 * time.Second,
	DelayFraction: 0.05,
}

// accelerationExponent is how convex a progress curve the policy guards
// against: percent = 100·x^3 for x = elapsed/duration.
const accelerationExponent = 3

// Next returns the delay before the next poll of an operation observed as st
// at now, which the provider started at started.
func (p PollPolicy) Next(now, started time.Time, st Status) time.Duration {
	e := max(now.Sub(started), 0).Seconds()
	allowance := func(d float64) float64 { return max(p.DelayFloor.Seconds(), p.DelayFraction*d) }
	var next float64
	if st.Percent <= 0 {
		// No progress figure yet: the wait the allowance covers.
		next = allowance(e)
	} else {
		pct := min(st.Percent, 99)
		aim := e * (99 - pct) / (pct + 1)
		earliest := e * math.Pow(100/(pct+1), 1.0/accelerationExponent)
		guard := earliest - e + allowance(earliest)/2
		next = min(guard, max(aim, p.DelayFloor.Seconds()/2))
	}
	d := max(time.Duration(next*float64(time.Second)), st.RetryAfter)
	return min(max(d, p.Min), max(p.Max, st.RetryAfter))
}
