package cloud

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"
)

func TestShouldRetry(t *testing.T) {
	cases := []struct {
		name       string
		err        error
		idempotent bool
		unsent     bool
	}{
		{"throttled", responseError(429, "APIG.0308"), true, true},
		{"server error", responseError(500, "EVS.5500"), true, false},
		{"unavailable", responseError(503, ""), true, false},
		{"connection refused", dialError(syscall.ECONNREFUSED), true, true},
		{"timeout after send", urlError(timeoutError{}), true, false},
		{"connection reset", urlError(syscall.ECONNRESET), true, false},
		{"conflict", responseError(400, "EVS.1047"), false, false},
		{"not found", responseError(404, ""), false, false},
		{"bad request", responseError(400, ""), false, false},
		{"unauthorized", responseError(401, ""), false, false},
		{"terminal", errors.New("x"), false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := classify("op", tc.err)
			if got := retryIdempotent.shouldRetry(e); got != tc.idempotent {
				t.Errorf("idempotent: retry = %v, want %v", got, tc.idempotent)
			}
			if got := retryUnsent.shouldRetry(e); got != tc.unsent {
				t.Errorf("unsent-only: retry = %v, want %v", got, tc.unsent)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	r := retrier{maxRetries: 10, baseDelay: 500 * time.Millisecond, maxDelay: 5 * time.Second}
	cases := []struct {
		n     int
		class Class
		full  time.Duration
	}{
		{1, ClassTransient, 500 * time.Millisecond},
		{2, ClassTransient, time.Second},
		{3, ClassTransient, 2 * time.Second},
		{4, ClassTransient, 4 * time.Second},
		{5, ClassTransient, 5 * time.Second},
		{64, ClassTransient, 5 * time.Second},
		{1, ClassThrottled, 2 * time.Second},
		{2, ClassThrottled, 4 * time.Second},
		{3, ClassThrottled, 5 * time.Second},
	}
	for _, tc := range cases {
		for range 50 {
			d := r.backoff(tc.n, tc.class)
			if d < tc.full/2 || d > tc.full {
				t.Fatalf("backoff(%d, %s) = %s, want within [%s, %s]", tc.n, tc.class, d, tc.full/2, tc.full)
			}
		}
	}
}

func TestDoAttempts(t *testing.T) {
	r := &retrier{maxRetries: 3, baseDelay: time.Millisecond, maxDelay: 2 * time.Millisecond}
	cases := []struct {
		name     string
		policy   retryPolicy
		failures []error
		attempts int
		class    Class
	}{
		{"success", retryIdempotent, nil, 1, ""},
		{"throttled twice", retryUnsent, []error{responseError(429, ""), responseError(429, "")}, 3, ""},
		{"server error retried", retryIdempotent, []error{responseError(500, "")}, 2, ""},
		{"server error not retried", retryUnsent, []error{responseError(500, "")}, 1, ClassTransient},
		{"gives up", retryIdempotent, []error{responseError(503, ""), responseError(503, ""),
			responseError(503, ""), responseError(503, ""), responseError(503, "")}, 4, ClassTransient},
		{"not found", retryIdempotent, []error{responseError(404, "")}, 1, ClassNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			err := r.do(context.Background(), "op", tc.policy, func() error {
				n++
				if n <= len(tc.failures) {
					return tc.failures[n-1]
				}
				return nil
			})
			if n != tc.attempts {
				t.Errorf("attempts = %d, want %d", n, tc.attempts)
			}
			if got := ClassOf(err); got != tc.class {
				t.Errorf("class = %q, want %q (%v)", got, tc.class, err)
			}
			var e *Error
			if err != nil && (!errors.As(err, &e) || e.Attempts != tc.attempts) {
				t.Errorf("error %v does not report %d attempts", err, tc.attempts)
			}
		})
	}
}

func TestDoHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := &retrier{maxRetries: 3, baseDelay: time.Millisecond, maxDelay: time.Millisecond}
	err := r.do(ctx, "op", retryIdempotent, func() error {
		t.Fatal("attempted with a cancelled context")
		return nil
	})
	var e *Error
	if !errors.As(err, &e) || e.Class != ClassTransient || e.Attempts != 0 || !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want a transient error wrapping context.Canceled after 0 attempts", err)
	}

	// A cancel during a long backoff ends the call at once with the last answer.
	r = &retrier{maxRetries: 3, baseDelay: time.Minute, maxDelay: time.Minute}
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	n := 0
	err = r.do(ctx, "op", retryIdempotent, func() error {
		n++
		return responseError(503, "EVS.5503")
	})
	if time.Since(start) > 5*time.Second || n != 1 || !IsTransient(err) {
		t.Errorf("after %s and %d attempts: %v", time.Since(start), n, err)
	}
}
