package webhooks

import (
	"context"
	"reflect"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	evsv1alpha1 "github.com/evs-operator/evs-operator/api/v1alpha1"
)

// These tests go through a real kube-apiserver: the requests are the ones kubectl sends, and the
// errors are what a user reads. Phases are set by patching status, as the controller would.

func newSnapshot(ns, name string) *evsv1alpha1.EVSSnapshot {
	return &evsv1alpha1.EVSSnapshot{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       evsv1alpha1.EVSSnapshotSpec{Source: evsv1alpha1.SnapshotSource{VolumeID: sourceDisk}},
	}
}

func newVolume(ns, name, snapshot string, sizeGiB int32) *evsv1alpha1.EVSVolume {
	return &evsv1alpha1.EVSVolume{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: evsv1alpha1.EVSVolumeSpec{
			Source:  evsv1alpha1.VolumeSource{SnapshotRef: &evsv1alpha1.SnapshotReference{Name: snapshot}},
			SizeGiB: sizeGiB,
		},
	}
}

// patch sends the change to obj as a merge patch, the way `kubectl patch --type=merge` does, and
// leaves obj as the server returned it; on a refusal obj is left as it was.
func patch[T client.Object](obj T, change func(T)) error {
	changed := obj.DeepCopyObject().(T)
	change(changed)
	if err := k8sClient.Patch(context.Background(), changed, client.MergeFrom(obj)); err != nil {
		return err
	}
	reflectInto(obj, changed)
	return nil
}

// setStatus patches the status subresource, which no webhook sees, and waits until the manager's
// cache, which the webhooks read, has the new status.
func setStatus[T client.Object](t testing.TB, obj T, change func(T)) {
	t.Helper()
	g := NewWithT(t)
	changed := obj.DeepCopyObject().(T)
	change(changed)
	g.Expect(k8sClient.Status().Patch(context.Background(), changed, client.MergeFrom(obj))).To(Succeed())
	reflectInto(obj, changed)
	waitForCache(t, obj)
}

// waitForCache waits until the manager's cache holds obj at its current resourceVersion.
func waitForCache[T client.Object](t testing.TB, obj T) {
	t.Helper()
	cached := obj.DeepCopyObject().(T)
	NewWithT(t).Eventually(func() (string, error) {
		err := cachedClient.Get(context.Background(), client.ObjectKeyFromObject(obj), cached)
		return cached.GetResourceVersion(), err
	}, 10*time.Second, 10*time.Millisecond).Should(Equal(obj.GetResourceVersion()))
}

// reflectInto copies the object src points at over the one dst points at.
func reflectInto[T client.Object](dst, src T) {
	reflect.ValueOf(dst).Elem().Set(reflect.ValueOf(src).Elem())
}

func inPhase(phase evsv1alpha1.SnapshotPhase) func(*evsv1alpha1.EVSSnapshot) {
	return func(s *evsv1alpha1.EVSSnapshot) {
		s.Status.Phase = phase
		s.Status.SourceVolumeID = sourceDisk
		s.Status.SizeGiB = 40
	}
}

func TestEnvtestDeleteOfCreatingSnapshotNeedsRetain(t *testing.T) {
	requireEnvtest(t)
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	s := newSnapshot(ns, "db-nightly")
	g.Expect(k8sClient.Create(ctx, s)).To(Succeed())
	setStatus(t, s, inPhase(evsv1alpha1.PhaseCreating))

	err := k8sClient.Delete(ctx, s)
	t.Logf("kubectl delete evss %s -n %s:\n  Error from server (Forbidden): %v", s.Name, ns, err)
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
	g.Expect(err.Error()).To(ContainSubstring(
		"EVSSnapshot %s/db-nightly is Creating: delete is not allowed in this phase (allowed: none)", ns))
	g.Expect(err.Error()).To(ContainSubstring("set deletionPolicy: Retain, then delete"))
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(s), s)).To(Succeed(), "the refused delete left it")

	// The way out: Retain is admitted in every phase, and then the delete is.
	g.Expect(patch(s, func(s *evsv1alpha1.EVSSnapshot) {
		s.Spec.DeletionPolicy = evsv1alpha1.DeletionPolicyRetain
	})).To(Succeed())
	g.Expect(k8sClient.Delete(ctx, s)).To(Succeed())
	err = k8sClient.Get(ctx, client.ObjectKeyFromObject(s), s)
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "%v", err)
}

func TestEnvtestDeleteOfAnObjectBeingDeleted(t *testing.T) {
	requireEnvtest(t)
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	s := newSnapshot(ns, "db-nightly")
	s.Finalizers = []string{"evs.storage.dev/test-hold"}
	g.Expect(k8sClient.Create(ctx, s)).To(Succeed())

	// No phase yet: the delete is admitted and the finalizer holds the object.
	g.Expect(k8sClient.Delete(ctx, s)).To(Succeed())
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(s), s)).To(Succeed())
	g.Expect(s.DeletionTimestamp).NotTo(BeNil())

	// A second delete in a phase that allows none changes nothing and is admitted.
	setStatus(t, s, inPhase(evsv1alpha1.PhaseCreating))
	g.Expect(k8sClient.Delete(ctx, s)).To(Succeed())

	// The controller's finalizer removal is a metadata-only update.
	g.Expect(patch(s, func(s *evsv1alpha1.EVSSnapshot) { s.Finalizers = nil })).To(Succeed())
	err := k8sClient.Get(ctx, client.ObjectKeyFromObject(s), s)
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "%v", err)
}

func TestEnvtestRollback(t *testing.T) {
	requireEnvtest(t)
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	s := newSnapshot(ns, "db-nightly")
	g.Expect(k8sClient.Create(ctx, s)).To(Succeed())
	setStatus(t, s, inPhase(evsv1alpha1.PhaseCreating))

	askRollback := func(id, disk string) func(*evsv1alpha1.EVSSnapshot) {
		return func(s *evsv1alpha1.EVSSnapshot) {
			s.Spec.Rollback = &evsv1alpha1.RollbackRequest{RequestID: id, VolumeID: disk}
		}
	}
	err := patch(s, askRollback("r1", ""))
	t.Logf("refused rollback: %v", err)
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
	g.Expect(err.Error()).To(ContainSubstring(
		"EVSSnapshot %s/db-nightly is Creating: rollback is not allowed in this phase (allowed: none)", ns))

	// The same request once the snapshot is Available; the disk defaults to the source disk.
	setStatus(t, s, inPhase(evsv1alpha1.PhaseAvailable))
	g.Expect(patch(s, askRollback("r1", ""))).To(Succeed())
	g.Expect(s.Spec.Rollback.VolumeID).To(Equal(sourceDisk))

	// Another disk is refused in every phase, Available included.
	err = patch(s, askRollback("r2", otherDisk))
	t.Logf("refused rollback onto another disk: %v", err)
	g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
	g.Expect(err.Error()).To(ContainSubstring(
		"EVSSnapshot %s/db-nightly is Available: rollback onto disk %s is not allowed: "+
			"a snapshot rolls back only onto its source disk %s", ns, otherDisk, sourceDisk))

	// ObserveOnly never changes the cloud.
	g.Expect(patch(s, func(s *evsv1alpha1.EVSSnapshot) {
		s.Spec.ManagementPolicy = evsv1alpha1.ManagementPolicyObserveOnly
	})).To(Succeed())
	err = patch(s, askRollback("r3", ""))
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
	g.Expect(err.Error()).To(
		ContainSubstring("rollback is not allowed while managementPolicy is ObserveOnly"))
}

func TestEnvtestRenameAndDescription(t *testing.T) {
	requireEnvtest(t)
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	s := newSnapshot(ns, "db-nightly")
	g.Expect(k8sClient.Create(ctx, s)).To(Succeed())
	setStatus(t, s, inPhase(evsv1alpha1.PhaseCreating))

	rename := func(s *evsv1alpha1.EVSSnapshot) {
		s.Spec.SnapshotName = "db-renamed"
		s.Spec.Description = "renamed"
	}
	err := patch(s, rename)
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
	g.Expect(err.Error()).To(ContainSubstring(
		"EVSSnapshot %s/db-nightly is Creating: changing spec.snapshotName is not allowed in this phase", ns))
	g.Expect(err.Error()).To(ContainSubstring("changing spec.description is not allowed"))

	setStatus(t, s, inPhase(evsv1alpha1.PhaseAvailable))
	g.Expect(patch(s, rename)).To(Succeed())

	// Once the operator has seen that the backup service owns it, nothing changes it.
	setStatus(t, s, func(s *evsv1alpha1.EVSSnapshot) { s.Status.BackupOwned = true })
	err = patch(s, func(s *evsv1alpha1.EVSSnapshot) { s.Spec.Description = "again" })
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
	g.Expect(err.Error()).To(ContainSubstring("is not allowed on a snapshot that the backup service owns"))
}

func TestEnvtestSnapshotCreate(t *testing.T) {
	requireEnvtest(t)
	ctx := context.Background()
	ns := newNamespace(t)

	t.Run("defaults for a new snapshot", func(t *testing.T) {
		g := NewWithT(t)
		s := newSnapshot(ns, "fresh")
		g.Expect(k8sClient.Create(ctx, s)).To(Succeed())
		g.Expect(s.Spec.SnapshotName).To(Equal(ns + "-fresh"))
		g.Expect(s.Spec.DeletionPolicy).To(Equal(evsv1alpha1.DeletionPolicyDelete))
		g.Expect(s.Spec.ManagementPolicy).To(Equal(evsv1alpha1.ManagementPolicyManaged))
	})
	t.Run("defaults for an import", func(t *testing.T) {
		g := NewWithT(t)
		s := &evsv1alpha1.EVSSnapshot{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "adopted"},
			Spec: evsv1alpha1.EVSSnapshotSpec{
				Source: evsv1alpha1.SnapshotSource{SnapshotID: cloudSnap},
			},
		}
		g.Expect(k8sClient.Create(ctx, s)).To(Succeed())
		g.Expect(s.Spec.SnapshotName).To(BeEmpty(), "an adopted snapshot keeps its cloud name")
		g.Expect(s.Spec.DeletionPolicy).To(Equal(evsv1alpha1.DeletionPolicyRetain))
	})
	t.Run("explicit values are kept", func(t *testing.T) {
		g := NewWithT(t)
		s := newSnapshot(ns, "explicit")
		s.Spec.SnapshotName = "db"
		s.Spec.DeletionPolicy = evsv1alpha1.DeletionPolicyRetain
		g.Expect(k8sClient.Create(ctx, s)).To(Succeed())
		g.Expect(s.Spec.SnapshotName).To(Equal("db"))
		g.Expect(s.Spec.DeletionPolicy).To(Equal(evsv1alpha1.DeletionPolicyRetain))
	})
	t.Run("backup-service name refused", func(t *testing.T) {
		g := NewWithT(t)
		s := newSnapshot(ns, "sneaky")
		s.Spec.SnapshotName = "autobk_snapshot_db"
		err := k8sClient.Create(ctx, s)
		g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
		g.Expect(err.Error()).To(ContainSubstring(
			"snapshotName may not start with autobk_snapshot_ or manualbk_snapshot_"))
	})
	t.Run("rollback at create refused", func(t *testing.T) {
		g := NewWithT(t)
		s := newSnapshot(ns, "eager")
		s.Spec.Rollback = &evsv1alpha1.RollbackRequest{RequestID: "r1"}
		err := k8sClient.Create(ctx, s)
		g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
		g.Expect(err.Error()).To(ContainSubstring(
			"EVSSnapshot %s/eager has no phase yet: a rollback cannot be requested at create", ns))
	})
}

func TestEnvtestVolumeCreate(t *testing.T) {
	requireEnvtest(t)
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	s := newSnapshot(ns, "db-nightly")
	g.Expect(k8sClient.Create(ctx, s)).To(Succeed())
	setStatus(t, s, inPhase(evsv1alpha1.PhaseCreating))

	err := k8sClient.Create(ctx, newVolume(ns, "restored", "db-nightly", 0))
	t.Logf("refused volume: %v", err)
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
	g.Expect(err.Error()).To(ContainSubstring(
		"EVSVolume %s/restored: EVSSnapshot %s/db-nightly is Creating: "+
			"CreateVolume is not allowed in this phase (allowed: none)", ns, ns))

	setStatus(t, s, inPhase(evsv1alpha1.PhaseAvailable))
	err = k8sClient.Create(ctx, newVolume(ns, "restored", "db-nightly", 10))
	g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
	g.Expect(err.Error()).To(
		ContainSubstring("sizeGiB 10 is below the 40 GiB of EVSSnapshot %s/db-nightly", ns))

	v := newVolume(ns, "restored", "db-nightly", 40)
	g.Expect(k8sClient.Create(ctx, v)).To(Succeed())
	g.Expect(v.Spec.VolumeName).To(Equal(ns + "-restored"))
	g.Expect(v.Spec.DeletionPolicy).To(Equal(evsv1alpha1.DeletionPolicyDelete))

	err = k8sClient.Create(ctx, newVolume(ns, "orphan", "no-such-snapshot", 0))
	g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
	g.Expect(err.Error()).To(ContainSubstring("EVSSnapshot %s/no-such-snapshot does not exist", ns))

	byID := &evsv1alpha1.EVSVolume{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "by-id"},
		Spec:       evsv1alpha1.EVSVolumeSpec{Source: evsv1alpha1.VolumeSource{SnapshotID: cloudSnap}},
	}
	g.Expect(k8sClient.Create(ctx, byID)).To(Succeed())
}

func TestEnvtestVolumeUpdate(t *testing.T) {
	requireEnvtest(t)
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	s := newSnapshot(ns, "db-nightly")
	g.Expect(k8sClient.Create(ctx, s)).To(Succeed())
	setStatus(t, s, inPhase(evsv1alpha1.PhaseAvailable))
	v := newVolume(ns, "restored", "db-nightly", 0)
	g.Expect(k8sClient.Create(ctx, v)).To(Succeed())

	g.Expect(patch(v, func(v *evsv1alpha1.EVSVolume) {
		v.Spec.DeletionPolicy = evsv1alpha1.DeletionPolicyRetain
	})).To(Succeed())
	g.Expect(patch(v, func(v *evsv1alpha1.EVSVolume) {
		v.Labels = map[string]string{"team": "db"}
	})).To(Succeed())
	setStatus(t, v, func(v *evsv1alpha1.EVSVolume) { v.Status.Phase = evsv1alpha1.VolumePhaseAvailable })

	// The CRD's CEL rule refuses this before the webhook is asked; either way it is refused.
	err := patch(v, func(v *evsv1alpha1.EVSVolume) { v.Spec.SizeGiB = 80 })
	g.Expect(apierrors.IsInvalid(err) || apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
	g.Expect(err.Error()).To(ContainSubstring("sizeGiB"))
}

func TestEnvtestDeleteWhileAVolumeIsBeingCreated(t *testing.T) {
	requireEnvtest(t)
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	s := newSnapshot(ns, "db-nightly")
	s.Spec.DeletionPolicy = evsv1alpha1.DeletionPolicyRetain
	g.Expect(k8sClient.Create(ctx, s)).To(Succeed())
	setStatus(t, s, inPhase(evsv1alpha1.PhaseAvailable))
	v := newVolume(ns, "restored", "db-nightly", 0)
	g.Expect(k8sClient.Create(ctx, v)).To(Succeed())
	waitForCache(t, v)

	err := k8sClient.Delete(ctx, s)
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
	g.Expect(err.Error()).To(ContainSubstring(
		"EVSSnapshot %s/db-nightly is Available: delete is not allowed "+
			"while EVSVolume %s/restored is being created from it", ns, ns))

	setStatus(t, v, func(v *evsv1alpha1.EVSVolume) { v.Status.Phase = evsv1alpha1.VolumePhaseAvailable })
	g.Expect(k8sClient.Delete(ctx, s)).To(Succeed())
}
