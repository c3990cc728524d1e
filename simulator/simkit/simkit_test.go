package simkit

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/provider"
)

func sequence(seed int64, n int) []string {
	var f FaultInjector
	f.SetFaultRate(0.3, seed)
	out := make([]string, n)
	for i := range out {
		if ft, ok := f.Next("", false); ok {
			out[i] = fmt.Sprint(ft.Kind, ft.Class)
		}
	}
	return out
}

func TestFaultRateIsDeterministicPerSeed(t *testing.T) {
	a, b, c := sequence(7, 200), sequence(7, 200), sequence(8, 200)
	assert.Equal(t, a, b, "same seed, same faults")
	assert.NotEqual(t, a, c, "another seed, other faults")
	injected := 0
	kinds := map[string]bool{}
	for _, k := range a {
		if k != "" {
			injected++
			kinds[k] = true
		}
	}
	assert.InDelta(t, 60, injected, 25, "about 30%% of 200 calls")
	assert.Len(t, kinds, 3, "5xx, throttling and lost responses all occur")
}

func TestRandomFaultIsTheSimulators(t *testing.T) {
	f := FaultInjector{RandomFault: func(*rand.Rand) Fault { return Fault{Kind: Refuse, Class: provider.Internal} }}
	f.SetFaultRate(1, 3)
	for range 5 {
		ft, ok := f.Next("", false)
		require.True(t, ok, "a rate of 1 faults every call")
		assert.Equal(t, provider.Internal, ft.Class)
	}
	f.SetFaultRate(0, 0)
	_, ok := f.Next("", false)
	assert.False(t, ok, "a rate of 0 turns it off")
	assert.Equal(t, 5, f.Faults())
}

func TestFailNextQueueAndLoseNextCreate(t *testing.T) {
	var f FaultInjector
	f.FailNext(provider.Throttled, 1, 7*time.Second)
	f.FailNext(provider.Unavailable, 1, 0)
	f.LoseNextCreate()

	ft, ok := f.Next("", false)
	require.True(t, ok)
	assert.Equal(t, Fault{Kind: Refuse, Class: provider.Throttled, RetryAfter: 7 * time.Second}, ft)

	ft, ok = f.Next("", true)
	require.True(t, ok)
	assert.Equal(t, provider.Unavailable, ft.Class, "queued faults come first")

	_, ok = f.Next("", false)
	assert.False(t, ok, "a lost response waits for a create")
	ft, ok = f.Next("", true)
	require.True(t, ok)
	assert.Equal(t, Lose, ft.Kind)
	_, ok = f.Next("", true)
	assert.False(t, ok, "only the next create")
	assert.Equal(t, 3, f.Faults())
}

func TestDropNextCreateComesBeforeLose(t *testing.T) {
	var f FaultInjector
	f.LoseNextCreate()
	f.DropNextCreate()
	_, ok := f.Next("", false)
	assert.False(t, ok, "a dropped request waits for a create")
	ft, ok := f.Next("", true)
	require.True(t, ok)
	assert.Equal(t, Drop, ft.Kind)
	ft, ok = f.Next("", true)
	require.True(t, ok)
	assert.Equal(t, Lose, ft.Kind)
	_, ok = f.Next("", true)
	assert.False(t, ok, "only the next create")
	assert.Equal(t, 2, f.Faults())
}

func TestQueuedFaultWaitsForItsCall(t *testing.T) {
	var f FaultInjector
	f.Queue(Fault{Class: provider.Internal, Call: "DeleteBackup"})
	_, ok := f.Next("GetBackup", false)
	assert.False(t, ok, "another call passes it by")
	ft, ok := f.Next("DeleteBackup", false)
	require.True(t, ok)
	assert.Equal(t, provider.Internal, ft.Class)
	assert.Equal(t, 1, f.Faults())
}

func TestDelayWaitsAndEndsWithTheContext(t *testing.T) {
	var f FaultInjector
	require.NoError(t, f.Delay(context.Background()), "no latency, no wait")
	f.SetLatency(20 * time.Millisecond)
	began := time.Now()
	require.NoError(t, f.Delay(context.Background()))
	assert.GreaterOrEqual(t, time.Since(began), 20*time.Millisecond)
	f.SetLatency(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, f.Delay(ctx), context.Canceled)
}

func TestListenRefusesNonLoopback(t *testing.T) {
	_, err := Listen("0.0.0.0:0")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "loopback")
	srv, err := ServeHTTP("", http.NotFoundHandler())
	require.NoError(t, err)
	defer srv.Close()
	assert.Contains(t, srv.Endpoint(), "http://127.0.0.1:")
	resp, err := http.Get(srv.Endpoint())
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestClockAdvances(t *testing.T) {
	var c Clock
	before := c.Now()
	c.Advance(time.Hour)
	assert.WithinDuration(t, before.Add(time.Hour), c.Now(), time.Minute)
}

func TestCallCounter(t *testing.T) {
	var c CallCounter
	c.Count("CreateBackup")
	c.Count("CreateBackup")
	c.Count("")
	assert.Equal(t, 3, c.Calls())
	assert.Equal(t, 2, c.CallsOf("CreateBackup"))
	assert.Equal(t, 0, c.CallsOf("DeleteBackup"))
}

func TestSortedKeys(t *testing.T) {
	assert.Equal(t, []string{"a", "b", "c"}, SortedKeys(map[string]int{"c": 1, "a": 2, "b": 3}))
	assert.Empty(t, SortedKeys(map[string]int{}))
}

func TestDefault(t *testing.T) {
	assert.Equal(t, 2*time.Second, Default(0, 2*time.Second))
	assert.Equal(t, 2*time.Second, Default(-time.Second, 2*time.Second), "a negative value is unset")
	assert.Equal(t, time.Second, Default(time.Second, 2*time.Second))
	assert.Equal(t, "p", Default("", "p"))
	assert.Equal(t, "q", Default("q", "p"))
	assert.Equal(t, 200, Default(0, 200))
}

func TestDeletesAreLoggedInOrder(t *testing.T) {
	var c CallCounter
	assert.Empty(t, c.Deletes())
	c.CountDelete("b1", true)
	c.CountDelete("b1", false)
	got := c.Deletes()
	assert.Equal(t, []Delete{{BackupID: "b1", Applied: true}, {BackupID: "b1", Applied: false}}, got)
	got[0].BackupID = "changed"
	assert.Equal(t, "b1", c.Deletes()[0].BackupID, "the log is a copy")
}
