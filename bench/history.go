package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/wiring"
)

// historyCount is what one successful backup's history holds.
type historyCount struct {
	Label     string
	Simulated time.Duration // the backup's duration at the provider
	Wall      time.Duration
	// Method says how the duration was simulated.
	Method string
	Events int
	// Billable-style actions.
	WorkflowStarts   int
	ActivityAttempts int // regular activity attempts (start + polls)
	LocalActivities  int // MarkerRecorded events
	Timers           int
	Signals          int
	Upserts          int
	// Other figures.
	WorkflowTasks  int
	ResultAttempts int // backup.Result.Attempts
	PollAttempts   int // attempts of the poll activity
}

func (h historyCount) actions() int {
	return h.WorkflowStarts + h.ActivityAttempts + h.LocalActivities + h.Timers + h.Signals + h.Upserts
}

type historyResult struct {
	Speedup  float64
	PollStep time.Duration
	Cases    []historyCount
}

// countHistory reads a workflow's history and counts its events by kind.
func countHistory(ctx context.Context, c client.Client, id, run string) (historyCount, error) {
	var h historyCount
	it := c.GetWorkflowHistory(ctx, id, run, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	scheduled := map[int64]string{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return h, err
		}
		h.count(ev, scheduled)
	}
	return h, nil
}

// count adds one event; scheduled maps activity-scheduled event IDs to
// activity types, as the events go by.
func (h *historyCount) count(ev *historypb.HistoryEvent, scheduled map[int64]string) {
	h.Events++
	switch ev.GetEventType() {
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
		h.WorkflowStarts++
	case enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
		h.WorkflowTasks++
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
		scheduled[ev.GetEventId()] = ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
		a := ev.GetActivityTaskStartedEventAttributes()
		h.ActivityAttempts += int(a.GetAttempt())
		if scheduled[a.GetScheduledEventId()] == "PollOperation" {
			h.PollAttempts = int(a.GetAttempt())
		}
	case enumspb.EVENT_TYPE_MARKER_RECORDED:
		h.LocalActivities++
	case enumspb.EVENT_TYPE_TIMER_STARTED:
		h.Timers++
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
		h.Signals++
	case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
		h.Upserts++
	}
}

// measureHistory runs successful backups of simulated durations and counts
// their histories.
//
// Time-scaled runs: a worker whose poll policy is clamped to a fixed step
// (Min = Max = DelayFloor = step) polls a memory cloud whose clock a
// background loop advances speedup× faster than real time, so a 6-hour
// backup runs its whole course (and is polled about 6 h ÷ speedup ÷ step
// times) in under a minute. Real-time run: a second worker with the default
// poll policy and an unadvanced cloud runs a real 1-minute backup.
func measureHistory(ctx context.Context, s *server, c client.Client, speedup float64, step time.Duration) (historyResult, error) {
	res := historyResult{Speedup: speedup, PollStep: step}
	fixed := wiring.PollConfig{Min: step, Max: step, DelayFloor: step, DelayFraction: 0.05}
	scaled, err := startInProcess(c, s, s.Namespace, "bench-history-scaled", &fixed)
	if err != nil {
		return res, err
	}
	defer scaled.stop()
	realtime, err := startInProcess(c, s, s.Namespace, "bench-history-realtime", nil) // default policy
	if err != nil {
		return res, err
	}
	defer realtime.stop()

	// The scaled cloud's clock runs speedup× faster.
	tick := 20 * time.Millisecond
	stopAdvance := make(chan struct{})
	advanced := make(chan struct{})
	go func() {
		defer close(advanced)
		t := time.NewTicker(tick)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-stopAdvance:
				return
			case now := <-t.C:
				scaled.cloud.Advance(time.Duration(float64(now.Sub(last)) * (speedup - 1)))
				last = now
			}
		}
	}()
	defer func() { close(stopAdvance); <-advanced }()

	type job struct {
		label    string
		d        time.Duration
		w        *inProcess
		method   string
		resource string
	}
	jobs := []job{
		{"1 minute", time.Minute, scaled, fmt.Sprintf("clock ×%.0f, poll every %s", speedup, step), "hist-1m"},
		{"1 hour", time.Hour, scaled, fmt.Sprintf("clock ×%.0f, poll every %s", speedup, step), "hist-1h"},
		{"6 hours", 6 * time.Hour, scaled, fmt.Sprintf("clock ×%.0f, poll every %s", speedup, step), "hist-6h"},
		{"1 minute", time.Minute, realtime, "real time, default poll policy", "hist-rt-1m"},
	}
	res.Cases = make([]historyCount, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Go(func() {
			req, err := memoryRequest(j.resource+"-"+runID, j.d.Seconds())
			if err != nil {
				errs[i] = err
				return
			}
			began := time.Now()
			h, err := j.w.backupClient(c).StartCreate(ctx, req)
			if err != nil {
				errs[i] = err
				return
			}
			var r backup.Result
			if r, err = h.Result(ctx); err != nil {
				errs[i] = fmt.Errorf("%s backup: %w", j.label, err)
				return
			}
			count, err := countHistory(ctx, c, h.WorkflowID, h.RunID)
			if err != nil {
				errs[i] = err
				return
			}
			count.Label, count.Simulated, count.Method, count.Wall, count.ResultAttempts = j.label, j.d, j.method, time.Since(began), r.Attempts
			res.Cases[i] = count
			progress("history: %s (%s): %d events, %d poll attempts", j.label, j.method, count.Events, count.PollAttempts)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return res, err
		}
	}
	return res, nil
}
