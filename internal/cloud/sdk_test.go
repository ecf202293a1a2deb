package cloud_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	dto "github.com/prometheus/client_model/go"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

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

func TestSnapshotLifecycle(t *testing.T) {
	ctx := testContext(t)
	e := startEnv(t)
	c := e.client
	vol := e.addVolume(t, 40)

	created, err := c.CreateSnapshot(ctx, cloud.CreateSnapshotRequest{
		VolumeID: vol.ID, Name: "lifecycle", Description: "first", Metadata: map[string]string{"uid": "u-1"},
	})
	if err != nil {
		t.Fatalf("CreateSnapshot: %v", err)
	}
	if created.ID == "" || created.Status != "creating" || created.VolumeID != vol.ID ||
		created.Name != "lifecycle" || created.Description != "first" || created.Metadata["uid"] != "u-1" {
		t.Fatalf("created snapshot = %+v", created)
	}
	if created.CreatedAt.IsZero() || time.Since(created.CreatedAt).Abs() > time.Minute {
		t.Errorf("CreatedAt = %v, want about now", created.CreatedAt)
	}

	eventually(t, "the snapshot is available", snapshotStatus(ctx, c, created.ID, "available"))
	got, err := c.GetSnapshot(ctx, created.ID)
	if err != nil {
		t.Fatalf("GetSnapshot: %v", err)
	}
	if got.SizeGiB != 40 || got.Metadata["uid"] != "u-1" || got.Name != "lifecycle" || got.CreatedAt.IsZero() {
		t.Errorf("GetSnapshot = %+v", got)
	}

	other := e.addSnapshot(t, vol.ID, "other")
	page, err := c.ListSnapshots(ctx, cloud.ListSnapshotsOptions{Name: "lifecycle"})
	if err != nil {
		t.Fatalf("ListSnapshots by name: %v", err)
	}
	if page.Count != 1 || len(page.Snapshots) != 1 || page.Snapshots[0].ID != created.ID {
		t.Errorf("by name: %+v", page)
	} else if s := page.Snapshots[0]; s.SizeGiB != 40 || s.Metadata["uid"] != "u-1" || s.CreatedAt.IsZero() {
		t.Errorf("listed snapshot = %+v", s)
	}
	for _, opts := range []cloud.ListSnapshotsOptions{
		{VolumeID: vol.ID},
		{IDs: []string{created.ID, other.ID}},
		{VolumeID: vol.ID, Status: "available", AvailabilityZone: simulator.DefaultAvailabilityZone},
	} {
		page, err := c.ListSnapshots(ctx, opts)
		if err != nil {
			t.Fatalf("ListSnapshots(%+v): %v", opts, err)
		}
		var ids []string
		for _, s := range page.Snapshots {
			ids = append(ids, s.ID)
		}
		slices.Sort(ids)
		want := []string{created.ID, other.ID}
		slices.Sort(want)
		if page.Count != 2 || !slices.Equal(ids, want) {
			t.Errorf("ListSnapshots(%+v) = count %d, ids %v; want %v", opts, page.Count, ids, want)
		}
	}
	page, err = c.ListSnapshots(ctx, cloud.ListSnapshotsOptions{IDs: []string{other.ID}})
	if err != nil || page.Count != 1 || len(page.Snapshots) != 1 || page.Snapshots[0].ID != other.ID {
		t.Errorf("ListSnapshots by one id = %+v, %v", page, err)
	}

	updated, err := c.UpdateSnapshot(ctx, created.ID, "renamed", "second")
	if err != nil {
		t.Fatalf("UpdateSnapshot: %v", err)
	}
	if updated.Name != "renamed" || updated.Description != "second" || updated.ID != created.ID {
		t.Errorf("UpdateSnapshot = %+v", updated)
	}

	if err := c.RollbackSnapshot(ctx, created.ID, vol.ID, ""); err != nil {
		t.Fatalf("RollbackSnapshot: %v", err)
	}
	disk, err := c.GetVolume(ctx, vol.ID)
	if err != nil || disk.Status != "rollbacking" {
		t.Errorf("disk during rollback = %+v, %v", disk, err)
	}
	eventually(t, "the rollback is done", snapshotStatus(ctx, c, created.ID, "available"))

	if err := c.DeleteSnapshot(ctx, created.ID); err != nil {
		t.Fatalf("DeleteSnapshot: %v", err)
	}
	eventually(t, "the snapshot is gone", func() (bool, error) {
		_, err := c.GetSnapshot(ctx, created.ID)
		return cloud.IsNotFound(err), err
	})
}

func TestRefusedCallsAreClassified(t *testing.T) {
	ctx := testContext(t)
	e := startEnv(t)
	c := e.client
	if err := e.ctl.SetTimings(ctx, simulator.Timings{SnapshotCreate: time.Hour}); err != nil {
		t.Fatal(err)
	}
	vol := e.addVolume(t, 20)
	sn, err := c.CreateSnapshot(ctx, cloud.CreateSnapshotRequest{VolumeID: vol.ID, Name: "slow"})
	if err != nil {
		t.Fatalf("CreateSnapshot: %v", err)
	}

	err = c.DeleteSnapshot(ctx, sn.ID)
	if ce := wantClass(t, err, cloud.ClassConflict); ce.Code != "EVS.1047" || ce.HTTPStatus != 400 {
		t.Errorf("delete of a creating snapshot: %v", err)
	}
	if !cloud.IsConflict(fmt.Errorf("deleting: %w", err)) {
		t.Error("IsConflict does not see through wrapping")
	}
	if n := e.requests(t, simulator.OperationDeleteSnapshot); n != 1 {
		t.Errorf("a conflict was sent %d times, want 1", n)
	}

	// A second snapshot of a disk while one is being created: 409 EVS.2409.
	_, err = c.CreateSnapshot(ctx, cloud.CreateSnapshotRequest{VolumeID: vol.ID, Name: "second"})
	wantClass(t, err, cloud.ClassConflict)

	// Rollback onto a disk that is not the snapshot's source is refused.
	avail := e.addSnapshot(t, e.addVolume(t, 20).ID, "ready")
	err = c.RollbackSnapshot(ctx, avail.ID, vol.ID, "")
	wantClass(t, err, cloud.ClassBadRequest)

	// A backup-service snapshot cannot be deleted while backing up.
	backup, err := e.ctl.StartBackup(ctx, e.addVolume(t, 20).ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.GetSnapshot(ctx, backup.ID); err != nil || got.Status != "backing-up" {
		t.Errorf("backup snapshot = %+v, %v", got, err)
	}
	if err := c.DeleteSnapshot(ctx, backup.ID); cloud.ClassOf(err) != cloud.ClassConflict &&
		cloud.ClassOf(err) != cloud.ClassBadRequest {
		t.Errorf("delete of a backing-up snapshot: %v", err)
	}

	// Paging arguments the API refuses are refused before a request is made.
	before := e.requests(t, simulator.OperationListSnapshots)
	_, err = c.ListSnapshots(ctx, cloud.ListSnapshotsOptions{Limit: 1001})
	wantClass(t, err, cloud.ClassBadRequest)
	_, err = c.ListSnapshots(ctx, cloud.ListSnapshotsOptions{Offset: -1})
	wantClass(t, err, cloud.ClassBadRequest)
	if n := e.requests(t, simulator.OperationListSnapshots); n != before {
		t.Errorf("invalid paging made %d requests", n-before)
	}
}

func TestUnknownIDsAreNotFound(t *testing.T) {
	ctx := testContext(t)
	e := startEnv(t)
	c := e.client
	const missing = "99999999-9999-4999-8999-999999999999"
	calls := map[string]error{}
	_, calls["GetSnapshot"] = c.GetSnapshot(ctx, missing)
	_, calls["UpdateSnapshot"] = c.UpdateSnapshot(ctx, missing, "n", "d")
	calls["DeleteSnapshot"] = c.DeleteSnapshot(ctx, missing)
	calls["RollbackSnapshot"] = c.RollbackSnapshot(ctx, missing, simulator.SeedVolumeAvailable, "")
	_, calls["GetVolume"] = c.GetVolume(ctx, missing)
	calls["DeleteVolume"] = c.DeleteVolume(ctx, missing)
	_, calls["GetJob"] = c.GetJob(ctx, "ffffffffffffffffffffffffffffffff")
	_, calls["CreateSnapshot"] = c.CreateSnapshot(ctx, cloud.CreateSnapshotRequest{VolumeID: missing})
	for name, err := range calls {
		if !cloud.IsNotFound(err) {
			t.Errorf("%s of an unknown id: %v, want not found", name, err)
		}
	}
	// IDs that would change the request path never leave the client.
	for _, id := range []string{"", "..", "a/b", "x?y=1"} {
		_, err := c.GetSnapshot(ctx, id)
		wantClass(t, err, cloud.ClassBadRequest)
	}
	if n := e.requests(t, simulator.OperationShowSnapshot); n != 1 {
		t.Errorf("ShowSnapshot requests = %d, want 1", n)
	}
}

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
	wantClass(t, err, cloud.ClassTransient)
	if n := e.requests(t, simulator.OperationRollbackSnapshot); n != 1 {
		t.Errorf("RollbackSnapshot requests = %d, want 1", n)
	}
}

func TestLostCreateResponseLeavesOneSnapshot(t *testing.T) {
	ctx := testContext(t)
	e := startEnv(t)
	c := e.client
	vol := e.addVolume(t, 20)
	e.inject(t, simulator.Fault{Operation: simulator.OperationCreateSnapshot, HTTPStatus: 500, Count: 1,
		AfterCommit: true})
	_, err := c.CreateSnapshot(ctx, cloud.CreateSnapshotRequest{VolumeID: vol.ID, Name: "lost-response",
		Metadata: map[string]string{"uid": "u-lost"}})
	if err == nil {
		t.Fatal("CreateSnapshot succeeded despite the lost response")
	}
	wantClass(t, err, cloud.ClassTransient)
	page, err := c.ListSnapshots(ctx, cloud.ListSnapshotsOptions{Name: "lost-response"})
	if err != nil {
		t.Fatalf("ListSnapshots: %v", err)
	}
	if page.Count != 1 || len(page.Snapshots) != 1 || page.Snapshots[0].Metadata["uid"] != "u-lost" {
		t.Errorf("after a lost create response: %+v, want exactly one snapshot", page)
	}
}

func TestPagingReturnsEachSnapshotOnce(t *testing.T) {
	ctx := testContext(t)
	e := startEnv(t)
	const total = 2500
	vols := []string{e.addVolume(t, 20).ID, e.addVolume(t, 20).ID}
	var (
		mu   sync.Mutex
		want = map[string]bool{}
		wg   sync.WaitGroup
		errs = make(chan error, 1)
		next = make(chan int)
	)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				sn, err := e.ctl.AddSnapshot(ctx, simulator.Snapshot{VolumeID: vols[i%2], Name: fmt.Sprintf("page-%d", i)})
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					continue
				}
				mu.Lock()
				want[sn.ID] = true
				mu.Unlock()
			}
		})
	}
	for i := range total {
		next <- i
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatalf("adding snapshots: %v", err)
	default:
	}

	seen := map[string]int{}
	for offset := 0; ; offset += cloud.MaxListLimit {
		page, err := e.client.ListSnapshots(ctx, cloud.ListSnapshotsOptions{Limit: 1000, Offset: offset})
		if err != nil {
			t.Fatalf("ListSnapshots at offset %d: %v", offset, err)
		}
		if page.Count != total {
			t.Errorf("count at offset %d = %d, want %d", offset, page.Count, total)
		}
		for _, s := range page.Snapshots {
			seen[s.ID]++
		}
		if len(page.Snapshots) < 1000 {
			break
		}
	}
	if len(seen) != total {
		t.Errorf("paging saw %d distinct snapshots, want %d", len(seen), total)
	}
	for id, n := range seen {
		if n != 1 || !want[id] {
			t.Errorf("snapshot %s seen %d times (known: %v)", id, n, want[id])
		}
	}
	// A filtered list pages with the same total.
	page, err := e.client.ListSnapshots(ctx, cloud.ListSnapshotsOptions{VolumeID: vols[0], Limit: 100, Offset: 1200})
	if err != nil || page.Count != total/2 || len(page.Snapshots) != 50 {
		t.Errorf("filtered page = count %d, %d snapshots, %v", page.Count, len(page.Snapshots), err)
	}
}

func TestVolumeLifecycle(t *testing.T) {
	ctx := testContext(t)
	e := startEnv(t)
	c := e.client
	src := e.addVolume(t, 30)
	sn := e.addSnapshot(t, src.ID, "source")
	before, err := e.ctl.Volumes(ctx)
	if err != nil {
		t.Fatal(err)
	}

	req := cloud.CreateVolumeRequest{
		ClientToken: "token-" + sn.ID, Name: "restored", Description: "from a snapshot",
		AvailabilityZone: src.AvailabilityZone, VolumeType: src.VolumeType, SnapshotID: sn.ID, SizeGiB: 40,
		Metadata: map[string]string{"uid": "v-1"},
	}
	first, err := c.CreateVolume(ctx, req)
	if err != nil {
		t.Fatalf("CreateVolume: %v", err)
	}
	if first.JobID == "" {
		t.Fatalf("CreateVolume = %+v, want a job", first)
	}
	// The same token again, and once more with a lost response: still the same disk.
	second, err := c.CreateVolume(ctx, req)
	if err != nil || second.JobID != first.JobID {
		t.Errorf("repeated CreateVolume = %+v, %v; want job %s", second, err, first.JobID)
	}
	e.inject(t, simulator.Fault{Operation: simulator.OperationCreateVolume, HTTPStatus: 503, Count: 1,
		AfterCommit: true})
	third, err := c.CreateVolume(ctx, req)
	if err != nil || third.JobID != first.JobID {
		t.Errorf("CreateVolume after a lost response = %+v, %v; want job %s", third, err, first.JobID)
	}
	after, err := e.ctl.Volumes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before)+1 {
		t.Errorf("volumes went from %d to %d, want one more", len(before), len(after))
	}

	var job *cloud.Job
	eventually(t, "the job succeeds", func() (bool, error) {
		job, err = c.GetJob(ctx, first.JobID)
		if err != nil {
			return false, err
		}
		return job.Status == cloud.JobSuccess, fmt.Errorf("job %+v", job)
	})
	if job.ID != first.JobID || job.VolumeID == "" ||
		(len(first.VolumeIDs) > 0 && first.VolumeIDs[0] != job.VolumeID) {
		t.Errorf("job = %+v, create result = %+v", job, first)
	}
	disk, err := c.GetVolume(ctx, job.VolumeID)
	if err != nil {
		t.Fatalf("GetVolume: %v", err)
	}
	if disk.Status != "available" || disk.SnapshotID != sn.ID || disk.SizeGiB != 40 || disk.Name != "restored" ||
		disk.AvailabilityZone != src.AvailabilityZone || disk.VolumeType != src.VolumeType ||
		disk.Metadata["uid"] != "v-1" {
		t.Errorf("GetVolume = %+v", disk)
	}

	if err := c.DeleteVolume(ctx, disk.ID); err != nil {
		t.Fatalf("DeleteVolume: %v", err)
	}
	eventually(t, "the disk is gone", func() (bool, error) {
		_, err := c.GetVolume(ctx, disk.ID)
		return cloud.IsNotFound(err), err
	})

	// A failed create shows in the job.
	if err := e.ctl.SetFailures(ctx, simulator.Failures{VolumeCreate: "error"}); err != nil {
		t.Fatal(err)
	}
	req.ClientToken = "token-failing"
	failing, err := c.CreateVolume(ctx, req)
	if err != nil {
		t.Fatalf("CreateVolume: %v", err)
	}
	eventually(t, "the job fails", func() (bool, error) {
		job, err = c.GetJob(ctx, failing.JobID)
		return err == nil && job.Status == cloud.JobFail, err
	})
	if job.ErrorCode == "" && job.FailReason == "" {
		t.Errorf("failed job = %+v, want a reason", job)
	}

	// A disk smaller than its snapshot is refused.
	req.ClientToken, req.SizeGiB = "", 10
	_, err = c.CreateVolume(ctx, req)
	wantClass(t, err, cloud.ClassBadRequest)
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

// metricValue reads a sample of the controller-runtime registry: a counter's value, or a
// histogram's observation count. Missing series read as 0.
func metricValue(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatalf("gathering metrics: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if matches(m, labels) {
				if h := m.GetHistogram(); h != nil {
					return float64(h.GetSampleCount())
				}
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func matches(m *dto.Metric, labels map[string]string) bool {
	n := 0
	for _, l := range m.GetLabel() {
		if v, ok := labels[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(labels)
}

func TestMetrics(t *testing.T) {
	ctx := testContext(t)
	e := startEnv(t)
	sn := e.addSnapshot(t, e.addVolume(t, 20).ID, "measured")
	const op = cloud.OpShowSnapshot
	success := map[string]string{"operation": op, "class": "success"}
	throttled := map[string]string{"operation": op, "class": string(cloud.ClassThrottled)}
	notFound := map[string]string{"operation": op, "class": string(cloud.ClassNotFound)}
	duration := map[string]string{"operation": op}
	s0, t0, n0 := metricValue(t, "evs_cloud_requests_total", success),
		metricValue(t, "evs_cloud_requests_total", throttled), metricValue(t, "evs_cloud_requests_total", notFound)
	d0 := metricValue(t, "evs_cloud_request_duration_seconds", duration)

	e.inject(t, simulator.Fault{Operation: simulator.OperationShowSnapshot, HTTPStatus: 429, Count: 2})
	if _, err := e.client.GetSnapshot(ctx, sn.ID); err != nil {
		t.Fatal(err)
	}
	_, _ = e.client.GetSnapshot(ctx, "99999999-9999-4999-8999-999999999999")

	if d := metricValue(t, "evs_cloud_requests_total", success) - s0; d != 1 {
		t.Errorf("success count rose by %v, want 1", d)
	}
	if d := metricValue(t, "evs_cloud_requests_total", throttled) - t0; d != 2 {
		t.Errorf("throttled count rose by %v, want 2", d)
	}
	if d := metricValue(t, "evs_cloud_requests_total", notFound) - n0; d != 1 {
		t.Errorf("not-found count rose by %v, want 1", d)
	}
	if d := metricValue(t, "evs_cloud_request_duration_seconds", duration) - d0; d != 4 {
		t.Errorf("duration observations rose by %v, want 4", d)
	}
}
