package main

import (
	"fmt"
	"image/color"
	"math"
	"math/rand/v2"
	"time"

	"github.com/backupflow/backupflow/bench/chart"
	"github.com/backupflow/backupflow/bench/pollsim"
	"github.com/backupflow/backupflow/provider"
)

// previousPolicy is the poll policy before this benchmark tuned it, kept
// here to show what the tuning changed: next = min(linear ETA,
// max(DelayFloor, DelayFraction × elapsed)), backing off with the age when
// there is no progress figure, clamped to [Min, Max], hints win.
type previousPolicy struct{ p provider.PollPolicy }

func (s previousPolicy) Next(elapsed time.Duration, st provider.Status) time.Duration {
	budget := max(s.p.DelayFloor, time.Duration(s.p.DelayFraction*float64(elapsed)))
	var next time.Duration
	if st.Percent > 0 && st.Percent < 100 {
		next = time.Duration(float64(elapsed) * (100 - st.Percent) / st.Percent)
	} else {
		next = elapsed
	}
	next = min(next, budget)
	next = max(next, st.RetryAfter)
	return min(max(next, s.p.Min), max(s.p.Max, st.RetryAfter))
}

// variantPolicy is provider.PollPolicy.Next with the guard's exponent and
// share of the allowance as parameters, to measure the alternatives the
// tuning weighed; with exponent 3 and share ½ it is the default policy
// (policy_test.go checks that).
type variantPolicy struct {
	p               provider.PollPolicy
	exponent, share float64
}

func (s variantPolicy) Next(elapsed time.Duration, st provider.Status) time.Duration {
	e := max(elapsed, 0).Seconds()
	allowance := func(d float64) float64 { return max(s.p.DelayFloor.Seconds(), s.p.DelayFraction*d) }
	var next float64
	if st.Percent <= 0 {
		next = allowance(e)
	} else {
		pct := min(st.Percent, 99)
		aim := e * (99 - pct) / (pct + 1)
		earliest := e * math.Pow(100/(pct+1), 1/s.exponent)
		guard := earliest - e + s.share*allowance(earliest)
		next = min(guard, max(aim, s.p.DelayFloor.Seconds()/2))
	}
	d := max(time.Duration(next*float64(time.Second)), st.RetryAfter)
	return min(max(d, s.p.Min), max(s.p.Max, st.RetryAfter))
}

type bucket struct {
	Label  string
	Lo, Hi time.Duration
}

var durationBuckets = []bucket{
	{"1-3 min", time.Minute, 3 * time.Minute},
	{"3-10 min", 3 * time.Minute, 10 * time.Minute},
	{"10-30 min", 10 * time.Minute, 30 * time.Minute},
	{"30-60 min", 30 * time.Minute, time.Hour},
	{"1-2 h", time.Hour, 2 * time.Hour},
	{"2-4 h", 2 * time.Hour, 4 * time.Hour},
	{"4-8 h", 4 * time.Hour, 8 * time.Hour},
	{"8-12 h", 8 * time.Hour, 12*time.Hour + time.Second},
}

func inBucket(b bucket) func(pollsim.Outcome) bool {
	return func(o pollsim.Outcome) bool { return o.Backup.Duration >= b.Lo && o.Backup.Duration < b.Hi }
}

type variantStats struct {
	Name        string
	Policy, Nof pollsim.Stats // main mix; no-progress-figure backups
	// WorstBucketMedian is the largest median delay of any duration bucket.
	WorstBucketMedian time.Duration
}

type policyResult struct {
	N, NoFigureN int
	Seed         uint64
	Policy       provider.PollPolicy
	Base, Pol    pollsim.Stats
	ByCurve      []struct {
		Curve     pollsim.Curve
		Base, Pol pollsim.Stats
	}
	ByBucket []struct {
		Bucket    bucket
		Base, Pol pollsim.Stats
	}
	NoFigureBase, NoFigurePol pollsim.Stats
	Variants                  []variantStats
	Elapsed                   time.Duration
}

func (r policyResult) callRatio() float64 { return r.Pol.MeanCalls / r.Base.MeanCalls }

// measurePolicy replays a population of simulated backups under the default
// policy and the google-cloud-go LRO schedule, and draws the chart.
func measurePolicy(n int, seed uint64, pngPath string) (policyResult, error) {
	began := time.Now()
	res := policyResult{N: n, NoFigureN: n / 4, Seed: seed, Policy: provider.DefaultPollPolicy}
	backups := pollsim.Population(n, seed, pollsim.MainCurves, time.Minute, 12*time.Hour)
	noFigure := pollsim.Population(res.NoFigureN, seed+1, []pollsim.Curve{pollsim.NoFigure}, time.Minute, 12*time.Hour)
	policy := pollsim.Policy("backupflow poll policy", provider.DefaultPollPolicy)

	base, err := pollsim.Run(backups, pollsim.GoogleLRO, seed)
	if err != nil {
		return res, err
	}
	pol, err := pollsim.Run(backups, policy, seed)
	if err != nil {
		return res, err
	}
	res.Base, res.Pol = pollsim.Summarise(base), pollsim.Summarise(pol)
	for _, c := range pollsim.MainCurves {
		is := func(o pollsim.Outcome) bool { return o.Backup.Curve == c }
		res.ByCurve = append(res.ByCurve, struct {
			Curve     pollsim.Curve
			Base, Pol pollsim.Stats
		}{c, pollsim.Summarise(pollsim.Filter(base, is)), pollsim.Summarise(pollsim.Filter(pol, is))})
	}
	for _, b := range durationBuckets {
		res.ByBucket = append(res.ByBucket, struct {
			Bucket    bucket
			Base, Pol pollsim.Stats
		}{b, pollsim.Summarise(pollsim.Filter(base, inBucket(b))), pollsim.Summarise(pollsim.Filter(pol, inBucket(b)))})
	}
	nfBase, err := pollsim.Run(noFigure, pollsim.GoogleLRO, seed)
	if err != nil {
		return res, err
	}
	nfPol, err := pollsim.Run(noFigure, policy, seed)
	if err != nil {
		return res, err
	}
	res.NoFigureBase, res.NoFigurePol = pollsim.Summarise(nfBase), pollsim.Summarise(nfPol)

	// The tuning: the previous algorithm, and the default with one setting changed.
	variants := []pollsim.Scheduler{
		{Name: "previous algorithm, default settings", New: func(*rand.Rand) pollsim.Schedule { return previousPolicy{provider.DefaultPollPolicy} }},
		policy,
	}
	for _, v := range []struct {
		name            string
		exponent, share float64
	}{
		{"guard: x² acceleration, full allowance", 2, 1},
		{"guard: x³ acceleration, full allowance", 3, 1},
		{"guard: x^2.5 acceleration, half the allowance", 2.5, 0.5},
		{"guard: x⁴ acceleration, half the allowance", 4, 0.5},
	} {
		vp := variantPolicy{provider.DefaultPollPolicy, v.exponent, v.share}
		variants = append(variants, pollsim.Scheduler{Name: v.name, New: func(*rand.Rand) pollsim.Schedule { return vp }})
	}
	for _, v := range []struct {
		name string
		edit func(*provider.PollPolicy)
	}{
		{"Max 1 h (BACKUPFLOW_POLL_MAX=1h)", func(p *provider.PollPolicy) { p.Max = time.Hour }},
		{"Max 2 min", func(p *provider.PollPolicy) { p.Max = 2 * time.Minute }},
		{"DelayFloor 10 s", func(p *provider.PollPolicy) { p.DelayFloor = 10 * time.Second }},
		{"DelayFloor 60 s", func(p *provider.PollPolicy) { p.DelayFloor = time.Minute }},
		{"DelayFraction 2 %", func(p *provider.PollPolicy) { p.DelayFraction = 0.02 }},
	} {
		p := provider.DefaultPollPolicy
		v.edit(&p)
		variants = append(variants, pollsim.Policy(v.name, p))
	}
	for _, v := range variants {
		o, err := pollsim.Run(backups, v, seed)
		if err != nil {
			return res, err
		}
		nf, err := pollsim.Run(noFigure, v, seed)
		if err != nil {
			return res, err
		}
		name := v.Name
		if name == policy.Name {
			name = "**default (tuned)**"
		}
		vs := variantStats{Name: name, Policy: pollsim.Summarise(o), Nof: pollsim.Summarise(nf)}
		for _, b := range durationBuckets {
			vs.WorstBucketMedian = max(vs.WorstBucketMedian, pollsim.Summarise(pollsim.Filter(o, inBucket(b))).P50Delay)
		}
		res.Variants = append(res.Variants, vs)
	}
	res.Elapsed = time.Since(began)
	progress("poll policy: %.1f calls vs %.1f (ratio %.3f), median delay %s vs %s, p99 delay/allowed %.2f",
		res.Pol.MeanCalls, res.Base.MeanCalls, res.callRatio(), res.Pol.P50Delay.Round(time.Millisecond), res.Base.P50Delay.Round(time.Millisecond), res.Pol.P99Ratio)
	if pngPath != "" {
		if err := drawPolicyChart(pngPath, base, pol, res); err != nil {
			return res, err
		}
	}
	return res, nil
}

func drawPolicyChart(path string, base, pol []pollsim.Outcome, res policyResult) error {
	dots := func(os []pollsim.Outcome) []chart.Point {
		var pts []chart.Point
		step := max(1, len(os)/2500)
		for i := 0; i < len(os); i += step {
			pts = append(pts, chart.Point{X: float64(os[i].Calls), Y: os[i].Delay.Seconds()})
		}
		return pts
	}
	medians := func(os []pollsim.Outcome) ([]chart.Point, []string) {
		var pts []chart.Point
		var labels []string
		for _, b := range durationBuckets {
			s := pollsim.Summarise(pollsim.Filter(os, inBucket(b)))
			if s.N == 0 {
				continue
			}
			pts = append(pts, chart.Point{X: s.P50Calls, Y: s.P50Delay.Seconds()})
			labels = append(labels, b.Label)
		}
		return pts, labels
	}
	blue := color.RGBA{31, 119, 180, 255}
	orange := color.RGBA{230, 120, 20, 255}
	pl, plLabels := medians(pol)
	bl, blLabels := medians(base)
	ch := chart.Chart{
		Title:  "Provider calls vs detection delay per backup",
		XLabel: "provider calls per backup (log)",
		YLabel: "detection delay, seconds (log)",
		XMin:   1, XMax: 3000, YMin: 0.1, YMax: 1000,
		Width: 1100, Height: 720,
		Series: []chart.Series{
			{Name: fmt.Sprintf("backupflow poll policy: mean %.1f calls, median delay %.1f s", res.Pol.MeanCalls, res.Pol.P50Delay.Seconds()),
				Color: blue, Dots: dots(pol), Line: pl, LineLabels: plLabels, LabelsBelow: true},
			{Name: fmt.Sprintf("google-cloud-go LRO Wait: mean %.1f calls, median delay %.1f s", res.Base.MeanCalls, res.Base.P50Delay.Seconds()),
				Color: orange, Dots: dots(base), Line: bl, LineLabels: blLabels},
		},
		Notes: []string{
			fmt.Sprintf("%d simulated backups, 1 min - 12 h (log-uniform); curves: linear, slow-start, fast-start/stall, noisy.", res.N),
			"Dots: one backup each. Squares: median calls and median delay per duration bucket.",
			"Delays under 0.1 s are drawn at 0.1 s.",
		},
	}
	return ch.WritePNG(path)
}
