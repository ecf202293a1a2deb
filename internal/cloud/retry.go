package cloud

import (
	"context"
	"math/rand/v2"
	"time"

	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

// retryPolicy says which failed attempts of an operation may be repeated.
//
// Throttled and transient failures are worth repeating, but a transient failure (a 5xx answer, a
// timeout, a connection reset after the request was written) says nothing about whether the cloud
// applied the request. Repeating a read, an update to fixed values or a delete is harmless; repeating
// a create or a rollback that did go through makes a second snapshot or a second rollback. So a
// call without an idempotency token repeats only attempts that certainly never reached the EVS
// backend: those the API gateway refused for its rate limit (HTTP 429; the gateway answers before
// the backend sees the request) and those whose connection was never established (connection
// refused, failed dial or name lookup). Any other failure goes back to the caller, who must find out
// whether the first attempt took effect (e.g. list snapshots by name) before trying again.
type retryPolicy int

const (
	// retryIdempotent repeats after any throttled or transient failure. For reads, updates,
	// deletes, and creates that carry an X-Client-Token.
	retryIdempotent retryPolicy = iota
	// retryUnsent repeats only attempts that never reached the backend. For CreateSnapshot,
	// RollbackSnapshot and a CreateVolume without a client token.
	retryUnsent
)

// shouldRetry reports whether the failed attempt e may be repeated under policy p.
func (p retryPolicy) shouldRetry(e *Error) bool {
	switch e.Class {
	case ClassThrottled:
		return true
	case ClassTransient:
		return p == retryIdempotent || neverSent(e.Err)
	}
	return false
}

// retrier runs one cloud call with bounded, jittered exponential backoff.
type retrier struct {
	maxRetries int
	baseDelay  time.Duration
	maxDelay   time.Duration
}

// do runs attempt until it succeeds, fails in a way policy does not repeat, or has been repeated
// maxRetries times. The SDK takes no context, so ctx is checked before every attempt and during
// every backoff; the HTTP timeout bounds each attempt. Each attempt is counted and timed in the
// metrics. The error returned is always an *Error.
func (r *retrier) do(ctx context.Context, op string, policy retryPolicy, attempt func() error) error {
	log := logf.FromContext(ctx).WithValues("operation", op)
	// TODO: the SDK takes no context, so an ended ctx does not abort an attempt in flight; the call
	// returns at the latest after Config.Timeout.
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return &Error{Op: op, Class: ClassTransient, Message: err.Error(), Attempts: n - 1, Err: err}
		}
		log.V(4).Info("Calling EVS API", "attempt", n)
		start := time.Now()
		err := attempt()
		requestDuration.WithLabelValues(op).Observe(time.Since(start).Seconds())
		if err == nil {
			requestsTotal.WithLabelValues(op, resultSuccess).Inc()
			return nil
		}
		e := classify(op, err)
		e.Attempts = n
		requestsTotal.WithLabelValues(op, string(e.Class)).Inc()
		if n > r.maxRetries || !policy.shouldRetry(e) {
			return e
		}
		delay := r.backoff(n, e.Class)
		log.V(4).Info("Retrying EVS API call", "attempt", n, "class", e.Class, "httpStatus", e.HTTPStatus,
			"code", e.Code, "requestID", e.RequestID, "delay", delay)
		if !sleep(ctx, delay) {
			// The caller gave up; the last answer says more than the context error would.
			return e
		}
	}
}

// call is do for an attempt that returns a value.
func call[T any](ctx context.Context, r *retrier, op string, policy retryPolicy,
	fn func() (T, error)) (T, error) {
	var out T
	err := r.do(ctx, op, policy, func() error {
		var err error
		out, err = fn()
		return err
	})
	return out, err
}

// backoff is the wait before repeating attempt n: baseDelay doubled per attempt, capped at
// maxDelay, with equal jitter (half fixed, half random) so that concurrent callers spread out but
// still wait. The gateway's throttling window is a minute and its guidance is to wait 2-5 s, so a
// throttled call starts four base delays in.
//
// TODO: a Retry-After header is not honoured, since the SDK's error does not expose response
// headers; throttled calls wait the 2-5 s above instead.
func (r *retrier) backoff(n int, class Class) time.Duration {
	exp := n - 1
	if class == ClassThrottled {
		exp += 2
	}
	d := r.maxDelay
	if exp < 30 {
		if e := r.baseDelay << exp; e > 0 && e < d {
			d = e
		}
	}
	half := d / 2
	return half + rand.N(d-half+1) //nolint:gosec // jitter needs no cryptographic randomness
}

// sleep waits for d or until ctx ends; it reports whether the full wait passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
