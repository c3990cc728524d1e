package provider

import (
	"context"
)

// Call runs an SDK call that takes no context (the Huawei and Alibaba SDKs)
// so that the activity's deadline and cancellation still bound it: when ctx
// ends first, Call returns ctx's error and leaves the call to finish in the
// background, bounded by the SDK client's own HTTP timeout.
func Call[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	type outcome struct {
		v   T
		err error
	}
	done := make(chan outcome, 1) // buffered: the goroutine never blocks after we leave
	go func() {
		v, err := fn()
		done <- outcome{v, err}
	}()
	select {
	case o := <-done:
		return o.v, o.err
	case <-ctx.Done():
		var zero T
		return zero, Errorf(Unavailable, "provider call abandoned: %v", context.Cause(ctx))
	}
}
