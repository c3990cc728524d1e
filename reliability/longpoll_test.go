package reliability

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/backupflow/backupflow/internal/testenv"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/simulator/simkit"
)

// callTimeout is the workflows' StartToCloseTimeout for one activity attempt
// (workflows.callTimeout): a killed worker's attempt is retried after it.
const callTimeout = time.Minute

// TestWorkerCrashDuringLongPoll kills the worker while every provider's
// backup is deep into its polls (each still-running poll is an attempt of one
// activity) and requires the polls to resume within callTimeout plus a few
// seconds of the kill, not after a back-off that grows with the poll count.
func TestWorkerCrashDuringLongPoll(t *testing.T) {
	t.Parallel()
	const minAttempt = 8
	set := startClouds(t, simkit.Options{Duration: 25 * time.Second})
	e := testenv.Start(t, true)
	env, proxies := proxied(t, set, workerEnv(set, e.Server.GetFrontendHostPort(), e.Namespace))
	w := newWorkerProcess(t, env)
	w.Start()
	runs := startCreates(t, e.BackupClient(), set, 100, 1)
	ctx := testenv.Context(t, 4*time.Minute)

	// pollState returns each run's pending PollOperation attempt and whether
	// an attempt is running on the worker now.
	pollState := func() (minAttemptSeen int32, allStarted bool) {
		minAttemptSeen, allStarted = 1<<30, true
		for _, r := range runs {
			desc, err := e.Client.DescribeWorkflowExecution(ctx, r.Handle.WorkflowID, r.Handle.RunID)
			if err != nil {
				return 0, false
			}
			var attempt int32
			started := false
			for _, pa := range desc.GetPendingActivities() {
				if pa.GetActivityType().GetName() == "PollOperation" {
					attempt = pa.GetAttempt()
					started = pa.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED
				}
			}
			minAttemptSeen = min(minAttemptSeen, attempt)
			allStarted = allStarted && started
		}
		return minAttemptSeen, allStarted
	}
	require.Eventually(t, func() bool { a, _ := pollState(); return a >= minAttempt }, time.Minute, 100*time.Millisecond,
		"every backup reaches poll attempt %d", minAttempt)
	// Hold every answer so each poll stays in flight on the worker, then kill it.
	for _, p := range proxies {
		p.SetHold(10 * time.Second)
	}
	require.Eventually(t, func() bool { _, s := pollState(); return s }, 20*time.Second, 20*time.Millisecond,
		"every backup has a poll running on the worker")
	attempt, _ := pollState()
	w.Kill()
	killedAt := time.Now()
	for _, p := range proxies {
		p.SetHold(0)
	}
	w.Start()
	t.Logf("killed the worker with every backup's poll in flight at attempt >= %d", attempt)

	// Bound: the abandoned attempt times out after callTimeout; the retry
	// should follow within a poll interval, not 2^(attempt-1) s later.
	limit := callTimeout + 20*time.Second
	rctx, cancel := context.WithDeadline(ctx, killedAt.Add(limit))
	defer cancel()
	for _, r := range runs {
		_, err := r.Handle.Result(rctx)
		require.NoError(t, err, "%s: not done within %s of the kill (poll attempt %d)", r.Cloud.Provider, limit, attempt)
		t.Logf("%s: done %s after the kill", r.Cloud.Provider, time.Since(killedAt).Round(time.Second))
	}
}

// TestFaultDuringLongPoll fails one call per provider while every backup is
// deep into its polls, and requires the backups to finish within a few
// seconds of their end: a transient fault must cost its class's back-off
// (1 s for Unavailable), not a back-off that grows with the number of
// still-running polls before it (2^(attempt-1) s: over a minute at attempt 7).
func TestFaultDuringLongPoll(t *testing.T) {
	t.Parallel()
	const minAttempt = 7
	const duration = 25 * time.Second
	set := startClouds(t, simkit.Options{Duration: duration})
	e := testenv.Start(t, true)
	e.StartWorker(t, e.ConfigFromEnv(t, set.Env())) // polls at most 500 ms apart
	runs := startCreates(t, e.BackupClient(), set, 200, 1)
	startedAt := time.Now()
	ctx := testenv.Context(t, 3*time.Minute)

	require.Eventually(t, func() bool {
		for _, r := range runs {
			desc, err := e.Client.DescribeWorkflowExecution(ctx, r.Handle.WorkflowID, r.Handle.RunID)
			if err != nil {
				return false
			}
			ok := false
			for _, pa := range desc.GetPendingActivities() {
				ok = ok || (pa.GetActivityType().GetName() == "PollOperation" && pa.GetAttempt() >= minAttempt)
			}
			if !ok {
				return false
			}
		}
		return true
	}, duration-10*time.Second, 50*time.Millisecond, "every backup reaches poll attempt %d", minAttempt)
	for _, c := range set {
		c.Simulator.FailNext(provider.Unavailable, 1, 0) // the next call: a poll
	}
	faultsAt := time.Now()

	// Bound: the backup's own end, plus the poll interval (500 ms), the
	// Unavailable back-off after one failure (1 s) and scheduling slack.
	limit := startedAt.Add(duration + 10*time.Second)
	rctx, cancel := context.WithDeadline(ctx, limit)
	defer cancel()
	for _, r := range runs {
		res, err := r.Handle.Result(rctx)
		require.NoError(t, err, "%s: not done within %s of its start (a fault at poll attempt >= %d, %s after the start)",
			r.Cloud.Provider, limit.Sub(startedAt).Round(time.Second), minAttempt, faultsAt.Sub(startedAt).Round(time.Second))
		t.Logf("%s: done %s after the start, %d attempts", r.Cloud.Provider, time.Since(startedAt).Round(time.Second), res.Attempts)
	}
	for _, c := range set {
		assert.Positive(t, c.Simulator.Faults(), "%s: the fault was served", c.Provider)
	}
}
