package spanner_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/spanner"
)

// TestMarkerMicros: the marker is a microsecond count in 0..999999, the same
// for an owner in every process and release (a backup made before a restart
// or an upgrade is still proven), and different for another run of the same
// workflow ID.
func TestMarkerMicros(t *testing.T) {
	// Pinned: the first 4 bytes of SHA-256("backupflow-0ba903da101c4ffccfe3"),
	// big-endian, modulo a million (computed independently of this code).
	pinned := provider.Owner{WorkflowID: "create/spanner/projects/p/instances/i/databases/d", RunID: "9a1c3e6b-0f4d-4a57-b5d2-6c1e7f2a9b30"}
	require.Equal(t, "backupflow-0ba903da101c4ffccfe3", pinned.Marker())
	assert.Equal(t, int64(527673), spanner.MarkerMicros(pinned))
	assert.Equal(t, spanner.MarkerMicros(pinned), spanner.MarkerMicros(provider.Owner{WorkflowID: pinned.WorkflowID, RunID: pinned.RunID,
		StartedAt: time.Now()}), "the start time is not part of it")

	seen := map[int64]bool{}
	for i := range 2000 {
		m := spanner.MarkerMicros(provider.Owner{WorkflowID: "wf", RunID: fmt.Sprintf("run-%d", i)})
		require.GreaterOrEqual(t, m, int64(0))
		require.Less(t, m, int64(1_000_000))
		seen[m] = true
	}
	assert.Greater(t, len(seen), 1990, "runs of one workflow ID get different markers")
	assert.NotEqual(t, spanner.MarkerMicros(provider.Owner{WorkflowID: "wf", RunID: "a"}), spanner.MarkerMicros(provider.Owner{WorkflowID: "wf", RunID: "b"}))
}

// TestMarkedExpire: the value sent keeps the requested second (in UTC) and
// replaces its sub-second part with the marker, so it lies less than a
// second from the requested value, earlier or later.
func TestMarkedExpire(t *testing.T) {
	owner := provider.Owner{WorkflowID: "wf", RunID: "r"}
	m := time.Duration(spanner.MarkerMicros(owner)) * time.Microsecond
	sec := time.Date(2026, 5, 1, 10, 20, 30, 0, time.UTC)
	for _, requested := range []time.Time{
		sec,
		sec.Add(999_999_999 * time.Nanosecond),
		sec.Add(m + time.Nanosecond),
		sec.In(time.FixedZone("+0530", 5*3600+1800)).Add(250 * time.Millisecond),
	} {
		sent := spanner.MarkedExpire(requested, owner)
		assert.Equal(t, sec.Add(m), sent, "requested %s", requested.Format(time.RFC3339Nano))
		assert.Equal(t, time.UTC, sent.Location())
		assert.Less(t, (sent.Sub(requested)).Abs(), time.Second)
	}
	other := spanner.MarkedExpire(sec, provider.Owner{WorkflowID: "wf", RunID: "r2"})
	assert.NotEqual(t, sec.Add(m), other, "another run sends another value")
}
