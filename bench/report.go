package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/backupflow/backupflow/bench/pollsim"
	"github.com/backupflow/backupflow/provider"
)

// sectionRun says when and under what load a section was measured.
type sectionRun struct {
	Command    string
	Began      time.Time
	Elapsed    time.Duration
	LoadBefore string
	LoadMin    float64
	LoadMean   float64
	LoadMax    float64
}

type report struct {
	Args []string
	// Merges are later commands that re-measured some sections (-merge).
	Merges      []string
	SectionRuns map[string]sectionRun
	Machine     machine
	Began       time.Time
	Elapsed     time.Duration
	LoadBefore  string
	LoadAfter   string
	LoadMin     float64
	LoadMean    float64
	LoadMax     float64

	Policy        *policyResult
	PolicyErr     string
	Throughput    *throughputResult
	ThroughputErr string
	// ThroughputRefreshOnRead is the same measurement on a server that
	// re-reads search attributes on every use (the dev default): a diagnostic.
	ThroughputRefreshOnRead    *throughputResult
	ThroughputRefreshOnReadErr string
	History                    *historyResult
	HistoryErr                 string
	Latency                    *latencyResult
	LatencyErr                 string
	Inflight                   *inflightResult
	InflightErr                string
	Plan                       *planResult
	PlanErr                    string
	// PlanFailures are plan sizes whose run did not complete; Plan keeps
	// the last size that did.
	PlanFailures []planFailure
	ServerErr    string
}

func verdict(ok bool) string {
	if ok {
		return "**PASS**"
	}
	return "**FAIL**"
}

func secs(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	case d < 100*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	default:
		return fmt.Sprintf("%.0f s", d.Seconds())
	}
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func cpuShare(cpu, wall time.Duration) string {
	if wall <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f s (%.2f cores)", cpu.Seconds(), cpu.Seconds()/wall.Seconds())
}

func (r *report) command() string {
	if len(r.Args) == 0 {
		return "go run ./bench"
	}
	return "go run ./bench " + strings.Join(r.Args, " ")
}

// summary rows: figure, measured, target, verdict.
type row struct{ figure, measured, target, verdict string }

func (r *report) summary() []row {
	var rows []row
	notRun := func(figure, target string, err string) row {
		if err != "" {
			return row{figure, "error: " + err, target, verdict(false)}
		}
		return row{figure, "not run", target, "-"}
	}
	if t := r.Throughput; t != nil && r.ThroughputErr == "" {
		m := t.medianRatio(kindBackupflow)
		rows = append(rows, row{"1. Throughput, backupflow ÷ bare workflow (median of paired rounds)",
			fmt.Sprintf("%.3f (mean rates %.1f vs %.1f workflows/s)", m, t.Backupflow, t.Bare), "≥ 0.9", verdict(m >= 0.9)})
	} else {
		rows = append(rows, notRun("1. Throughput, backupflow ÷ bare workflow", "≥ 0.9", r.ThroughputErr))
	}
	if h := r.History; h != nil && r.HistoryErr == "" {
		short, long := h.Cases[0], h.Cases[2]
		ok := long.Events <= 25 && short.Events <= 25 && long.Events <= short.Events
		rows = append(rows, row{"2. History events per successful backup, 1 min → 6 h",
			fmt.Sprintf("%d → %d (%d → %d poll attempts)", short.Events, long.Events, short.PollAttempts, long.PollAttempts),
			"≤ 25, no growth", verdict(ok)})
	} else {
		rows = append(rows, notRun("2. History events per successful backup, 1 min → 6 h", "≤ 25, no growth", r.HistoryErr))
	}
	if p := r.Policy; p != nil && r.PolicyErr == "" {
		rows = append(rows,
			row{"3a. Provider calls per backup, policy ÷ baseline", fmt.Sprintf("%.3f (%.1f vs %.1f)", p.callRatio(), p.Pol.MeanCalls, p.Base.MeanCalls), "≤ 0.333", verdict(p.callRatio() <= 1.0/3)},
			row{"3b. Median detection delay", fmt.Sprintf("%s vs baseline %s", secs(p.Pol.P50Delay), secs(p.Base.P50Delay)), "≤ baseline", verdict(p.Pol.P50Delay <= p.Base.P50Delay)},
			row{"3c. p99 of delay ÷ max(30 s, 5 % of duration)", fmt.Sprintf("%.2f (p99 delay %s)", p.Pol.P99Ratio, secs(p.Pol.P99Delay)), "≤ 1", verdict(p.Pol.P99Ratio <= 1)})
	} else {
		rows = append(rows, notRun("3. Poll policy", "calls ≤ ⅓, median ≤ baseline, p99 ratio ≤ 1", r.PolicyErr))
	}
	if f := r.Inflight; f != nil {
		okAll := f.Completed == f.N && f.StartErrors == 0
		concurrent := f.PeakAtProvider
		if concurrent == 0 { // a run from before the provider-side count
			concurrent = f.PeakRunning
		}
		diag := ""
		if f.CacheSize > 0 {
			diag = fmt.Sprintf(", workflow cache %d", f.CacheSize)
		}
		rows = append(rows,
			row{fmt.Sprintf("4a. Concurrent backups completed on one worker with %d activity slots%s", f.Slots, diag),
				fmt.Sprintf("%d of %d (peak %d running at the provider at once)", f.Completed, f.N, concurrent), fmt.Sprintf("all %d, all in flight at once", f.N),
				verdict(okAll && concurrent >= f.N)},
			row{"4b. Worker RSS (peak)" + diag, mib(max(f.WorkerPeakRSS, f.WorkerHWM)), "≤ 300 MB", verdict(float64(max(f.WorkerPeakRSS, f.WorkerHWM)) <= 300e6)},
			row{"4c. Server / worker CPU over the run", fmt.Sprintf("server %s; worker %s", cpuShare(f.ServerCPU, f.Wall), cpuShare(f.WorkerCPU, f.Wall)), "reported", "-"})
	} else {
		rows = append(rows, notRun("4. In-flight capacity", "all complete, RSS ≤ 300 MB", r.InflightErr))
	}
	if l := r.Latency; l != nil && r.LatencyErr == "" {
		b, f := quantileDur(l.Bare, 0.5), quantileDur(l.Backupflow, 0.5)
		rows = append(rows, row{"5. Start latency p50, backupflow ÷ bare",
			fmt.Sprintf("%.2f (%s vs %s)", float64(f)/float64(b), secs(f), secs(b)), "≤ 1.5", verdict(float64(f) <= 1.5*float64(b))})
	} else {
		rows = append(rows, notRun("5. Start latency p50, backupflow ÷ bare", "≤ 1.5", r.LatencyErr))
	}
	for _, f := range r.PlanFailures {
		rows = append(rows, row{fmt.Sprintf("6. Plan over %d targets", f.Targets), "run did not complete: " + f.Err, "completes", verdict(false)})
	}
	if p := r.Plan; p != nil && len(p.Rounds) > 0 {
		first := p.Rounds[0]
		rows = append(rows, row{fmt.Sprintf("6. Plan over %d targets: trigger → every backup started, ÷ the call limit's lower bound", p.Targets),
			fmt.Sprintf("%s ÷ %s = %.1f (run completed after %s)", secs(first.AllStarted), secs(p.startLowerBound()), first.AllStarted.Seconds()/p.startLowerBound().Seconds(), secs(first.Completed)),
			"reported", "-"})
	} else if len(r.PlanFailures) == 0 {
		rows = append(rows, notRun("6. Plan over many targets", "reported", r.PlanErr))
	}
	return rows
}

func (r *report) markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# backupflow benchmark\n\n")
	w("Generated by `%s` on %s (%s of wall time). The command measures backupflow and its baselines in one run\n", r.command(), r.Began.UTC().Format("2006-01-02 15:04 UTC"), r.Elapsed.Round(time.Second))
	w("on the machine below; every Temporal figure comes from a real Temporal server, go.temporal.io/server v1.32.1, run as\n")
	w("backupflow's embedded dev server (`deploy/dev/devserver`: all services in one child process, in-memory SQLite, loopback\n")
	w("only, no UI) with search attributes cached as on a production server (`CacheSearchAttributes`; section 1 also measures\n")
	w("the dev default), and from backupflow's real worker code.\n\n")
	if len(r.Merges) > 0 {
		w("Sections re-measured afterwards and merged into this report (`-merge`; each section below says when it was measured):\n\n")
		for _, m := range r.Merges {
			w("    %s\n", m)
		}
		w("\n")
	}

	w("## Machine\n\n| | |\n|---|---|\n")
	m := r.Machine
	w("| CPUs (nproc) | %d |\n| CPU model | %s |\n| RAM | %s |\n| Go | %s |\n| Kernel | %s |\n", m.CPUs, m.CPUModel, m.MemTotal, m.GoVersion, m.Kernel)
	w("| Load average (1, 5, 15 min) before / after | %s / %s |\n", r.LoadBefore, r.LoadAfter)
	w("| 1-minute load during the run (min / mean / max, sampled every 5 s) | %.2f / %.2f / %.2f |\n\n", r.LoadMin, r.LoadMean, r.LoadMax)
	w("The machine was shared with other jobs during the run (see the load average); throughput, CPU and latency\n")
	w("figures are affected by that, the simulated poll-policy figures are not. Ratios compare runs made side by side.\n\n")

	w("## Summary\n\n| Figure | Measured | Target | Result |\n|---|---|---|---|\n")
	for _, row := range r.summary() {
		w("| %s | %s | %s | %s |\n", row.figure, row.measured, row.target, row.verdict)
	}
	w("\n")
	r.writeThroughput(w)
	r.writeHistory(w)
	r.writePolicy(w)
	r.writeInflight(w)
	r.writeLatency(w)
	r.writePlan(w)
	w("## Reproduce\n\n```\n%s\n", r.command())
	for _, m := range r.Merges {
		w("%s\n", m)
	}
	w("```\n\n")
	w("Run from the repository root. Smaller, quicker run: `go run ./bench -out /tmp/bench -inflight-n 1000 -inflight-duration 3m -throughput-n 200 -policy-n 2000 -plan-targets 200`.\n")
	w("`-sections` picks sections (%s).\n", strings.Join(allSections, ","))
	return b.String()
}

func (r *report) writeThroughput(w func(string, ...any)) {
	w("## 1. Throughput\n\n")
	r.measured(w, "throughput")
	t := r.Throughput
	if t == nil {
		w("Not run.\n\n")
		return
	}
	if r.ThroughputErr != "" {
		w("Error: %v\n\n", r.ThroughputErr)
	}
	w("One worker (assembled by `wiring.InitializeWorkerWithClient`, default settings: %d activity slots) runs both kinds on the\n", t.Slots)
	w("same task queue. Each batch starts %d workflows from %d concurrent starters and waits for every result, then for the\n", t.N, t.Starters)
	w("server to settle the work the batch left behind (visibility records, task cleanup: until it uses under a tenth of a\n")
	w("core over %s); the rate is workflows ÷ (first start → settled), so no batch pays for the one before it. Each round\n", settleWindow)
	w("runs one batch of each kind back to back, after a warm-up batch of each; the order flips every round, so the server\n")
	w("slowing down as its database grows weighs on both kinds alike.\n\n")
	w("- **backupflow**: `CreateBackup` through the typed client (`backup.Client.StartCreate`, with its memo and ID policy) on the\n")
	w("  in-process `memory` provider with `durationSeconds: 0`, so the first poll finds the backup done. A successful backup\n")
	w("  executes Validate (local activity), StartOperation (activity), PollOperation (activity, one attempt), Finalize (local\n")
	w("  activity). The client sets the search attributes in the start request; the workflow writes `BackupState` once, at the\n")
	w("  outcome (section 2 counts the upserts).\n")
	w("- **bare workflow**: the same activity executions as no-ops in the same order and with the same options: 2 local +\n")
	w("  2 regular activities (`ExecuteWorkflow` directly; no search attributes, query handler or signal channel).\n\n")
	m := writeThroughputRounds(w, t)
	if t.Bare > 0 {
		w("\nThe target applies to the **median of the paired ratios: %.3f** (≥ 0.9: %s). Each round runs the kinds back to back,\n", m, verdict(m >= 0.9))
		w("so a change in the shared machine's load between rounds moves both sides of a ratio alike. Mean rates over all rounds:\n")
		w("backupflow %.1f/s, bare %.1f/s (ratio %.3f). Median server + worker CPU per workflow: backupflow %s, bare %s\n",
			t.Backupflow, t.Bare, t.ratio(), secs(t.medianCPU(kindBackupflow)), secs(t.medianCPU(kindBare)))
		w("(ratio %.2f; the workflows are CPU-bound on this machine, so this is the cost behind the rates).\n\n",
			float64(t.medianCPU(kindBackupflow))/float64(max(t.medianCPU(kindBare), 1)))
	}
	d := r.ThroughputRefreshOnRead
	if d == nil && r.ThroughputRefreshOnReadErr == "" {
		return
	}
	w("### Diagnostic: the dev server's default search-attribute setting\n\n")
	w("Not a target. The same rounds on a second server that keeps the dev default, as the Temporal CLI's dev server and\n")
	w("`temporaltest` do: `system.forceSearchAttributesCacheRefreshOnRead` = true, which the server documents as a testing\n")
	w("aid not to be turned on in production. Every start, upsert and visibility write that carries a search attribute then\n")
	w("re-reads the cluster metadata and the namespace from the database, under one server-wide lock. The bare workflow carries\n")
	w("none, so this setting charges a test harness's cost to backupflow alone; the target above is measured without it.\n\n")
	if r.ThroughputRefreshOnReadErr != "" {
		w("Error: %v\n\n", r.ThroughputRefreshOnReadErr)
	}
	if d != nil {
		dm := writeThroughputRounds(w, d)
		w("\nMedian paired ratio with the dev default: **%.3f**; median server + worker CPU per workflow: backupflow %s, bare %s.\n\n",
			dm, secs(d.medianCPU(kindBackupflow)), secs(d.medianCPU(kindBare)))
	}
}

// writeThroughputRounds writes the table of rounds and returns the median paired ratio.
func writeThroughputRounds(w func(string, ...any), t *throughputResult) float64 {
	w("| Round | Kind | Workflows | Time (of which settling) | Rate | Rate ÷ bare, same round | Server + worker CPU per workflow |\n|---|---|---|---|---|---|---|\n")
	bare := map[int]float64{}
	for _, run := range t.Runs {
		if run.Kind == kindBare {
			bare[run.Round] = run.rate()
		}
	}
	for _, run := range t.Runs {
		paired := "-"
		if b := bare[run.Round]; b > 0 && run.Kind != kindBare {
			paired = fmt.Sprintf("%.3f", run.rate()/b)
		}
		w("| %d | %s | %d | %s (%s) | %.1f/s | %s | %s |\n", run.Round, run.Kind, run.N, secs(run.Elapsed), secs(run.Settle), run.rate(), paired, secs(run.cpuPerWorkflow()))
	}
	return t.medianRatio(kindBackupflow)
}

func (r *report) writeHistory(w func(string, ...any)) {
	w("## 2. History and billable-style actions per backup\n\n")
	r.measured(w, "history")
	h := r.History
	if h == nil {
		w("Not run.\n\n")
		return
	}
	if r.HistoryErr != "" {
		w("Error: %v\n\n", r.HistoryErr)
	}
	w("Method. The poll activity's retries are server-side timers in real time, so long backups are simulated by speeding up\n")
	w("the provider, not the server: a background loop advances the memory cloud's clock so it runs **%.0f×** faster than real\n", h.Speedup)
	w("time, and that worker's poll policy is clamped to a fixed **%s** step (Min = Max = DelayFloor; the server's retry timers\n", h.PollStep)
	w("have about one-second precision, so a shorter step would not poll more often), so a 6-hour backup\n")
	w("runs its whole course in about %s and is polled about %.0f times. A second worker with the **default** poll policy and an\n",
		secs(time.Duration(float64(6*time.Hour)/h.Speedup)), (6*time.Hour).Seconds()/h.Speedup/h.PollStep.Seconds())
	w("unadvanced clock runs a real 1-minute backup. Counts are read from each finished workflow's history.\n\n")
	w("| Backup | Method | Wall | History events | Workflow tasks | Poll attempts | Result.Attempts |\n|---|---|---|---|---|---|---|\n")
	for _, c := range h.Cases {
		w("| %s | %s | %s | **%d** | %d | %d | %d |\n", c.Label, c.Method, secs(c.Wall), c.Events, c.WorkflowTasks, c.PollAttempts, c.ResultAttempts)
	}
	w("\nBillable-style actions per backup (Temporal Cloud counts workflow starts, activity attempts, local activities,\n")
	w("timers, signals and search-attribute upserts; each local activity is counted as one action here, an upper bound):\n\n")
	w("| Backup | Method | Workflow starts | Activity attempts | Local activities | Timers | Signals | Upserts | Total |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, c := range h.Cases {
		w("| %s | %s | %d | %d | %d | %d | %d | %d | **%d** |\n", c.Label, c.Method, c.WorkflowStarts, c.ActivityAttempts, c.LocalActivities, c.Timers, c.Signals, c.Upserts, c.actions())
	}
	if len(h.Cases) >= 3 {
		fixed := h.Cases[2].actions() - h.Cases[2].PollAttempts
		w("\nActivity attempts are the start attempt plus the poll attempts; everything but the poll attempts is fixed:\n")
		w("**%d actions + one per poll attempt**. ", fixed)
		if p := r.Policy; p != nil {
			w("With the default poll policy the simulation (section 3) puts a backup at %.1f polls on average over the 1 min – 12 h mix\n", p.Pol.MeanCalls)
			w("(6-hour linear backup: %d; 1-minute: %d), i.e. about **%.0f actions per backup**, against %.0f with the google-cloud-go LRO schedule's %.1f polls.\n",
				linearCalls(6*time.Hour), linearCalls(time.Minute), float64(fixed)+p.Pol.MeanCalls, float64(fixed)+p.Base.MeanCalls, p.Base.MeanCalls)
		}
	}
	w("\n(The real-time 1-minute backup took %d polls where the simulation's whole-percent linear backup takes %d: the memory\n", realtimePolls(h), linearCalls(time.Minute))
	w("provider reports fractional percentages, and the real server adds its timer and dispatch latency.)\n")
	w("\nTarget: ≤ 25 events per successful backup and no growth with duration: %s.\n\n", r.summaryVerdict("2."))
}

func realtimePolls(h *historyResult) int {
	for _, c := range h.Cases {
		if strings.HasPrefix(c.Method, "real time") {
			return c.PollAttempts
		}
	}
	return -1
}

// linearCalls is how many polls the default policy makes on a linearly
// progressing backup of duration d (simulated).
func linearCalls(d time.Duration) int {
	o, err := pollsim.Replay(pollsim.NewBackup(pollsim.Linear, d, nil), pollsim.Policy("", provider.DefaultPollPolicy).New(nil))
	if err != nil {
		return -1
	}
	return o.Calls
}

func (r *report) summaryVerdict(prefix string) string {
	for _, row := range r.summary() {
		if strings.HasPrefix(row.figure, prefix) {
			return row.verdict
		}
	}
	return "-"
}

// measured says when and under what load a section was measured.
func (r *report) measured(w func(string, ...any), name string) {
	run, ok := r.SectionRuns[name]
	if !ok {
		return
	}
	w("_Measured %s by `%s` in %s; 1-minute load average %.2f / %.2f / %.2f (min / mean / max), %s before._\n\n",
		run.Began.UTC().Format("2006-01-02 15:04 UTC"), run.Command, run.Elapsed.Round(time.Second), run.LoadMin, run.LoadMean, run.LoadMax, strings.Fields(run.LoadBefore + " ?")[0])
}

func statsRow(w func(string, ...any), label string, s pollsim.Stats) {
	w("| %s | %d | %.1f | %.0f | %s | %s | %.2f | %.1f %% |\n", label, s.N, s.MeanCalls, s.P50Calls, secs(s.P50Delay), secs(s.P99Delay), s.P99Ratio, 100*s.Within)
}

func (r *report) writePolicy(w func(string, ...any)) {
	w("## 3. Poll policy\n\n")
	r.measured(w, "policy")
	p := r.Policy
	if p == nil {
		w("Not run.\n\n")
		return
	}
	if r.PolicyErr != "" {
		w("Error: %v\n\n", r.PolicyErr)
		return
	}
	w("Pure computation on a simulated clock (`bench/pollsim`). %d backups, durations log-uniform from 1 minute to 12 hours,\n", p.N)
	w("a quarter each on four progress curves: **linear**; **slow-start** (percent = 100·x², x = elapsed ÷ duration);\n")
	w("**fast-start/stall** (95 %% at 60 %% of the run, then crawling to 99 %%); **noisy** (the rate changes at random 16 times,\n")
	w("log-normal σ = 0.6). The provider reports whole percentages (as Spanner, Huawei Cloud and Alibaba Cloud do) and at most\n")
	w("99 %% while running. The first poll is %s after the provider starts the backup (the poll activity follows the start\n", secs(pollsim.FirstPoll))
	w("activity); a poll at or after the end sees it done. Detection delay = that poll's time − the end.\n\n")
	w("- **backupflow**: `provider.DefaultPollPolicy.Next(now, started, status)` called exactly as `activities.PollOperation`\n")
	w("  does, with `started` = the provider's own start time (`Status.StartedAt`).\n")
	w("- **baseline**: the google-cloud-go long-running-operation `Wait` schedule (`cloud.google.com/go/longrunning`:\n")
	w("  gax `Backoff{Initial: 1 s, Max: 60 s, Multiplier: 2}`, each pause drawn uniformly from (0, current], \"full jitter\"),\n")
	w("  replicated with a seeded random source (seed %d).\n\n", p.Seed)
	w("![calls vs detection delay](pollpolicy.png)\n\n")
	w("| Schedule | Backups | Mean calls | Median calls | Median delay | p99 delay | p99 delay ÷ allowed | Within allowed |\n|---|---|---|---|---|---|---|---|\n")
	statsRow(w, "**backupflow policy**", p.Pol)
	statsRow(w, "google-cloud-go LRO Wait", p.Base)
	w("\nAllowed delay = max(30 s, 5 %% of the backup's duration). Targets: calls ≤ ⅓ of the baseline's (**%.3f**: %s), median\n", p.callRatio(), verdict(p.callRatio() <= 1.0/3))
	w("delay no worse (%s vs %s: %s), p99 of delay ÷ allowed ≤ 1 (**%.2f**: %s).\n\n", secs(p.Pol.P50Delay), secs(p.Base.P50Delay),
		verdict(p.Pol.P50Delay <= p.Base.P50Delay), p.Pol.P99Ratio, verdict(p.Pol.P99Ratio <= 1))

	w("By duration (the baseline's jitter makes short backups cheap for it and long ones expensive):\n\n")
	w("| Duration | Backups | Calls: policy / baseline | Median delay: policy / baseline | p99 delay ÷ allowed: policy / baseline |\n|---|---|---|---|---|\n")
	for _, bk := range p.ByBucket {
		w("| %s | %d | %.1f / %.1f (%.2f) | %s / %s | %.2f / %.2f |\n", bk.Bucket.Label, bk.Pol.N, bk.Pol.MeanCalls, bk.Base.MeanCalls, bk.Pol.MeanCalls/bk.Base.MeanCalls,
			secs(bk.Pol.P50Delay), secs(bk.Base.P50Delay), bk.Pol.P99Ratio, bk.Base.P99Ratio)
	}
	w("\nBy progress curve:\n\n")
	w("| Curve | Calls: policy / baseline | Median delay: policy / baseline | p99 delay ÷ allowed: policy / baseline |\n|---|---|---|---|\n")
	for _, c := range p.ByCurve {
		w("| %s | %.1f / %.1f | %s / %s | %.2f / %.2f |\n", c.Curve, c.Pol.MeanCalls, c.Base.MeanCalls, secs(c.Pol.P50Delay), secs(c.Base.P50Delay), c.Pol.P99Ratio, c.Base.P99Ratio)
	}
	w("\nOutside the target mix, %d backups whose provider reports **no progress figure** at all: policy %.1f calls, median delay\n", p.NoFigureN, p.NoFigurePol.MeanCalls)
	w("%s, p99 delay ÷ allowed %.2f; baseline %.1f calls, median delay %s, p99 ratio %.2f. Without a figure the policy can only\n",
		secs(p.NoFigurePol.P50Delay), p.NoFigurePol.P99Ratio, p.NoFigureBase.MeanCalls, secs(p.NoFigureBase.P50Delay), p.NoFigureBase.P99Ratio)
	w("wait what the allowance covers, so it trades median delay for calls there; it stays within the allowance.\n\n")

	w("### Tuning\n\n")
	w("The policy before this benchmark was `min(linear ETA, max(30 s, 5 %% × elapsed))`, backing off with the operation's age\n")
	w("while there is no figure. Its waits are capped at 5 %% of the elapsed time however clearly the progress says the end is\n")
	w("far, so it spends about 20 polls per e-fold of run time, and it lands long backups' last poll up to 5 %% late. The tuned\n")
	w("policy (`provider/pollpolicy.go`) separates the two concerns:\n\n")
	w("1. **Aim** at the earliest moment a linearly progressing backup could end: elapsed × (99 − p) ÷ (p + 1) from now\n")
	w("   (p is rounded down, so the true share is below p + 1). For linear progress the last poll then lands within\n")
	w("   DelayFloor ÷ 2 of the end.\n")
	w("2. **Guard**: never wait past the earliest end of a backup whose progress accelerates like x³ (three times its average\n")
	w("   rate by the end), D₀ = elapsed × (100 ÷ (p + 1))^⅓, plus half that end's allowance max(DelayFloor, DelayFraction × D₀).\n")
	w("   Such a backup, and any slower one, is noticed within half its allowance; the other half is headroom for timer and\n")
	w("   dispatch latency on a real server. The guard lets a poll jump far ahead while progress is low (at 1 %% after one\n")
	w("   minute it allows %s, where the old cap allowed 30 s).\n", secs(time.Duration(float64(time.Minute)*(math.Cbrt(50)-1)+15*float64(time.Second))))
	w("3. **Endgame**: at or past the aim (99 %%, or 100 %% but not done) poll every DelayFloor ÷ 2 (15 s): the median-delay lever.\n")
	w("4. **No figure** (unknown or 0 %%): wait the allowance for the elapsed time, max(DelayFloor, DelayFraction × elapsed).\n\n")
	w("Min, Max, DelayFloor and DelayFraction keep their meaning, their environment variables and their defaults (1 s, 10 min,\n")
	w("30 s, 5 %%), so no configuration changes. Max bounds how stale the live progress shown by `Handle.Progress` can get; it\n")
	w("dominates the calls of backups over about 2 hours. The alternatives weighed, on the same population and seed\n")
	w("(\"guard\" rows re-implement the policy with another exponent or allowance share; the default is exponent 3, half):\n\n")
	w("| Schedule | Mean calls | Ratio to baseline | Median delay | Worst duration bucket's median delay | p99 delay ÷ allowed | No-figure backups: calls, median delay |\n|---|---|---|---|---|---|---|\n")
	for _, v := range p.Variants {
		w("| %s | %.1f | %.3f | %s | %s | %.2f | %.1f, %s |\n", v.Name, v.Policy.MeanCalls, v.Policy.MeanCalls/p.Base.MeanCalls, secs(v.Policy.P50Delay),
			secs(v.WorstBucketMedian), v.Policy.P99Ratio, v.Nof.MeanCalls, secs(v.Nof.P50Delay))
	}
	w("\nThe previous policy already met the three aggregate targets, but only because short backups dominate the median:\n")
	w("its median delay for backups of several hours was minutes, since its last poll lands anywhere within 5 %% of the run.\n")
	w("The tuned policy halves its calls and keeps every duration bucket's median delay near or below the baseline's. A guard\n")
	w("against x² acceleration with the full allowance sits at the p99 limit; x³ with the full allowance passes, but leaves\n")
	w("slow-start backups' median delay above the baseline's in the hours-long buckets; half the allowance fixes that for about\n")
	w("one more call per backup.\n")
	w("\n")
}

func (r *report) writeInflight(w func(string, ...any)) {
	w("## 4. In-flight capacity\n\n")
	r.measured(w, "inflight")
	f := r.Inflight
	if f == nil {
		if r.InflightErr != "" {
			w("Error: %v\n\n", r.InflightErr)
		} else {
			w("Not run.\n\n")
		}
		return
	}
	if r.InflightErr != "" {
		w("Error: %v\n\n", r.InflightErr)
	}
	w("A fresh server (child process) and the production worker binary (`go build ./worker`, its own process, configured only\n")
	w("through its environment: `BACKUPFLOW_PROVIDERS=memory`, `BACKUPFLOW_MAX_CONCURRENT_ACTIVITIES=%d`,\n", f.Slots)
	if f.CacheSize > 0 {
		w("`BACKUPFLOW_WORKFLOW_CACHE_SIZE=%d`, ", f.CacheSize)
	}
	w("default poll policy). The benchmark starts %d `CreateBackup` workflows (%d concurrent starters), each a %s backup at the worker's\n", f.N, f.Starters, f.Duration)
	w("in-process memory provider, and waits until visibility counts all of them completed. Every 2 s it samples the worker's\n")
	w("and server's RSS (`/proc/<pid>/status`), the number of running workflows (visibility `CountWorkflowExecutions`) and the\n")
	w("worker's slot gauges (`temporal_worker_task_slots_used` on its `/metrics`). CPU is utime + stime from `/proc/<pid>/stat`.\n\n")
	w("| Figure | Value |\n|---|---|\n")
	w("| Backups started / start errors | %d / %d |\n", f.N-f.StartErrors, f.StartErrors)
	if f.FirstStartError != "" {
		w("| First start error | %s |\n", f.FirstStartError)
	}
	w("| Time to start them all | %s |\n", secs(f.Ramp))
	w("| Peak workflows running at once (visibility) | %d (at %s) |\n", f.PeakRunning, secs(f.PeakAt))
	if f.PeakAtProvider > 0 {
		w("| Peak backups running at the provider at once (worker's `backupflow_backups_started_total` − ended) | **%d** (at %s) |\n", f.PeakAtProvider, secs(f.PeakAtProviderAt))
	}
	w("| Completed | **%d of %d** |\n", f.Completed, f.N)
	w("| Wall time | %s |\n", secs(f.Wall))
	w("| Activity slots configured / most seen in use (activity, local activity) | %d / %s, %s |\n", f.Slots, gauge(f.ActivitySlotsMax), gauge(f.LocalSlotsMax))
	atProvider := 0
	for _, smp := range f.Samples {
		if smp.At <= f.PendingAt {
			atProvider = smp.AtProvider
		}
	}
	w("| Pending activities of %d random backups mid-run (at %s; %d backups then running at the provider) | %d waiting on a server timer, %d executing on the worker, %d none at that instant |\n",
		f.Pending.Sampled, secs(f.PendingAt), atProvider, f.Pending.Waiting, f.Pending.Running, f.Pending.Other)
	w("| Worker RSS, peak sampled / VmHWM | **%s** / %s |\n", mib(f.WorkerPeakRSS), mib(f.WorkerHWM))
	if a := f.AtPeakRSS; a.Goroutines > 0 {
		w("| Worker at its peak RSS: goroutines, Go heap in use, goroutine stacks | %d, %s, %s |\n", a.Goroutines, mib(a.HeapInuse), mib(a.StackInuse))
	}
	w("| Server RSS, peak sampled | %s |\n", mib(f.ServerPeakRSS))
	w("| Worker CPU | %s |\n", cpuShare(f.WorkerCPU, f.Wall))
	w("| Server CPU | %s |\n", cpuShare(f.ServerCPU, f.Wall))
	w("| Bench process CPU (starters, sampling) | %s |\n", cpuShare(f.BenchCPU, f.Wall))
	if f.ProviderCalls > 0 {
		w("| Provider calls (worker's `backupflow_provider_calls_total`) | %.0f (%.1f per backup) |\n", f.ProviderCalls, f.ProviderCalls/float64(max(f.Completed, 1)))
	}
	w("\nNo slot is held while a backup waits: %d backups were running at once on a worker that can execute at most %d\n", max(f.PeakAtProvider, f.PeakRunning), f.Slots)
	w("activities at a time, and all completed. Between polls a backup is a retry timer on the server, not a goroutine holding a slot.\n\n")
	if a := f.AtPeakRSS; a.Goroutines > 0 {
		w("Where the worker's memory goes: %d goroutines, %s of Go heap and %s of goroutine stacks at the peak. A workflow\n", a.Goroutines, mib(a.HeapInuse), mib(a.StackInuse))
		w("in the SDK's sticky cache keeps two goroutines (its coroutine and its cancel-signal coroutine) and its state between its\n")
		w("rare workflow tasks, about 55 KB; the cache holds at most `BACKUPFLOW_WORKFLOW_CACHE_SIZE` of them (the SDK's own default,\n")
		w("10,000, would keep every backup of a 10,000-backup run in memory). An evicted backup is replayed from its short history\n")
		w("when it next wakes up.\n\n")
	}
	if len(f.Samples) > 0 {
		w("<details><summary>Samples</summary>\n\n| t | started | running (visibility) | at the provider | worker RSS | worker goroutines | worker heap | server RSS | activity slots used |\n|---|---|---|---|---|---|---|---|---|\n")
		step := max(1, len(f.Samples)/30)
		for i := 0; i < len(f.Samples); i += step {
			s := f.Samples[i]
			w("| %s | %d | %d | %d | %s | %d | %s | %s | %s |\n", secs(s.At), s.Started, s.Running, s.AtProvider, mib(s.WorkerRSS), s.Goroutines, mib(s.HeapInuse), mib(s.ServerRSS), gauge(s.ActivitySlots))
		}
		w("\n</details>\n\n")
	}
}

func gauge(v int) string {
	if v < 0 {
		return "n/a"
	}
	return fmt.Sprint(v)
}

func (r *report) writeLatency(w func(string, ...any)) {
	w("## 5. Start latency\n\n")
	r.measured(w, "latency")
	l := r.Latency
	if l == nil {
		w("Not run.\n\n")
		return
	}
	if r.LatencyErr != "" {
		w("Error: %v\n\n", r.LatencyErr)
	}
	if len(l.Bare) == 0 || len(l.Backupflow) == 0 {
		return
	}
	w("%d starts of each kind, one at a time and alternating, on the idle in-process worker (after 10 warm-up starts).\n", l.N)
	w("backupflow: from just before `backup.Client.StartCreate` to the provider receiving the create call (a thin\n")
	w("`provider.Driver` decorator in `bench/` timestamps the memory driver's `Start`); that path includes Validate (a local\n")
	w("activity with the provider's preflight call) and the StartOperation activity's dispatch. Bare: from just before\n")
	w("`ExecuteWorkflow` to its single activity running.\n\n")
	w("| Kind | p50 | p90 | p99 | max |\n|---|---|---|---|---|\n")
	for _, k := range []struct {
		name string
		ds   []time.Duration
	}{{"backupflow: start → provider create call", l.Backupflow}, {"bare: start → activity runs", l.Bare}} {
		w("| %s | %s | %s | %s | %s |\n", k.name, secs(quantileDur(k.ds, 0.5)), secs(quantileDur(k.ds, 0.9)), secs(quantileDur(k.ds, 0.99)), secs(quantileDur(k.ds, 1)))
	}
	b, f := quantileDur(l.Bare, 0.5), quantileDur(l.Backupflow, 0.5)
	w("\np50 ratio **%.2f** (target ≤ 1.5: %s).\n\n", float64(f)/float64(b), verdict(float64(f) <= 1.5*float64(b)))
}

func (r *report) writePlan(w func(string, ...any)) {
	w("## 6. A plan over many targets\n\n")
	r.measured(w, "plan")
	for _, f := range r.PlanFailures {
		w("**A plan over %d targets (%s of plan JSON) did not run** (`%s`, %s): %s\n\n", f.Targets, kib(f.PlanBytes), f.Command, f.At.UTC().Format("2006-01-02 15:04 UTC"), f.Err)
		if n := childRuns(f.Targets); n > 0 && f.PlanBytes > 0 {
			total := n * f.PlanBytes
			limits := "the frontend's 4 MiB gRPC message limit"
			if total > 50<<20 {
				limits += " and the 50 MiB a history may hold"
			}
			w("Why: the run splits into %d child PlanRuns, and each child's input (`plan.Run`) carries the whole plan, so the\n", n)
			w("parent's first workflow task encodes %d × %s = %s of child inputs, over %s (the server's defaults;\n", n, kib(f.PlanBytes), fmt.Sprintf("%.1f MiB", float64(total)/(1<<20)), limits)
			w("the error above says which check stopped it first). Child inputs that carry only their own targets would keep the\n")
			w("parent at about one plan's size in all. By that arithmetic the largest plan that runs is about %d targets of this size.\n\n", largestPlan(f.Targets, f.PlanBytes))
		}
	}
	p := r.Plan
	if p == nil {
		if r.PlanErr != "" {
			w("Error: %v\n\n", r.PlanErr)
		} else {
			w("Not run.\n\n")
		}
		return
	}
	if r.PlanErr != "" {
		w("Error: %v\n\n", r.PlanErr)
	}
	w("A fresh server (child process) and one in-process worker (`wiring.InitializeWorkerWithClient`, default settings) with\n")
	w("`BACKUPFLOW_PROVIDER_RATE_LIMIT=%g` and `BACKUPFLOW_PROVIDER_RATE_BURST=%d`: the worker's per-provider call limiter\n", p.RateLimit, p.RateBurst)
	w("(`internal/ops/limiter.go`) is off by default, so the bench sets this limit. A daily plan (`every: 24h`, retention\n")
	w("keep last 1) over **%d targets**, each its own resource on the in-process memory provider with instant backups (done\n", p.Targets)
	w("at their first poll), is applied as a paused Temporal Schedule (`plan.Client.Apply`; the plan is %s of JSON in\n", kib(p.PlanBytes))
	w("the schedule's action input) and triggered (`plan.Client.Trigger`) %d times, each run after the one before has ended\n", len(p.Rounds))
	if p.ChildRuns > 0 {
		w("and its inventories have recorded it. Each run splits into %d child PlanRuns of %d targets; each child runs its\n", p.ChildRuns, planRunBatch)
		w("targets' CreateBackup children and records their outcomes (RecordRun: a signal-with-start per target's PlanInventory).\n")
	} else {
		w("and its inventories have recorded it. The run backs up every target itself (a run over %d targets would split).\n", planRunBatch)
	}
	w("Started = the memory provider receiving the create call (a `provider.Driver` decorator in `bench/` timestamps `Start`).\n\n")
	w("| Run | Creates received | Trigger → first create | → half | → every create | → run completed | Provider calls (per target) | Server / bench CPU |\n|---|---|---|---|---|---|---|---|\n")
	for _, rd := range p.Rounds {
		w("| %s | %d | %s | %s | **%s** | **%s** | %s (%.2f) | %s / %s |\n", rd.Label, rd.Started, secs(rd.FirstStart), secs(rd.StartP50), secs(rd.AllStarted), secs(rd.Completed),
			callsText(rd.ProviderCalls), rd.calls()/float64(max(p.Targets, 1)), cpuShare(rd.ServerCPU, rd.Completed), cpuShare(rd.BenchCPU, rd.Completed))
	}
	if len(p.Rounds) == 0 {
		return
	}
	bound := p.startLowerBound()
	w("\nLower bound set by the call limit: %d creates ÷ %g calls/s = **%s**. ", p.Targets, p.RateLimit, secs(bound))
	for _, rd := range p.Rounds {
		w("%s: every create after %.2f× that bound. ", rd.Label, rd.AllStarted.Seconds()/bound.Seconds())
	}
	if first := p.Rounds[0]; first.calls() > 0 {
		w("The limiter paces every provider call, not only creates: the first run made %.1f calls per target (%s), so its\n", first.calls()/float64(p.Targets), callsText(first.ProviderCalls))
		w("bound is %s (calls ÷ limit); from the second run on retention's deletes of the run before's backups add to them.\n", secs(time.Duration(first.calls()/p.RateLimit*float64(time.Second))))
		w("Calls are counted from the trigger until the sampled inventories had recorded the run.\n")
	}
	w("The section took %s in all, %s of it reading histories.\n\n", secs(p.Wall), secs(p.CountWall))

	steady, ok := p.steadyRound()
	if !ok || len(steady.Costs) == 0 {
		return
	}
	day := "the last run, on a plan that had run before: its inventories existed and retention deleted the previous run's backup"
	if len(p.Rounds) == 1 {
		day = "the plan's first run: it also starts every inventory"
	}
	w("### Per target per day (daily plan)\n\n")
	w("Counted from histories of %s. Actions are counted as in section 2 (workflow starts, activity attempts,\n", day)
	w("local activities, timers, signals, upserts); a child workflow's start is the child's own `WorkflowExecutionStarted`, a\n")
	w("record is the inventory's signal (its start, on the first run, is the signal-with-start's). Runs: the parent and all\n")
	w("child PlanRuns counted, ÷ %d targets; backups and inventories: the mean over %d sampled targets spread evenly over the\n", p.Targets, p.Sample)
	w("plan (inventories: the events the run added to their histories).\n\n")
	w("| Part | Histories counted | Events | Actions | Workflow starts | Activity attempts | Local activities | Timers | Signals | Upserts |\n|---|---|---|---|---|---|---|---|---|---|\n")
	var events, actions float64
	for _, c := range steady.Costs {
		events += c.Events
		actions += c.Actions
		if c.Note != "" {
			w("| %s | - | - | %.4f | - | - | - | - | - | - |\n", c.Part, c.Actions)
			continue
		}
		n := float64(max(p.Targets, 1))
		if c.Sampled || c.Part != partRun {
			n = float64(max(c.Histories, 1))
		}
		counted := fmt.Sprint(c.Histories)
		if c.Sampled {
			counted += " (sample)"
		}
		k := c.Counts
		w("| %s | %s | %.2f | %.2f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |\n", c.Part, counted, c.Events, c.Actions,
			float64(k.WorkflowStarts)/n, float64(k.ActivityAttempts)/n, float64(k.LocalActivities)/n, float64(k.Timers)/n, float64(k.Signals)/n, float64(k.Upserts)/n)
	}
	w("| **total per target per day** | | **%.1f** | **%.1f** | | | | | | |\n\n", events, actions)
	w("For the whole plan: about %.0f events and %.0f actions a day for %d targets. Schedule: %s.\n", events*float64(p.Targets), actions*float64(p.Targets), p.Targets, steady.Costs[0].Note)
	w("Not in the counts: the inventory's 24-hour retention timer started the day before fires once a day (`TimerFired` and a\n")
	w("workflow task: about 4 events, no action); when it fires before that day's record arrives it runs a retention pass and\n")
	perDay := steady.Costs[len(steady.Costs)-1].Events + 4
	w("starts one more timer (one more action). An inventory continues as new after %d events: at about %.0f events a day\n", inventoryEventLimit, perDay)
	w("(with the timer's), one more workflow start every %.0f days or so.\n\n", float64(inventoryEventLimit)/perDay)
}

func kib(n int) string { return fmt.Sprintf("%.0f KiB", float64(n)/1024) }

// callsText lists provider calls by kind, in a stable order.
func callsText(calls map[string]float64) string {
	var names []string
	total := 0.0
	for k, v := range calls {
		names = append(names, k)
		total += v
	}
	slices.Sort(names)
	var parts []string
	for _, k := range names {
		parts = append(parts, fmt.Sprintf("%s %.0f", k, calls[k]))
	}
	return fmt.Sprintf("%.0f: %s", total, strings.Join(parts, ", "))
}

// recordPlan keeps a plan measurement: a run that completed replaces the
// earlier one; a size whose run did not complete is listed as a failure and
// leaves the earlier measurement of another size in place.
// It reports whether res replaced the earlier measurement.
func (r *report) recordPlan(res *planResult, err error, command string) (replaced bool) {
	if res == nil || len(res.Rounds) == 0 {
		f := planFailure{Err: errText(err), Command: command, At: time.Now()}
		if res != nil {
			f.Targets, f.PlanBytes = res.Targets, res.PlanBytes
		}
		r.PlanFailures = append(slices.DeleteFunc(r.PlanFailures, func(o planFailure) bool { return o.Targets == f.Targets }), f)
		return false
	}
	r.Plan, r.PlanErr = res, errText(err)
	r.PlanFailures = slices.DeleteFunc(r.PlanFailures, func(o planFailure) bool { return o.Targets == res.Targets })
	return true
}

// largestPlan is the most targets whose split run's first workflow task
// stays under the frontend's 4 MiB gRPC limit, when every child run's input
// carries the whole plan: (n / batch) × n × bytes per target < 4 MiB.
func largestPlan(targets, planBytes int) int {
	perTarget := float64(planBytes) / float64(max(targets, 1))
	return int(math.Sqrt(float64(4<<20) * planRunBatch / perTarget))
}
