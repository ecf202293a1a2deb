package controllers

import (
	"context"
	"fmt"
	"maps"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	evsv1alpha1 "github.com/evs-operator/evs-operator/api/v1alpha1"
	"github.com/evs-operator/evs-operator/internal/cloud"
)

// reconcileNormal creates the disk when none was asked for yet, follows the create job to its
// disk, and records the disk's status. Once status names a job, the disk is never asked for
// again: a failed job or a vanished disk ends in Error.
func (r *EVSVolumeReconciler) reconcileNormal(ctx context.Context, s *volumeScope) (ctrl.Result, error) {
	st := &s.obj.Status
	switch {
	case st.VolumeID != "":
		return r.observeDisk(ctx, s)
	case st.JobID != "":
		return r.followJob(ctx, s)
	default:
		return r.createDisk(ctx, s)
	}
}

// volumeSource is the cloud snapshot a disk is made from, as far as the operator knows it.
type volumeSource struct {
	snapshotID string
	sizeGiB    int32
	// volumeID is the snapshot's own source disk, whose zone and type the new disk must share.
	volumeID string
}

// createDisk resolves the source, fills the defaults and asks the cloud for the disk. The job ID
// is written to status before anything else happens, so that the next reconcile, even in another
// process, follows the job instead of asking again.
func (r *EVSVolumeReconciler) createDisk(ctx context.Context, s *volumeScope) (ctrl.Result, error) {
	src, res, err := r.resolveSource(ctx, s)
	if src == nil {
		return res, err
	}
	req, res, err := r.diskRequest(ctx, s, src)
	if req == nil {
		return res, err
	}

	obj, st := s.obj, &s.obj.Status
	logf.FromContext(ctx).V(1).Info("Creating cloud disk", "evsVolume", klog.KObj(obj),
		"snapshotID", req.SnapshotID, "sizeGiB", req.SizeGiB, "zone", req.AvailabilityZone, "type", req.VolumeType)
	if st.AvailabilityZone == "" {
		// Recorded before the create is sent: a delete that finds no job can then ask the cloud,
		// with the same client token, for the disk a lost response would have named.
		st.SnapshotID, st.SizeGiB = req.SnapshotID, req.SizeGiB
		st.AvailabilityZone, st.VolumeType = req.AvailabilityZone, req.VolumeType
		if err := r.patchStatus(ctx, s); err != nil {
			return ctrl.Result{}, err
		}
	}
	out, createErr := r.Cloud.CreateVolume(ctx, *req)
	if createErr != nil {
		res, err := r.cloudError(s, "creating disk from snapshot "+req.SnapshotID, createErr)
		switch cloud.ClassOf(createErr) {
		case cloud.ClassConflict:
			// The cloud's view of the snapshot lags or leads the EVSSnapshot's: wait for it.
			s.setNotReady(evsv1alpha1.VolumePhaseCreating, evsv1alpha1.ReasonWaitingForSnapshot,
				"the cloud does not allow a disk from snapshot %s yet: %v", req.SnapshotID, createErr)
		case cloud.ClassBadRequest, cloud.ClassTerminal:
			// Nothing was created, so the next resync may try again; until then the object is broken.
			s.setNotReady(evsv1alpha1.VolumePhaseError, evsv1alpha1.ReasonCreationFailed,
				"the cloud refused to create the disk: %v", createErr)
		}
		return res, err
	}

	if out.JobID == "" && len(out.VolumeIDs) == 0 {
		s.setNotReady(evsv1alpha1.VolumePhaseError, evsv1alpha1.ReasonCreationFailed,
			"the cloud accepted the create but named neither a job nor a disk")
		return r.resync(), nil
	}
	st.Phase = evsv1alpha1.VolumePhaseCreating
	st.SnapshotID, st.SizeGiB = req.SnapshotID, req.SizeGiB
	st.JobID = out.JobID
	if out.JobID == "" {
		// Without a job there is nothing to follow but the disk itself.
		st.VolumeID = out.VolumeIDs[0]
	}
	r.Recorder.Eventf(obj, nil, "Normal", "Creating", "CreateVolume",
		"Creating cloud disk of %d GiB from snapshot %s (job %s)", req.SizeGiB, req.SnapshotID, out.JobID)
	if err := r.patchStatus(ctx, s); err != nil {
		// The next reconcile repeats the create with the same client token and gets the same job.
		return ctrl.Result{}, fmt.Errorf("recording create job %s: %w", out.JobID, err)
	}
	return r.poll(), nil
}

// resolveSource finds the cloud snapshot the spec names and checks that the state table allows a
// disk from it now. A nil source means the reconcile ends with the result given; status then
// says whether the object waits for the snapshot or cannot proceed.
func (r *EVSVolumeReconciler) resolveSource(
	ctx context.Context, s *volumeScope,
) (*volumeSource, ctrl.Result, error) {
	if ref := s.obj.Spec.Source.SnapshotRef; ref != nil {
		return r.resolveSnapshotRef(ctx, s, ref.Name)
	}
	return r.resolveSnapshotID(ctx, s, s.obj.Spec.Source.SnapshotID)
}

// resolveSnapshotRef reads the named EVSSnapshot from the cache. Its changes wake the object
// through the snapshot watch, so waiting needs no polling.
func (r *EVSVolumeReconciler) resolveSnapshotRef(
	ctx context.Context, s *volumeScope, name string,
) (*volumeSource, ctrl.Result, error) {
	key := types.NamespacedName{Namespace: s.obj.Namespace, Name: name}
	snap := &evsv1alpha1.EVSSnapshot{}
	if err := r.Get(ctx, key, snap); err != nil {
		if !apierrors.IsNotFound(err) {
			return nil, ctrl.Result{}, fmt.Errorf("getting EVSSnapshot %s: %w", key, err)
		}
		s.setNotReady(evsv1alpha1.VolumePhaseError, evsv1alpha1.ReasonSnapshotNotFound,
			"EVSSnapshot %s does not exist", key)
		s.notSynced(evsv1alpha1.ReasonSnapshotNotFound, "%s", s.notReady.message)
		return nil, r.resync(), nil
	}
	what := "EVSSnapshot " + key.String()
	if !snap.DeletionTimestamp.IsZero() {
		s.setNotReady(evsv1alpha1.VolumePhaseError, evsv1alpha1.ReasonInvalidSpec,
			"%s is being deleted; no disk is made from it", what)
		s.notSynced(evsv1alpha1.ReasonInvalidSpec, "%s", s.notReady.message)
		return nil, r.resync(), nil
	}
	if snap.Status.SnapshotID != "" {
		s.obj.Status.SnapshotID = snap.Status.SnapshotID
	}
	if !r.sourceAllows(s, what, snap.Status.Phase, snap.IsBackupOwned()) {
		explainSnapshotError(s, snap)
		return nil, r.resync(), nil
	}
	if snap.Status.SnapshotID == "" {
		s.setNotReady(evsv1alpha1.VolumePhaseCreating, evsv1alpha1.ReasonWaitingForSnapshot,
			"%s does not name its cloud snapshot yet", what)
		s.notSynced(evsv1alpha1.ReasonWaitingForSnapshot, "%s", s.notReady.message)
		return nil, r.resync(), nil
	}
	return &volumeSource{
		snapshotID: snap.Status.SnapshotID, sizeGiB: snap.Status.SizeGiB, volumeID: snap.SourceVolumeID(),
	}, ctrl.Result{}, nil
}

// explainSnapshotError adds to an Error caused by an EVSSnapshot what the snapshot's own Ready
// condition says, so that the user sees why the snapshot failed, such as a vanished cloud snapshot.
func explainSnapshotError(s *volumeScope, snap *evsv1alpha1.EVSSnapshot) {
	ready := meta.FindStatusCondition(snap.Status.Conditions, evsv1alpha1.ConditionReady)
	if s.obj.Status.Phase != evsv1alpha1.VolumePhaseError || ready == nil ||
		ready.Status != metav1.ConditionFalse || ready.Message == "" {
		return
	}
	if ready.Reason == evsv1alpha1.ReasonSnapshotNotFound {
		s.notReady.reason = evsv1alpha1.ReasonSnapshotNotFound
	}
	s.notReady.message += "; the EVSSnapshot says: " + ready.Message
	s.notSynced(s.notReady.reason, "%s", s.notReady.message)
}

// resolveSnapshotID reads a cloud snapshot named by ID. Nothing wakes the object when it
// changes, so waiting polls.
func (r *EVSVolumeReconciler) resolveSnapshotID(
	ctx context.Context, s *volumeScope, id string,
) (*volumeSource, ctrl.Result, error) {
	snap, err := r.Cloud.GetSnapshot(ctx, id)
	switch {
	case cloud.IsNotFound(err):
		s.setNotReady(evsv1alpha1.VolumePhaseError, evsv1alpha1.ReasonSnapshotNotFound,
			"cloud snapshot %s does not exist", id)
		s.notSynced(evsv1alpha1.ReasonSnapshotNotFound, "%s", s.notReady.message)
		return nil, r.resync(), nil
	case err != nil:
		res, err := r.cloudError(s, "reading snapshot "+id, err)
		return nil, res, err
	}
	s.obj.Status.SnapshotID = snap.ID
	// A status the state table does not know counts as moving: wait for one it knows.
	phase, _ := evsv1alpha1.PhaseForCloudStatus(snap.Status)
	backupOwned := evsv1alpha1.IsBackupOwned(snap.Name, snap.Metadata)
	if !r.sourceAllows(s, "cloud snapshot "+id, phase, backupOwned) {
		return nil, r.poll(), nil
	}
	return &volumeSource{snapshotID: snap.ID, sizeGiB: snap.SizeGiB, volumeID: snap.VolumeID}, ctrl.Result{}, nil
}

// sourceAllows asks the state table whether a disk may be made from a snapshot in phase now.
// When not, it records whether the object waits (the snapshot is still moving) or cannot
// proceed (the snapshot settled in a phase that never allows it, or is backup-owned).
func (r *EVSVolumeReconciler) sourceAllows(
	s *volumeScope, what string, phase evsv1alpha1.SnapshotPhase, backupOwned bool,
) bool {
	allowed := evsv1alpha1.AllowedOperations(phase, backupOwned)
	switch {
	case evsv1alpha1.IsAllowed(phase, backupOwned, evsv1alpha1.OperationCreateVolume):
		return true
	case backupOwned:
		s.setNotReady(evsv1alpha1.VolumePhaseError, evsv1alpha1.ReasonInvalidSpec,
			"%s belongs to the backup service; no disk is ever made from it", what)
	case phase != "" && evsv1alpha1.IsSettled(phase):
		rule, _ := evsv1alpha1.RuleForPhase(phase)
		s.setNotReady(evsv1alpha1.VolumePhaseError, evsv1alpha1.ReasonInvalidSpec,
			"%s is %s (%s): CreateVolume is not allowed in this phase (allowed: %s)",
			what, phase, rule.Meaning, evsv1alpha1.FormatOperations(allowed))
	default:
		shown := string(phase)
		if shown == "" {
			shown = "not observed yet"
		}
		s.setNotReady(evsv1alpha1.VolumePhaseCreating, evsv1alpha1.ReasonWaitingForSnapshot,
			"%s is %s (allowed: %s); the disk is created once its phase allows CreateVolume",
			what, shown, evsv1alpha1.FormatOperations(allowed))
		s.notSynced(evsv1alpha1.ReasonWaitingForSnapshot, "%s", s.notReady.message)
		return false
	}
	s.notSynced(s.notReady.reason, "%s", s.notReady.message)
	return false
}

// diskRequest fills the defaults from the snapshot and its source disk and checks the size. A
// nil request means the reconcile ends with the result given.
func (r *EVSVolumeReconciler) diskRequest(
	ctx context.Context, s *volumeScope, src *volumeSource,
) (*cloud.CreateVolumeRequest, ctrl.Result, error) {
	obj := s.obj
	spec := &obj.Spec
	invalid := func(format string, args ...any) (*cloud.CreateVolumeRequest, ctrl.Result, error) {
		s.setNotReady(evsv1alpha1.VolumePhaseError, evsv1alpha1.ReasonInvalidSpec, format, args...)
		s.notSynced(evsv1alpha1.ReasonInvalidSpec, "%s", s.notReady.message)
		return nil, r.resync(), nil
	}

	size := spec.SizeGiB
	if size == 0 {
		size = src.sizeGiB
	}
	if size < src.sizeGiB {
		return invalid("spec.sizeGiB %d is below the %d GiB of snapshot %s; a disk is never smaller than "+
			"its snapshot", size, src.sizeGiB, src.snapshotID)
	}
	zone, volumeType := spec.AvailabilityZone, spec.VolumeType
	if zone == "" || volumeType == "" {
		if src.volumeID == "" {
			return invalid("the source disk of snapshot %s is unknown; set spec.availabilityZone and "+
				"spec.volumeType", src.snapshotID)
		}
		disk, err := r.Cloud.GetVolume(ctx, src.volumeID)
		switch {
		case cloud.IsNotFound(err):
			return invalid("disk %s, the source of snapshot %s, no longer exists; set spec.availabilityZone "+
				"and spec.volumeType", src.volumeID, src.snapshotID)
		case err != nil:
			res, err := r.cloudError(s, "reading source disk "+src.volumeID, err)
			return nil, res, err
		}
		if zone == "" {
			zone = disk.AvailabilityZone
		}
		if volumeType == "" {
			volumeType = disk.VolumeType
		}
	}

	metadata := maps.Clone(spec.Metadata)
	if metadata == nil {
		metadata = map[string]string{}
	}
	metadata[CloudUIDMetadataKey] = string(obj.UID)
	return &cloud.CreateVolumeRequest{
		ClientToken:      volumeClientToken(obj),
		Name:             obj.CloudName(),
		Description:      spec.Description,
		AvailabilityZone: zone,
		VolumeType:       volumeType,
		SnapshotID:       src.snapshotID,
		SizeGiB:          size,
		Metadata:         metadata,
	}, ctrl.Result{}, nil
}

// volumeClientToken is the X-Client-Token of the object's disk create. It depends only on the
// object's UID, so every repeat of the create, from any process, is the same request to the cloud.
func volumeClientToken(obj *evsv1alpha1.EVSVolume) string {
	return string(obj.UID)
}

// followJob reads the create job until it names its disk.
func (r *EVSVolumeReconciler) followJob(ctx context.Context, s *volumeScope) (ctrl.Result, error) {
	st := &s.obj.Status
	job, err := r.Cloud.GetJob(ctx, st.JobID)
	switch {
	case cloud.IsNotFound(err):
		// TODO: a job the cloud forgot before the operator saw it end leaves the object in Error even
		// if the disk was made; the cloud interface has no disk list to find it by its UID metadata.
		r.markCreationFailed(s, "create job %s no longer exists, and the disk it made is unknown", st.JobID)
		return r.resync(), nil
	case err != nil:
		return r.cloudError(s, "reading create job "+st.JobID, err)
	}

	switch job.Status {
	case cloud.JobSuccess:
		if job.VolumeID == "" {
			r.markCreationFailed(s, "create job %s succeeded but named no disk", job.ID)
			return r.resync(), nil
		}
		st.VolumeID = job.VolumeID
		r.Recorder.Eventf(s.obj, nil, "Normal", "Created", "CreateVolume",
			"Created cloud disk %s (job %s)", job.VolumeID, job.ID)
		return r.observeDisk(ctx, s)
	case cloud.JobFail:
		reason := job.FailReason
		if job.ErrorCode != "" {
			reason = fmt.Sprintf("%s (%s)", reason, job.ErrorCode)
		}
		r.markCreationFailed(s, "create job %s failed: %s", job.ID, reason)
		return r.resync(), nil
	default:
		st.Phase = evsv1alpha1.VolumePhaseCreating
		return r.poll(), nil
	}
}

// markCreationFailed moves the object to Error for a create that will not produce a disk. The
// job stays recorded, so nothing creates again; deleting the object cleans up what the job left.
func (r *EVSVolumeReconciler) markCreationFailed(s *volumeScope, format string, args ...any) {
	s.setNotReady(evsv1alpha1.VolumePhaseError, evsv1alpha1.ReasonCreationFailed, format, args...)
	if s.base.Status.Phase != evsv1alpha1.VolumePhaseError {
		r.Recorder.Eventf(s.obj, nil, "Warning", evsv1alpha1.ReasonCreationFailed, "CreateVolume",
			"%s", s.notReady.message)
	}
}

// observeDisk records the disk's status; a disk that is gone moves the object to Error for good.
func (r *EVSVolumeReconciler) observeDisk(ctx context.Context, s *volumeScope) (ctrl.Result, error) {
	id := s.obj.Status.VolumeID
	disk, err := r.Cloud.GetVolume(ctx, id)
	switch {
	case cloud.IsNotFound(err):
		r.markVanished(s, id)
		return r.resync(), nil
	case err != nil:
		return r.cloudError(s, "reading disk "+id, err)
	}
	if observeCloudDisk(s.obj, disk) {
		return r.resync(), nil
	}
	return r.poll(), nil
}

// markVanished records that the disk disappeared outside a deletion. It is never re-created
// behind the user's back.
func (r *EVSVolumeReconciler) markVanished(s *volumeScope, id string) {
	st := &s.obj.Status
	if st.Phase != evsv1alpha1.VolumePhaseError || st.CloudStatus != "" {
		r.Recorder.Eventf(s.obj, nil, "Warning", evsv1alpha1.ReasonVolumeNotFound, "ShowVolume",
			"Cloud disk %s no longer exists; it is not re-created", id)
	}
	st.CloudStatus = ""
	s.setNotReady(evsv1alpha1.VolumePhaseError, evsv1alpha1.ReasonVolumeNotFound,
		"cloud disk %s no longer exists; it is not re-created", id)
}

// observeCloudDisk copies what the cloud reports into status and reports whether the disk's
// status is settled.
func observeCloudDisk(obj *evsv1alpha1.EVSVolume, disk *cloud.Volume) bool {
	st := &obj.Status
	st.VolumeID = disk.ID
	st.CloudStatus = disk.Status
	st.SizeGiB = disk.SizeGiB
	if disk.SnapshotID != "" {
		st.SnapshotID = disk.SnapshotID
	}
	phase, settled := phaseForDiskStatus(disk.Status, st.Phase)
	st.Phase = phase
	return settled
}
