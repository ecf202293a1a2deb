package simulator

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// controlStatus returns the HTTP status of a refused control call, or 0 for success.
func controlStatus(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var ce *ControlError
	if !errors.As(err, &ce) {
		t.Fatalf("want a *ControlError, got %T: %v", err, err)
	}
	return ce.StatusCode
}

func TestControlSeedsAndVolumes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	vols := must(e.ctl.Volumes(ctx))
	want := map[string]struct {
		status, volumeType string
		size               int
	}{
		SeedVolumeAvailable: {"available", "SSD", 40},
		SeedVolumeInUse:     {"in-use", "SSD", 100},
		SeedVolumeSAS:       {"available", "SAS", 10},
	}
	if len(vols) != len(want) {
		t.Fatalf("seed disks = %+v", vols)
	}
	for _, v := range vols {
		w := want[v.ID]
		if v.Status != w.status || v.VolumeType != w.volumeType || v.SizeGiB != w.size ||
			v.AvailabilityZone != DefaultAvailabilityZone || v.Name == "" {
			t.Errorf("seed disk %+v, want %+v", v, w)
		}
	}

	added := must(e.ctl.AddVolume(ctx, Volume{ID: "my-disk", Name: "mine", SizeGiB: 20}))
	if added.Status != "available" || added.VolumeType != "SSD" ||
		added.AvailabilityZone != DefaultAvailabilityZone {
		t.Errorf("defaults of an added disk: %+v", added)
	}
	_, err := e.ctl.AddVolume(ctx, Volume{ID: "my-disk", SizeGiB: 20})
	if s := controlStatus(t, err); s != http.StatusConflict {
		t.Errorf("a duplicate disk id answered %d", s)
	}
	_, err = e.ctl.AddVolume(ctx, Volume{SizeGiB: 0})
	if s := controlStatus(t, err); s != http.StatusBadRequest {
		t.Errorf("a disk without a size answered %d", s)
	}

	set := must(e.ctl.SetVolumeStatus(ctx, "my-disk", "in-use"))
	if set.Status != "in-use" || e.volumeStatus("my-disk") != "in-use" {
		t.Errorf("forced status = %s", set.Status)
	}
	_, err = e.ctl.SetVolumeStatus(ctx, "my-disk", "melting")
	if s := controlStatus(t, err); s != http.StatusBadRequest {
		t.Errorf("an unknown status answered %d", s)
	}
	_, err = e.ctl.SetVolumeStatus(ctx, "missing", "available")
	if s := controlStatus(t, err); s != http.StatusNotFound {
		t.Errorf("an unknown disk answered %d", s)
	}
}

func TestControlSnapshots(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	sn := must(e.ctl.AddSnapshot(ctx, Snapshot{
		VolumeID:    SeedVolumeSAS,
		Name:        "console",
		Description: "made by hand",
		Metadata:    map[string]string{"k": "v"},
	}))
	if sn.Status != "available" || sn.SizeGiB != 10 || sn.Metadata["k"] != "v" || sn.CreatedAt.IsZero() {
		t.Errorf("added snapshot = %+v", sn)
	}
	_, err := e.ctl.AddSnapshot(ctx, Snapshot{VolumeID: "missing"})
	if s := controlStatus(t, err); s != http.StatusNotFound {
		t.Errorf("a snapshot of a missing disk answered %d", s)
	}

	// A forced moving status stays: nothing is pending for it.
	must(e.ctl.SetSnapshotStatus(ctx, sn.ID, "creating"))
	e.clock.Advance(time.Hour)
	if s := e.snapshotStatus(sn.ID); s != "creating" {
		t.Errorf("forced creating became %s", s)
	}
	// A forced status cancels a transition under way.
	id := *e.createSnapshot(SeedVolumeAvailable, "moving").Id
	must(e.ctl.SetSnapshotStatus(ctx, id, "error"))
	e.clock.Advance(DefaultTiming)
	if s := e.snapshotStatus(id); s != "error" {
		t.Errorf("forced error became %s after the create timing", s)
	}

	noErr(t, e.ctl.VanishSnapshot(ctx, sn.ID))
	_, err = e.showSnapshot(sn.ID)
	expectError(t, err, http.StatusNotFound, "EVS.5404")
	if s := controlStatus(t, e.ctl.VanishSnapshot(ctx, sn.ID)); s != http.StatusNotFound {
		t.Errorf("vanishing twice answered %d", s)
	}
}

func TestControlTimingsAndFailures(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	noErr(t, e.ctl.SetTimings(ctx, Timings{SnapshotCreate: 10 * time.Second}))
	id := *e.createSnapshot(SeedVolumeAvailable, "slow").Id
	e.clock.Advance(DefaultTiming)
	if s := e.snapshotStatus(id); s != "creating" {
		t.Errorf("with a 10s create timing the snapshot is %s after 2s", s)
	}
	e.clock.Advance(8 * time.Second)
	if s := e.snapshotStatus(id); s != "available" {
		t.Errorf("with a 10s create timing the snapshot is %s after 10s", s)
	}

	err := e.ctl.SetFailures(ctx, Failures{SnapshotCreate: "error_deleting"})
	if s := controlStatus(t, err); s != http.StatusBadRequest {
		t.Errorf("an impossible failure status answered %d", s)
	}
	// A bad duration string never gets past the typed client, so send one by hand.
	err = e.ctl.do(ctx, http.MethodPut, "/timing", map[string]string{"rollback": "soon"}, nil)
	if s := controlStatus(t, err); s != http.StatusBadRequest {
		t.Errorf("a bad duration answered %d", s)
	}
	err = e.ctl.do(ctx, http.MethodPut, "/timing", map[string]string{"rolback": "1s"}, nil)
	if s := controlStatus(t, err); s != http.StatusBadRequest {
		t.Errorf("a misspelt field answered %d", s)
	}
	err = e.ctl.do(ctx, http.MethodGet, "/nothing", nil, nil)
	if s := controlStatus(t, err); s != http.StatusNotFound {
		t.Errorf("an unknown control call answered %d", s)
	}
}
