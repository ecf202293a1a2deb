// Package webhooks holds the admission webhooks of EVSSnapshot and EVSVolume: they refuse at once
// what the snapshot state table forbids, with a message that names the object, its phase, what
// was refused and what is allowed now, and they fill in the defaults the contract promises.
package webhooks

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	evsv1alpha1 "github.com/evs-operator/evs-operator/api/v1alpha1"
)

// Kinds and resources the refusals are reported against.
var (
	snapshotKind     = evsv1alpha1.GroupVersion.WithKind("EVSSnapshot").GroupKind()
	snapshotResource = evsv1alpha1.GroupVersion.WithResource("evssnapshots").GroupResource()
	volumeKind       = evsv1alpha1.GroupVersion.WithKind("EVSVolume").GroupKind()
	volumeResource   = evsv1alpha1.GroupVersion.WithResource("evsvolumes").GroupResource()
)

// retainHint is the documented way out of a phase that allows no delete.
const retainHint = "to remove the object and leave the cloud snapshot as it is, " +
	"set deletionPolicy: Retain, then delete"

// subject opens every refusal: "EVSSnapshot prod/db-nightly is Creating", or "... has no phase
// yet" before the operator has seen the object.
func subject(kind, namespace, name, phase string) string {
	ref := klog.KRef(namespace, name).String()
	if phase == "" {
		return fmt.Sprintf("%s %s has no phase yet", kind, ref)
	}
	return fmt.Sprintf("%s %s is %s", kind, ref, phase)
}

func snapshotSubject(s *evsv1alpha1.EVSSnapshot) string {
	return subject("EVSSnapshot", s.Namespace, s.Name, string(s.Status.Phase))
}

// refusal words a request the state table refuses on s: why, what is allowed now and, when
// there is one, the way out.
func refusal(s *evsv1alpha1.EVSSnapshot, what, hint string) string {
	allowed := evsv1alpha1.FormatOperations(evsv1alpha1.AllowedOperations(s.Status.Phase, s.IsBackupOwned()))
	why := "in this phase"
	if s.IsBackupOwned() {
		why = "on a snapshot that the backup service owns"
	}
	msg := fmt.Sprintf("%s: %s is not allowed %s (allowed: %s)", snapshotSubject(s), what, why, allowed)
	if hint != "" {
		msg += "; " + hint
	}
	return msg
}

// toAPIError turns validation errors into the error the apiserver hands the client: Forbidden
// when every error is a refusal of something well-formed, Invalid otherwise.
func toAPIError(
	kind schema.GroupKind, resource schema.GroupResource, name string, errs field.ErrorList,
) error {
	if len(errs) == 0 {
		return nil
	}
	details := make([]string, 0, len(errs))
	for _, e := range errs {
		if e.Type != field.ErrorTypeForbidden {
			return apierrors.NewInvalid(kind, name, errs)
		}
		details = append(details, e.Detail)
	}
	return apierrors.NewForbidden(resource, name, errors.New(strings.Join(details, "; ")))
}

// namespaceOf returns the object's namespace, or the request's when the object in the request
// carries none.
func namespaceOf(ctx context.Context, namespace string) string {
	if namespace != "" {
		return namespace
	}
	if req, err := admission.RequestFromContext(ctx); err == nil {
		return req.Namespace
	}
	return ""
}

// isCreate reports whether the request being defaulted is a create. Outside a webhook call
// (a test calling Default directly) the object is treated as new.
func isCreate(ctx context.Context) bool {
	req, err := admission.RequestFromContext(ctx)
	return err != nil || req.Operation == admissionv1.Create
}

// setupWebhooks registers a kind's defaulting and validating webhooks. The validator reads the
// other kind through the manager's cache, so its informer starts with the cache rather than on
// the first request, which would then wait for a full list inside the webhook's timeout.
func setupWebhooks[T client.Object](mgr ctrl.Manager, obj T, reads client.Object,
	defaulter admission.Defaulter[T], validator admission.Validator[T]) error {
	kind := reflect.TypeOf(obj).Elem().Name()
	if _, err := mgr.GetCache().GetInformer(context.Background(), reads, cache.BlockUntilSynced(false)); err != nil {
		return fmt.Errorf("starting the %s informer for the %s webhook: %w",
			reflect.TypeOf(reads).Elem().Name(), kind, err)
	}
	err := ctrl.NewWebhookManagedBy(mgr, obj).WithDefaulter(defaulter).WithValidator(validator).Complete()
	if err != nil {
		return fmt.Errorf("registering the %s webhooks: %w", kind, err)
	}
	return nil
}
