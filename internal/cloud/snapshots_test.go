package cloud_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/evs-operator/evs-operator/internal/cloud"
	"github.com/evs-operator/evs-operator/internal/simulator"
)

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
	_ = wantClass(t, err, cloud.ClassConflict)

	// Rollback onto a disk that is not the snapshot's source is refused.
	avail := e.addSnapshot(t, e.addVolume(t, 20).ID, "ready")
	err = c.RollbackSnapshot(ctx, avail.ID, vol.ID, "")
	_ = wantClass(t, err, cloud.ClassBadRequest)

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
	_ = wantClass(t, err, cloud.ClassBadRequest)
	_, err = c.ListSnapshots(ctx, cloud.ListSnapshotsOptions{Offset: -1})
	_ = wantClass(t, err, cloud.ClassBadRequest)
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
		_ = wantClass(t, err, cloud.ClassBadRequest)
	}
	if n := e.requests(t, simulator.OperationShowSnapshot); n != 1 {
		t.Errorf("ShowSnapshot requests = %d, want 1", n)
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
	_ = wantClass(t, err, cloud.ClassTransient)
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
				in := simulator.Snapshot{VolumeID: vols[i%2], Name: fmt.Sprintf("page-%d", i)}
				sn, err := e.ctl.AddSnapshot(ctx, in)
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
	page, err := e.client.ListSnapshots(ctx,
		cloud.ListSnapshotsOptions{VolumeID: vols[0], Limit: 100, Offset: 1200})
	if err != nil || page.Count != total/2 || len(page.Snapshots) != 50 {
		t.Errorf("filtered page = count %d, %d snapshots, %v", page.Count, len(page.Snapshots), err)
	}
}
