package simulator

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	evs "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/evs/v2"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/evs/v2/model"
)

// fakeClock is a manual clock: statuses move only when a test advances it.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// useClock swaps the simulator's clock; it takes the lock because requests read the clock under it.
func (s *Simulator) useClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// testEnv is a listening simulator with an SDK client and a control client.
type testEnv struct {
	t     *testing.T
	srv   *Server
	ctl   *Control
	evs   *evs.EvsClient
	clock *fakeClock
}

// newEnv starts a simulator on a free loopback port with default options and a fake clock.
func newEnv(t *testing.T) *testEnv {
	t.Helper()
	return newEnvWith(t, Options{}, true)
}

// fastTimings makes every transition take d.
func fastTimings(d time.Duration) Options {
	return Options{Timings: Timings{
		SnapshotCreate: d, SnapshotDelete: d, Rollback: d, VolumeCreate: d, VolumeDelete: d,
	}}
}

func newEnvWith(t *testing.T, opts Options, fake bool) *testEnv {
	t.Helper()
	srv, err := Start("127.0.0.1:0", opts)
	if err != nil {
		t.Fatalf("starting the simulator: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("closing the simulator: %v", err)
		}
	})
	e := &testEnv{t: t, srv: srv, ctl: NewControl(srv.URL())}
	if fake {
		e.clock = newFakeClock()
		srv.Simulator().useClock(e.clock.Now)
	}
	e.evs = newSDKClient(t, srv.URL(), DefaultAK, DefaultSK, DefaultProjectID)
	return e
}

// newSDKClient builds the official SDK client the way the operator does, against url.
func newSDKClient(t testing.TB, url, ak, sk, projectID string) *evs.EvsClient {
	t.Helper()
	cred, err := basic.NewCredentialsBuilder().WithAk(ak).WithSk(sk).WithProjectId(projectID).SafeBuild()
	if err != nil {
		t.Fatalf("building credentials: %v", err)
	}
	hc, err := evs.EvsClientBuilder().
		WithEndpoints([]string{url}).
		WithCredential(cred).
		WithHttpConfig(config.DefaultHttpConfig().WithTimeout(20 * time.Second)).
		SafeBuild()
	if err != nil {
		t.Fatalf("building the EVS client: %v", err)
	}
	return evs.NewEvsClient(hc)
}

// asServiceError returns the SDK's error for a refused call, failing the test for anything else.
func asServiceError(t *testing.T, err error) *sdkerr.ServiceResponseError {
	t.Helper()
	var se *sdkerr.ServiceResponseError
	if !errors.As(err, &se) {
		t.Fatalf("want a *sdkerr.ServiceResponseError, got %T: %v", err, err)
	}
	return se
}

// expectError checks that err is the cloud's refusal with this status and code.
func expectError(t *testing.T, err error, status int, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want HTTP %d %s, got success", status, code)
	}
	se := asServiceError(t, err)
	if se.StatusCode != status || se.ErrorCode != code {
		t.Fatalf("want HTTP %d %s, got HTTP %d %s: %s",
			status, code, se.StatusCode, se.ErrorCode, se.ErrorMessage)
	}
}

// must returns v, or panics (failing the test) on an error from a setup call.
func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("unexpected error: %v", err))
	}
	return v
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func (e *testEnv) createSnapshot(volumeID, name string) *model.SnapshotDetails {
	e.t.Helper()
	resp, err := e.evs.CreateSnapshot(&model.CreateSnapshotRequest{Body: &model.CreateSnapshotRequestBody{
		Snapshot: &model.CreateSnapshotOption{VolumeId: volumeID, Name: new(name)},
	}})
	if err != nil {
		e.t.Fatalf("creating a snapshot of %s: %v", volumeID, err)
	}
	return resp.Snapshot
}

func (e *testEnv) showSnapshot(id string) (*model.SnapshotDetails, error) {
	resp, err := e.evs.ShowSnapshot(&model.ShowSnapshotRequest{SnapshotId: id})
	if err != nil {
		return nil, err
	}
	return resp.Snapshot, nil
}

func (e *testEnv) snapshotStatus(id string) string {
	e.t.Helper()
	sn, err := e.showSnapshot(id)
	if err != nil {
		e.t.Fatalf("showing snapshot %s: %v", id, err)
	}
	return *sn.Status
}

func (e *testEnv) volumeStatus(id string) string {
	e.t.Helper()
	resp, err := e.evs.ShowVolume(&model.ShowVolumeRequest{VolumeId: id})
	if err != nil {
		e.t.Fatalf("showing volume %s: %v", id, err)
	}
	return resp.Volume.Status
}

func (e *testEnv) deleteSnapshot(id string) error {
	_, err := e.evs.DeleteSnapshot(&model.DeleteSnapshotRequest{SnapshotId: id})
	return err
}

func (e *testEnv) rollback(snapshotID, volumeID string) error {
	_, err := e.evs.RollbackSnapshot(&model.RollbackSnapshotRequest{
		SnapshotId: snapshotID,
		Body: &model.RollbackSnapshotRequestBody{
			Rollback: &model.RollbackSnapshotOption{VolumeId: volumeID},
		},
	})
	return err
}

// addAvailableSnapshot makes an available snapshot of volumeID through the control API.
func (e *testEnv) addAvailableSnapshot(volumeID, name string) Snapshot {
	e.t.Helper()
	return must(e.ctl.AddSnapshot(context.Background(), Snapshot{VolumeID: volumeID, Name: name}))
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting until %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
