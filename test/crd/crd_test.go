package crd

import (
	"context"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	evsv1alpha1 "github.com/evs-operator/evs-operator/api/v1alpha1"
)

const (
	diskA = "11111111-1111-4111-8111-111111111111"
	diskB = "33333333-3333-4333-8333-333333333333"
	snapA = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
)

func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "crd-"}}
	NewWithT(t).Expect(k8sClient.Create(context.Background(), ns)).To(Succeed())
	t.Cleanup(func() { _ = k8sClient.Delete(context.Background(), ns) })
	return ns.Name
}

func snapshot(ns, name string, source evsv1alpha1.SnapshotSource) *evsv1alpha1.EVSSnapshot {
	return &evsv1alpha1.EVSSnapshot{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       evsv1alpha1.EVSSnapshotSpec{Source: source},
	}
}

func TestSnapshotDefaultsAreApplied(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	s := snapshot(newNamespace(t), "defaults", evsv1alpha1.SnapshotSource{VolumeID: diskA})
	g.Expect(k8sClient.Create(ctx, s)).To(Succeed())

	got := &evsv1alpha1.EVSSnapshot{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(s), got)).To(Succeed())
	g.Expect(got.Spec.ManagementPolicy).To(Equal(evsv1alpha1.ManagementPolicyManaged))
	g.Expect(got.Spec.Force).To(BeFalse())
}

func TestVolumeDefaultsAreApplied(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	v := &evsv1alpha1.EVSVolume{
		ObjectMeta: metav1.ObjectMeta{Namespace: newNamespace(t), Name: "restored"},
		Spec: evsv1alpha1.EVSVolumeSpec{
			Source: evsv1alpha1.VolumeSource{SnapshotRef: &evsv1alpha1.SnapshotReference{Name: "db"}},
		},
	}
	g.Expect(k8sClient.Create(ctx, v)).To(Succeed())
	g.Expect(v.Spec.DeletionPolicy).To(Equal(evsv1alpha1.DeletionPolicyDelete))
}

func TestSnapshotSourceIsImmutable(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	s := snapshot(newNamespace(t), "immutable", evsv1alpha1.SnapshotSource{VolumeID: diskA})
	g.Expect(k8sClient.Create(ctx, s)).To(Succeed())

	s.Spec.Source.VolumeID = diskB
	err := k8sClient.Update(ctx, s)
	g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
	g.Expect(err.Error()).To(ContainSubstring("source is immutable"))
}

func TestSnapshotMetadataAndForceAreImmutable(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	cases := map[string]struct {
		mutate func(*evsv1alpha1.EVSSnapshot)
		msg    string
	}{
		"metadata changed": {func(s *evsv1alpha1.EVSSnapshot) { s.Spec.Metadata["team"] = "web" }, "metadata is immutable"},
		"metadata removed": {func(s *evsv1alpha1.EVSSnapshot) { s.Spec.Metadata = nil }, "metadata is immutable"},
		"force set":        {func(s *evsv1alpha1.EVSSnapshot) { s.Spec.Force = true }, "force is immutable"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			s := snapshot(ns, strings.ReplaceAll(name, " ", "-"), evsv1alpha1.SnapshotSource{VolumeID: diskA})
			s.Spec.Metadata = map[string]string{"team": "db"}
			g.Expect(k8sClient.Create(ctx, s)).To(Succeed())
			tc.mutate(s)
			err := k8sClient.Update(ctx, s)
			g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
			g.Expect(err.Error()).To(ContainSubstring(tc.msg))
		})
	}
}

func TestMutableSnapshotFieldsCanChange(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	s := snapshot(newNamespace(t), "mutable", evsv1alpha1.SnapshotSource{VolumeID: diskA})
	g.Expect(k8sClient.Create(ctx, s)).To(Succeed())
	s.Spec.SnapshotName = "renamed"
	s.Spec.Description = "now described"
	s.Spec.DeletionPolicy = evsv1alpha1.DeletionPolicyRetain
	s.Spec.ManagementPolicy = evsv1alpha1.ManagementPolicyObserveOnly
	s.Spec.Rollback = &evsv1alpha1.RollbackRequest{RequestID: "r1"}
	g.Expect(k8sClient.Update(ctx, s)).To(Succeed())
}

func TestInvalidSnapshotsAreRefused(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	cases := map[string]struct {
		spec evsv1alpha1.EVSSnapshotSpec
		msg  string
	}{
		"both sources": {
			evsv1alpha1.EVSSnapshotSpec{Source: evsv1alpha1.SnapshotSource{VolumeID: diskA, SnapshotID: snapA}},
			"exactly one of volumeID and snapshotID must be set",
		},
		"no source": {
			evsv1alpha1.EVSSnapshotSpec{},
			"exactly one of volumeID and snapshotID must be set",
		},
		"not a uuid": {
			evsv1alpha1.EVSSnapshotSpec{Source: evsv1alpha1.SnapshotSource{VolumeID: "disk-1"}},
			"spec.source.volumeID",
		},
		"bad deletion policy": {
			evsv1alpha1.EVSSnapshotSpec{
				Source: evsv1alpha1.SnapshotSource{VolumeID: diskA}, DeletionPolicy: "Orphan",
			},
			`Unsupported value: "Orphan"`,
		},
		"bad management policy": {
			evsv1alpha1.EVSSnapshotSpec{
				Source: evsv1alpha1.SnapshotSource{VolumeID: diskA}, ManagementPolicy: "Sometimes",
			},
			`Unsupported value: "Sometimes"`,
		},
		"256-byte name": {
			evsv1alpha1.EVSSnapshotSpec{
				Source: evsv1alpha1.SnapshotSource{VolumeID: diskA}, SnapshotName: strings.Repeat("n", 256),
			},
			"spec.snapshotName",
		},
		"255 characters but 510 bytes": {
			evsv1alpha1.EVSSnapshotSpec{
				Source: evsv1alpha1.SnapshotSource{VolumeID: diskA}, SnapshotName: strings.Repeat("é", 255),
			},
			"snapshotName must be at most 255 bytes",
		},
		"256-byte description": {
			evsv1alpha1.EVSSnapshotSpec{
				Source: evsv1alpha1.SnapshotSource{VolumeID: diskA}, Description: strings.Repeat("d", 256),
			},
			"spec.description",
		},
		"empty rollback request": {
			evsv1alpha1.EVSSnapshotSpec{
				Source:   evsv1alpha1.SnapshotSource{VolumeID: diskA},
				Rollback: &evsv1alpha1.RollbackRequest{},
			},
			"spec.rollback.requestID",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			s := &evsv1alpha1.EVSSnapshot{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: strings.ReplaceAll(name, " ", "-")},
				Spec:       tc.spec,
			}
			err := k8sClient.Create(ctx, s)
			g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
			g.Expect(err.Error()).To(ContainSubstring(tc.msg))
		})
	}
}

func TestA255ByteNameIsAccepted(t *testing.T) {
	g := NewWithT(t)
	s := snapshot(newNamespace(t), "long-name", evsv1alpha1.SnapshotSource{VolumeID: diskA})
	s.Spec.SnapshotName = strings.Repeat("n", 255)
	g.Expect(k8sClient.Create(context.Background(), s)).To(Succeed())
}

func TestVolumeSpecRules(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	ref := &evsv1alpha1.SnapshotReference{Name: "db"}

	t.Run("both sources refused", func(t *testing.T) {
		g := NewWithT(t)
		v := &evsv1alpha1.EVSVolume{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "both"},
			Spec: evsv1alpha1.EVSVolumeSpec{
				Source: evsv1alpha1.VolumeSource{SnapshotRef: ref, SnapshotID: snapA},
			},
		}
		err := k8sClient.Create(ctx, v)
		g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		g.Expect(err.Error()).To(ContainSubstring("exactly one of snapshotRef and snapshotID must be set"))
	})

	t.Run("only deletionPolicy may change", func(t *testing.T) {
		g := NewWithT(t)
		v := &evsv1alpha1.EVSVolume{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "immutable"},
			Spec:       evsv1alpha1.EVSVolumeSpec{Source: evsv1alpha1.VolumeSource{SnapshotRef: ref}},
		}
		g.Expect(k8sClient.Create(ctx, v)).To(Succeed())

		v.Spec.DeletionPolicy = evsv1alpha1.DeletionPolicyRetain
		g.Expect(k8sClient.Update(ctx, v)).To(Succeed())

		v.Spec.SizeGiB = 80
		err := k8sClient.Update(ctx, v)
		g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		g.Expect(err.Error()).To(ContainSubstring("sizeGiB is immutable"))
	})
}

func TestPrinterColumns(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	columns := func(name string) map[string]int32 {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: name}, crd)).To(Succeed())
		g.Expect(crd.Spec.Versions).To(HaveLen(1))
		cols := map[string]int32{}
		for _, c := range crd.Spec.Versions[0].AdditionalPrinterColumns {
			cols[strings.ToUpper(c.Name)] = c.Priority
		}
		g.Expect(crd.Spec.Names.ShortNames).NotTo(BeEmpty())
		g.Expect(crd.Spec.Names.Categories).To(ConsistOf("evs"))
		return cols
	}
	g.Expect(columns("evssnapshots.evs.storage.dev")).To(Equal(map[string]int32{
		"PHASE": 0, "READY": 0, "VOLUME": 0, "SNAPSHOT-ID": 0, "SIZE": 0, "AGE": 0, "ALLOWED": 1, "POLICY": 1,
	}))
	g.Expect(columns("evsvolumes.evs.storage.dev")).To(HaveKey("READY"))
}
