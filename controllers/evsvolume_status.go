package controllers

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	evsv1alpha1 "github.com/evs-operator/evs-operator/api/v1alpha1"
)

// diskStatusPhases maps the disk statuses that decide the phase on their own. Other statuses
// starting with "error" mean Error; the rest (attaching, extending, backing-up ...) are a disk
// at work that stays usable.
var diskStatusPhases = map[string]evsv1alpha1.VolumePhase{
	"creating":       evsv1alpha1.VolumePhaseCreating,
	"available":      evsv1alpha1.VolumePhaseAvailable,
	"in-use":         evsv1alpha1.VolumePhaseInUse,
	"error":          evsv1alpha1.VolumePhaseError,
	"deleting":       evsv1alpha1.VolumePhaseDeleting,
	"error_deleting": evsv1alpha1.VolumePhaseErrorDeleting,
}

// volumePhaseMeanings say what each phase means, for the Ready condition's message.
var volumePhaseMeanings = map[evsv1alpha1.VolumePhase]string{
	evsv1alpha1.VolumePhaseCreating:      "the disk is being created",
	evsv1alpha1.VolumePhaseAvailable:     "the disk is available",
	evsv1alpha1.VolumePhaseInUse:         "the disk is attached to a server",
	evsv1alpha1.VolumePhaseError:         "the disk is in an error status",
	evsv1alpha1.VolumePhaseDeleting:      "the disk is being deleted",
	evsv1alpha1.VolumePhaseErrorDeleting: "the cloud failed to delete the disk",
}

// phaseForDiskStatus returns the phase of a disk status, given the current phase, and whether
// the cloud leaves the disk in that status until someone acts.
func phaseForDiskStatus(status string, current evsv1alpha1.VolumePhase) (evsv1alpha1.VolumePhase, bool) {
	if phase, ok := diskStatusPhases[status]; ok {
		return phase, phase != evsv1alpha1.VolumePhaseCreating && phase != evsv1alpha1.VolumePhaseDeleting
	}
	if strings.HasPrefix(status, "error") {
		// error_restoring, error_extending, error_rollbacking and any the cloud adds.
		return evsv1alpha1.VolumePhaseError, true
	}
	// A disk at work: an attached one stays InUse, any other counts as Available.
	if current == evsv1alpha1.VolumePhaseInUse {
		return evsv1alpha1.VolumePhaseInUse, false
	}
	return evsv1alpha1.VolumePhaseAvailable, false
}

// setVolumeConditions derives Ready from the phase, or from what the reconcile found wrong, and
// Synced from the reconcile's outcome.
func setVolumeConditions(s *volumeScope) {
	obj := s.obj
	phase := obj.Status.Phase
	ready := metav1.Condition{Type: evsv1alpha1.ConditionReady, ObservedGeneration: obj.Generation}
	old := meta.FindStatusCondition(obj.Status.Conditions, evsv1alpha1.ConditionReady)
	switch {
	case s.notReady != nil:
		ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, s.notReady.reason, s.notReady.message
	case s.unobserved && old != nil && phase == s.base.Status.Phase:
		// The cloud did not answer: what the last reconcile found still stands.
		ready.Status, ready.Reason, ready.Message = old.Status, old.Reason, old.Message
	case phase == evsv1alpha1.VolumePhaseAvailable:
		ready.Status, ready.Reason, ready.Message = metav1.ConditionTrue, evsv1alpha1.ReasonAvailable,
			volumePhaseMeanings[phase]
	case phase == evsv1alpha1.VolumePhaseInUse:
		ready.Status, ready.Reason, ready.Message = metav1.ConditionTrue, string(phase), volumePhaseMeanings[phase]
	case phase == "":
		ready.Status, ready.Reason = metav1.ConditionFalse, evsv1alpha1.ReasonPending
		ready.Message = "the operator has not reached the cloud for this disk yet"
	default:
		ready.Status, ready.Reason = metav1.ConditionFalse, string(phase)
		ready.Message = volumePhaseMeanings[phase]
		if obj.Status.CloudStatus != "" {
			ready.Message += fmt.Sprintf(" (cloud status %q)", obj.Status.CloudStatus)
		}
	}
	meta.SetStatusCondition(&obj.Status.Conditions, ready)

	setSyncedCondition(&obj.Status.Conditions, obj.Generation, s.synced)
}

// observePhaseChange emits an event when a status write changed the phase.
func (r *EVSVolumeReconciler) observePhaseChange(old, obj *evsv1alpha1.EVSVolume) {
	recordPhaseChange(r.Recorder, obj, string(old.Status.Phase), string(obj.Status.Phase), obj.Status.CloudStatus,
		obj.Status.Phase == evsv1alpha1.VolumePhaseError || obj.Status.Phase == evsv1alpha1.VolumePhaseErrorDeleting)
}
