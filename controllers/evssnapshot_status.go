package controllers

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	evsv1alpha1 "github.com/evs-operator/evs-operator/api/v1alpha1"
)

// setSnapshotConditions derives Ready from the phase and Synced from the reconcile's outcome.
func setSnapshotConditions(s *snapshotScope) {
	obj := s.obj
	ready := metav1.Condition{Type: evsv1alpha1.ConditionReady, ObservedGeneration: obj.Generation}
	phase := obj.Status.Phase
	switch {
	case s.notFound:
		ready.Status, ready.Reason = metav1.ConditionFalse, evsv1alpha1.ReasonSnapshotNotFound
		ready.Message = fmt.Sprintf("cloud snapshot %s no longer exists; it is not re-created",
			obj.Status.SnapshotID)
	case phase == evsv1alpha1.PhaseAvailable:
		ready.Status, ready.Reason = metav1.ConditionTrue, evsv1alpha1.ReasonAvailable
		ready.Message = "the snapshot is available"
	case phase == "":
		ready.Status, ready.Reason = metav1.ConditionFalse, evsv1alpha1.ReasonPending
		ready.Message = "the operator has not reached the cloud snapshot yet"
	default:
		ready.Status, ready.Reason = metav1.ConditionFalse, string(phase)
		if rule, ok := evsv1alpha1.RuleForPhase(phase); ok {
			ready.Message = "the snapshot is " + string(phase) + ": " + rule.Meaning
		}
	}
	meta.SetStatusCondition(&obj.Status.Conditions, ready)

	setSyncedCondition(&obj.Status.Conditions, obj.Generation, s.synced)
}

// observePhaseChange emits an event and observes metrics when a status write changed the phase.
func (r *EVSSnapshotReconciler) observePhaseChange(old, obj *evsv1alpha1.EVSSnapshot) {
	from, to := old.Status.Phase, obj.Status.Phase
	if from == to {
		return
	}
	recordPhaseChange(r.Recorder, obj, string(from), string(to), obj.Status.CloudStatus,
		to == evsv1alpha1.PhaseError || to == evsv1alpha1.PhaseErrorDeleting)
	if to == evsv1alpha1.PhaseAvailable && (from == "" || from == evsv1alpha1.PhaseCreating) {
		timeToAvailable.Observe(time.Since(obj.CreationTimestamp.Time).Seconds())
	}
}

// setPhase moves status to a phase the operator knows the cloud has entered (it asked for it),
// with the phase's cloud status and allowed operations from the state table.
func setPhase(st *evsv1alpha1.EVSSnapshotStatus, phase evsv1alpha1.SnapshotPhase) {
	st.Phase = phase
	if rule, ok := evsv1alpha1.RuleForPhase(phase); ok {
		st.CloudStatus = rule.CloudStatus
	}
	st.AllowedOperations = evsv1alpha1.AllowedOperations(phase, st.BackupOwned)
}
