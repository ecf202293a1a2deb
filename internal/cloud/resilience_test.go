package cloud_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evs-operator/evs-operator/internal/cloud"
	"github.com/evs-operator/evs-operator/internal/simulator"
)

func TestThrottledCallsAreRetried(t *testing.T) {
	ctx := testContext(t)
	e := startEnv(t)
	c := e.client
	vol := e.addVolume(t, 20)
	sn := e.addSnapshot(t, vol.ID, "throttled")

	e.inject(t, simulator.Fault{Operation: simulator.OperationShowSnapshot, HTTPStatus: 429, Count: 2})
	got, err := c.GetSnapshot(ctx, sn.ID)
	if err != nil || got.ID != sn.ID {
		t.Fatalf("GetSnapshot after two 429s = %+v, %v", got, err)
	}
	if n := e.requests(t, simulator.OperationShowSnapshot); n != 3 {
		t.Errorf("ShowSnapshot requests = %d, want 3", n)
	}

	// The gateway refuses before EVS sees the request, so even a create is repeated.
	e.inject(t, simulator.Fault{Operation: simulator.OperationCreateSnapshot, HTTPStatus: 429, Count: 2})
	created, err := c.CreateSnapshot(ctx, cloud.CreateSnapshotRequest{VolumeID: vol.ID, Name: "after-429"})
	if err != nil {
		t.Fatalf("CreateSnapshot after two 429s: %v", err)
	}
	if n := e.requests(t, simulator.OperationCreateSnapshot); n != 3 {
		t.Errorf("CreateSnapshot requests = %d, want 3", n)
	}
	page, err := c.ListSnapshots(ctx, cloud.ListSnapshotsOptions{Name: "after-429"})
	if err != nil || page.Count != 1 || page.Snapshots[0].ID != created.ID {
		t.Errorf("snapshots named after-429 = %+v, %v", page, err)
	}

	// Throttled beyond MaxRetries: the call gives up with the throttled class.
	e.inject(t, simulator.Fault{Operation: simulator.OperationShowSnapshot, HTTPStatus: 429, Count: 10})
	_, err = c.GetSnapshot(ctx, sn.ID)
	if ce := wantClass(t, err, cloud.ClassThrottled); ce.Code != "APIG.0308" || ce.Attempts != 4 {
		t.Errorf("persistent throttling: %v (attempts %d)", err, ce.Attempts)
	}
}

func TestRateLimitIsThrottled(t *testing.T) {
	ctx := testContext(t)
	e := startEnv(t)
	sn := e.addSnapshot(t, e.addVolume(t, 20).ID, "limited")
	if err := e.ctl.SetRateLimit(ctx, 1); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, e.url, func(cfg *cloud.Config) { cfg.MaxRetries = -1 })
	var throttled bool
	for range 5 {
		_, err := c.GetSnapshot(ctx, sn.ID)
		if err != nil {
			if ce := wantClass(t, err, cloud.ClassThrottled); ce.HTTPStatus != 429 || ce.Code != "APIG.0308" {
				t.Errorf("rate limited: %v", err)
			}
			throttled = true
		}
	}
	if !throttled {
		t.Error("five calls at a limit of one per second were never throttled")
	}
}

func TestServerErrorsAndCreates(t *testing.T) {
	ctx := testContext(t)
	e := startEnv(t)
	c := e.client
	vol := e.addVolume(t, 20)

	// A 500 may mean the snapshot was made: CreateSnapshot must not repeat it.
	e.inject(t, simulator.Fault{Operation: simulator.OperationCreateSnapshot, HTTPStatus: 500, Count: 1})
	_, err := c.CreateSnapshot(ctx, cloud.CreateSnapshotRequest{VolumeID: vol.ID, Name: "five-hundred"})
	if ce := wantClass(t, err, cloud.ClassTransient); ce.HTTPStatus != 500 || ce.Attempts != 1 {
		t.Errorf("CreateSnapshot after 500: %v", err)
	}
	if n := e.requests(t, simulator.OperationCreateSnapshot); n != 1 {
		t.Errorf("CreateSnapshot requests = %d, want 1", n)
	}

	// The same answer to a read is retried.
	sn := e.addSnapshot(t, vol.ID, "readable")
	e.inject(t, simulator.Fault{Operation: simulator.OperationShowSnapshot, HTTPStatus: 503, Count: 1})
	if _, err := c.GetSnapshot(ctx, sn.ID); err != nil {
		t.Errorf("GetSnapshot after one 503: %v", err)
	}
	if n := e.requests(t, simulator.OperationShowSnapshot); n != 2 {
		t.Errorf("ShowSnapshot requests = %d, want 2", n)
	}

	// A rollback is not repeated either.
	e.inject(t, simulator.Fault{Operation: simulator.OperationRollbackSnapshot, HTTPStatus: 500, Count: 1,
		AfterCommit: true})
	err = c.RollbackSnapshot(ctx, sn.ID, vol.ID, "")
	_ = wantClass(t, err, cloud.ClassTransient)
	if n := e.requests(t, simulator.OperationRollbackSnapshot); n != 1 {
		t.Errorf("RollbackSnapshot requests = %d, want 1", n)
	}
}

func TestWrongSecretIsUnauthorized(t *testing.T) {
	ctx := testContext(t)
	e := startEnv(t)
	const wrongSK = "NOT-THE-SIMULATOR-SK"
	c := newClient(t, e.url, func(cfg *cloud.Config) { cfg.SK = wrongSK })
	_, err := c.GetSnapshot(ctx, "99999999-9999-4999-8999-999999999999")
	ce := wantClass(t, err, cloud.ClassUnauthorized)
	if ce.HTTPStatus != 401 {
		t.Errorf("HTTP status = %d, want 401", ce.HTTPStatus)
	}
	if n := e.requests(t, simulator.OperationShowSnapshot); n != 1 {
		t.Errorf("an unauthorized call was sent %d times", n)
	}
	for _, secret := range []string{wrongSK, simulator.DefaultAK} {
		if msg := err.Error(); strings.Contains(msg, secret) {
			t.Errorf("error message %q contains a credential", msg)
		}
	}
}

// deadAddress returns an address nothing listens on.
func deadAddress(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func TestDeadEndpointIsTransient(t *testing.T) {
	ctx := testContext(t)
	c := newClient(t, "http://"+deadAddress(t), nil)
	start := time.Now()
	_, err := c.GetSnapshot(ctx, "99999999-9999-4999-8999-999999999999")
	if ce := wantClass(t, err, cloud.ClassTransient); ce.Attempts != 4 {
		t.Errorf("attempts = %d, want 4", ce.Attempts)
	}
	// Connection refused means the request was never sent, so even a create is repeated.
	_, err = c.CreateSnapshot(ctx, cloud.CreateSnapshotRequest{VolumeID: simulator.SeedVolumeAvailable})
	if ce := wantClass(t, err, cloud.ClassTransient); ce.Attempts != 4 {
		t.Errorf("CreateSnapshot attempts = %d, want 4", ce.Attempts)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("failing took %s", d)
	}
}

// blackHole accepts connections and never answers.
func blackHole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}

func TestTimeoutBoundsEachAttempt(t *testing.T) {
	ctx := testContext(t)
	c := newClient(t, "http://"+blackHole(t), func(cfg *cloud.Config) {
		cfg.Timeout = 200 * time.Millisecond
		cfg.MaxRetries = 1
	})
	start := time.Now()
	_, err := c.GetSnapshot(ctx, "99999999-9999-4999-8999-999999999999")
	if ce := wantClass(t, err, cloud.ClassTransient); ce.Attempts != 2 {
		t.Errorf("GetSnapshot attempts = %d, want 2", ce.Attempts)
	}
	// The create may have arrived: a timeout is not repeated.
	_, err = c.CreateSnapshot(ctx, cloud.CreateSnapshotRequest{VolumeID: simulator.SeedVolumeAvailable})
	if ce := wantClass(t, err, cloud.ClassTransient); ce.Attempts != 1 {
		t.Errorf("CreateSnapshot attempts = %d, want 1", ce.Attempts)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("three 200ms attempts took %s", d)
	}

	// An ended context stops the call before it starts.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = c.GetSnapshot(cancelled, "99999999-9999-4999-8999-999999999999")
	if ce := wantClass(t, err, cloud.ClassTransient); ce.Attempts != 0 || !errors.Is(err, context.Canceled) {
		t.Errorf("with a cancelled context: %v", err)
	}
}

func TestConcurrentCalls(t *testing.T) {
	ctx := testContext(t)
	e := startEnv(t)
	sn := e.addSnapshot(t, e.addVolume(t, 20).ID, "shared")
	e.inject(t, simulator.Fault{Operation: simulator.OperationShowSnapshot, HTTPStatus: 429, Count: 3})
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Go(func() {
			if _, err := e.client.GetSnapshot(ctx, sn.ID); err != nil {
				errs <- err
			}
			if _, err := e.client.ListSnapshots(ctx, cloud.ListSnapshotsOptions{IDs: []string{sn.ID}}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent call: %v", err)
	}
}
