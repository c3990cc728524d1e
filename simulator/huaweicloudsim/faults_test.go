package huaweicloudsim

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/provider"
)

func sequence(seed int64, n int) []int {
	f := &Faults{}
	f.SetFaultRate(0.3, seed)
	out := make([]int, n)
	for i := range out {
		if ft, ok := f.next(false); ok {
			out[i] = int(ft.kind) + 1
		}
	}
	return out
}

func TestFaultRateIsDeterministicPerSeed(t *testing.T) {
	a, b, c := sequence(7, 200), sequence(7, 200), sequence(8, 200)
	assert.Equal(t, a, b, "same seed, same faults")
	assert.NotEqual(t, a, c, "another seed, other faults")
	injected := 0
	kinds := map[int]bool{}
	for _, k := range a {
		if k != 0 {
			injected++
			kinds[k] = true
		}
	}
	assert.InDelta(t, 60, injected, 25, "about 30%% of 200 calls")
	assert.Len(t, kinds, 3, "5xx, throttling and lost responses all occur")
}

func TestFailNextQueueAndLoseNextCreate(t *testing.T) {
	f := &Faults{}
	f.FailNext(provider.Throttled, 1, 7*time.Second)
	f.FailNext(provider.Unavailable, 1, 0)
	f.LoseNextCreate()

	ft, ok := f.next(false)
	require.True(t, ok)
	e := ft.answer()
	assert.Equal(t, http.StatusTooManyRequests, e.Status)
	assert.Equal(t, 7*time.Second, e.RetryAfter)

	ft, ok = f.next(true)
	require.True(t, ok)
	assert.Equal(t, http.StatusServiceUnavailable, ft.answer().Status, "queued faults come first")

	_, ok = f.next(false)
	assert.False(t, ok, "a lost response waits for a create")
	ft, ok = f.next(true)
	require.True(t, ok)
	assert.Equal(t, faultLost, ft.kind)
	_, ok = f.next(true)
	assert.False(t, ok, "only the next create")
	assert.Equal(t, 3, f.Injected())
}

func TestListenRefusesNonLoopback(t *testing.T) {
	_, _, err := Listen("0.0.0.0:0", http.NotFoundHandler())
	require.Error(t, err)
	srv, ln, err := Listen("", http.NotFoundHandler())
	require.NoError(t, err)
	defer srv.Close()
	assert.Contains(t, ln.Addr().String(), "127.0.0.1:")
}

func TestClockAdvances(t *testing.T) {
	c := &Clock{}
	before := c.Now()
	c.Advance(time.Hour)
	assert.WithinDuration(t, before.Add(time.Hour), c.Now(), time.Minute)
}

func TestAnswerNextGivesTheAnswerOnce(t *testing.T) {
	var f Faults
	f.AnswerNext(&APIError{Status: http.StatusConflict, Code: "DBS.201014", Message: "busy"})
	ft, ok := f.next(false)
	require.True(t, ok)
	assert.Equal(t, &APIError{Status: http.StatusConflict, Code: "DBS.201014", Message: "busy"}, ft.answer())
	_, ok = f.next(false)
	assert.False(t, ok, "one call only")
	assert.Equal(t, 1, f.Injected())
}

func TestDropNextCreateAppliesNothing(t *testing.T) {
	f := &Faults{}
	f.DropNextCreate()
	_, ok := f.next(false)
	assert.False(t, ok, "a dropped request waits for a create")
	ft, ok := f.next(true)
	require.True(t, ok)
	assert.Equal(t, faultDropped, ft.kind)
	_, ok = f.next(true)
	assert.False(t, ok, "only the next create")
	assert.Equal(t, 1, f.Injected())
}
