package activities

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
)

// heartbeats keeps an attempt's heartbeat going while it runs. Each beat
// re-sends the details recorded last, because a heartbeat replaces the
// details the server keeps for the next attempt. An attempt that ends
// before the first tick sends nothing, so quick polls cost no extra call.
type heartbeats struct {
	mu      sync.Mutex
	details []any
	stop    chan struct{}
	done    chan struct{}
}

// beat starts the heartbeat of the attempt running in ctx; Stop ends it.
// It beats three times per heartbeat timeout (the SDK may hold a beat back
// up to 80 % of that timeout), so the server notices a dead worker within
// one timeout while a slow provider call keeps its whole attempt time. An
// attempt without a heartbeat timeout (a local activity, or a workflow that
// set none) gets no goroutine at all.
func beat(ctx context.Context) *heartbeats {
	h := &heartbeats{stop: make(chan struct{}), done: make(chan struct{})}
	info := activity.GetInfo(ctx)
	if info.IsLocalActivity || info.HeartbeatTimeout <= 0 {
		close(h.done)
		return h
	}
	go func() {
		defer close(h.done)
		tick := time.NewTicker(info.HeartbeatTimeout / 3)
		defer tick.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				h.mu.Lock()
				details := h.details
				h.mu.Unlock()
				activity.RecordHeartbeat(ctx, details...)
			}
		}
	}()
	return h
}

// Record sends details now and keeps them for the beats that follow.
func (h *heartbeats) Record(ctx context.Context, details ...any) {
	h.mu.Lock()
	h.details = details
	h.mu.Unlock()
	activity.RecordHeartbeat(ctx, details...)
}

// Stop ends the heartbeat; no beat is sent after it returns.
func (h *heartbeats) Stop() {
	close(h.stop)
	<-h.done
}
