package controllers

import (
	"context"
	"fmt"

	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	evsv1alpha1 "github.com/evs-operator/evs-operator/api/v1alpha1"
	"github.com/evs-operator/evs-operator/internal/cloud"
)

// reconcileDelete deletes the cloud snapshot when the policy says so and the phase allows it,
// follows the deletion until the snapshot is gone, and then releases the object. released
// reports that the finalizer is gone, so there is no status left to write.
func (r *EVSSnapshotReconciler) reconcileDelete(
	ctx context.Context, s *snapshotScope,
) (res ctrl.Result, released bool, err error) {
	obj := s.obj
	if !controllerutil.ContainsFinalizer(obj, Finalizer) {
		return ctrl.Result{}, true, nil
	}
	if !obj.DeletesInCloud() {
		r.Recorder.Eventf(obj, nil, "Normal", "Retained", "Delete",
			"Left cloud snapshot %s in place (deletionPolicy %s, managementPolicy %s, backup-owned %t)",
			obj.Status.SnapshotID, obj.EffectiveDeletionPolicy(), obj.Spec.ManagementPolicy, obj.IsBackupOwned())
		return r.release(ctx, obj)
	}

	id := obj.Status.SnapshotID
	if id == "" && obj.IsImport() {
		id = obj.Spec.Source.SnapshotID
	}
	if id == "" {
		// A create whose response was lost may have left a snapshot behind: find it before
		// letting the object go, so nothing is leaked.
		found, err := r.findOwnSnapshot(ctx, obj)
		if err != nil {
			res, err := r.cloudError(s, "looking for a snapshot to delete", err)
			return res, false, err
		}
		if found == nil {
			return r.release(ctx, obj)
		}
		id = found.ID
	}

	snap, _, err := r.observe(ctx, id)
	switch {
	case cloud.IsNotFound(err):
		return r.release(ctx, obj)
	case err != nil:
		res, err := r.cloudError(s, fmt.Sprintf("reading snapshot %s", id), err)
		return res, false, err
	}
	observeCloudSnapshot(obj, snap)
	if obj.Status.BackupOwned {
		// Learnt only now from the cloud: never delete what the backup service owns.
		return r.release(ctx, obj)
	}

	phase := obj.Status.Phase
	switch {
	case phase == evsv1alpha1.PhaseDeleting:
		return r.poll(false), false, nil
	case phase == evsv1alpha1.PhaseErrorDeleting:
		s.notSynced(evsv1alpha1.ReasonDeletionFailed,
			"the cloud failed to delete snapshot %s and will not retry; set spec.deletionPolicy: Retain "+
				"to remove this object and leave the cloud snapshot as it is", id)
		return r.resyncAlways(), false, nil
	case !evsv1alpha1.IsAllowed(phase, false, evsv1alpha1.OperationDelete):
		s.notSynced(evsv1alpha1.ReasonDeletionWaiting, "snapshot %s is %s; it is deleted once the phase allows it", id, phase)
		return r.poll(false), false, nil
	}

	logf.FromContext(ctx).V(1).Info("Deleting cloud snapshot", "evsSnapshot", klog.KObj(obj), "snapshotID", id)
	if err := r.Cloud.DeleteSnapshot(ctx, id); err != nil {
		if cloud.IsNotFound(err) {
			return r.release(ctx, obj)
		}
		res, err := r.cloudError(s, fmt.Sprintf("deleting snapshot %s", id), err)
		return res, false, err
	}
	r.invalidate(id)
	r.Recorder.Eventf(obj, nil, "Normal", "Deleting", "DeleteSnapshot", "Deleting cloud snapshot %s", id)
	setPhase(&obj.Status, evsv1alpha1.PhaseDeleting)
	return r.poll(false), false, nil
}

// release removes the finalizer, letting Kubernetes delete the object.
func (r *EVSSnapshotReconciler) release(
	ctx context.Context, obj *evsv1alpha1.EVSSnapshot,
) (ctrl.Result, bool, error) {
	if err := removeFinalizer(ctx, r.Client, obj); err != nil {
		return ctrl.Result{}, false, err
	}
	return ctrl.Result{}, true, nil
}
