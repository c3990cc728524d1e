package provider

import "time"

// PollPolicy decides when to look at a running operation again.
//
// It aims the next poll at the moment the provider's own progress says the
// backup will finish (elapsed × remaining ÷ done), but never waits longer than
// the detection-delay budget: max(DelayFloor, DelayFraction × elapsed). So a
// 12-hour backup is polled a few dozen times instead of every minute, and a
// finished backup is noticed within 5 % of its run time (or 30 s). Provider
// retry hints always win.
type PollPolicy struct {
	// Min and Max bound every delay.
	Min, Max time.Duration
	// DelayFloor and DelayFraction bound how late a finished backup may be noticed.
	DelayFloor    time.Duration
	DelayFraction float64
}

// DefaultPollPolicy is tuned by the poll-policy benchmark (see README).
var DefaultPollPolicy = PollPolicy{
	Min:           time.Second,
	Max:           10 * time.Minute,
	DelayFloor:    30 * time.Second,
	DelayFraction: 0.05,
}

// Next returns the delay before the next poll of an operation observed as st
// at now, which the provider started at started.
func (p PollPolicy) Next(now, started time.Time, st Status) time.Duration {
	elapsed := now.Sub(started)
	if elapsed < 0 {
		elapsed = 0
	}
	budget := max(p.DelayFloor, time.Duration(p.DelayFraction*float64(elapsed)))
	var next time.Duration
	if st.Percent > 0 && st.Percent < 100 {
		// Linear ETA from the provider's own progress.
		next = time.Duration(float64(elapsed) * (100 - st.Percent) / st.Percent)
	} else {
		// No progress figure yet: back off with the operation's age.
		next = elapsed
	}
	next = min(next, budget)
	next = max(next, st.RetryAfter)
	return min(max(next, p.Min), max(p.Max, st.RetryAfter))
}
