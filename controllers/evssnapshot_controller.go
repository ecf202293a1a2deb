package controllers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	evsv1alpha1 "github.com/evs-operator/evs-operator/api/v1alpha1"
	"github.com/evs-operator/evs-operator/internal/cloud"
)

// EVSSnapshotReconciler drives EVSSnapshot objects through the snapshot state table.
type EVSSnapshotReconciler struct {
	client.Client
	// Cloud is the EVS API.
	Cloud cloud.Client
	// Recorder emits events/v1 events.
	Recorder events.EventRecorder
	// PollInterval is how often snapshots in a moving phase are checked.
	PollInterval time.Duration
	// ResyncPeriod is how often settled snapshots are checked.
	ResyncPeriod time.Duration
	// StatusSync chooses batched or per-object status polling.
	StatusSync StatusSync

	poller *snapshotPoller
}

// +kubebuilder:rbac:groups=evs.storage.dev,resources=evssnapshots,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=evs.storage.dev,resources=evssnapshots/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=evs.storage.dev,resources=evssnapshots/finalizers,verbs=update
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// SetupWithManager registers the controller, and in batched mode its poller, with the manager.
func (r *EVSSnapshotReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.PollInterval <= 0 {
		r.PollInterval = DefaultPollInterval
	}
	if r.ResyncPeriod <= 0 {
		r.ResyncPeriod = DefaultResyncPeriod
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&evsv1alpha1.EVSSnapshot{}, builder.WithPredicates(specOrDeletionChanged())).
		Named("evssnapshot").
		WithOptions(controller.Options{
			// Cloud errors back off from half a second to five minutes per object.
			RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](
				500*time.Millisecond, 5*time.Minute),
		})
	if r.StatusSync != StatusSyncPerObject {
		r.poller = newSnapshotPoller(r.Cloud, r.PollInterval, r.ResyncPeriod)
		if err := mgr.Add(r.poller); err != nil {
			return fmt.Errorf("adding snapshot poller: %w", err)
		}
		b = b.WatchesRawSource(source.Channel(r.poller.changes, &handler.EnqueueRequestForObject{}))
	}
	return b.Complete(r)
}

// specOrDeletionChanged lets through creates, deletes and updates that change the spec or start
// a deletion; the controller's own status and finalizer writes do not wake it again.
func specOrDeletionChanged() predicate.Predicate {
	return predicate.Or(predicate.GenerationChangedPredicate{}, predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			return e.ObjectOld.GetDeletionTimestamp().IsZero() != e.ObjectNew.GetDeletionTimestamp().IsZero()
		},
	})
}

// snapshotScope is what one reconcile knows about its object.
type snapshotScope struct {
	obj *evsv1alpha1.EVSSnapshot
	// base is the object as last written, for status patches.
	base *evsv1alpha1.EVSSnapshot
	// notFound is set when the cloud snapshot vanished outside a deletion.
	notFound bool
	// listed is set when the reconcile read its snapshot from the poller's listing rather than
	// from the cloud itself.
	listed bool
	// synced is the Synced condition this reconcile ends with; nil means True.
	synced *syncedState
}

func (s *snapshotScope) notSynced(reason, format string, args ...any) {
	s.synced = &syncedState{reason: reason, message: fmt.Sprintf(format, args...)}
}

// Reconcile moves one EVSSnapshot a step towards its spec and records what the cloud reports.
func (r *EVSSnapshotReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {

	obj := &evsv1alpha1.EVSSnapshot{}
	if err := r.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.String())
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("getting EVSSnapshot %s: %w", req.NamespacedName, err)
	}

	// The finalizer goes on before anything is created in the cloud, and in the same reconcile:
	// a separate round trip would cost a write and a wake-up per object.
	if err := ensureFinalizer(ctx, r.Client, obj); err != nil {
		return ctrl.Result{}, err
	}

	s := &snapshotScope{obj: obj, base: obj.DeepCopy()}
	var (
		res ctrl.Result
		err error
	)
	if !obj.DeletionTimestamp.IsZero() {
		var released bool
		res, released, err = r.reconcileDelete(ctx, s)
		if released {
			r.forget(req.String())
			return res, err
		}
	} else {
		res, err = r.reconcileNormal(ctx, s)
	}
	if patchErr := r.patchStatus(ctx, s); patchErr != nil {
		return ctrl.Result{}, patchErr
	}
	r.track(s)
	return res, err
}

// patchStatus writes the status when it changed, with the conditions and observed generation
// derived from what the reconcile learnt.
func (r *EVSSnapshotReconciler) patchStatus(ctx context.Context, s *snapshotScope) error {
	setSnapshotConditions(s)
	s.obj.Status.ObservedGeneration = s.obj.Generation
	if equality.Semantic.DeepEqual(s.base.Status, s.obj.Status) {
		return nil
	}
	if err := r.Status().Patch(ctx, s.obj, client.MergeFrom(s.base)); err != nil {
		return fmt.Errorf("patching EVSSnapshot status: %w", err)
	}
	r.observePhaseChange(s.base, s.obj)
	s.base = s.obj.DeepCopy()
	return nil
}

// poll is the result that brings a moving object back after one poll interval. In batched mode
// the poller wakes it instead, unless it must watch something the poller does not list.
func (r *EVSSnapshotReconciler) poll(needsOwnPoll bool) ctrl.Result {
	if r.poller != nil && !needsOwnPoll {
		return ctrl.Result{}
	}
	return ctrl.Result{RequeueAfter: r.PollInterval}
}

// resync is the result for a settled object.
func (r *EVSSnapshotReconciler) resync() ctrl.Result {
	if r.poller != nil {
		// The poller lists every snapshot once per resync period and wakes the changed ones.
		return ctrl.Result{}
	}
	return ctrl.Result{RequeueAfter: r.ResyncPeriod}
}

// throttled spreads retries of a throttled call over two to five seconds, as the gateway asks.
func throttled() ctrl.Result {
	return ctrl.Result{RequeueAfter: 2*time.Second + rand.N(3*time.Second)} //nolint:gosec // jitter, not security
}

// cloudError records a failed cloud call on the scope and says when to come back. Callers pass
// every error from the cloud through here, so each class is handled the same way everywhere.
func (r *EVSSnapshotReconciler) cloudError(s *snapshotScope, action string, err error) (ctrl.Result, error) {
	switch cloud.ClassOf(err) {
	case cloud.ClassThrottled:
		// Throttling slows the controller down; it does not make the object look broken.
		return throttled(), nil
	case cloud.ClassTransient:
		s.notSynced(evsv1alpha1.ReasonCloudUnavailable, "%s: %v", action, err)
		return ctrl.Result{}, fmt.Errorf("%s: %w", action, err)
	case cloud.ClassUnauthorized:
		s.notSynced(evsv1alpha1.ReasonUnauthorized, "%s: %v", action, err)
		return ctrl.Result{}, fmt.Errorf("%s: %w", action, err)
	case cloud.ClassConflict:
		// The cloud will allow the call later; look again at the next poll.
		s.notSynced(evsv1alpha1.ReasonCloudRefused, "%s: %v", action, err)
		r.Recorder.Eventf(s.obj, nil, "Warning", evsv1alpha1.ReasonCloudRefused, action, "%v", err)
		return ctrl.Result{RequeueAfter: r.PollInterval}, nil
	default:
		// A bad request or a terminal error will not heal by itself: wait for a spec change.
		s.notSynced(evsv1alpha1.ReasonCloudRefused, "%s: %v", action, err)
		r.Recorder.Eventf(s.obj, nil, "Warning", evsv1alpha1.ReasonCloudRefused, action, "%v", err)
		return r.resyncAlways(), nil
	}
}

// resyncAlways is a resync that does not rely on the poller, for objects it does not track.
func (r *EVSSnapshotReconciler) resyncAlways() ctrl.Result {
	return ctrl.Result{RequeueAfter: r.ResyncPeriod}
}
