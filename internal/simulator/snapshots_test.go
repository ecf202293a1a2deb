package simulator

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/evs/v2/model"
)

var cloudTimeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$`)

func TestSnapshotLifecycle(t *testing.T) {
	e := newEnv(t)

	resp, err := e.evs.CreateSnapshot(&model.CreateSnapshotRequest{Body: &model.CreateSnapshotRequestBody{
		Snapshot: &model.CreateSnapshotOption{
			VolumeId:    SeedVolumeAvailable,
			Name:        new("nightly"),
			Description: new("db"),
			Metadata:    map[string]string{"uid": "1234"},
		},
	}})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if resp.HttpStatusCode != http.StatusAccepted {
		t.Errorf("create answered %d, want 202", resp.HttpStatusCode)
	}
	sn := resp.Snapshot
	if *sn.Status != "creating" || *sn.Size != 40 || *sn.VolumeId != SeedVolumeAvailable ||
		*sn.OsExtendedSnapshotAttributesprogress != "0%" ||
		*sn.OsExtendedSnapshotAttributesprojectId != DefaultProjectID {
		t.Errorf("created snapshot = %s", sn)
	}
	if !cloudTimeRE.MatchString(*sn.CreatedAt) || !cloudTimeRE.MatchString(*sn.UpdatedAt) {
		t.Errorf("timestamps %q, %q are not in the cloud's format", *sn.CreatedAt, *sn.UpdatedAt)
	}
	id := *sn.Id

	e.clock.Advance(DefaultTiming)
	got, err := e.showSnapshot(id)
	if err != nil {
		t.Fatalf("show: %v", err)
	}
	if *got.Status != "available" || *got.OsExtendedSnapshotAttributesprogress != "100%" {
		t.Errorf("after the create timing the snapshot is %s, %s",
			*got.Status, *got.OsExtendedSnapshotAttributesprogress)
	}
	meta, ok := (*got.Metadata).(map[string]any)
	if !ok || meta["uid"] != "1234" {
		t.Errorf("metadata = %#v", *got.Metadata)
	}

	upd, err := e.evs.UpdateSnapshot(&model.UpdateSnapshotRequest{
		SnapshotId: id,
		Body: &model.UpdateSnapshotRequestBody{Snapshot: &model.UpdateSnapshotOption{
			Name: new("renamed"), Description: new("new"),
		}},
	})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if *upd.Snapshot.Name != "renamed" || *upd.Snapshot.Description != "new" {
		t.Errorf("updated snapshot = %s", upd.Snapshot)
	}

	list, err := e.evs.ListSnapshots(&model.ListSnapshotsRequest{VolumeId: new(SeedVolumeAvailable)})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if *list.Count != 1 || len(*list.Snapshots) != 1 || (*list.Snapshots)[0].Name == nil ||
		*(*list.Snapshots)[0].Name != "renamed" {
		t.Errorf("list = %s", list)
	}

	del, err := e.evs.DeleteSnapshot(&model.DeleteSnapshotRequest{SnapshotId: id})
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	if del.HttpStatusCode != http.StatusAccepted {
		t.Errorf("delete answered %d, want 202", del.HttpStatusCode)
	}
	if s := e.snapshotStatus(id); s != "deleting" {
		t.Errorf("after delete the snapshot is %s, want deleting", s)
	}
	e.clock.Advance(DefaultTiming)
	_, err = e.showSnapshot(id)
	expectError(t, err, http.StatusNotFound, "EVS.5404")
}

func TestSnapshotMovesOnRealTimers(t *testing.T) {
	e := newEnvWith(t, fastTimings(50*time.Millisecond), false)
	id := *e.createSnapshot(SeedVolumeAvailable, "fast").Id
	eventually(t, 5*time.Second, "the snapshot is available", func() bool {
		return e.snapshotStatus(id) == "available"
	})
	if err := e.deleteSnapshot(id); err != nil {
		t.Fatalf("delete: %v", err)
	}
	eventually(t, 5*time.Second, "the snapshot is gone", func() bool {
		_, err := e.showSnapshot(id)
		return err != nil && asServiceError(t, err).StatusCode == http.StatusNotFound
	})
}

func TestSnapshotRules(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	creating := *e.createSnapshot(SeedVolumeAvailable, "first").Id

	t.Run("deleting a creating snapshot is EVS.1047", func(t *testing.T) {
		expectError(t, e.deleteSnapshot(creating), http.StatusBadRequest, "EVS.1047")
	})
	t.Run("a second snapshot of a disk while one is creating is EVS.2409", func(t *testing.T) {
		_, err := e.evs.CreateSnapshot(&model.CreateSnapshotRequest{Body: &model.CreateSnapshotRequestBody{
			Snapshot: &model.CreateSnapshotOption{VolumeId: SeedVolumeAvailable},
		}})
		expectError(t, err, http.StatusConflict, "EVS.2409")
	})
	t.Run("an in-use disk may be snapshotted", func(_ *testing.T) {
		e.createSnapshot(SeedVolumeInUse, "attached")
	})
	t.Run("an attaching disk needs force", func(t *testing.T) {
		v := must(e.ctl.AddVolume(ctx, Volume{Name: "att", SizeGiB: 20, Status: "attaching"}))
		_, err := e.evs.CreateSnapshot(&model.CreateSnapshotRequest{Body: &model.CreateSnapshotRequestBody{
			Snapshot: &model.CreateSnapshotOption{VolumeId: v.ID},
		}})
		expectError(t, err, http.StatusBadRequest, codeVolumeStatus)
		_, err = e.evs.CreateSnapshot(&model.CreateSnapshotRequest{Body: &model.CreateSnapshotRequestBody{
			Snapshot: &model.CreateSnapshotOption{VolumeId: v.ID, Force: new(true)},
		}})
		if err != nil {
			t.Fatalf("create with force: %v", err)
		}
	})
	t.Run("a disk in another status is refused", func(t *testing.T) {
		v := must(e.ctl.AddVolume(ctx, Volume{Name: "err", SizeGiB: 20, Status: "error"}))
		_, err := e.evs.CreateSnapshot(&model.CreateSnapshotRequest{Body: &model.CreateSnapshotRequestBody{
			Snapshot: &model.CreateSnapshotOption{VolumeId: v.ID, Force: new(true)},
		}})
		expectError(t, err, http.StatusBadRequest, codeVolumeStatus)
	})
	t.Run("an unknown disk is 404", func(t *testing.T) {
		_, err := e.evs.CreateSnapshot(&model.CreateSnapshotRequest{Body: &model.CreateSnapshotRequestBody{
			Snapshot: &model.CreateSnapshotOption{VolumeId: "00000000-0000-4000-8000-000000000000"},
		}})
		expectError(t, err, http.StatusNotFound, "EVS.5404")
	})
	t.Run("names and descriptions are at most 255 bytes", func(t *testing.T) {
		long := strings.Repeat("é", 128) // 256 bytes
		_, err := e.evs.CreateSnapshot(&model.CreateSnapshotRequest{Body: &model.CreateSnapshotRequestBody{
			Snapshot: &model.CreateSnapshotOption{VolumeId: SeedVolumeSAS, Name: new(long)},
		}})
		expectError(t, err, http.StatusBadRequest, "EVS.5400")
		_, err = e.evs.UpdateSnapshot(&model.UpdateSnapshotRequest{
			SnapshotId: creating,
			Body: &model.UpdateSnapshotRequestBody{Snapshot: &model.UpdateSnapshotOption{
				Description: new(long),
			}},
		})
		expectError(t, err, http.StatusBadRequest, "EVS.5400")
	})
	t.Run("unknown snapshot ids are 404 EVS.5404", func(t *testing.T) {
		_, err := e.showSnapshot("nope")
		expectError(t, err, http.StatusNotFound, "EVS.5404")
		expectError(t, e.deleteSnapshot("nope"), http.StatusNotFound, "EVS.5404")
	})
	t.Run("an error snapshot may be deleted, error_deleting may not", func(t *testing.T) {
		sn := e.addAvailableSnapshot(SeedVolumeSAS, "to-fail")
		must(e.ctl.SetSnapshotStatus(ctx, sn.ID, "error"))
		noErr(t, e.ctl.SetFailures(ctx, Failures{SnapshotDelete: "error_deleting"}))
		if err := e.deleteSnapshot(sn.ID); err != nil {
			t.Fatalf("deleting an error snapshot: %v", err)
		}
		e.clock.Advance(DefaultTiming)
		if s := e.snapshotStatus(sn.ID); s != "error_deleting" {
			t.Fatalf("after a failed delete the snapshot is %s", s)
		}
		expectError(t, e.deleteSnapshot(sn.ID), http.StatusBadRequest, "EVS.1047")
	})
	t.Run("a failed create ends in error", func(t *testing.T) {
		noErr(t, e.ctl.SetFailures(ctx, Failures{SnapshotCreate: "error"}))
		v := must(e.ctl.AddVolume(ctx, Volume{Name: "f", SizeGiB: 10}))
		id := *e.createSnapshot(v.ID, "doomed").Id
		e.clock.Advance(DefaultTiming)
		if s := e.snapshotStatus(id); s != "error" {
			t.Fatalf("after a failed create the snapshot is %s", s)
		}
		// The failure is spent: the next create succeeds.
		id = *e.createSnapshot(v.ID, "fine").Id
		e.clock.Advance(DefaultTiming)
		if s := e.snapshotStatus(id); s != "available" {
			t.Fatalf("the create after the failure ends %s", s)
		}
	})
	t.Run("malformed JSON is EVS.5400", func(t *testing.T) {
		resp := signedRequest(t, e.srv.URL(), http.MethodPost,
			"/v2/"+DefaultProjectID+"/cloudsnapshots", `{"snapshot": {`, nil)
		expectRawError(t, resp, http.StatusBadRequest, "EVS.5400")
	})
}

func TestBackupSnapshotsAreOffLimits(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sn := must(e.ctl.StartBackup(ctx, SeedVolumeAvailable))
	if !strings.HasPrefix(sn.Name, "autobk_snapshot_") || sn.Status != "backing-up" {
		t.Fatalf("backup snapshot = %+v", sn)
	}
	expectError(t, e.deleteSnapshot(sn.ID), http.StatusBadRequest, codeBackupOwned)
	e.clock.Advance(DefaultTiming)
	if s := e.snapshotStatus(sn.ID); s != "available" {
		t.Fatalf("the backup snapshot is %s after the create timing, want available", s)
	}
	expectError(t, e.deleteSnapshot(sn.ID), http.StatusBadRequest, codeBackupOwned)
	expectError(t, e.rollback(sn.ID, SeedVolumeAvailable), http.StatusBadRequest, codeBackupOwned)

	marked := must(e.ctl.AddSnapshot(ctx, Snapshot{
		VolumeID: SeedVolumeSAS,
		Name:     "server-backup",
		Metadata: map[string]string{backupMetadataKey: "true"},
	}))
	expectError(t, e.deleteSnapshot(marked.ID), http.StatusBadRequest, codeBackupOwned)
}
