package controllers

import (
	"context"
	"fmt"
	"maps"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	evsv1alpha1 "github.com/evs-operator/evs-operator/api/v1alpha1"
	"github.com/evs-operator/evs-operator/internal/cloud"
)

// reconcileNormal makes sure the cloud snapshot exists, records its state, applies the spec and
// runs a requested rollback.
func (r *EVSSnapshotReconciler) reconcileNormal(ctx context.Context, s *snapshotScope) (ctrl.Result, error) {
	snap, res, err := r.ensureCloudSnapshot(ctx, s)
	if snap == nil {
		return res, err
	}
	observeCloudSnapshot(s.obj, snap)

	if res, err := r.applySpec(ctx, s, snap); err != nil || !res.IsZero() {
		return res, err
	}
	if res, err := r.reconcileRollback(ctx, s, snap); err != nil || !res.IsZero() {
		return res, err
	}
	if evsv1alpha1.IsSettled(s.obj.Status.Phase) {
		return r.resync(), nil
	}
	return r.poll(false), nil
}

// ensureCloudSnapshot returns the object's cloud snapshot, adopting or creating it first when
// status does not name one yet. A nil snapshot means the reconcile ends with the result given.
func (r *EVSSnapshotReconciler) ensureCloudSnapshot(
	ctx context.Context, s *snapshotScope,
) (*cloud.Snapshot, ctrl.Result, error) {
	obj := s.obj
	id := obj.Status.SnapshotID
	if id == "" && obj.IsImport() {
		id = obj.Spec.Source.SnapshotID
	}
	if id != "" {
		snap, listed, err := r.observe(ctx, id)
		s.listed = listed
		switch {
		case cloud.IsNotFound(err):
			r.markVanished(s, id)
			return nil, r.resyncAlways(), nil
		case err != nil:
			res, err := r.cloudError(s, fmt.Sprintf("reading snapshot %s", id), err)
			return nil, res, err
		}
		return snap, ctrl.Result{}, nil
	}

	// No snapshot recorded: one may exist already if a create response, or the status write
	// after it, was lost. Only when none carries this object's UID is a new one created.
	snap, err := r.findOwnSnapshot(ctx, obj)
	if err != nil {
		res, err := r.cloudError(s, fmt.Sprintf("looking for the snapshot of disk %s", obj.Spec.Source.VolumeID), err)
		return nil, res, err
	}
	if snap != nil {
		// Perhaps read from the poller's listing: treat it as such.
		s.listed = r.poller != nil
		logf.FromContext(ctx).V(1).Info("Adopting cloud snapshot created earlier",
			"evsSnapshot", klog.KObj(obj), "snapshotID", snap.ID)
		return snap, ctrl.Result{}, nil
	}
	if obj.IsObserveOnly() {
		s.notSynced(evsv1alpha1.ReasonObserveOnly,
			"no cloud snapshot carries this object's UID, and ObserveOnly never creates one")
		return nil, r.resyncAlways(), nil
	}
	return r.createCloudSnapshot(ctx, s)
}

// createCloudSnapshot creates the snapshot and records it at once, so that the next reconcile
// follows it even if this one fails later.
func (r *EVSSnapshotReconciler) createCloudSnapshot(
	ctx context.Context, s *snapshotScope,
) (*cloud.Snapshot, ctrl.Result, error) {
	obj := s.obj
	metadata := map[string]string{CloudUIDMetadataKey: string(obj.UID)}
	maps.Copy(metadata, obj.Spec.Metadata)
	logf.FromContext(ctx).V(1).Info("Creating cloud snapshot", "evsSnapshot", klog.KObj(obj),
		"volumeID", obj.Spec.Source.VolumeID, "name", obj.CloudName())
	if r.poller != nil {
		r.poller.attemptingCreate(string(obj.UID))
	}
	snap, err := r.Cloud.CreateSnapshot(ctx, cloud.CreateSnapshotRequest{
		VolumeID:    obj.Spec.Source.VolumeID,
		Name:        obj.CloudName(),
		Description: obj.Spec.Description,
		Metadata:    metadata,
		Force:       obj.Spec.Force,
	})
	if err != nil {
		res, err := r.cloudError(s, fmt.Sprintf("creating snapshot of disk %s", obj.Spec.Source.VolumeID), err)
		return nil, res, err
	}
	// The phase change to Creating is the event that tells of it; one event per step keeps the
	// API server's load per snapshot low.
	r.invalidate(snap.ID)
	return snap, ctrl.Result{}, nil
}

// findOwnSnapshot looks among the source disk's snapshots for one that carries the object's UID.
// It lists by disk rather than by name, so a rename cannot hide it.
func (r *EVSSnapshotReconciler) findOwnSnapshot(
	ctx context.Context, obj *evsv1alpha1.EVSSnapshot,
) (*cloud.Snapshot, error) {
	if obj.IsImport() {
		return nil, nil
	}
	if r.poller != nil {
		if id, known := r.poller.ownedSnapshot(string(obj.UID)); known {
			if id == "" {
				return nil, nil
			}
			snap, _, err := r.observe(ctx, id)
			return snap, err
		}
	}
	var found *cloud.Snapshot
	for offset := 0; ; {
		page, err := r.Cloud.ListSnapshots(ctx, cloud.ListSnapshotsOptions{
			VolumeID: obj.Spec.Source.VolumeID, Offset: offset,
		})
		if err != nil {
			return nil, err
		}
		for i := range page.Snapshots {
			snap := &page.Snapshots[i]
			if snap.Metadata[CloudUIDMetadataKey] != string(obj.UID) {
				continue
			}
			// Two can only exist if something else created one; keep the oldest.
			if found == nil || snap.CreatedAt.Before(found.CreatedAt) {
				found = snap
			}
		}
		offset += len(page.Snapshots)
		if len(page.Snapshots) == 0 || offset >= page.Count {
			return found, nil
		}
	}
}

// markVanished records that the cloud snapshot disappeared outside a deletion. The object moves
// to Error and stays there: the snapshot is never re-created behind the user's back.
func (r *EVSSnapshotReconciler) markVanished(s *snapshotScope, id string) {
	st := &s.obj.Status
	if st.Phase != evsv1alpha1.PhaseError || st.CloudStatus != "" {
		r.Recorder.Eventf(s.obj, nil, "Warning", evsv1alpha1.ReasonSnapshotNotFound, "ShowSnapshot",
			"Cloud snapshot %s no longer exists; it is not re-created", id)
	}
	s.notFound = true
	st.SnapshotID = id
	setPhase(st, evsv1alpha1.PhaseError)
	st.CloudStatus, st.Progress = "", "" // there is no cloud snapshot to report on
}

// observeCloudSnapshot copies what the cloud reports into status. A status the state table does
// not know leaves the phase as it was.
func observeCloudSnapshot(obj *evsv1alpha1.EVSSnapshot, snap *cloud.Snapshot) {
	st := &obj.Status
	st.SnapshotID = snap.ID
	st.CloudStatus = snap.Status
	if snap.VolumeID != "" {
		st.SourceVolumeID = snap.VolumeID
	}
	st.SizeGiB = snap.SizeGiB
	st.Progress = snap.Progress
	if !snap.CreatedAt.IsZero() && (st.CreatedAt == nil || !st.CreatedAt.Time.Equal(snap.CreatedAt)) {
		t := metav1.NewTime(snap.CreatedAt)
		st.CreatedAt = &t
	}
	st.BackupOwned = evsv1alpha1.IsBackupOwned(snap.Name, snap.Metadata)
	if phase, ok := evsv1alpha1.PhaseForCloudStatus(snap.Status); ok {
		st.Phase = phase
	}
	st.AllowedOperations = evsv1alpha1.AllowedOperations(st.Phase, st.BackupOwned)
}

// applySpec renames or re-describes the cloud snapshot when the spec asks and the phase allows.
func (r *EVSSnapshotReconciler) applySpec(
	ctx context.Context, s *snapshotScope, snap *cloud.Snapshot,
) (ctrl.Result, error) {
	obj := s.obj
	if _, known := evsv1alpha1.PhaseForCloudStatus(snap.Status); !known {
		s.notSynced(evsv1alpha1.ReasonUnknownCloudStatus, "the cloud reports status %q, which the state table does not know",
			snap.Status)
		return ctrl.Result{}, nil
	}
	if obj.IsObserveOnly() {
		return ctrl.Result{}, nil
	}
	name, description := desiredNameAndDescription(obj, snap)
	if name == snap.Name && description == snap.Description {
		return ctrl.Result{}, nil
	}
	if !evsv1alpha1.IsUpdateAllowed(obj.Status.Phase, obj.Status.BackupOwned) {
		// Renames wait for Available; the poll that sees it there applies them. A backup-owned
		// snapshot is never renamed.
		return ctrl.Result{}, nil
	}
	logf.FromContext(ctx).V(1).Info("Updating cloud snapshot name and description",
		"evsSnapshot", klog.KObj(obj), "snapshotID", snap.ID)
	updated, err := r.Cloud.UpdateSnapshot(ctx, snap.ID, name, description)
	if err != nil {
		return r.cloudError(s, fmt.Sprintf("updating snapshot %s", snap.ID), err)
	}
	r.invalidate(snap.ID)
	snap.Name, snap.Description = name, description
	if updated != nil {
		snap.Name, snap.Description = updated.Name, updated.Description
		if !updated.UpdatedAt.IsZero() {
			snap.UpdatedAt = updated.UpdatedAt
		}
	}
	if last := obj.Status.LastRollback; last != nil && last.SnapshotUpdatedAt != nil &&
		(last.State == evsv1alpha1.RollbackPending || last.State == evsv1alpha1.RollbackWaiting) &&
		!snap.UpdatedAt.IsZero() {
		// The rename moved the snapshot's update time, not a rollback.
		t := metav1.NewMicroTime(snap.UpdatedAt)
		last.SnapshotUpdatedAt = &t
	}
	r.Recorder.Eventf(obj, nil, "Normal", "Updated", "UpdateSnapshot",
		"Set cloud snapshot name to %q and description to %q", name, description)
	return ctrl.Result{}, nil
}

// desiredNameAndDescription is what the spec asks the cloud snapshot to be called and described
// as. An adopted snapshot keeps its own name and description unless the spec sets them.
func desiredNameAndDescription(obj *evsv1alpha1.EVSSnapshot, snap *cloud.Snapshot) (string, string) {
	name, description := obj.CloudName(), obj.Spec.Description
	if obj.IsImport() {
		if obj.Spec.SnapshotName == "" {
			name = snap.Name
		}
		if description == "" {
			description = snap.Description
		}
	}
	return name, description
}
