// Package pollsim replays backups on a simulated clock to measure poll
// schedules: provider calls per backup, and detection delay (the time from
// the backup finishing at the provider to the first poll that sees it). It is
// pure computation: no Temporal, no sleeping.
package pollsim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/backupflow/backupflow/provider"
)

// Curve is the shape of a backup's progress over its run.
type Curve string

// The progress curves. Reported percentages are whole numbers, as Spanner's
// progressPercent, Huawei's "process" and Alibaba's BackupProgress are.
const (
	// Linear progress: the percentage grows evenly.
	Linear Curve = "linear"
	// SlowStart progress accelerates: percent = 100·x² (x = elapsed/duration).
	SlowStart Curve = "slow-start"
	// FastStartStall reaches 95 % at 60 % of the run, then crawls to 99 %
	// for the remaining 40 % (a long finalization phase).
	FastStartStall Curve = "fast-start/stall"
	// Noisy progress moves at a rate that changes at random 16 times over
	// the run (log-normal, σ = 0.6): uneven but never backwards.
	Noisy Curve = "noisy"
	// NoFigure never reports a percentage (Percent = -1), as some provider
	// states do; it is reported separately, not part of the main mix.
	NoFigure Curve = "no progress figure"
)

// MainCurves is the mix the targets are measured on.
var MainCurves = []Curve{Linear, SlowStart, FastStartStall, Noisy}

// Backup is one simulated backup.
type Backup struct {
	Curve    Curve
	Duration time.Duration
	// cum holds the noisy curve's cumulative progress at each segment end.
	cum []float64
}

const noisySegments = 16

// NewBackup returns a backup of the given curve and duration; rng draws the
// noisy curve's rates.
func NewBackup(c Curve, d time.Duration, rng *rand.Rand) Backup {
	b := Backup{Curve: c, Duration: d}
	if c == Noisy {
		b.cum = make([]float64, noisySegments)
		total := 0.0
		for i := range b.cum {
			total += math.Exp(0.6 * rng.NormFloat64())
			b.cum[i] = total
		}
		for i := range b.cum {
			b.cum[i] /= total
		}
	}
	return b
}

// Fraction is the share of the work done at t (0 at the start, 1 at the end).
func (b Backup) Fraction(t time.Duration) float64 {
	x := min(max(float64(t)/float64(b.Duration), 0), 1)
	switch b.Curve {
	case SlowStart:
		return x * x
	case FastStartStall:
		if x <= 0.6 {
			return 0.95 * x / 0.6
		}
		return 0.95 + 0.04*(x-0.6)/0.4
	case Noisy:
		pos := x * noisySegments
		i := min(int(pos), noisySegments-1)
		prev := 0.0
		if i > 0 {
			prev = b.cum[i-1]
		}
		return prev + (b.cum[i]-prev)*(pos-float64(i))
	default:
		return x
	}
}

// Percent is what the provider reports at t while the backup runs: a whole
// percentage, at most 99, or -1 for a backup that reports none.
func (b Backup) Percent(t time.Duration) float64 {
	if b.Curve == NoFigure {
		return -1
	}
	return min(math.Floor(100*b.Fraction(t)), 99)
}

// Allowed is the detection delay the target allows for this backup:
// max(30 s, 5 % of its duration).
func (b Backup) Allowed() time.Duration {
	return max(30*time.Second, b.Duration/20)
}

// Schedule decides the wait before the next poll of one backup. A schedule
// may keep state (the baseline's backoff does); use a fresh one per backup.
type Schedule interface {
	Next(elapsed time.Duration, st provider.Status) time.Duration
}

// Scheduler makes a fresh Schedule per backup.
type Scheduler struct {
	Name string
	New  func(rng *rand.Rand) Schedule
}

// epoch anchors simulated time for provider.PollPolicy, which takes instants.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type policySchedule struct{ p provider.PollPolicy }

// Next calls PollPolicy.Next exactly as activities.PollOperation does: now
// is the worker's clock and started is the provider's own start time
// (Status.StartedAt), which the simulated provider always reports.
func (s policySchedule) Next(elapsed time.Duration, st provider.Status) time.Duration {
	started := epoch
	st.StartedAt = &started
	return s.p.Next(epoch.Add(elapsed), *st.StartedAt, st)
}

// Policy schedules polls with backupflow's poll policy.
func Policy(name string, p provider.PollPolicy) Scheduler {
	return Scheduler{Name: name, New: func(*rand.Rand) Schedule { return policySchedule{p} }}
}

// gaxBackoff is gax.Backoff from github.com/googleapis/gax-go/v2 as
// longrunning.Operation.Wait configures it (Initial 1 s, Max 60 s,
// Multiplier 2): each pause is drawn uniformly from (0, cur] ("full
// jitter"), then cur doubles up to Max. The random source is seeded here so
// runs are reproducible.
type gaxBackoff struct {
	rng *rand.Rand
	cur time.Duration
}

func (b *gaxBackoff) Next(time.Duration, provider.Status) time.Duration {
	if b.cur == 0 {
		b.cur = time.Second
	}
	d := time.Duration(1 + b.rng.Int64N(int64(b.cur)))
	b.cur = min(2*b.cur, time.Minute)
	return d
}

// GoogleLRO is the baseline: the google-cloud-go long-running operation
// Wait schedule (cloud.google.com/go/longrunning Operation.Wait).
var GoogleLRO = Scheduler{Name: "google-cloud-go LRO Wait", New: func(rng *rand.Rand) Schedule {
	return &gaxBackoff{rng: rng}
}}

// FirstPoll is when the first poll happens after the provider starts the
// backup: the poll activity runs right after the start activity returns.
const FirstPoll = 100 * time.Millisecond

// maxCalls bounds one replay; no sane schedule comes near it.
const maxCalls = 1_000_000

// Outcome is one backup replayed under one schedule.
type Outcome struct {
	Backup Backup
	Calls  int
	// Delay is from the end of the backup to the poll that saw it.
	Delay time.Duration
}

// Ratio is the delay as a share of the allowed delay (1 = at the limit).
func (o Outcome) Ratio() float64 { return float64(o.Delay) / float64(o.Backup.Allowed()) }

// Replay polls b from FirstPoll until a poll finds it done.
func Replay(b Backup, s Schedule) (Outcome, error) {
	t := FirstPoll
	for calls := 1; calls <= maxCalls; calls++ {
		if t >= b.Duration {
			return Outcome{Backup: b, Calls: calls, Delay: t - b.Duration}, nil
		}
		st := provider.Status{Phase: provider.PhaseRunning, Percent: b.Percent(t), ProviderState: "CREATING"}
		w := s.Next(t, st)
		if w <= 0 {
			return Outcome{}, fmt.Errorf("schedule returned a non-positive wait %s at %s", w, t)
		}
		t += w
	}
	return Outcome{}, fmt.Errorf("no end after %d calls", maxCalls)
}

// Population draws n backups: curves in turn, durations log-uniform in
// [minD, maxD].
func Population(n int, seed uint64, curves []Curve, minD, maxD time.Duration) []Backup {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	out := make([]Backup, n)
	lo, hi := math.Log(minD.Seconds()), math.Log(maxD.Seconds())
	for i := range out {
		d := time.Duration(math.Exp(lo+rng.Float64()*(hi-lo)) * float64(time.Second))
		out[i] = NewBackup(curves[i%len(curves)], d.Round(time.Millisecond), rng)
	}
	return out
}

// Run replays every backup under the scheduler. The scheduler's random
// source is seeded from seed, so a run is reproducible.
func Run(backups []Backup, s Scheduler, seed uint64) ([]Outcome, error) {
	rng := rand.New(rand.NewPCG(seed, 0x2545f4914f6cdd1d))
	out := make([]Outcome, len(backups))
	for i, b := range backups {
		o, err := Replay(b, s.New(rng))
		if err != nil {
			return nil, fmt.Errorf("%s, %s backup of %s: %w", s.Name, b.Curve, b.Duration, err)
		}
		out[i] = o
	}
	return out, nil
}

// Stats summarise outcomes.
type Stats struct {
	N         int
	MeanCalls float64
	P50Calls  float64
	P50Delay  time.Duration
	P99Delay  time.Duration
	MaxDelay  time.Duration
	// P99Ratio is the 99th percentile of delay ÷ allowed delay.
	P99Ratio float64
	// Within is the share of backups noticed within their allowed delay.
	Within float64
}

// Summarise computes Stats over outcomes.
func Summarise(os []Outcome) Stats {
	if len(os) == 0 {
		return Stats{}
	}
	calls := make([]float64, len(os))
	delays := make([]float64, len(os))
	ratios := make([]float64, len(os))
	s := Stats{N: len(os)}
	within := 0
	for i, o := range os {
		calls[i] = float64(o.Calls)
		delays[i] = float64(o.Delay)
		ratios[i] = o.Ratio()
		s.MeanCalls += float64(o.Calls)
		if o.Delay <= o.Backup.Allowed() {
			within++
		}
	}
	s.MeanCalls /= float64(len(os))
	s.P50Calls = Quantile(calls, 0.5)
	s.P50Delay = time.Duration(Quantile(delays, 0.5))
	s.P99Delay = time.Duration(Quantile(delays, 0.99))
	s.MaxDelay = time.Duration(Quantile(delays, 1))
	s.P99Ratio = Quantile(ratios, 0.99)
	s.Within = float64(within) / float64(len(os))
	return s
}

// Quantile returns the q-quantile of xs (nearest rank); xs is sorted in place.
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	slices.Sort(xs)
	i := int(math.Ceil(q*float64(len(xs)))) - 1
	return xs[min(max(i, 0), len(xs)-1)]
}

// Filter returns the outcomes for which keep is true.
func Filter(os []Outcome, keep func(Outcome) bool) []Outcome {
	var out []Outcome
	for _, o := range os {
		if keep(o) {
			out = append(out, o)
		}
	}
	return out
}
