package simulator

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/evs/v2/model"
)

// createVolumeFrom asks for a disk from a snapshot; zero size means "the snapshot's".
func (e *testEnv) createVolumeFrom(snapshotID, zone, volumeType string, size int32,
	token string) (*model.CreateVolumeResponse, error) {
	opt := &model.CreateVolumeOption{
		AvailabilityZone: zone,
		Size:             size,
		SnapshotId:       new(snapshotID),
		Name:             new("restored"),
	}
	if err := opt.VolumeType.UnmarshalJSON([]byte(`"` + volumeType + `"`)); err != nil {
		e.t.Fatalf("volume type: %v", err)
	}
	req := &model.CreateVolumeRequest{Body: &model.CreateVolumeRequestBody{Volume: opt}}
	if token != "" {
		req.XClientToken = new(token)
	}
	return e.evs.CreateVolume(req)
}

func (e *testEnv) job(id string) *model.ShowJobResponse {
	e.t.Helper()
	resp, err := e.evs.ShowJob(&model.ShowJobRequest{JobId: id})
	if err != nil {
		e.t.Fatalf("showing job %s: %v", id, err)
	}
	return resp
}

func TestCreateVolumeFromSnapshot(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sn := e.addAvailableSnapshot(SeedVolumeAvailable, "src") // 40 GiB SSD in sim-az1

	first, err := e.createVolumeFrom(sn.ID, DefaultAvailabilityZone, "SSD", 0, "token-1")
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if first.HttpStatusCode != http.StatusAccepted || first.JobId == nil || first.VolumeIds == nil ||
		len(*first.VolumeIds) != 1 {
		t.Fatalf("create answered %d %s", first.HttpStatusCode, first)
	}
	again, err := e.createVolumeFrom(sn.ID, DefaultAvailabilityZone, "SSD", 0, "token-1")
	if err != nil {
		t.Fatalf("retried create: %v", err)
	}
	if *again.JobId != *first.JobId || (*again.VolumeIds)[0] != (*first.VolumeIds)[0] {
		t.Errorf("a retry with the same token answered %s, first %s", again, first)
	}
	vols := must(e.ctl.Volumes(ctx))
	if len(vols) != 4 {
		t.Errorf("after two creates with one token there are %d disks, want 3 seeds + 1", len(vols))
	}

	volID := (*first.VolumeIds)[0]
	other, err := e.createVolumeFrom(sn.ID, DefaultAvailabilityZone, "SSD", 0, "token-2")
	if err != nil || *other.JobId == *first.JobId {
		t.Fatalf("another token answered %v, %v; want a new job", other, err)
	}
	j := e.job(*first.JobId)
	if j.Status.Value() != "RUNNING" || *j.Entities.VolumeId != volID {
		t.Errorf("job while creating = %s", j)
	}
	if s := e.volumeStatus(volID); s != "creating" {
		t.Errorf("new disk is %s, want creating", s)
	}
	e.clock.Advance(DefaultTiming)
	if j := e.job(*first.JobId); j.Status.Value() != "SUCCESS" {
		t.Errorf("job after the create timing = %s", j)
	}
	resp, err := e.evs.ShowVolume(&model.ShowVolumeRequest{VolumeId: volID})
	if err != nil {
		t.Fatalf("show: %v", err)
	}
	v := resp.Volume
	if v.Status != "available" || v.Size != 40 || v.SnapshotId != sn.ID || v.VolumeType != "SSD" ||
		v.AvailabilityZone != DefaultAvailabilityZone {
		t.Errorf("new disk = %s", v)
	}

	// A disk deletes through deleting into 404, and its delete job succeeds.
	del, err := e.evs.DeleteVolume(&model.DeleteVolumeRequest{VolumeId: volID})
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	if s := e.volumeStatus(volID); s != "deleting" {
		t.Errorf("deleted disk is %s, want deleting", s)
	}
	e.clock.Advance(DefaultTiming)
	_, err = e.evs.ShowVolume(&model.ShowVolumeRequest{VolumeId: volID})
	expectError(t, err, http.StatusNotFound, "EVS.5404")
	if j := e.job(*del.JobId); j.Status.Value() != "SUCCESS" {
		t.Errorf("delete job = %s", j)
	}
}

func TestClientTokenExpires(t *testing.T) {
	e := newEnv(t)
	sn := e.addAvailableSnapshot(SeedVolumeSAS, "src")
	first, err := e.createVolumeFrom(sn.ID, DefaultAvailabilityZone, "SAS", 0, "token")
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	e.clock.Advance(8*time.Hour - time.Second)
	again, err := e.createVolumeFrom(sn.ID, DefaultAvailabilityZone, "SAS", 0, "token")
	if err != nil || *again.JobId != *first.JobId {
		t.Fatalf("within 8h the token answered %v, %v", again, err)
	}
	e.clock.Advance(time.Second)
	later, err := e.createVolumeFrom(sn.ID, DefaultAvailabilityZone, "SAS", 0, "token")
	if err != nil || *later.JobId == *first.JobId {
		t.Fatalf("after 8h the token answered %v, %v; want a new job", later, err)
	}
}

func TestCreateVolumeRules(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sn := e.addAvailableSnapshot(SeedVolumeAvailable, "src") // 40 GiB SSD in sim-az1

	for _, tc := range []struct {
		name, zone, volumeType string
		size                   int32
		code                   string
	}{
		{"smaller than the snapshot", DefaultAvailabilityZone, "SSD", 39, codeInvalidSize},
		{"another zone", "sim-az2", "SSD", 40, codeZoneMismatch},
		{"another type", DefaultAvailabilityZone, "SAS", 40, codeTypeMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.createVolumeFrom(sn.ID, tc.zone, tc.volumeType, tc.size, "")
			expectError(t, err, http.StatusBadRequest, tc.code)
		})
	}
	t.Run("larger than the snapshot is fine", func(t *testing.T) {
		if _, err := e.createVolumeFrom(sn.ID, DefaultAvailabilityZone, "SSD", 80, ""); err != nil {
			t.Fatalf("create: %v", err)
		}
	})
	t.Run("two sources are EVS.1016", func(t *testing.T) {
		opt := &model.CreateVolumeOption{
			AvailabilityZone: DefaultAvailabilityZone, Size: 40, SnapshotId: new(sn.ID), BackupId: new("b"),
			VolumeType: model.GetCreateVolumeOptionVolumeTypeEnum().SSD,
		}
		req := &model.CreateVolumeRequest{Body: &model.CreateVolumeRequestBody{Volume: opt}}
		_, err := e.evs.CreateVolume(req)
		expectError(t, err, http.StatusBadRequest, codeMultipleSources)
	})
	t.Run("an unknown snapshot is EVS.2045", func(t *testing.T) {
		_, err := e.createVolumeFrom("missing", DefaultAvailabilityZone, "SSD", 40, "")
		expectError(t, err, http.StatusBadRequest, codeInvalidSnapshotID)
	})
	t.Run("a snapshot that is not available is EVS.2043", func(t *testing.T) {
		creating := *e.createSnapshot(SeedVolumeSAS, "creating").Id
		_, err := e.createVolumeFrom(creating, DefaultAvailabilityZone, "SAS", 10, "")
		expectError(t, err, http.StatusBadRequest, codeSnapshotNotAvailable)
	})
	t.Run("a configured failure fails the job and leaves the disk in error", func(t *testing.T) {
		noErr(t, e.ctl.SetFailures(ctx, Failures{VolumeCreate: "error"}))
		resp, err := e.createVolumeFrom(sn.ID, DefaultAvailabilityZone, "SSD", 40, "token-fail")
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		e.clock.Advance(DefaultTiming)
		j := e.job(*resp.JobId)
		if j.Status.Value() != "FAIL" || j.ErrorCode == nil || j.FailReason == nil {
			t.Errorf("failed job = %s", j)
		}
		if s := e.volumeStatus((*resp.VolumeIds)[0]); s != "error" {
			t.Errorf("failed disk is %s, want error", s)
		}
	})
	t.Run("an in-use disk cannot be deleted", func(t *testing.T) {
		_, err := e.evs.DeleteVolume(&model.DeleteVolumeRequest{VolumeId: SeedVolumeInUse})
		expectError(t, err, http.StatusBadRequest, codeVolumeStatus)
	})
	t.Run("an unknown job is 404", func(t *testing.T) {
		_, err := e.evs.ShowJob(&model.ShowJobRequest{JobId: "nope"})
		expectError(t, err, http.StatusNotFound, "EVS.5404")
	})
}
