package reliability

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/clouds"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/wiring"
)

// call is one driver call made by an activity attempt.
type call struct {
	Provider   string
	Workflow   string // workflow ID + run ID
	ActivityID string
	Activity   string
	Attempt    int32
	Method     string
	Start, End time.Time
	Class      provider.Class // "" on success; Unavailable for unclassified errors
	RetryAfter time.Duration  // the provider's hint carried by the error
}

// recorder keeps every call of the recording drivers. Drivers make SDK calls
// with the SDKs' own retries off, so each driver call is a provider call (or
// a short fixed sequence of them) and its start is when the first goes out.
type recorder struct {
	mu    sync.Mutex
	calls []call
}

func (r *recorder) add(c call) {
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
}

// Calls returns a copy of the calls so far.
func (r *recorder) Calls() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls...)
}

// recordingDriver wraps a real driver and records each call with the
// activity attempt that made it (read from the activity context).
type recordingDriver struct {
	provider.Driver
	rec *recorder
}

func (d recordingDriver) record(ctx context.Context, method string, fn func() error) error {
	info := activity.GetInfo(ctx)
	c := call{
		Provider:   d.Name(),
		Workflow:   info.WorkflowExecution.ID + "/" + info.WorkflowExecution.RunID,
		ActivityID: info.ActivityID,
		Activity:   info.ActivityType.Name,
		Attempt:    info.Attempt,
		Method:     method,
		Start:      time.Now(),
	}
	err := fn()
	c.End = time.Now()
	if err != nil {
		c.Class = provider.ClassOf(err)
		if c.Class == "" {
			c.Class = provider.Unavailable
		}
		var pe *provider.Error
		if errors.As(err, &pe) {
			c.RetryAfter = pe.RetryAfter
		}
	}
	d.rec.add(c)
	return err
}

func (d recordingDriver) Preflight(ctx context.Context, job provider.Job) error {
	return d.record(ctx, "Preflight", func() error { return d.Driver.Preflight(ctx, job) })
}

func (d recordingDriver) Start(ctx context.Context, job provider.Job) (op provider.Operation, err error) {
	err = d.record(ctx, "Start", func() error { op, err = d.Driver.Start(ctx, job); return err })
	return op, err
}

func (d recordingDriver) Find(ctx context.Context, job provider.Job) (op *provider.Operation, err error) {
	err = d.record(ctx, "Find", func() error { op, err = d.Driver.Find(ctx, job); return err })
	return op, err
}

func (d recordingDriver) Poll(ctx context.Context, op provider.Operation) (st provider.Status, err error) {
	err = d.record(ctx, "Poll", func() error { st, err = d.Driver.Poll(ctx, op); return err })
	return st, err
}

func (d recordingDriver) Cancel(ctx context.Context, op provider.Operation) (ok bool, err error) {
	err = d.record(ctx, "Cancel", func() error { ok, err = d.Driver.Cancel(ctx, op); return err })
	return ok, err
}

func (d recordingDriver) Delete(ctx context.Context, op provider.Operation) error {
	return d.record(ctx, "Delete", func() error { return d.Driver.Delete(ctx, op) })
}

func (d recordingDriver) Describe(ctx context.Context, op provider.Operation) (b backup.Backup, err error) {
	err = d.record(ctx, "Describe", func() error { b, err = d.Driver.Describe(ctx, op); return err })
	return b, err
}

// Validate is local and makes no call; it is passed through unrecorded.
func (d recordingDriver) Validate(kind backup.Kind, section json.RawMessage, now time.Time) (provider.Target, error) {
	return d.Driver.Validate(kind, section, now)
}

// drivers builds every cloud's real driver the way the worker does
// (environment -> wiring config -> wiring.NewRegistry).
func drivers(t *testing.T, set clouds.Set, cfg wiring.Config) map[string]provider.Driver {
	t.Helper()
	reg, err := wiring.NewRegistry(cfg, nil)
	require.NoError(t, err)
	out := map[string]provider.Driver{}
	for _, c := range set {
		d, err := reg.Driver(c.Provider)
		require.NoError(t, err)
		out[c.Provider] = d
	}
	return out
}

// recording wraps every cloud's driver in a recordingDriver.
func recording(t *testing.T, set clouds.Set, cfg wiring.Config, rec *recorder) []provider.Driver {
	t.Helper()
	var out []provider.Driver
	for _, d := range drivers(t, set, cfg) {
		out = append(out, recordingDriver{Driver: d, rec: rec})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// hintedRetry is an attempt that failed with a provider retry hint and the
// attempt that followed it.
type hintedRetry struct {
	Failed       call
	NextStart    time.Time
	NextAttempt  int32
	ClassBackoff time.Duration // what the class alone would have waited
	Honoured     bool
}

// hintedRetries pairs every failed attempt that carried a retry hint with the
// first call of the next attempt of the same activity.
func hintedRetries(calls []call) []hintedRetry {
	type key struct{ wf, act string }
	byActivity := map[key]map[int32][]call{}
	for _, c := range calls {
		k := key{c.Workflow, c.ActivityID}
		if byActivity[k] == nil {
			byActivity[k] = map[int32][]call{}
		}
		byActivity[k][c.Attempt] = append(byActivity[k][c.Attempt], c)
	}
	var out []hintedRetry
	for _, attempts := range byActivity {
		for n, cs := range attempts {
			last := cs[0]
			for _, c := range cs {
				if c.End.After(last.End) {
					last = c
				}
			}
			if last.Class == "" || last.RetryAfter <= 0 || !last.Class.Retryable() {
				continue
			}
			next, ok := attempts[n+1]
			if !ok {
				continue // the activity ended (or the workflow was cancelled) without another attempt
			}
			first := next[0]
			for _, c := range next {
				if c.Start.Before(first.Start) {
					first = c
				}
			}
			out = append(out, hintedRetry{
				Failed: last, NextStart: first.Start, NextAttempt: n + 1,
				ClassBackoff: last.Class.RetryDelay(int(n)),
				Honoured:     !first.Start.Before(last.End.Add(last.RetryAfter)),
			})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Failed.End.Before(out[j].Failed.End) })
	return out
}

func (h hintedRetry) String() string {
	return fmt.Sprintf("%s %s %s attempt %d failed %s with hint %s; attempt %d came %s later",
		h.Failed.Provider, h.Failed.Activity, h.Failed.Method, h.Failed.Attempt, h.Failed.Class,
		h.Failed.RetryAfter, h.NextAttempt, h.NextStart.Sub(h.Failed.End).Round(time.Millisecond))
}
