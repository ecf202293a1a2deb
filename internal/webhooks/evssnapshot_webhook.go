package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	evsv1alpha1 "github.com/evs-operator/evs-operator/api/v1alpha1"
)

// +kubebuilder:webhook:path=/mutate-evs-storage-dev-v1alpha1-evssnapshot,mutating=true,failurePolicy=fail,sideEffects=None,groups=evs.storage.dev,resources=evssnapshots,verbs=create;update,versions=v1alpha1,name=mevssnapshot-v1alpha1.evs.storage.dev,admissionReviewVersions=v1,timeoutSeconds=5
// +kubebuilder:webhook:path=/validate-evs-storage-dev-v1alpha1-evssnapshot,mutating=false,failurePolicy=fail,sideEffects=None,groups=evs.storage.dev,resources=evssnapshots,verbs=create;update;delete,versions=v1alpha1,name=vevssnapshot-v1alpha1.evs.storage.dev,admissionReviewVersions=v1,timeoutSeconds=5
// +kubebuilder:rbac:groups=evs.storage.dev,resources=evssnapshots;evsvolumes,verbs=get;list;watch

// SetupEVSSnapshotWebhook registers the EVSSnapshot defaulting and validating webhooks with the
// manager's webhook server. The validator reads EVSVolumes through the manager's cache.
func SetupEVSSnapshotWebhook(mgr ctrl.Manager) error {
	return setupWebhooks(mgr, &evsv1alpha1.EVSSnapshot{}, &evsv1alpha1.EVSVolume{},
		&EVSSnapshotDefaulter{}, NewEVSSnapshotValidator(mgr.GetClient()))
}

// EVSSnapshotDefaulter fills in the defaults of an EVSSnapshot: the cloud name, the deletion and
// management policies on create, and the rollback disk of a new rollback request that names none.
type EVSSnapshotDefaulter struct{}

var _ admission.Defaulter[*evsv1alpha1.EVSSnapshot] = &EVSSnapshotDefaulter{}

// Default sets the defaults of s in place.
func (d *EVSSnapshotDefaulter) Default(ctx context.Context, s *evsv1alpha1.EVSSnapshot) error {
	// Names and policies are defaulted on create only: an update that empties one of them falls
	// back to the same effective value (CloudName, EffectiveDeletionPolicy), and defaulting old
	// objects on an unrelated update, such as the controller adding its finalizer, would change
	// their spec behind the user's back.
	if isCreate(ctx) {
		// An adopted snapshot keeps the name it has in the cloud unless the spec names one, so
		// its name is not defaulted: a default here would rename it.
		if s.Spec.SnapshotName == "" && !s.IsImport() && s.Name != "" {
			// TODO: with generateName the name is not known yet; the name stays empty and the
			// controller's CloudName() supplies the same default later.
			s.Spec.SnapshotName = evsv1alpha1.DefaultCloudName(namespaceOf(ctx, s.Namespace), s.Name)
		}
		if s.Spec.DeletionPolicy == "" {
			s.Spec.DeletionPolicy = s.EffectiveDeletionPolicy()
		}
		if s.Spec.ManagementPolicy == "" {
			s.Spec.ManagementPolicy = evsv1alpha1.ManagementPolicyManaged
		}
	}
	if r := s.Spec.Rollback; r != nil && r.VolumeID == "" && s.SourceVolumeID() != "" &&
		isNewRollback(ctx, r.RequestID) {
		r.VolumeID = s.SourceVolumeID()
	}
	return nil
}

// isNewRollback reports whether the request being defaulted asks for a new rollback: a create, or
// an update whose old object had no request with this ID.
func isNewRollback(ctx context.Context, requestID string) bool {
	req, err := admission.RequestFromContext(ctx)
	if err != nil || req.Operation != admissionv1.Update {
		return true
	}
	var old evsv1alpha1.EVSSnapshot
	if err := json.Unmarshal(req.OldObject.Raw, &old); err != nil {
		return true
	}
	return old.Spec.Rollback == nil || old.Spec.Rollback.RequestID != requestID
}

// EVSSnapshotValidator refuses EVSSnapshot creates, updates and deletes that the snapshot's phase
// or the contract forbids.
type EVSSnapshotValidator struct {
	client client.Reader
}

var _ admission.Validator[*evsv1alpha1.EVSSnapshot] = &EVSSnapshotValidator{}

// NewEVSSnapshotValidator returns a validator that lists EVSVolumes through c, normally the
// manager's cached client.
func NewEVSSnapshotValidator(c client.Reader) *EVSSnapshotValidator {
	return &EVSSnapshotValidator{client: c}
}

// ValidateCreate refuses a snapshot named like a backup-service snapshot, or one that asks for a
// rollback before it exists.
func (v *EVSSnapshotValidator) ValidateCreate(
	ctx context.Context, s *evsv1alpha1.EVSSnapshot,
) (admission.Warnings, error) {
	s.Namespace = namespaceOf(ctx, s.Namespace)
	return nil, refuse(ctx, s, validateSnapshot(nil, s))
}

// ValidateUpdate refuses a rename, a new description or a rollback that the phase does not allow,
// and a rollback onto any disk but the source disk.
func (v *EVSSnapshotValidator) ValidateUpdate(
	ctx context.Context, old, s *evsv1alpha1.EVSSnapshot,
) (admission.Warnings, error) {
	return nil, refuse(ctx, s, validateSnapshot(old, s))
}

// ValidateDelete refuses a delete that would delete the cloud snapshot in a phase that allows no
// delete, and a delete while an EVSVolume is still being created from the snapshot.
func (v *EVSSnapshotValidator) ValidateDelete(
	ctx context.Context, s *evsv1alpha1.EVSSnapshot,
) (admission.Warnings, error) {
	if s.DeletionTimestamp != nil {
		return nil, nil
	}
	creating, err := v.creatingVolumes(ctx, s)
	if err != nil {
		return nil, err
	}
	return nil, refuse(ctx, s, validateSnapshotDelete(s, creating))
}

// creatingVolumes returns the EVSVolumes in the snapshot's namespace that are made from it and
// still being created (or not yet seen by the operator).
func (v *EVSSnapshotValidator) creatingVolumes(
	ctx context.Context, s *evsv1alpha1.EVSSnapshot,
) ([]evsv1alpha1.EVSVolume, error) {
	// The namespace is small enough to filter in memory; an index on the snapshot reference
	// would be registered by whoever needs it most, and two registrations of one name conflict.
	// TODO: the cache can miss an EVSVolume created a moment ago, so a delete racing a volume
	// create can be admitted; the EVSVolume controller must cope with its snapshot going.
	var volumes evsv1alpha1.EVSVolumeList
	if err := v.client.List(ctx, &volumes, client.InNamespace(s.Namespace)); err != nil {
		return nil, fmt.Errorf("listing EVSVolumes in namespace %s: %w", s.Namespace, err)
	}
	var creating []evsv1alpha1.EVSVolume
	for _, vol := range volumes.Items {
		ref := vol.Spec.Source.SnapshotRef
		if ref == nil || ref.Name != s.Name {
			continue
		}
		if vol.Status.Phase == "" || vol.Status.Phase == evsv1alpha1.VolumePhaseCreating {
			creating = append(creating, vol)
		}
	}
	return creating, nil
}

// refuse logs a refusal and turns it into the error the client sees.
func refuse(ctx context.Context, s *evsv1alpha1.EVSSnapshot, errs field.ErrorList) error {
	if len(errs) == 0 {
		return nil
	}
	logf.FromContext(ctx).V(1).Info("Refusing EVSSnapshot request",
		"evsSnapshot", klog.KObj(s), "phase", s.Status.Phase, "reason", errs.ToAggregate().Error())
	return toAPIError(snapshotKind, snapshotResource, s.Name, errs)
}

// validateSnapshot is the one set of EVSSnapshot rules for create (old is nil) and update. The
// phase and ownership come from old, which is what the cloud has now.
func validateSnapshot(old, s *evsv1alpha1.EVSSnapshot) field.ErrorList {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	if old == nil {
		errs = append(errs, validateSnapshotName(s)...)
		if s.Spec.Rollback != nil {
			errs = append(errs, field.Forbidden(spec.Child("rollback"), fmt.Sprintf(
				"%s: a rollback cannot be requested at create; "+
					"set spec.rollback once the snapshot is Available", snapshotSubject(s))))
		}
		return errs
	}
	errs = append(errs, validateCloudUpdate(old, s)...)
	errs = append(errs, validateRollback(old, s)...)
	return errs
}

// validateSnapshotName refuses the names the backup service reserves for itself.
func validateSnapshotName(s *evsv1alpha1.EVSSnapshot) field.ErrorList {
	name := s.Spec.SnapshotName
	if !evsv1alpha1.HasBackupServicePrefix(name) {
		return nil
	}
	return field.ErrorList{field.Invalid(field.NewPath("spec", "snapshotName"), name, fmt.Sprintf(
		"%s: snapshotName may not start with %s: the backup service owns such snapshots",
		snapshotSubject(s), strings.Join(evsv1alpha1.BackupServiceNamePrefixes, " or ")))}
}

// validateCloudUpdate refuses a new snapshotName or description unless the cloud accepts an update
// in the current phase. An unchanged value, including the default name spelled out, is no change.
func validateCloudUpdate(old, s *evsv1alpha1.EVSSnapshot) field.ErrorList {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	var changed []*field.Path
	if requestedName(old) != requestedName(s) {
		changed = append(changed, spec.Child("snapshotName"))
		errs = append(errs, validateSnapshotName(s)...)
	}
	if old.Spec.Description != s.Spec.Description {
		changed = append(changed, spec.Child("description"))
	}
	if evsv1alpha1.IsUpdateAllowed(old.Status.Phase, old.IsBackupOwned()) {
		return errs
	}
	for _, p := range changed {
		hint := p.String() + " can change only while the snapshot is Available"
		if old.IsBackupOwned() {
			hint = ""
		}
		errs = append(errs, field.Forbidden(p, refusal(old, "changing "+p.String(), hint)))
	}
	return errs
}

// requestedName is the cloud name the spec asks for. A new snapshot without a name asks for the
// default; an adopted one without a name asks to keep its cloud name, so any name is a change.
func requestedName(s *evsv1alpha1.EVSSnapshot) string {
	if s.IsImport() {
		return s.Spec.SnapshotName
	}
	return s.CloudName()
}

// validateRollback refuses a new rollback request that the phase, the snapshot's owner or its
// management policy does not allow, and a rollback onto any disk but the source disk.
func validateRollback(old, s *evsv1alpha1.EVSSnapshot) field.ErrorList {
	r := s.Spec.Rollback
	if r == nil {
		return nil
	}
	path := field.NewPath("spec", "rollback")
	var errs field.ErrorList
	isNew := old.Spec.Rollback == nil || old.Spec.Rollback.RequestID != r.RequestID
	switch {
	case !isNew:
	case !evsv1alpha1.IsAllowed(old.Status.Phase, old.IsBackupOwned(), evsv1alpha1.OperationRollback):
		errs = append(errs, field.Forbidden(path.Child("requestID"), refusal(old, "rollback", "")))
	case s.IsObserveOnly():
		errs = append(errs, field.Forbidden(path.Child("requestID"), fmt.Sprintf(
			"%s: rollback is not allowed while managementPolicy is ObserveOnly; "+
				"set managementPolicy: Managed to ask for one", snapshotSubject(old))))
	}
	// The disk is checked when the request or its disk is new, so that an old request written
	// without this webhook does not block every later update, such as setting Retain.
	diskChanged := isNew || old.Spec.Rollback.VolumeID != r.VolumeID
	source := s.SourceVolumeID()
	// An adopted snapshot's source disk is unknown until the operator has read it; its phase is
	// empty until then, so a new request is refused above anyway.
	if diskChanged && r.VolumeID != "" && source != "" && r.VolumeID != source {
		errs = append(errs, field.Invalid(path.Child("volumeID"), r.VolumeID, fmt.Sprintf(
			"%s: rollback onto disk %s is not allowed: a snapshot rolls back only onto its source disk %s",
			snapshotSubject(old), r.VolumeID, source)))
	}
	return errs
}

// validateSnapshotDelete refuses deleting s when a cloud delete would follow that its phase does
// not allow, or while the given EVSVolumes are still being created from it. An object with no
// phase yet may go: the finalizer waits until the cloud allows the delete.
func validateSnapshotDelete(s *evsv1alpha1.EVSSnapshot, creating []evsv1alpha1.EVSVolume) field.ErrorList {
	if s.DeletionTimestamp != nil {
		return nil
	}
	var errs field.ErrorList
	if s.Status.Phase != "" && s.DeletesInCloud() &&
		!evsv1alpha1.IsAllowed(s.Status.Phase, s.IsBackupOwned(), evsv1alpha1.OperationDelete) {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "deletionPolicy"),
			refusal(s, "delete", retainHint)))
	}
	if len(creating) > 0 {
		names := make([]string, len(creating))
		for i := range creating {
			names[i] = klog.KObj(&creating[i]).String()
		}
		what := "EVSVolume " + names[0] + " is"
		if len(names) > 1 {
			what = "EVSVolumes " + strings.Join(names, ", ") + " are"
		}
		errs = append(errs, field.Forbidden(field.NewPath("metadata", "name"), fmt.Sprintf(
			"%s: delete is not allowed while %s being created from it; retry when the creation has finished",
			snapshotSubject(s), what)))
	}
	return errs
}
