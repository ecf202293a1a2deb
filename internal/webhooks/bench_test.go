package webhooks

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	evsv1alpha1 "github.com/evs-operator/evs-operator/api/v1alpha1"
)

// BenchmarkAdmissionThroughAPIServer measures what a user waits for: server-side dry-run requests
// through the real kube-apiserver, which calls the webhooks over TLS as it would in a cluster.
// The ConfigMap case has no webhook and is the apiserver's own cost, for comparison.
func BenchmarkAdmissionThroughAPIServer(b *testing.B) {
	requireEnvtest(b)
	ctx := context.Background()
	ns := newNamespace(b)
	available := createInPhase(b, ns, "available", evsv1alpha1.PhaseAvailable)
	creating := createInPhase(b, ns, "creating", evsv1alpha1.PhaseCreating)

	b.Run("ConfigMapUpdateNoWebhook", func(b *testing.B) {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "baseline"}}
		if err := k8sClient.Create(ctx, cm); err != nil {
			b.Fatal(err)
		}
		for i := 0; b.Loop(); i++ {
			changed := cm.DeepCopy()
			changed.Data = map[string]string{"i": strconv.Itoa(i)}
			if err := k8sClient.Patch(ctx, changed, client.MergeFrom(cm), client.DryRunAll); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("SnapshotUpdateAdmitted", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			changed := available.DeepCopy()
			changed.Spec.Description = "d" + strconv.Itoa(i)
			err := k8sClient.Patch(ctx, changed, client.MergeFrom(available), client.DryRunAll)
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("SnapshotRollbackRefused", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			changed := creating.DeepCopy()
			changed.Spec.Rollback = &evsv1alpha1.RollbackRequest{RequestID: "r" + strconv.Itoa(i)}
			err := k8sClient.Patch(ctx, changed, client.MergeFrom(creating), client.DryRunAll)
			if err == nil {
				b.Fatal("rollback of a Creating snapshot was admitted")
			}
		}
	})
	b.Run("SnapshotDeleteRefused", func(b *testing.B) {
		for b.Loop() {
			if err := k8sClient.Delete(ctx, creating, client.DryRunAll); err == nil {
				b.Fatal("delete of a Creating snapshot was admitted")
			}
		}
	})
	b.Run("VolumeCreateAdmitted", func(b *testing.B) {
		for b.Loop() {
			v := newVolume(ns, "restored", available.Name, 40)
			if err := k8sClient.Create(ctx, v, client.DryRunAll); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAdmissionHandler measures the validating handler alone, without network or apiserver:
// decoding the AdmissionReview's objects and running the rules.
func BenchmarkAdmissionHandler(b *testing.B) {
	scheme := runtime.NewScheme()
	if err := evsv1alpha1.AddToScheme(scheme); err != nil {
		b.Fatal(err)
	}
	hook := admission.WithValidator(scheme, NewEVSSnapshotValidator(nil))
	old := snapshotIn(evsv1alpha1.PhaseCreating, false)
	s := old.DeepCopy()
	s.Spec.Rollback = &evsv1alpha1.RollbackRequest{RequestID: "r1"}
	req := admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		Operation: admissionv1.Update, Namespace: s.Namespace, Name: s.Name,
		Object: rawObject(b, s), OldObject: rawObject(b, old),
	}}
	ctx := context.Background()
	for b.Loop() {
		if resp := hook.Handle(ctx, req); resp.Allowed {
			b.Fatal("rollback of a Creating snapshot was admitted")
		}
	}
}

func rawObject(b *testing.B, s *evsv1alpha1.EVSSnapshot) runtime.RawExtension {
	s = s.DeepCopy()
	s.APIVersion, s.Kind = evsv1alpha1.GroupVersion.String(), "EVSSnapshot"
	raw, err := json.Marshal(s)
	if err != nil {
		b.Fatal(err)
	}
	return runtime.RawExtension{Raw: raw}
}

func createInPhase(b *testing.B, ns, name string, phase evsv1alpha1.SnapshotPhase) *evsv1alpha1.EVSSnapshot {
	s := newSnapshot(ns, name)
	if err := k8sClient.Create(context.Background(), s); err != nil {
		b.Fatal(err)
	}
	setStatus(b, s, inPhase(phase))
	return s
}
