package controllers

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	evsv1alpha1 "github.com/evs-operator/evs-operator/api/v1alpha1"
	"github.com/evs-operator/evs-operator/internal/cloud"
)

// VolumeSnapshotRefIndex is the field index of EVSVolumes by the name of the EVSSnapshot that
// spec.source.snapshotRef names. IndexVolumesBySnapshotRef registers it.
const VolumeSnapshotRefIndex = "spec.source.snapshotRef.name"

// EVSVolumeReconciler creates EVS disks from snapshots and follows them until they are gone.
type EVSVolumeReconciler struct {
	client.Client
	// Cloud is the EVS API.
	Cloud cloud.Client
	// Recorder emits events/v1 events.
	Recorder events.EventRecorder
	// PollInterval is how often disks in a moving phase, and create jobs, are checked.
	PollInterval time.Duration
	// ResyncPeriod is how often settled disks are checked.
	ResyncPeriod time.Duration
}

// +kubebuilder:rbac:groups=evs.storage.dev,resources=evsvolumes,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=evs.storage.dev,resources=evsvolumes/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=evs.storage.dev,resources=evsvolumes/finalizers,verbs=update
// +kubebuilder:rbac:groups=evs.storage.dev,resources=evssnapshots,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// SetupWithManager registers the controller and the snapshot reference index with the manager.
func (r *EVSVolumeReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.PollInterval <= 0 {
		r.PollInterval = DefaultPollInterval
	}
	if r.ResyncPeriod <= 0 {
		r.ResyncPeriod = DefaultResyncPeriod
	}
	if err := IndexVolumesBySnapshotRef(context.Background(), mgr); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&evsv1alpha1.EVSVolume{}, builder.WithPredicates(specOrDeletionChanged())).
		Watches(&evsv1alpha1.EVSSnapshot{},
			handler.EnqueueRequestsFromMapFunc(r.volumesWaitingFor),
			builder.WithPredicates(snapshotUsabilityChanged())).
		Named("evsvolume").
		WithOptions(controller.Options{
			// Cloud errors back off from half a second to five minutes per object.
			RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](
				500*time.Millisecond, 5*time.Minute),
		}).
		Complete(r)
}

// indexed remembers the managers whose cache already has VolumeSnapshotRefIndex: the cache
// refuses a second registration of an index name.
var indexed sync.Map // ctrl.Manager -> *indexOnce

type indexOnce struct {
	once sync.Once
	err  error
}

// IndexVolumesBySnapshotRef registers VolumeSnapshotRefIndex with the manager's cache. It may be
// called any number of times per manager, by the controller and by webhooks alike; only the first
// call registers the index, and every call returns its result.
func IndexVolumesBySnapshotRef(ctx context.Context, mgr ctrl.Manager) error {
	v, _ := indexed.LoadOrStore(mgr, &indexOnce{})
	o := v.(*indexOnce)
	o.once.Do(func() {
		err := mgr.GetFieldIndexer().IndexField(ctx, &evsv1alpha1.EVSVolume{}, VolumeSnapshotRefIndex,
			func(obj client.Object) []string {
				ref := obj.(*evsv1alpha1.EVSVolume).Spec.Source.SnapshotRef
				if ref == nil {
					return nil
				}
				return []string{ref.Name}
			})
		if err != nil {
			o.err = fmt.Errorf("indexing EVSVolumes by %s: %w", VolumeSnapshotRefIndex, err)
		}
	})
	return o.err
}

// snapshotUsabilityChanged lets through the EVSSnapshot events that can change whether a disk
// may be made from it: creates, deletes, and updates of its phase, cloud ID or deletion.
func snapshotUsabilityChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			before, okOld := e.ObjectOld.(*evsv1alpha1.EVSSnapshot)
			after, okNew := e.ObjectNew.(*evsv1alpha1.EVSSnapshot)
			if !okOld || !okNew {
				return true
			}
			return before.Status.Phase != after.Status.Phase ||
				before.Status.SnapshotID != after.Status.SnapshotID ||
				before.Status.BackupOwned != after.Status.BackupOwned ||
				before.DeletionTimestamp.IsZero() != after.DeletionTimestamp.IsZero()
		},
	}
}

// volumesWaitingFor maps an EVSSnapshot to the EVSVolumes that name it and have not created
// their disk yet; the others no longer care about the snapshot.
func (r *EVSVolumeReconciler) volumesWaitingFor(ctx context.Context, obj client.Object) []reconcile.Request {
	var list evsv1alpha1.EVSVolumeList
	err := r.List(ctx, &list, client.InNamespace(obj.GetNamespace()),
		client.MatchingFields{VolumeSnapshotRefIndex: obj.GetName()})
	if err != nil {
		logf.FromContext(ctx).Error(err, "Listing EVSVolumes made from an EVSSnapshot",
			"evsSnapshot", klog.KObj(obj))
		return nil
	}
	var reqs []reconcile.Request
	for i := range list.Items {
		v := &list.Items[i]
		if v.Status.JobID == "" && v.Status.VolumeID == "" {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(v)})
		}
	}
	return reqs
}

// volumeScope is what one reconcile knows about its object.
type volumeScope struct {
	obj *evsv1alpha1.EVSVolume
	// base is the object as last written, for status patches.
	base *evsv1alpha1.EVSVolume
	// notReady, when set, is why Ready is False beyond what the phase says.
	notReady *syncedState
	// unobserved is set when a cloud call failed before the reconcile learnt anything, so the
	// Ready condition of the last reconcile still stands.
	unobserved bool
	// synced is the Synced condition this reconcile ends with; nil means True.
	synced *syncedState
}

func (s *volumeScope) notSynced(reason, format string, args ...any) {
	s.synced = &syncedState{reason: reason, message: fmt.Sprintf(format, args...)}
}

// setNotReady sets the phase and says why Ready is False.
func (s *volumeScope) setNotReady(phase evsv1alpha1.VolumePhase, reason, format string, args ...any) {
	s.obj.Status.Phase = phase
	s.notReady = &syncedState{reason: reason, message: fmt.Sprintf(format, args...)}
}

// Reconcile moves one EVSVolume a step towards its spec and records what the cloud reports.
func (r *EVSVolumeReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {

	obj := &evsv1alpha1.EVSVolume{}
	if err := r.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("getting EVSVolume %s: %w", req.NamespacedName, err)
	}

	// The finalizer goes on before anything is created in the cloud.
	if err := ensureFinalizer(ctx, r.Client, obj); err != nil {
		return ctrl.Result{}, err
	}

	s := &volumeScope{obj: obj, base: obj.DeepCopy()}
	var (
		res ctrl.Result
		err error
	)
	if !obj.DeletionTimestamp.IsZero() {
		var released bool
		res, released, err = r.reconcileDelete(ctx, s)
		if released {
			return res, err
		}
	} else {
		res, err = r.reconcileNormal(ctx, s)
	}
	if patchErr := r.patchStatus(ctx, s); patchErr != nil {
		return ctrl.Result{}, patchErr
	}
	return res, err
}

// patchStatus writes the status when it changed, with the conditions and observed generation
// derived from what the reconcile learnt.
func (r *EVSVolumeReconciler) patchStatus(ctx context.Context, s *volumeScope) error {
	setVolumeConditions(s)
	s.obj.Status.ObservedGeneration = s.obj.Generation
	if equality.Semantic.DeepEqual(s.base.Status, s.obj.Status) {
		return nil
	}
	if err := r.Status().Patch(ctx, s.obj, client.MergeFrom(s.base)); err != nil {
		return fmt.Errorf("patching EVSVolume status: %w", err)
	}
	r.observePhaseChange(s.base, s.obj)
	s.base = s.obj.DeepCopy()
	return nil
}

// poll is the result for an object whose disk or job is moving.
func (r *EVSVolumeReconciler) poll() ctrl.Result {
	return ctrl.Result{RequeueAfter: r.PollInterval}
}

// resync is the result for a settled object.
func (r *EVSVolumeReconciler) resync() ctrl.Result {
	return ctrl.Result{RequeueAfter: r.ResyncPeriod}
}

// cloudError records a failed cloud call on the scope and says when to come back. Every error
// from the cloud passes through here, so each class is handled the same way everywhere.
func (r *EVSVolumeReconciler) cloudError(s *volumeScope, action string, err error) (ctrl.Result, error) {
	s.unobserved = true
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
		return r.poll(), nil
	default:
		// A bad request or a terminal error will not heal by itself: look again at the resync.
		s.notSynced(evsv1alpha1.ReasonCloudRefused, "%s: %v", action, err)
		r.Recorder.Eventf(s.obj, nil, "Warning", evsv1alpha1.ReasonCloudRefused, action, "%v", err)
		return r.resync(), nil
	}
}
