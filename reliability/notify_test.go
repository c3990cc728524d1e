package reliability

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/internal/testenv"
	"github.com/backupflow/backupflow/notify"
	"github.com/backupflow/backupflow/notify/notifytest"
	"github.com/backupflow/backupflow/simulator/simkit"
)

// slowSink sits in front of a receiver and answers every request only
// after hold, like a slow webhook, so worker kills land while deliveries
// are in flight. It forwards a request even when its sender died waiting:
// the receiver then gets that event again from the retried delivery, as a
// real one would.
type slowSink struct {
	URL string
	mu  sync.Mutex
	seq int
	// holding numbers the requests in flight.
	holding map[int]bool
}

// inFlight lists the requests in flight that are not in skip.
func (s *slowSink) inFlight(skip map[int]bool) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int
	for n := range s.holding {
		if !skip[n] {
			out = append(out, n)
		}
	}
	return out
}

func newSlowSink(t *testing.T, target string, hold time.Duration) *slowSink {
	s := &slowSink{holding: map[int]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// In flight from here: the request is whole, and is forwarded.
		s.mu.Lock()
		s.seq++
		n := s.seq
		s.holding[n] = true
		s.mu.Unlock()
		defer func() { s.mu.Lock(); delete(s.holding, n); s.mu.Unlock() }()
		<-time.After(hold) // the sink's latency, whether or not the sender is still there
		req, err := http.NewRequestWithContext(context.Background(), r.Method, target, bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer func() { _ = resp.Body.Close() }()
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// TestNotificationsSurviveWorkerKills: backups on every provider notify a
// signed webhook while the worker process is SIGKILLed mid-delivery. The
// receiver, dropping duplicates by event ID as the docs tell receivers to,
// ends with exactly one started and one succeeded event per backup, each
// with the ID derived from the backup's workflow and run, and every request
// it got verified.
func TestNotificationsSurviveWorkerKills(t *testing.T) {
	t.Parallel()
	perProvider, kills := count(2, 6), count(3, 8)
	set := startClouds(t, simkit.Options{Duration: 2 * time.Second})
	e := testenv.Start(t, true)

	secret := []byte("reliability-webhook-secret-0123456789")
	receiver := notifytest.NewReceiver(t, secret)
	sink := newSlowSink(t, receiver.URL, 700*time.Millisecond)
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	require.NoError(t, os.WriteFile(secretFile, secret, 0o600))
	sinks := filepath.Join(dir, "sinks.yaml")
	require.NoError(t, os.WriteFile(sinks, fmt.Appendf(nil, "sinks:\n  - name: hook\n    kind: webhook\n    url: %s\n    secretFile: %s\n", sink.URL, secretFile), 0o600))
	env := workerEnv(set, e.Server.GetFrontendHostPort(), e.Namespace)
	env["BACKUPFLOW_NOTIFY_SINKS_FILE"] = sinks
	w := newWorkerProcess(t, env)
	w.Start()

	runs := startCreates(t, e.BackupClient(), set, 0, perProvider)
	ctx := testenv.Context(t, 5*time.Minute)
	// Each kill waits for a request the previous kills did not cut off.
	cutOff := map[int]bool{}
	for range kills {
		waitFor(ctx, 30*time.Second, "a delivery in flight", func() bool { return len(sink.inFlight(cutOff)) > 0 })
		w.Kill()
		// Counted once the process is dead: what the sink still holds was
		// sent by it and will never be answered to it.
		for _, n := range sink.inFlight(cutOff) {
			cutOff[n] = true
		}
		w.Start()
	}

	var want []string
	for _, r := range runs {
		_, err := r.Handle.Result(ctx)
		require.NoError(t, err, "%s seed %d", r.Cloud.Provider, r.Seed)
		for _, typ := range []notify.Type{notify.BackupStarted, notify.BackupSucceeded} {
			want = append(want, notify.New(typ, r.Handle.WorkflowID, "", "", time.Time{}, notify.Data{}, r.Handle.WorkflowID, r.Handle.RunID).ID)
		}
	}
	slices.Sort(want)
	events := receiver.WaitFor(t, 3*time.Minute, func(ev []notify.Event) bool { return len(ev) >= len(want) })
	var got []string
	for _, ev := range events {
		got = append(got, ev.ID)
	}
	slices.Sort(got)
	// Each request a kill cut off reaches the receiver anyway (the sink
	// forwards it) and again from the retried delivery.
	retried := assert.Eventually(t, func() bool { return receiver.Deliveries() >= len(want)+len(cutOff) }, time.Minute, 100*time.Millisecond,
		"the deliveries cut off by kills are retried")
	if !retried {
		t.Logf("deliveries %d, want at least %d (%d events + %d cut off)", receiver.Deliveries(), len(want)+len(cutOff), len(want), len(cutOff))
	}
	t.Logf("FIGURES notify-kills: backups=%d kills=%d deliveries-cut-off=%d events=%d deliveries=%d (duplicates dropped by ID: %d) requests=%d",
		len(runs), w.Kills, len(cutOff), len(got), receiver.Deliveries(), receiver.Deliveries()-len(got), receiver.Requests())
	assert.Equal(t, want, got, "each occurrence once by ID, none missing, none extra")
	assert.Len(t, receiver.Events(), len(want), "the retries added no event the receiver had not seen")
	assert.Zero(t, receiver.BadSignatures(), "every request carried a valid signature")
	assert.GreaterOrEqual(t, len(cutOff), kills, "every kill cut off a delivery in flight")
}
