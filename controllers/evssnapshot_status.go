package controllers

import (
	"context"
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

	synced := metav1.Condition{
		Type: evsv1alpha1.ConditionSynced, ObservedGeneration: obj.Generation,
		Status: metav1.ConditionTrue, Reason: evsv1alpha1.ReasonReconciled,
		Message: "the last reconcile reached the cloud and applied the spec",
	}
	if s.synced != nil {
		synced.Status, synced.Reason, synced.Message = metav1.ConditionFalse, s.synced.reason, s.synced.message
	}
	meta.SetStatusCondition(&obj.Status.Conditions, synced)
}

// recordPhaseChange emits an event and observes metrics when a status write changed the phase.
func (r *EVSSnapshotReconciler) recordPhaseChange(_ context.Context, old, obj *evsv1alpha1.EVSSnapshot) {
	from, to := old.Status.Phase, obj.Status.Phase
	if from == to {
		return
	}
	eventType := "Normal"
	if to == evsv1alpha1.PhaseError || to == evsv1alpha1.PhaseErrorDeleting {
		eventType = "Warning"
	}
	fromText := string(from)
	if fromText == "" {
		fromText = "none"
	}
	r.Recorder.Eventf(obj, nil, eventType, "Phase"+string(to), "Reconcile",
		"Phase changed from %s to %s (cloud status %q)", fromText, to, obj.Status.CloudStatus)
	if to == evsv1alpha1.PhaseAvailable && (from == "" || from == evsv1alpha1.PhaseCreating) {
		timeToAvailable.Observe(time.Since(obj.CreationTimestamp.Time).Seconds())
	}
}
