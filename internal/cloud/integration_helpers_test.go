package cloud_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/evs-operator/evs-operator/internal/cloud"
	"github.com/evs-operator/evs-operator/internal/simulator"
)

// fastTimings make every simulated transition quick, so lifecycles finish in well under a second.
var fastTimings = simulator.Timings{
	SnapshotCreate: 100 * time.Millisecond,
	SnapshotDelete: 100 * time.Millisecond,
	Rollback:       100 * time.Millisecond,
	VolumeCreate:   100 * time.Millisecond,
	VolumeDelete:   100 * time.Millisecond,
}

// env is one simulator and a client of it, both private to a test.
type env struct {
	url    string
	ctl    *simulator.Control
	client cloud.Client
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	// Verbosity 4 runs the client's debug logging, so a test fails if a log call is malformed.
	return logf.IntoContext(ctx, testr.NewWithOptions(t, testr.Options{Verbosity: 4}))
}

func startEnv(t *testing.T) *env {
	t.Helper()
	srv, err := simulator.Start("127.0.0.1:0", simulator.Options{Timings: fastTimings})
	if err != nil {
		t.Fatalf("starting the simulator: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return &env{url: srv.URL(), ctl: simulator.NewControl(srv.URL()), client: newClient(t, srv.URL(), nil)}
}

// newClient builds a client for endpoint with fast retries; modify may change the config.
func newClient(t *testing.T, endpoint string, modify func(*cloud.Config)) cloud.Client {
	t.Helper()
	cfg := cloud.Config{
		Endpoint:       endpoint,
		ProjectID:      simulator.DefaultProjectID,
		AK:             simulator.DefaultAK,
		SK:             simulator.DefaultSK,
		Timeout:        5 * time.Second,
		MaxRetries:     3,
		RetryBaseDelay: 5 * time.Millisecond,
		RetryMaxDelay:  20 * time.Millisecond,
	}
	if modify != nil {
		modify(&cfg)
	}
	c, err := cloud.New(cfg)
	if err != nil {
		t.Fatalf("cloud.New: %v", err)
	}
	return c
}

// requests returns the simulator's request count for op.
func (e *env) requests(t *testing.T, op string) int64 {
	t.Helper()
	st, err := e.ctl.Stats(context.Background())
	if err != nil {
		t.Fatalf("reading simulator stats: %v", err)
	}
	return st.Requests[op]
}

func (e *env) inject(t *testing.T, f simulator.Fault) {
	t.Helper()
	if err := e.ctl.InjectFault(context.Background(), f); err != nil {
		t.Fatalf("injecting %+v: %v", f, err)
	}
}

// addVolume adds a fresh available disk, so a test never waits on another's snapshot of a disk.
func (e *env) addVolume(t *testing.T, sizeGiB int) simulator.Volume {
	t.Helper()
	v, err := e.ctl.AddVolume(context.Background(), simulator.Volume{Name: t.Name(), SizeGiB: sizeGiB})
	if err != nil {
		t.Fatalf("adding a volume: %v", err)
	}
	return v
}

func (e *env) addSnapshot(t *testing.T, volumeID, name string) simulator.Snapshot {
	t.Helper()
	sn, err := e.ctl.AddSnapshot(context.Background(), simulator.Snapshot{VolumeID: volumeID, Name: name})
	if err != nil {
		t.Fatalf("adding a snapshot: %v", err)
	}
	return sn
}

// eventually polls cond every 20ms until it is true, failing the test after 10s.
func eventually(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, err := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s (last error: %v)", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func snapshotStatus(ctx context.Context, c cloud.Client, id, status string) func() (bool, error) {
	return func() (bool, error) {
		s, err := c.GetSnapshot(ctx, id)
		if err != nil {
			return false, err
		}
		return s.Status == status, fmt.Errorf("status %s", s.Status)
	}
}

func wantClass(t *testing.T, err error, want cloud.Class) *cloud.Error {
	t.Helper()
	var e *cloud.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *cloud.Error", err, err)
	}
	if e.Class != want || cloud.ClassOf(err) != want {
		t.Fatalf("class of %v = %s, want %s", err, e.Class, want)
	}
	return e
}
