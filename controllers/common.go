package controllers

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	evsv1alpha1 "github.com/evs-operator/evs-operator/api/v1alpha1"
)

// syncedState is a Synced (or Ready) condition that is not True: its reason and message.
type syncedState struct {
	reason, message string
}

// ensureFinalizer adds the finalizer to a live object that lacks it, before anything is created
// in the cloud. It is patched with optimistic locking, so it never overwrites a concurrent change.
func ensureFinalizer(ctx context.Context, c client.Client, obj client.Object) error {
	if !obj.GetDeletionTimestamp().IsZero() || controllerutil.ContainsFinalizer(obj, Finalizer) {
		return nil
	}
	logf.FromContext(ctx).V(2).Info("Adding finalizer", "object", klog.KObj(obj))
	patch := client.MergeFromWithOptions(obj.DeepCopyObject().(client.Object), client.MergeFromWithOptimisticLock{})
	controllerutil.AddFinalizer(obj, Finalizer)
	if err := c.Patch(ctx, obj, patch); err != nil {
		return fmt.Errorf("adding finalizer: %w", err)
	}
	return nil
}

// removeFinalizer lets Kubernetes delete the object. An object already gone counts as released.
func removeFinalizer(ctx context.Context, c client.Client, obj client.Object) error {
	logf.FromContext(ctx).V(1).Info("Removing finalizer", "object", klog.KObj(obj))
	patch := client.MergeFromWithOptions(obj.DeepCopyObject().(client.Object), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(obj, Finalizer)
	if err := c.Patch(ctx, obj, patch); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("removing finalizer: %w", err))
	}
	return nil
}

// setSyncedCondition records whether the reconcile reached the cloud and applied the spec.
func setSyncedCondition(conditions *[]metav1.Condition, generation int64, notSynced *syncedState) {
	synced := metav1.Condition{
		Type: evsv1alpha1.ConditionSynced, ObservedGeneration: generation,
		Status: metav1.ConditionTrue, Reason: evsv1alpha1.ReasonReconciled,
		Message: "the last reconcile reached the cloud and applied the spec",
	}
	if notSynced != nil {
		synced.Status, synced.Reason, synced.Message = metav1.ConditionFalse, notSynced.reason, notSynced.message
	}
	meta.SetStatusCondition(conditions, synced)
}

// recordPhaseChange emits the event that marks a phase change; a phase that means failure is a
// warning.
func recordPhaseChange(rec events.EventRecorder, obj client.Object, from, to, cloudStatus string, failed bool) {
	if from == to {
		return
	}
	eventType := "Normal"
	if failed {
		eventType = "Warning"
	}
	if from == "" {
		from = "none"
	}
	rec.Eventf(obj, nil, eventType, "Phase"+to, "Reconcile",
		"Phase changed from %s to %s (cloud status %q)", from, to, cloudStatus)
}
