package ops

import (
	"context"
	"sync"

	"golang.org/x/time/rate"
)

// ProviderLimiter paces one worker's provider calls: a token bucket per
// provider, each allowing Rate calls per second with bursts of Burst. It
// implements activities.CallLimiter. The limit is per worker process: N
// replicas make at most N times as many calls.
type ProviderLimiter struct {
	Rate  rate.Limit
	Burst int

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// NewProviderLimiter returns a limiter, or nil when perSecond is 0 (no limit).
func NewProviderLimiter(perSecond float64, burst int) *ProviderLimiter {
	if perSecond <= 0 {
		return nil
	}
	return &ProviderLimiter{Rate: rate.Limit(perSecond), Burst: max(burst, 1), buckets: map[string]*rate.Limiter{}}
}

// Wait blocks until a call to the provider may be made, or ctx ends.
func (l *ProviderLimiter) Wait(ctx context.Context, provider string) error {
	l.mu.Lock()
	b, ok := l.buckets[provider]
	if !ok {
		b = rate.NewLimiter(l.Rate, l.Burst)
		l.buckets[provider] = b
	}
	l.mu.Unlock()
	return b.Wait(ctx)
}
