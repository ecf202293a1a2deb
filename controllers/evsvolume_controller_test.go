package controllers

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	evsv1alpha1 "github.com/evs-operator/evs-operator/api/v1alpha1"
	"github.com/evs-operator/evs-operator/internal/simulator"
)

const diskSAS = simulator.SeedVolumeSAS // 10 GiB, SAS, available

func TestVolumeFromAnAvailableSnapshotBecomesReady(t *testing.T) {
	e := startEnv(t, StatusSyncBatched)
	g := NewWithT(t)
	snap := e.availableSnapshot("db", diskSAS)
	vol := e.evsVolume("restored", fromSnapshot("db"))
	vol.Spec.Description = "restored"
	vol.Spec.Metadata = map[string]string{"team": "db"}
	e.create(vol)

	v := e.waitForVolumePhase("restored", evsv1alpha1.VolumePhaseAvailable)
	g.Expect(v.Finalizers).To(ContainElement(Finalizer))
	g.Expect(v.Status.CloudStatus).To(Equal("available"))
	g.Expect(v.Status.VolumeID).NotTo(BeEmpty())
	g.Expect(v.Status.JobID).NotTo(BeEmpty())
	g.Expect(v.Status.SnapshotID).To(Equal(snap.Status.SnapshotID))
	g.Expect(v.Status.SizeGiB).To(Equal(int32(10)))
	ready := volumeCondition(v, evsv1alpha1.ConditionReady)
	g.Expect(ready.Status).To(Equal(metav1.ConditionTrue))
	g.Expect(ready.ObservedGeneration).To(Equal(v.Generation))
	g.Expect(volumeCondition(v, evsv1alpha1.ConditionSynced).Status).To(Equal(metav1.ConditionTrue))

	// The snapshot's size and its source disk's zone and type, none of them in the spec.
	disks := e.cloudDisks(v)
	g.Expect(disks).To(HaveLen(1))
	disk := disks[0]
	g.Expect(disk.ID).To(Equal(v.Status.VolumeID))
	g.Expect(disk.SizeGiB).To(Equal(10))
	g.Expect(disk.AvailabilityZone).To(Equal(simulator.DefaultAvailabilityZone))
	g.Expect(disk.VolumeType).To(Equal("SAS"))
	g.Expect(disk.SnapshotID).To(Equal(snap.Status.SnapshotID))
	g.Expect(disk.Name).To(Equal(e.ns + "-restored"))
	g.Expect(disk.Description).To(Equal("restored"))
	g.Expect(disk.Metadata).To(HaveKeyWithValue("team", "db"))
	g.Expect(e.requests("CreateVolume")).To(Equal(int64(1)))
}

func TestVolumeWaitsForACreatingSnapshot(t *testing.T) {
	e := startEnv(t, StatusSyncBatched)
	g := NewWithT(t)
	g.Expect(e.ctl.SetTimings(e.ctx(), simulator.Timings{SnapshotCreate: 2 * time.Second})).To(Succeed())
	e.create(e.snapshot("db", diskA))
	e.create(e.evsVolume("restored", fromSnapshot("db")))

	e.eventuallyVolume("restored", func(g Gomega, v *evsv1alpha1.EVSVolume) {
		g.Expect(v.Status.Phase).To(Equal(evsv1alpha1.VolumePhaseCreating))
		ready := volumeCondition(v, evsv1alpha1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(ready.Reason).To(Equal(evsv1alpha1.ReasonWaitingForSnapshot))
		g.Expect(ready.Message).To(ContainSubstring("EVSSnapshot " + e.ns + "/db is Creating"))
	})
	g.Expect(e.requests("CreateVolume")).To(BeZero())

	v := e.waitForVolumePhase("restored", evsv1alpha1.VolumePhaseAvailable)
	g.Expect(v.Status.SizeGiB).To(Equal(int32(40)))
	g.Expect(e.cloudDisks(v)).To(HaveLen(1))
	g.Expect(e.requests("CreateVolume")).To(Equal(int64(1)))
}

func TestVolumeOfAMissingSnapshotProceedsOnceItExists(t *testing.T) {
	e := startEnv(t, StatusSyncBatched)
	g := NewWithT(t)
	e.create(e.evsVolume("restored", fromSnapshot("later")))
	e.eventuallyVolume("restored", func(g Gomega, v *evsv1alpha1.EVSVolume) {
		g.Expect(v.Status.Phase).To(Equal(evsv1alpha1.VolumePhaseError))
		ready := volumeCondition(v, evsv1alpha1.ConditionReady)
		g.Expect(ready.Reason).To(Equal(evsv1alpha1.ReasonSnapshotNotFound))
	})

	e.create(e.snapshot("later", diskA))
	v := e.waitForVolumePhase("restored", evsv1alpha1.VolumePhaseAvailable)
	g.Expect(e.cloudDisks(v)).To(HaveLen(1))
}

func TestVolumeFromAFailedSnapshotEndsInError(t *testing.T) {
	e := startEnv(t, StatusSyncBatched)
	g := NewWithT(t)
	g.Expect(e.ctl.SetFailures(e.ctx(), simulator.Failures{SnapshotCreate: "error"})).To(Succeed())
	e.create(e.snapshot("db", diskA))
	e.waitForPhase("db", evsv1alpha1.PhaseError)
	e.create(e.evsVolume("restored", fromSnapshot("db")))

	v := e.eventuallyVolume("restored", func(g Gomega, v *evsv1alpha1.EVSVolume) {
		g.Expect(v.Status.Phase).To(Equal(evsv1alpha1.VolumePhaseError))
	})
	ready := volumeCondition(v, evsv1alpha1.ConditionReady)
	g.Expect(ready.Reason).To(Equal(evsv1alpha1.ReasonInvalidSpec))
	g.Expect(ready.Message).To(ContainSubstring("is Error"))
	g.Expect(ready.Message).To(ContainSubstring("allowed: Delete"))
	g.Expect(e.requests("CreateVolume")).To(BeZero())

	g.Expect(k8sClient.Delete(e.ctx(), v)).To(Succeed())
	e.waitVolumeGone("restored")
}

func TestVolumeOfAVanishedSnapshotEndsInError(t *testing.T) {
	e := startEnv(t, StatusSyncBatched)
	g := NewWithT(t)
	snap := e.availableSnapshot("db", diskA)
	g.Expect(e.ctl.VanishSnapshot(e.ctx(), snap.Status.SnapshotID)).To(Succeed())
	e.waitForPhase("db", evsv1alpha1.PhaseError)
	e.create(e.evsVolume("restored", fromSnapshot("db")))

	v := e.eventuallyVolume("restored", func(g Gomega, v *evsv1alpha1.EVSVolume) {
		g.Expect(v.Status.Phase).To(Equal(evsv1alpha1.VolumePhaseError))
	})
	ready := volumeCondition(v, evsv1alpha1.ConditionReady)
	g.Expect(ready.Reason).To(Equal(evsv1alpha1.ReasonSnapshotNotFound))
	g.Expect(ready.Message).To(ContainSubstring(snap.Status.SnapshotID + " no longer exists"))
	g.Expect(e.requests("CreateVolume")).To(BeZero())
}

func TestVolumeLargerThanItsSnapshot(t *testing.T) {
	e := startEnv(t, StatusSyncBatched)
	g := NewWithT(t)
	e.availableSnapshot("db", diskA)
	vol := e.evsVolume("big", fromSnapshot("db"))
	vol.Spec.SizeGiB = 64
	e.create(vol)

	v := e.waitForVolumePhase("big", evsv1alpha1.VolumePhaseAvailable)
	g.Expect(v.Status.SizeGiB).To(Equal(int32(64)))
	g.Expect(e.volume(v.Status.VolumeID).SizeGiB).To(Equal(64))
}

func TestRefusedCreateEndsInError(t *testing.T) {
	e := startEnv(t, StatusSyncBatched)
	g := NewWithT(t)
	e.availableSnapshot("db", diskSAS)
	vol := e.evsVolume("restored", fromSnapshot("db"))
	vol.Spec.VolumeType = "SSD" // the cloud requires the source disk's type, SAS
	e.create(vol)

	v := e.eventuallyVolume("restored", func(g Gomega, v *evsv1alpha1.EVSVolume) {
		g.Expect(v.Status.Phase).To(Equal(evsv1alpha1.VolumePhaseError))
	})
	ready := volumeCondition(v, evsv1alpha1.ConditionReady)
	g.Expect(ready.Reason).To(Equal(evsv1alpha1.ReasonCreationFailed))
	g.Expect(ready.Message).To(ContainSubstring("EVS.2096"))
	synced := volumeCondition(v, evsv1alpha1.ConditionSynced)
	g.Expect(synced.Status).To(Equal(metav1.ConditionFalse))
	g.Expect(synced.Reason).To(Equal(evsv1alpha1.ReasonCloudRefused))
	g.Expect(e.cloudDisks(v)).To(BeEmpty())
}

func TestVolumeFromACloudSnapshotID(t *testing.T) {
	e := startEnv(t, StatusSyncBatched)
	g := NewWithT(t)
	snap, err := e.ctl.AddSnapshot(e.ctx(), simulator.Snapshot{VolumeID: diskSAS, Name: "console-made"})
	g.Expect(err).NotTo(HaveOccurred())
	e.create(e.evsVolume("restored", evsv1alpha1.VolumeSource{SnapshotID: snap.ID}))

	v := e.waitForVolumePhase("restored", evsv1alpha1.VolumePhaseAvailable)
	g.Expect(v.Status.SnapshotID).To(Equal(snap.ID))
	disk := e.volume(v.Status.VolumeID)
	g.Expect(disk.SnapshotID).To(Equal(snap.ID))
	g.Expect(disk.SizeGiB).To(Equal(10))
	g.Expect(disk.VolumeType).To(Equal("SAS"))
	g.Expect(disk.AvailabilityZone).To(Equal(simulator.DefaultAvailabilityZone))
}

func TestLostCreateVolumeResponseLeavesOneDisk(t *testing.T) {
	e := startEnv(t, StatusSyncBatched)
	g := NewWithT(t)
	e.availableSnapshot("db", diskA)
	g.Expect(e.ctl.InjectFault(e.ctx(), simulator.Fault{
		Operation: simulator.OperationCreateVolume, HTTPStatus: 500, Code: "EVS.5500", Count: 1, AfterCommit: true,
	})).To(Succeed())
	e.create(e.evsVolume("restored", fromSnapshot("db")))

	v := e.waitForVolumePhase("restored", evsv1alpha1.VolumePhaseAvailable)
	// The create was sent again with the same client token, and the cloud answered with the
	// first request's job.
	g.Expect(e.requests("CreateVolume")).To(BeNumerically(">=", 2))
	disks := e.cloudDisks(v)
	g.Expect(disks).To(HaveLen(1))
	g.Expect(disks[0].ID).To(Equal(v.Status.VolumeID))
	g.Expect(e.allDisks()).To(HaveLen(4)) // the three seed disks and this one
}

func TestFailedStatusWriteAfterCreateVolumeLeavesOneDisk(t *testing.T) {
	var failed atomic.Int32
	e := startEnv(t, StatusSyncBatched, withInterceptor(interceptor.Funcs{
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object,
			patch client.Patch, opts ...client.SubResourcePatchOption) error {
			// Fail both writes of the first reconcile that try to record the create job, as if the
			// operator died right after the create.
			if v, ok := obj.(*evsv1alpha1.EVSVolume); ok && sub == "status" && v.Status.JobID != "" &&
				failed.Add(1) <= 2 {
				return errStatusPatch
			}
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		},
	}))
	g := NewWithT(t)
	e.availableSnapshot("db", diskA)
	e.create(e.evsVolume("restored", fromSnapshot("db")))

	v := e.waitForVolumePhase("restored", evsv1alpha1.VolumePhaseAvailable)
	g.Expect(failed.Load()).To(BeNumerically(">", 2))
	g.Expect(e.requests("CreateVolume")).To(Equal(int64(2)))
	g.Expect(e.cloudDisks(v)).To(HaveLen(1))
}

func TestOperatorRestartAfterTheJobIsRecordedLeavesOneDisk(t *testing.T) {
	e := startEnv(t, StatusSyncBatched)
	g := NewWithT(t)
	e.availableSnapshot("db", diskA)
	g.Expect(e.ctl.SetTimings(e.ctx(), simulator.Timings{VolumeCreate: 2 * time.Second})).To(Succeed())
	e.create(e.evsVolume("restored", fromSnapshot("db")))
	e.eventuallyVolume("restored", func(g Gomega, v *evsv1alpha1.EVSVolume) {
		g.Expect(v.Status.JobID).NotTo(BeEmpty())
		g.Expect(v.Status.VolumeID).To(BeEmpty())
	})

	e.restartOperator()
	v := e.waitForVolumePhase("restored", evsv1alpha1.VolumePhaseAvailable)
	g.Expect(e.requests("CreateVolume")).To(Equal(int64(1)))
	g.Expect(e.cloudDisks(v)).To(HaveLen(1))
}

func TestFailedCreateJobEndsInErrorAndIsNotRetried(t *testing.T) {
	e := startEnv(t, StatusSyncBatched)
	g := NewWithT(t)
	e.availableSnapshot("db", diskA)
	g.Expect(e.ctl.SetFailures(e.ctx(), simulator.Failures{VolumeCreate: "error"})).To(Succeed())
	e.create(e.evsVolume("restored", fromSnapshot("db")))

	v := e.eventuallyVolume("restored", func(g Gomega, v *evsv1alpha1.EVSVolume) {
		g.Expect(v.Status.Phase).To(Equal(evsv1alpha1.VolumePhaseError))
		ready := volumeCondition(v, evsv1alpha1.ConditionReady)
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(ready.Reason).To(Equal(evsv1alpha1.ReasonCreationFailed))
		g.Expect(ready.Message).To(ContainSubstring("could not be created"))
	})
	g.Consistently(func() int64 { return e.requests("CreateVolume") }).
		WithTimeout(3 * resyncPeriod / 2).Should(Equal(int64(1)))
	g.Expect(volumeCondition(e.getVolume("restored"), evsv1alpha1.ConditionReady).Reason).
		To(Equal(evsv1alpha1.ReasonCreationFailed))

	// Deleting the object deletes the failed disk the job left behind.
	g.Expect(e.cloudDisks(v)).To(HaveLen(1))
	g.Expect(k8sClient.Delete(e.ctx(), v)).To(Succeed())
	e.waitVolumeGone("restored")
	g.Expect(e.cloudDisks(v)).To(BeEmpty())
}

func TestDeleteRemovesTheDisk(t *testing.T) {
	e := startEnv(t, StatusSyncBatched)
	g := NewWithT(t)
	e.availableSnapshot("db", diskA)
	e.create(e.evsVolume("restored", fromSnapshot("db")))
	v := e.waitForVolumePhase("restored", evsv1alpha1.VolumePhaseAvailable)

	g.Expect(k8sClient.Delete(e.ctx(), v)).To(Succeed())
	e.waitForVolumePhase("restored", evsv1alpha1.VolumePhaseDeleting)
	e.waitVolumeGone("restored")
	g.Expect(e.cloudDisks(v)).To(BeEmpty())
	g.Expect(e.requests("DeleteVolume")).To(Equal(int64(1)))
}

func TestRetainKeepsTheDisk(t *testing.T) {
	e := startEnv(t, StatusSyncBatched)
	g := NewWithT(t)
	e.availableSnapshot("db", diskA)
	vol := e.evsVolume("restored", fromSnapshot("db"))
	vol.Spec.DeletionPolicy = evsv1alpha1.DeletionPolicyRetain
	e.create(vol)
	v := e.waitForVolumePhase("restored", evsv1alpha1.VolumePhaseAvailable)

	g.Expect(k8sClient.Delete(e.ctx(), v)).To(Succeed())
	e.waitVolumeGone("restored")
	g.Expect(e.volume(v.Status.VolumeID).Status).To(Equal("available"))
	g.Expect(e.requests("DeleteVolume")).To(BeZero())
}

func TestDeleteWhileTheJobRunsLeaksNoDisk(t *testing.T) {
	e := startEnv(t, StatusSyncBatched)
	g := NewWithT(t)
	e.availableSnapshot("db", diskA)
	g.Expect(e.ctl.SetTimings(e.ctx(), simulator.Timings{VolumeCreate: time.Second})).To(Succeed())
	e.create(e.evsVolume("restored", fromSnapshot("db")))
	v := e.eventuallyVolume("restored", func(g Gomega, v *evsv1alpha1.EVSVolume) {
		g.Expect(v.Status.JobID).NotTo(BeEmpty())
	})

	g.Expect(k8sClient.Delete(e.ctx(), v)).To(Succeed())
	e.waitVolumeGone("restored")
	g.Expect(e.cloudDisks(v)).To(BeEmpty())
	g.Expect(e.requests("DeleteVolume")).To(Equal(int64(1)))
}

func TestDeleteOfAnAttachedDiskWaitsUntilItIsDetached(t *testing.T) {
	e := startEnv(t, StatusSyncBatched)
	g := NewWithT(t)
	e.availableSnapshot("db", diskA)
	e.create(e.evsVolume("restored", fromSnapshot("db")))
	v := e.waitForVolumePhase("restored", evsv1alpha1.VolumePhaseAvailable)

	_, err := e.ctl.SetVolumeStatus(e.ctx(), v.Status.VolumeID, "in-use")
	g.Expect(err).NotTo(HaveOccurred())
	v = e.waitForVolumePhase("restored", evsv1alpha1.VolumePhaseInUse)
	g.Expect(volumeCondition(v, evsv1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))

	g.Expect(k8sClient.Delete(e.ctx(), v)).To(Succeed())
	e.eventuallyVolume("restored", func(g Gomega, v *evsv1alpha1.EVSVolume) {
		synced := volumeCondition(v, evsv1alpha1.ConditionSynced)
		g.Expect(synced.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(synced.Message).To(ContainSubstring("in-use"))
	})
	g.Expect(e.requests("DeleteVolume")).To(BeZero())

	_, err = e.ctl.SetVolumeStatus(e.ctx(), v.Status.VolumeID, "available")
	g.Expect(err).NotTo(HaveOccurred())
	e.waitVolumeGone("restored")
	g.Expect(e.cloudDisks(v)).To(BeEmpty())
}

func TestFailedDiskDeletionEndsInErrorDeletingAndRetainIsTheWayOut(t *testing.T) {
	e := startEnv(t, StatusSyncBatched)
	g := NewWithT(t)
	e.availableSnapshot("db", diskA)
	e.create(e.evsVolume("restored", fromSnapshot("db")))
	v := e.waitForVolumePhase("restored", evsv1alpha1.VolumePhaseAvailable)
	g.Expect(e.ctl.SetFailures(e.ctx(), simulator.Failures{VolumeDelete: "error_deleting"})).To(Succeed())

	g.Expect(k8sClient.Delete(e.ctx(), v)).To(Succeed())
	e.eventuallyVolume("restored", func(g Gomega, v *evsv1alpha1.EVSVolume) {
		g.Expect(v.Status.Phase).To(Equal(evsv1alpha1.VolumePhaseErrorDeleting))
		synced := volumeCondition(v, evsv1alpha1.ConditionSynced)
		g.Expect(synced.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(synced.Reason).To(Equal(evsv1alpha1.ReasonDeletionFailed))
		g.Expect(synced.Message).To(ContainSubstring("deletionPolicy: Retain"))
	})
	g.Consistently(func() int64 { return e.requests("DeleteVolume") }).
		WithTimeout(3 * resyncPeriod / 2).Should(Equal(int64(1)))

	e.patchVolumeSpec("restored", func(v *evsv1alpha1.EVSVolume) {
		v.Spec.DeletionPolicy = evsv1alpha1.DeletionPolicyRetain
	})
	e.waitVolumeGone("restored")
	g.Expect(e.volume(v.Status.VolumeID).Status).To(Equal("error_deleting"))
}

func TestVanishedDiskMovesToErrorAndIsNotRecreated(t *testing.T) {
	e := startEnv(t, StatusSyncBatched)
	g := NewWithT(t)
	e.availableSnapshot("db", diskA)
	e.create(e.evsVolume("restored", fromSnapshot("db")))
	v := e.waitForVolumePhase("restored", evsv1alpha1.VolumePhaseAvailable)

	// Deleted behind the operator's back.
	g.Expect(e.cloud.DeleteVolume(e.ctx(), v.Status.VolumeID)).To(Succeed())
	v = e.eventuallyVolume("restored", func(g Gomega, v *evsv1alpha1.EVSVolume) {
		g.Expect(v.Status.Phase).To(Equal(evsv1alpha1.VolumePhaseError))
		ready := volumeCondition(v, evsv1alpha1.ConditionReady)
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(ready.Reason).To(Equal(evsv1alpha1.ReasonVolumeNotFound))
	})
	g.Consistently(func() int64 { return e.requests("CreateVolume") }).
		WithTimeout(resyncPeriod).Should(Equal(int64(1)))
	g.Expect(e.cloudDisks(v)).To(BeEmpty())

	g.Expect(k8sClient.Delete(e.ctx(), v)).To(Succeed())
	e.waitVolumeGone("restored")
}

// errStatusPatch is the failure the interceptor injects into a status write.
var errStatusPatch = errors.New("injected: status patch failed")

// availableSnapshot creates an EVSSnapshot of a disk and waits until it is Available.
func (e *env) availableSnapshot(name, volumeID string) *evsv1alpha1.EVSSnapshot {
	e.t.Helper()
	e.create(e.snapshot(name, volumeID))
	return e.waitForPhase(name, evsv1alpha1.PhaseAvailable)
}

func fromSnapshot(name string) evsv1alpha1.VolumeSource {
	return evsv1alpha1.VolumeSource{SnapshotRef: &evsv1alpha1.SnapshotReference{Name: name}}
}

// evsVolume returns a new EVSVolume in the env's namespace.
func (e *env) evsVolume(name string, source evsv1alpha1.VolumeSource) *evsv1alpha1.EVSVolume {
	return &evsv1alpha1.EVSVolume{
		ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: name},
		Spec:       evsv1alpha1.EVSVolumeSpec{Source: source},
	}
}

// getVolume reads the object fresh from the API server.
func (e *env) getVolume(name string) *evsv1alpha1.EVSVolume {
	obj := &evsv1alpha1.EVSVolume{}
	if err := k8sClient.Get(e.ctx(), client.ObjectKey{Namespace: e.ns, Name: name}, obj); err != nil {
		return nil
	}
	return obj
}

// eventuallyVolume polls an EVSVolume until match passes.
func (e *env) eventuallyVolume(
	name string, match func(g Gomega, v *evsv1alpha1.EVSVolume),
) *evsv1alpha1.EVSVolume {
	e.t.Helper()
	var last *evsv1alpha1.EVSVolume
	NewWithT(e.t).Eventually(func(g Gomega) {
		last = e.getVolume(name)
		g.Expect(last).NotTo(BeNil())
		match(g, last)
	}).WithTimeout(waitTimeout).WithPolling(50 * time.Millisecond).Should(Succeed())
	return last
}

func (e *env) waitForVolumePhase(name string, phase evsv1alpha1.VolumePhase) *evsv1alpha1.EVSVolume {
	e.t.Helper()
	return e.eventuallyVolume(name, func(g Gomega, v *evsv1alpha1.EVSVolume) {
		g.Expect(v.Status.Phase).To(Equal(phase))
		g.Expect(v.Status.ObservedGeneration).To(Equal(v.Generation))
	})
}

func (e *env) waitVolumeGone(name string) {
	e.t.Helper()
	NewWithT(e.t).Eventually(func() *evsv1alpha1.EVSVolume { return e.getVolume(name) }).
		WithTimeout(waitTimeout).WithPolling(50 * time.Millisecond).Should(BeNil())
}

// patchVolumeSpec applies a change to the spec with a merge patch, as kubectl would.
func (e *env) patchVolumeSpec(name string, mutate func(*evsv1alpha1.EVSVolume)) {
	e.t.Helper()
	g := NewWithT(e.t)
	obj := e.getVolume(name)
	g.Expect(obj).NotTo(BeNil())
	patch := client.MergeFrom(obj.DeepCopy())
	mutate(obj)
	g.Expect(k8sClient.Patch(e.ctx(), obj, patch)).To(Succeed())
}

func (e *env) allDisks() []simulator.Volume {
	e.t.Helper()
	all, err := e.ctl.Volumes(e.ctx())
	NewWithT(e.t).Expect(err).NotTo(HaveOccurred())
	return all
}

// cloudDisks returns every disk in the simulator that carries the object's UID.
func (e *env) cloudDisks(obj *evsv1alpha1.EVSVolume) []simulator.Volume {
	e.t.Helper()
	var own []simulator.Volume
	for _, v := range e.allDisks() {
		if v.Metadata[CloudUIDMetadataKey] == string(obj.UID) {
			own = append(own, v)
		}
	}
	return own
}

func volumeCondition(v *evsv1alpha1.EVSVolume, kind string) *metav1.Condition {
	return meta.FindStatusCondition(v.Status.Conditions, kind)
}

func TestDeleteAfterALostCreateLeaksNoDisk(t *testing.T) {
	e := startEnv(t, StatusSyncBatched)
	g := NewWithT(t)
	e.availableSnapshot("db", diskA)
	// Every answer to CreateVolume is lost after the cloud made the disk: the operator never
	// learns the job, and the object is deleted before it does.
	g.Expect(e.ctl.InjectFault(e.ctx(), simulator.Fault{
		Operation: simulator.OperationCreateVolume, HTTPStatus: 500, Code: "EVS.5500", AfterCommit: true,
	})).To(Succeed())
	e.create(e.evsVolume("restored", fromSnapshot("db")))
	var v *evsv1alpha1.EVSVolume
	g.Eventually(func(g Gomega) {
		v = e.getVolume("restored")
		g.Expect(v).NotTo(BeNil())
		g.Expect(e.cloudDisks(v)).To(HaveLen(1))
		// The client gave up on at least one reconcile's create (four attempts).
		g.Expect(e.requests("CreateVolume")).To(BeNumerically(">=", 4))
	}).WithTimeout(waitTimeout).Should(Succeed())
	g.Expect(v.Status.JobID).To(BeEmpty())
	g.Expect(v.Status.VolumeID).To(BeEmpty())

	g.Expect(k8sClient.Delete(e.ctx(), v)).To(Succeed())
	// A create already under way when the delete came fails on the fault too; only then does the
	// cloud answer again, so nothing but the delete path can learn the disk.
	time.Sleep(time.Second)
	g.Expect(e.ctl.ClearFaults(e.ctx())).To(Succeed())
	e.waitVolumeGone("restored")
	g.Eventually(func() []simulator.Volume { return e.cloudDisks(v) }).WithTimeout(waitTimeout).Should(BeEmpty())
	g.Expect(e.allDisks()).To(HaveLen(3)) // the seed disks only
}
