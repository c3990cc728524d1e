package ops

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// Health is the worker's liveness and readiness.
//
// Liveness (/healthz) is the process answering HTTP at all.
//
// Readiness (/readyz) holds when all of these are true:
//   - the worker has started (worker.Start returned: its pollers run);
//   - the worker has reported no fatal error (worker.Options.OnFatalError);
//   - the process is not shutting down (SIGTERM not yet received);
//   - a round trip to the Temporal frontend (GetSystemInfo, the call the SDK
//     itself makes on connect, allowed for every client including API-key
//     ones) succeeded within ProbeTimeout. The answer is cached for CacheFor
//     so probes from many sources cost at most one call per CacheFor.
type Health struct {
	// Probe is the Temporal round trip; Ping(client) by default.
	Probe        func(ctx context.Context) error
	ProbeTimeout time.Duration
	CacheFor     time.Duration
	now          func() time.Time

	mu       sync.Mutex
	started  bool
	stopping bool
	fatal    error
	fatalCh  chan struct{}
	checked  time.Time
	lastErr  error
	inflight chan struct{}
}

// NewHealth returns the health of a worker on client c.
func NewHealth(c client.Client) *Health {
	return &Health{Probe: Ping(c), ProbeTimeout: 2 * time.Second, CacheFor: 5 * time.Second, now: time.Now,
		fatalCh: make(chan struct{})}
}

// Ping returns a probe that makes one GetSystemInfo call.
func Ping(c client.Client) func(context.Context) error {
	return func(ctx context.Context) error {
		if c == nil {
			return errors.New("no Temporal client")
		}
		_, err := c.WorkflowService().GetSystemInfo(ctx, &workflowservice.GetSystemInfoRequest{})
		return err
	}
}

// Started records that the worker's pollers run.
func (h *Health) Started() { h.mu.Lock(); h.started = true; h.mu.Unlock() }

// Stopping records that the worker is shutting down.
func (h *Health) Stopping() { h.mu.Lock(); h.stopping = true; h.mu.Unlock() }

// WorkerFailed is the worker's OnFatalError hook.
func (h *Health) WorkerFailed(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fatal == nil {
		h.fatal = err
		close(h.fatalCh)
	}
}

// Fatal is closed when the worker reports a fatal error.
func (h *Health) Fatal() <-chan struct{} { return h.fatalCh }

// FatalError is the worker's fatal error, nil if none.
func (h *Health) FatalError() error { h.mu.Lock(); defer h.mu.Unlock(); return h.fatal }

// Ready returns nil when the worker is ready, else the reason it is not.
func (h *Health) Ready(ctx context.Context) error {
	h.mu.Lock()
	switch {
	case h.fatal != nil:
		h.mu.Unlock()
		return fmt.Errorf("worker stopped on a fatal error: %w", h.fatal)
	case h.stopping:
		h.mu.Unlock()
		return errors.New("worker is shutting down")
	case !h.started:
		h.mu.Unlock()
		return errors.New("worker has not started polling yet")
	}
	if !h.checked.IsZero() && h.now().Sub(h.checked) < h.CacheFor {
		err := h.lastErr
		h.mu.Unlock()
		return err
	}
	if h.inflight != nil { // another request is probing: wait for its answer
		wait := h.inflight
		h.mu.Unlock()
		select {
		case <-wait:
			h.mu.Lock()
			defer h.mu.Unlock()
			return h.lastErr
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	done := make(chan struct{})
	h.inflight = done
	h.mu.Unlock()

	pctx, cancel := context.WithTimeout(ctx, h.ProbeTimeout)
	err := h.Probe(pctx)
	cancel()
	if err != nil {
		err = fmt.Errorf("cannot reach the Temporal frontend: %w", err)
	}
	h.mu.Lock()
	h.checked, h.lastErr, h.inflight = h.now(), err, nil
	h.mu.Unlock()
	close(done)
	return err
}
