package cloud_test

import (
	"fmt"
	"testing"

	"github.com/evs-operator/evs-operator/internal/cloud"
	"github.com/evs-operator/evs-operator/internal/simulator"
)

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
	_ = wantClass(t, err, cloud.ClassBadRequest)
}
