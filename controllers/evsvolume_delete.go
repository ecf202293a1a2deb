package controllers

import (
	"context"
	"slices"
	"strings"

	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	evsv1alpha1 "github.com/evs-operator/evs-operator/api/v1alpha1"
	"github.com/evs-operator/evs-operator/internal/cloud"
)

// diskDeletableStatuses are the disk statuses from which the cloud accepts a delete.
var diskDeletableStatuses = []string{"available", "error"}

// reconcileDelete deletes the disk when the policy says so, follows the deletion until the disk
// is gone, and then releases the object. released reports that the finalizer is gone, so there
// is no status left to write.
func (r *EVSVolumeReconciler) reconcileDelete(
	ctx context.Context, s *volumeScope,
) (res ctrl.Result, released bool, err error) {
	obj := s.obj
	if !controllerutil.ContainsFinalizer(obj, Finalizer) {
		return ctrl.Result{}, true, nil
	}
	if obj.EffectiveDeletionPolicy() != evsv1alpha1.DeletionPolicyDelete {
		if disk := describeDisk(obj); disk != "" {
			r.Recorder.Eventf(obj, nil, "Normal", "Retained", "Delete",
				"Left %s in place (deletionPolicy %s)", disk, obj.EffectiveDeletionPolicy())
		}
		return r.release(ctx, obj)
	}

	id, res, done, err := r.diskToDelete(ctx, s)
	if done {
		return res, false, err
	}
	if id == "" {
		// Nothing was created in the cloud.
		return r.release(ctx, obj)
	}

	disk, err := r.Cloud.GetVolume(ctx, id)
	switch {
	case cloud.IsNotFound(err):
		return r.release(ctx, obj)
	case err != nil:
		res, err := r.cloudError(s, "reading disk "+id, err)
		return res, false, err
	}
	observeCloudDisk(obj, disk)

	switch {
	case disk.Status == "deleting":
		return r.poll(), false, nil
	case disk.Status == "error_deleting":
		s.notSynced(evsv1alpha1.ReasonDeletionFailed,
			"the cloud failed to delete disk %s and will not retry; set spec.deletionPolicy: Retain "+
				"to remove this object and leave the cloud disk as it is", id)
		return r.resync(), false, nil
	case !slices.Contains(diskDeletableStatuses, disk.Status):
		s.notSynced(evsv1alpha1.ReasonDeletionWaiting,
			"disk %s is %s; the cloud deletes a disk only when it is %s, so it is deleted once it is "+
				"(detach it if it is attached)", id, disk.Status, strings.Join(diskDeletableStatuses, " or "))
		return r.poll(), false, nil
	}

	logf.FromContext(ctx).V(1).Info("Deleting cloud disk", "evsVolume", klog.KObj(obj), "volumeID", id)
	if err := r.Cloud.DeleteVolume(ctx, id); err != nil {
		if cloud.IsNotFound(err) {
			return r.release(ctx, obj)
		}
		class := cloud.ClassOf(err)
		res, err := r.cloudError(s, "deleting disk "+id, err)
		if class == cloud.ClassBadRequest {
			// The disk left a deletable status since it was read: try again at the next poll.
			res = r.poll()
		}
		return res, false, err
	}
	r.Recorder.Eventf(obj, nil, "Normal", "Deleting", "DeleteVolume", "Deleting cloud disk %s", id)
	obj.Status.Phase = evsv1alpha1.VolumePhaseDeleting
	obj.Status.CloudStatus = "deleting"
	return r.poll(), false, nil
}

// diskToDelete returns the ID of the object's disk, resolving a create job that has not named
// it in status yet, so that a disk created moments before the delete is not leaked. An empty ID
// means no disk was made. done means the reconcile ends with the result given.
func (r *EVSVolumeReconciler) diskToDelete(
	ctx context.Context, s *volumeScope,
) (id string, res ctrl.Result, done bool, err error) {
	st := &s.obj.Status
	if st.VolumeID != "" {
		return st.VolumeID, ctrl.Result{}, false, nil
	}
	if st.JobID == "" {
		if st.AvailabilityZone == "" {
			return "", ctrl.Result{}, false, nil // no create was ever sent
		}
		// A create was sent and its answer lost: the same request with the same client token
		// names the job it started, or starts one, whose disk this delete then removes.
		if res, done, err := r.askForCreateJob(ctx, s); done {
			return "", res, true, err
		}
		if st.VolumeID != "" || st.JobID == "" {
			return st.VolumeID, ctrl.Result{}, false, nil
		}
	}
	job, err := r.Cloud.GetJob(ctx, st.JobID)
	switch {
	case cloud.IsNotFound(err):
		r.Recorder.Eventf(s.obj, nil, "Warning", "JobNotFound", "Delete",
			"Create job %s no longer exists; a disk it made, if any, is left in the cloud", st.JobID)
		return "", ctrl.Result{}, false, nil
	case err != nil:
		res, err := r.cloudError(s, "reading create job "+st.JobID, err)
		return "", res, true, err
	}
	switch job.Status {
	case cloud.JobSuccess, cloud.JobFail:
		return job.VolumeID, ctrl.Result{}, false, nil
	default:
		s.notSynced(evsv1alpha1.ReasonDeletionWaiting,
			"create job %s is %s; its disk is deleted once the job has ended", st.JobID, job.Status)
		return "", r.poll(), true, nil
	}
}

// askForCreateJob repeats the recorded create with its client token to learn the job (or disk)
// that a lost answer would have named. done means the reconcile ends with the result given.
func (r *EVSVolumeReconciler) askForCreateJob(
	ctx context.Context, s *volumeScope,
) (res ctrl.Result, done bool, err error) {
	obj, st := s.obj, &s.obj.Status
	logf.FromContext(ctx).V(1).Info("Asking the cloud for the disk of a create whose answer was lost",
		"evsVolume", klog.KObj(obj))
	out, err := r.Cloud.CreateVolume(ctx, cloud.CreateVolumeRequest{
		ClientToken: volumeClientToken(obj), Name: obj.CloudName(), Description: obj.Spec.Description,
		AvailabilityZone: st.AvailabilityZone, VolumeType: st.VolumeType,
		SnapshotID: st.SnapshotID, SizeGiB: st.SizeGiB,
		Metadata: map[string]string{CloudUIDMetadataKey: string(obj.UID)},
	})
	switch {
	case err == nil:
		st.JobID = out.JobID
		if out.JobID == "" && len(out.VolumeIDs) > 0 {
			st.VolumeID = out.VolumeIDs[0]
		}
		return ctrl.Result{}, false, nil
	case cloud.ClassOf(err) == cloud.ClassBadRequest || cloud.IsNotFound(err):
		// The cloud knows no such create and refuses a new one (its snapshot is gone, say): no
		// disk was made.
		return ctrl.Result{}, false, nil
	default:
		res, err := r.cloudError(s, "asking for the disk of a lost create", err)
		return res, true, err
	}
}

// describeDisk names the object's cloud disk for messages, or returns "" when none was made.
func describeDisk(obj *evsv1alpha1.EVSVolume) string {
	switch {
	case obj.Status.VolumeID != "":
		return "cloud disk " + obj.Status.VolumeID
	case obj.Status.JobID != "":
		return "the cloud disk of create job " + obj.Status.JobID
	}
	return ""
}

// release removes the finalizer, letting Kubernetes delete the object.
func (r *EVSVolumeReconciler) release(
	ctx context.Context, obj *evsv1alpha1.EVSVolume,
) (ctrl.Result, bool, error) {
	if err := removeFinalizer(ctx, r.Client, obj); err != nil {
		return ctrl.Result{}, false, err
	}
	return ctrl.Result{}, true, nil
}
