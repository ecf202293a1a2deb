package controllers

import (
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	evsv1alpha1 "github.com/evs-operator/evs-operator/api/v1alpha1"
	"github.com/evs-operator/evs-operator/internal/cloud"
)

// reconcileRollback runs each new spec.rollback.requestID once. The request is recorded as
// Pending before the cloud is called, so that a crash neither loses nor repeats it: a Pending
// request whose snapshot or disk is already rollbacking was sent, and is only followed.
func (r *EVSSnapshotReconciler) reconcileRollback(
	ctx context.Context, s *snapshotScope, snap *cloud.Snapshot,
) (ctrl.Result, error) {
	obj := s.obj
	last := obj.Status.LastRollback
	req := obj.Spec.Rollback
	isNew := req != nil && (last == nil || last.RequestID != req.RequestID)
	if !isNew && (last == nil || rollbackDone(last.State)) {
		return ctrl.Result{}, nil
	}
	if s.listed {
		// Whether a rollback was sent is judged from the snapshot's update time, so it must be
		// read now from the cloud, never from an older listing.
		fresh, err := r.Cloud.GetSnapshot(ctx, snap.ID)
		if err != nil {
			return r.cloudError(s, fmt.Sprintf("reading snapshot %s", snap.ID), err)
		}
		r.remember(fresh)
		snap, s.listed = fresh, false
		observeCloudSnapshot(obj, snap)
	}
	if isNew {
		if err := r.acceptRollback(ctx, s, snap); err != nil {
			return ctrl.Result{}, err
		}
	}
	last = obj.Status.LastRollback
	switch last.State {
	case evsv1alpha1.RollbackPending, evsv1alpha1.RollbackWaiting:
		return r.startRollback(ctx, s, snap)
	case evsv1alpha1.RollbackRollbacking:
		return r.followRollback(ctx, s, snap)
	default:
		return ctrl.Result{}, nil
	}
}

// acceptRollback records a new request as Pending (or Failed when it can never run) and writes
// it before anything else happens.
func (r *EVSSnapshotReconciler) acceptRollback(ctx context.Context, s *snapshotScope, snap *cloud.Snapshot) error {
	obj := s.obj
	req := obj.Spec.Rollback
	if prev := obj.Status.LastRollback; prev != nil && !rollbackDone(prev.State) &&
		prev.State != evsv1alpha1.RollbackRollbacking {
		r.Recorder.Eventf(obj, nil, "Warning", "RollbackFailed", "Rollback",
			"Rollback %s was replaced by %s before it started", prev.RequestID, req.RequestID)
		rollbacksTotal.WithLabelValues(string(evsv1alpha1.RollbackFailed)).Inc()
	}
	target := req.VolumeID
	if target == "" {
		target = obj.SourceVolumeID()
	}
	obj.Status.LastRollback = &evsv1alpha1.RollbackStatus{
		RequestID: req.RequestID, VolumeID: target, State: evsv1alpha1.RollbackPending,
	}
	if !snap.UpdatedAt.IsZero() {
		t := metav1.NewMicroTime(snap.UpdatedAt)
		obj.Status.LastRollback.SnapshotUpdatedAt = &t
	}
	switch {
	case obj.Status.BackupOwned:
		r.finishRollback(s, evsv1alpha1.RollbackFailed, "the backup service owns this snapshot; it cannot be rolled back")
	case obj.IsObserveOnly():
		r.finishRollback(s, evsv1alpha1.RollbackFailed, "managementPolicy is ObserveOnly; nothing is changed in the cloud")
	case target != obj.SourceVolumeID():
		r.finishRollback(s, evsv1alpha1.RollbackFailed, fmt.Sprintf(
			"a rollback goes only onto the snapshot's source disk %s, not %s", obj.SourceVolumeID(), target))
	}
	return r.patchStatus(ctx, s)
}

// startRollback calls the cloud once the snapshot and its disk allow it.
func (r *EVSSnapshotReconciler) startRollback(
	ctx context.Context, s *snapshotScope, snap *cloud.Snapshot,
) (ctrl.Result, error) {
	obj := s.obj
	last := obj.Status.LastRollback
	if isRollbacking(snap) {
		// Sent before a crash or a lost response: follow it, never send it again.
		r.markRollbackStarted(s)
		return r.poll(true), nil
	}
	if last.SnapshotUpdatedAt != nil && snap.UpdatedAt.After(last.SnapshotUpdatedAt.Time) {
		// The snapshot changed since the request was recorded, and only the rollback changes
		// it: it was sent and has already ended. Record its outcome; never send it again.
		logf.FromContext(ctx).V(1).Info("Rollback ran while its response was lost; recording its outcome",
			"evsSnapshot", klog.KObj(obj), "requestID", last.RequestID)
		return r.followRollback(ctx, s, snap)
	}
	if !evsv1alpha1.IsAllowed(obj.Status.Phase, obj.Status.BackupOwned, evsv1alpha1.OperationRollback) {
		r.waitRollback(s, fmt.Sprintf("snapshot is %s; the rollback starts when it is %s",
			obj.Status.Phase, evsv1alpha1.PhaseAvailable))
		return r.poll(true), nil
	}
	disk, err := r.Cloud.GetVolume(ctx, last.VolumeID)
	switch {
	case cloud.IsNotFound(err):
		r.finishRollback(s, evsv1alpha1.RollbackFailed, fmt.Sprintf("disk %s does not exist", last.VolumeID))
		return ctrl.Result{}, nil
	case err != nil:
		return r.cloudError(s, fmt.Sprintf("reading disk %s", last.VolumeID), err)
	case !evsv1alpha1.DiskAllowsRollback(disk.Status):
		// A rollbacking disk is another snapshot's rollback: this one's shows on its own
		// snapshot, checked above.
		r.waitRollback(s, fmt.Sprintf("disk %s is %s; the rollback starts when it is %s", disk.ID, disk.Status,
			strings.Join(evsv1alpha1.RollbackDiskStatuses, " or ")))
		return r.poll(true), nil
	}

	logf.FromContext(ctx).V(1).Info("Rolling back cloud snapshot onto its disk", "evsSnapshot", klog.KObj(obj),
		"snapshotID", snap.ID, "volumeID", last.VolumeID, "requestID", last.RequestID)
	if err := r.Cloud.RollbackSnapshot(ctx, snap.ID, last.VolumeID, ""); err != nil {
		switch cloud.ClassOf(err) {
		case cloud.ClassThrottled, cloud.ClassTransient, cloud.ClassUnauthorized:
			// Perhaps sent: the next look at the snapshot or disk tells.
			return r.cloudError(s, fmt.Sprintf("rolling back snapshot %s", snap.ID), err)
		case cloud.ClassConflict:
			// The disk or snapshot changed status since it was read (another rollback of the
			// same disk, say): wait for them as before.
			r.waitRollback(s, fmt.Sprintf("the cloud refused the rollback for now: %v", err))
			return r.poll(true), nil
		default:
			r.Recorder.Eventf(obj, nil, "Warning", evsv1alpha1.ReasonCloudRefused, "RollbackSnapshot", "%v", err)
			r.finishRollback(s, evsv1alpha1.RollbackFailed, fmt.Sprintf("the cloud refused the rollback: %v", err))
			return ctrl.Result{}, nil
		}
	}
	r.invalidate(snap.ID)
	r.markRollbackStarted(s)
	setPhase(&obj.Status, evsv1alpha1.PhaseRollbacking)
	return r.poll(true), nil
}

// followRollback waits for snapshot and disk to leave rollbacking and records the outcome.
func (r *EVSSnapshotReconciler) followRollback(
	ctx context.Context, s *snapshotScope, snap *cloud.Snapshot,
) (ctrl.Result, error) {
	last := s.obj.Status.LastRollback
	if isRollbacking(snap) {
		return r.poll(true), nil
	}
	disk, err := r.Cloud.GetVolume(ctx, last.VolumeID)
	switch {
	case cloud.IsNotFound(err):
		r.finishRollback(s, evsv1alpha1.RollbackFailed, fmt.Sprintf("disk %s disappeared during the rollback",
			last.VolumeID))
	case err != nil:
		return r.cloudError(s, fmt.Sprintf("reading disk %s", last.VolumeID), err)
	case disk.Status == "rollbacking":
		return r.poll(true), nil
	case disk.Status == "error_rollbacking":
		r.finishRollback(s, evsv1alpha1.RollbackFailed, fmt.Sprintf("the cloud failed the rollback: disk %s is %s",
			disk.ID, disk.Status))
	default:
		r.finishRollback(s, evsv1alpha1.RollbackSucceeded, fmt.Sprintf("disk %s is %s", disk.ID, disk.Status))
	}
	return ctrl.Result{}, nil
}

func (r *EVSSnapshotReconciler) waitRollback(s *snapshotScope, message string) {
	last := s.obj.Status.LastRollback
	if last.State != evsv1alpha1.RollbackWaiting || last.Message != message {
		r.Recorder.Eventf(s.obj, nil, "Normal", "RollbackWaiting", "Rollback", "Rollback %s waits: %s",
			last.RequestID, message)
	}
	last.State, last.Message = evsv1alpha1.RollbackWaiting, message
}

func (r *EVSSnapshotReconciler) markRollbackStarted(s *snapshotScope) {
	last := s.obj.Status.LastRollback
	now := metav1.Now()
	last.State, last.Message, last.StartedAt = evsv1alpha1.RollbackRollbacking, "", &now
	r.Recorder.Eventf(s.obj, nil, "Normal", "RollbackStarted", "RollbackSnapshot",
		"Rolling back onto disk %s (request %s)", last.VolumeID, last.RequestID)
}

func (r *EVSSnapshotReconciler) finishRollback(s *snapshotScope, state evsv1alpha1.RollbackState, message string) {
	last := s.obj.Status.LastRollback
	now := metav1.Now()
	last.State, last.Message, last.CompletedAt = state, message, &now
	eventType, reason := "Normal", "RollbackSucceeded"
	if state == evsv1alpha1.RollbackFailed {
		eventType, reason = "Warning", "RollbackFailed"
	}
	r.Recorder.Eventf(s.obj, nil, eventType, reason, "Rollback", "Rollback %s %s: %s",
		last.RequestID, state, message)
	rollbacksTotal.WithLabelValues(string(state)).Inc()
}

// isRollbacking reports whether the cloud is rolling the snapshot back.
func isRollbacking(snap *cloud.Snapshot) bool {
	phase, _ := evsv1alpha1.PhaseForCloudStatus(snap.Status)
	return phase == evsv1alpha1.PhaseRollbacking
}

func rollbackDone(state evsv1alpha1.RollbackState) bool {
	return state == evsv1alpha1.RollbackSucceeded || state == evsv1alpha1.RollbackFailed
}
