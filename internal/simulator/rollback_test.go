package simulator

import (
	"context"
	"net/http"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/evs/v2/model"
)

func TestRollback(t *testing.T) {
	ctx := context.Background()

	t.Run("onto another disk is refused", func(t *testing.T) {
		e := newEnv(t)
		sn := e.addAvailableSnapshot(SeedVolumeAvailable, "s")
		expectError(t, e.rollback(sn.ID, SeedVolumeSAS), http.StatusBadRequest, codeRollbackTarget)
	})
	t.Run("onto an in-use disk is refused", func(t *testing.T) {
		e := newEnv(t)
		sn := e.addAvailableSnapshot(SeedVolumeInUse, "s")
		expectError(t, e.rollback(sn.ID, SeedVolumeInUse), http.StatusBadRequest, codeVolumeStatus)
	})
	t.Run("from a snapshot that is not available is refused", func(t *testing.T) {
		e := newEnv(t)
		id := *e.createSnapshot(SeedVolumeAvailable, "creating").Id
		expectError(t, e.rollback(id, SeedVolumeAvailable), http.StatusBadRequest, "EVS.2043")
	})
	t.Run("succeeds and both return to available", func(t *testing.T) {
		e := newEnv(t)
		sn := e.addAvailableSnapshot(SeedVolumeAvailable, "s")
		resp, err := e.evs.RollbackSnapshot(&model.RollbackSnapshotRequest{
			SnapshotId: sn.ID,
			Body: &model.RollbackSnapshotRequestBody{Rollback: &model.RollbackSnapshotOption{
				VolumeId: SeedVolumeAvailable,
			}},
		})
		if err != nil {
			t.Fatalf("rollback: %v", err)
		}
		if resp.HttpStatusCode != http.StatusAccepted || resp.Rollback.VolumeId != SeedVolumeAvailable {
			t.Errorf("rollback answered %d %s", resp.HttpStatusCode, resp.Rollback)
		}
		s, v := e.snapshotStatus(sn.ID), e.volumeStatus(SeedVolumeAvailable)
		if s != "rollbacking" || v != "rollbacking" {
			t.Fatalf("during the rollback snapshot=%s disk=%s, want rollbacking twice", s, v)
		}
		expectError(t, e.deleteSnapshot(sn.ID), http.StatusBadRequest, "EVS.1047")
		e.clock.Advance(DefaultTiming)
		s, v = e.snapshotStatus(sn.ID), e.volumeStatus(SeedVolumeAvailable)
		if s != "available" || v != "available" {
			t.Fatalf("after the rollback snapshot=%s disk=%s, want available twice", s, v)
		}
	})
	t.Run("a failure leaves the disk error_rollbacking, from where it may be retried", func(t *testing.T) {
		e := newEnv(t)
		sn := e.addAvailableSnapshot(SeedVolumeAvailable, "s")
		noErr(t, e.ctl.SetFailures(ctx, Failures{Rollback: "error_rollbacking"}))
		noErr(t, e.rollback(sn.ID, SeedVolumeAvailable))
		e.clock.Advance(DefaultTiming)
		if s, v := e.snapshotStatus(sn.ID), e.volumeStatus(SeedVolumeAvailable); s != "available" ||
			v != "error_rollbacking" {
			t.Fatalf("after a failed rollback snapshot=%s disk=%s", s, v)
		}
		noErr(t, e.rollback(sn.ID, SeedVolumeAvailable))
		e.clock.Advance(DefaultTiming)
		if v := e.volumeStatus(SeedVolumeAvailable); v != "available" {
			t.Fatalf("after the retried rollback the disk is %s", v)
		}
	})
}
