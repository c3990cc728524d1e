// Command bench measures backupflow against baselines in one run and writes
// a Markdown report (reports/bench.md) and a chart (reports/pollpolicy.png):
//
//  1. throughput: CreateBackup workflows with instant memory-provider backups
//     vs a bare workflow with the same activity executions, on one worker;
//  2. history: events and billable-style actions per successful backup, for
//     simulated durations of 1 minute, 1 hour and 6 hours;
//  3. poll policy: provider calls and detection delay on a simulated clock,
//     vs the google-cloud-go LRO Wait schedule;
//  4. in-flight capacity: many concurrent long backups on one worker process
//     with few activity slots (worker RSS, server and worker CPU);
//  5. start latency: start call to the provider's create call, vs a bare
//     one-activity workflow;
//  6. plan: a triggered plan over many targets (time until every backup has
//     started, vs the provider call limit) and its history events and
//     actions per target and day.
//
// Temporal runs in a child process (backupflow's deploy/dev/devserver:
// in-memory SQLite, all services in one process, loopback only). Run it from
// the repository root: go run ./bench (see -h for smaller, quicker runs).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
)

var selfPID = os.Getpid()

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

type options struct {
	out      string
	sections map[string]bool

	policyN int
	seed    uint64

	throughputN, rounds, starters int

	historySpeedup float64
	historyStep    time.Duration

	latencyN int

	inflightN, inflightSlots, inflightStarters int
	inflightDuration, inflightTimeout          time.Duration
	workerBin                                  string
	inflightCacheSize                          int
	merge                                      bool

	plan planOptions
}

var allSections = []string{"policy", "throughput", "history", "latency", "inflight", "plan"}

func main() {
	if len(os.Args) > 1 && os.Args[1] == serveArg {
		if err := serve(slices.Contains(os.Args[2:], refreshOnReadArg)); err != nil {
			fmt.Fprintln(os.Stderr, "bench server:", err)
			os.Exit(1)
		}
		return
	}
	var o options
	var sections string
	flag.StringVar(&o.out, "out", "reports", "directory for bench.md and pollpolicy.png")
	flag.StringVar(&sections, "sections", strings.Join(allSections, ","), "sections to run: "+strings.Join(allSections, ","))
	flag.IntVar(&o.policyN, "policy-n", 8000, "simulated backups for the poll-policy comparison")
	flag.Uint64Var(&o.seed, "seed", 1, "random seed of the simulation")
	flag.IntVar(&o.throughputN, "throughput-n", 200, "workflows per throughput batch")
	flag.IntVar(&o.rounds, "throughput-rounds", 6, "rounds of batches (one of each kind per round, back to back)")
	flag.IntVar(&o.starters, "throughput-starters", 32, "concurrent starters in the throughput test")
	flag.Float64Var(&o.historySpeedup, "history-speedup", 360, "how much faster than real time the history test's provider clock runs")
	flag.DurationVar(&o.historyStep, "history-step", time.Second, "fixed poll interval in the time-scaled history test")
	flag.IntVar(&o.latencyN, "latency-n", 200, "sequential starts of each kind for the start-latency test")
	flag.IntVar(&o.inflightN, "inflight-n", 10000, "concurrent backups in the in-flight test")
	flag.IntVar(&o.inflightSlots, "inflight-slots", 50, "activity (and local activity) slots of the in-flight worker")
	flag.IntVar(&o.inflightStarters, "inflight-starters", 32, "concurrent starters in the in-flight test")
	flag.DurationVar(&o.inflightDuration, "inflight-duration", 15*time.Minute, "length of each in-flight backup at the provider")
	flag.DurationVar(&o.inflightTimeout, "inflight-timeout", 0, "give up on the in-flight test after this long (0: duration + 40 min)")
	flag.StringVar(&o.workerBin, "worker-bin", "", "worker binary for the in-flight test (default: go build ./worker)")
	flag.IntVar(&o.inflightCacheSize, "inflight-cache-size", defaultWorkflowCacheSize(), "BACKUPFLOW_WORKFLOW_CACHE_SIZE of the in-flight worker (default: the worker's own default)")
	flag.IntVar(&o.plan.targets, "plan-targets", 10000, "targets of the plan in the plan section (200 for a quick run)")
	flag.IntVar(&o.plan.runs, "plan-runs", 2, "triggered runs of the plan, one after the other (the last one's counts are a steady day's)")
	flag.IntVar(&o.plan.sample, "plan-sample", 300, "backups and inventories whose histories the plan section counts")
	flag.Float64Var(&o.plan.rateLimit, "plan-rate", 100, "BACKUPFLOW_PROVIDER_RATE_LIMIT of the plan section's worker (provider calls per second)")
	flag.IntVar(&o.plan.rateBurst, "plan-burst", 10, "BACKUPFLOW_PROVIDER_RATE_BURST of the plan section's worker")
	flag.DurationVar(&o.plan.timeout, "plan-timeout", 90*time.Minute, "give up on the plan section after this long")
	renderOnly := flag.Bool("render", false, "only rewrite bench.md in -out from the bench.json a run wrote there")
	flag.BoolVar(&o.merge, "merge", false, "re-measure only -sections and merge them into the bench.json already in -out")
	flag.Parse()
	if *renderOnly {
		if err := render(o.out); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	o.sections = map[string]bool{}
	for _, s := range strings.Split(sections, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !slices.Contains(allSections, s) {
			fmt.Fprintf(os.Stderr, "bench: unknown section %q (known: %s)\n", s, strings.Join(allSections, ","))
			os.Exit(2)
		}
		o.sections[s] = true
	}
	if o.inflightTimeout == 0 {
		o.inflightTimeout = o.inflightDuration + 40*time.Minute
	}
	if err := run(o, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(o options, args []string) error {
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "backupflow-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	ctx := context.Background()
	rep := &report{Args: args, Machine: describeMachine(), LoadBefore: loadAvg(), Began: time.Now()}
	if o.merge {
		// Keep what an earlier run measured; replace only the sections run now.
		raw, err := os.ReadFile(filepath.Join(o.out, "bench.json"))
		if err != nil {
			return fmt.Errorf("-merge needs an earlier run's bench.json: %w", err)
		}
		rep = &report{}
		if err := json.Unmarshal(raw, rep); err != nil {
			return err
		}
		rep.Merges = append(rep.Merges, "go run ./bench "+strings.Join(args, " "))
	}
	if rep.SectionRuns == nil {
		rep.SectionRuns = map[string]sectionRun{}
	}
	section := func(name string, measure func()) {
		if !o.sections[name] {
			return
		}
		run := sectionRun{Began: time.Now(), LoadBefore: loadAvg(), Command: "go run ./bench " + strings.Join(args, " ")}
		load := sampleLoad(5 * time.Second)
		measure()
		run.Elapsed = time.Since(run.Began)
		run.LoadMin, run.LoadMean, run.LoadMax = load.finish()
		rep.SectionRuns[name] = run
	}
	load := sampleLoad(5 * time.Second)
	began := time.Now()

	section("policy", func() {
		r, err := measurePolicy(o.policyN, o.seed, filepath.Join(o.out, "pollpolicy.png"))
		rep.Policy, rep.PolicyErr = &r, errText(err)
	})

	if o.sections["throughput"] || o.sections["history"] || o.sections["latency"] {
		if err := runInProcessSections(ctx, o, rep, section); err != nil {
			rep.ServerErr = errText(err)
			progress("error: %v", err)
		}
	}
	if o.sections["throughput"] && rep.ThroughputErr == "" && rep.ServerErr == "" {
		// After the first server has stopped, so it takes no CPU from this one.
		d, err := throughputRefreshingSearchAttributes(ctx, o)
		rep.ThroughputRefreshOnRead, rep.ThroughputRefreshOnReadErr = d, errText(err)
	}

	measuredPlan, planMeasured := rep.SectionRuns["plan"]
	keptPlan := false
	section("plan", func() {
		r, err := measurePlanOnItsOwnServer(ctx, o.plan)
		if err != nil {
			progress("plan: %v", err)
		}
		keptPlan = !rep.recordPlan(r, err, "go run ./bench "+strings.Join(args, " "))
	})
	if keptPlan && planMeasured {
		// The figures shown are still the earlier run's; its failure is listed on its own.
		rep.SectionRuns["plan"] = measuredPlan
	}

	section("inflight", func() {
		bin := o.workerBin
		var err error
		if bin == "" {
			progress("building ./worker")
			bin, err = buildWorker(tmp)
		}
		if err == nil {
			var r inflightResult
			r, err = measureInflight(ctx, bin, tmp, o.inflightN, o.inflightSlots, o.inflightStarters, o.inflightCacheSize, o.inflightDuration, o.inflightTimeout)
			rep.Inflight = &r
		}
		rep.InflightErr = errText(err)
		if err != nil {
			progress("in-flight: %v", err)
		}
	})

	lo, mean, hi := load.finish()
	if o.merge {
		rep.LoadMin, rep.LoadMean, rep.LoadMax = min(rep.LoadMin, lo), (rep.LoadMean+mean)/2, max(rep.LoadMax, hi)
		rep.Elapsed += time.Since(began)
	} else {
		rep.LoadMin, rep.LoadMean, rep.LoadMax = lo, mean, hi
		rep.LoadAfter = loadAvg()
		rep.Elapsed = time.Since(began)
	}
	raw, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.out, "bench.json"), raw, 0o644); err != nil {
		return err
	}
	return writeMarkdown(rep, o.out)
}

func writeMarkdown(rep *report, dir string) error {
	path := filepath.Join(dir, "bench.md")
	if err := os.WriteFile(path, []byte(rep.markdown()), 0o644); err != nil {
		return err
	}
	progress("wrote %s", path)
	return nil
}

// render rewrites bench.md from the figures a run stored in bench.json.
func render(dir string) error {
	raw, err := os.ReadFile(filepath.Join(dir, "bench.json"))
	if err != nil {
		return err
	}
	var rep report
	if err := json.Unmarshal(raw, &rep); err != nil {
		return err
	}
	return writeMarkdown(&rep, dir)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// inProcessStack is a fresh server (child process), a client of its
// namespace and a backupflow worker in this process.
type inProcessStack struct {
	s *server
	c client.Client
	w *inProcess
}

func startInProcessStack(refreshOnRead bool) (_ *inProcessStack, err error) {
	st := &inProcessStack{}
	defer func() {
		if err != nil {
			st.stop()
		}
	}()
	if st.s, err = startServer(refreshOnRead); err != nil {
		return nil, err
	}
	if st.c, err = st.s.dial(); err != nil {
		return nil, err
	}
	if st.w, err = startInProcess(st.c, st.s, st.s.Namespace, "backups", nil); err != nil {
		return nil, err
	}
	return st, nil
}

func (st *inProcessStack) stop() {
	if st.w != nil {
		st.w.stop()
	}
	if st.c != nil {
		st.c.Close()
	}
	if st.s != nil {
		st.s.stop()
	}
}

// runInProcessSections runs throughput, history and start latency on one
// server with a worker in this process.
func runInProcessSections(ctx context.Context, o options, rep *report, section func(string, func())) error {
	st, err := startInProcessStack(false)
	if err != nil {
		return err
	}
	defer st.stop()
	section("throughput", func() {
		r, err := measureThroughput(ctx, st.s, st.c, st.w, o.throughputN, o.rounds, o.starters)
		rep.Throughput, rep.ThroughputErr = &r, errText(err)
	})
	section("latency", func() {
		r, err := measureStartLatency(ctx, st.c, st.w, o.latencyN)
		rep.Latency, rep.LatencyErr = &r, errText(err)
	})
	section("history", func() {
		r, err := measureHistory(ctx, st.s, st.c, o.historySpeedup, o.historyStep)
		rep.History, rep.HistoryErr = &r, errText(err)
	})
	return nil
}

// measurePlanOnItsOwnServer runs the plan section on a fresh server, so the
// other sections' workflows do not weigh on it.
func measurePlanOnItsOwnServer(ctx context.Context, o planOptions) (*planResult, error) {
	if o.targets < 1 || o.runs < 1 || o.sample < 1 || o.rateLimit <= 0 {
		return nil, fmt.Errorf("-plan-targets, -plan-runs, -plan-sample and -plan-rate must be positive")
	}
	s, err := startServer(false)
	if err != nil {
		return nil, err
	}
	defer s.stop()
	c, err := s.dial()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	r, err := measurePlan(ctx, s, c, o)
	return &r, err
}

// throughputRefreshingSearchAttributes repeats the throughput measurement on
// a second server that re-reads search attributes from its database on every
// use, the dev server's default: a diagnostic of what that setting costs.
func throughputRefreshingSearchAttributes(ctx context.Context, o options) (*throughputResult, error) {
	st, err := startInProcessStack(true)
	if err != nil {
		return nil, err
	}
	defer st.stop()
	r, err := measureThroughput(ctx, st.s, st.c, st.w, o.throughputN, o.rounds, o.starters)
	return &r, err
}
