package reliability

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/testenv"
	"github.com/backupflow/backupflow/simulator/simkit"
)

// TestCrashRecoveryTime measures how soon a provider call whose worker was
// SIGKILLed mid-attempt is retried on another worker. Every provider call
// hangs (simulator latency), so each backup's poll attempt is in flight on
// worker A when A is killed; worker B is already polling. The server learns
// of the death when the attempt's heartbeats stop (the heartbeat timeout),
// not when its one-minute attempt timeout runs out.
func TestCrashRecoveryTime(t *testing.T) {
	t.Parallel()
	set := startClouds(t, simkit.Options{Duration: 5 * time.Minute})
	e := testenv.Start(t, true)
	env := workerEnv(set, e.Server.GetFrontendHostPort(), e.Namespace)
	a, b := newWorkerProcess(t, env), newWorkerProcess(t, env)
	a.Start()
	before := inventories(set)
	runs := startCreates(t, e.BackupClient(), set, 0, 1)
	ctx := testenv.Context(t, 3*time.Minute)
	for _, r := range runs {
		require.Eventually(t, func() bool {
			p, err := r.Handle.Progress(ctx)
			return err == nil && p.State == backup.StateRunning
		}, time.Minute, 100*time.Millisecond, "%s is running", r.Handle.WorkflowID)
	}
	for _, c := range set {
		c.Simulator.SetLatency(25 * time.Second) // longer than the heartbeat timeout, shorter than an attempt's
	}

	// Wait until every backup's poll attempt is in flight on A.
	inFlightOn := func(identity string) (map[string]int32, error) {
		attempts := map[string]int32{}
		for _, r := range runs {
			desc, err := e.Client.DescribeWorkflowExecution(ctx, r.Handle.WorkflowID, r.Handle.RunID)
			if err != nil {
				return nil, err
			}
			for _, pa := range desc.GetPendingActivities() {
				if pa.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED && strings.HasPrefix(pa.GetLastWorkerIdentity(), identity) {
					attempts[r.Handle.WorkflowID] = pa.GetAttempt()
				}
			}
		}
		return attempts, nil
	}
	idA := a.Identity()
	var attemptsOnA map[string]int32
	require.Eventually(t, func() bool {
		var err error
		attemptsOnA, err = inFlightOn(idA)
		return err == nil && len(attemptsOnA) == len(runs)
	}, time.Minute, 100*time.Millisecond, "every backup's poll attempt in flight on worker A")

	b.Start()
	idB := b.Identity()
	a.Kill()
	killed := time.Now()

	recovered := map[string]time.Duration{}
	require.Eventually(t, func() bool {
		for _, r := range runs {
			id := r.Handle.WorkflowID
			if _, ok := recovered[id]; ok {
				continue
			}
			desc, err := e.Client.DescribeWorkflowExecution(ctx, id, r.Handle.RunID)
			if err != nil {
				return false
			}
			for _, pa := range desc.GetPendingActivities() {
				if pa.GetAttempt() > attemptsOnA[id] && pa.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED &&
					strings.HasPrefix(pa.GetLastWorkerIdentity(), idB) {
					recovered[id] = pa.GetLastStartedTime().AsTime().Sub(killed)
				}
			}
		}
		return len(recovered) == len(runs)
	}, 2*time.Minute, 100*time.Millisecond, "every killed attempt is retried on worker B")

	for _, c := range set {
		c.Simulator.SetLatency(0)
		c.Simulator.Advance(5 * time.Minute) // the backups end; each must exist once
	}
	var times []time.Duration
	for _, r := range runs {
		res, err := r.Handle.Result(ctx)
		require.NoError(t, err, r.Handle.WorkflowID)
		assert.Equal(t, []string{res.Backup.ID}, added(before[r.Cloud.Provider], r.Cloud.Simulator.Inventory()),
			"%s: one backup, the result's", r.Cloud.Provider)
		times = append(times, recovered[r.Handle.WorkflowID])
		// The attempt timeout is a minute: a retry sooner than that can only
		// come from the heartbeat timeout noticing the dead worker.
		assert.Less(t, recovered[r.Handle.WorkflowID], time.Minute, "%s: noticed by the heartbeat timeout", r.Cloud.Provider)
		t.Logf("%s: the killed attempt was retried on worker B %s after the kill", r.Cloud.Provider,
			recovered[r.Handle.WorkflowID].Round(100*time.Millisecond))
	}
	slices.Sort(times)
	t.Logf("FIGURES crash-recovery: backups=%d kill-to-retry-on-another-worker min=%s median=%s max=%s",
		len(times), times[0].Round(100*time.Millisecond), times[len(times)/2].Round(100*time.Millisecond),
		times[len(times)-1].Round(100*time.Millisecond))
}
