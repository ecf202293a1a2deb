package controllers

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	evsv1alpha1 "github.com/evs-operator/evs-operator/api/v1alpha1"
	"github.com/evs-operator/evs-operator/internal/simulator"
)

const (
	diskA   = simulator.SeedVolumeAvailable // 40 GiB, available
	diskUse = simulator.SeedVolumeInUse     // 100 GiB, in-use
)

func TestSnapshotIsCreatedAndBecomesAvailable(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode StatusSync) {
		e := startEnv(t, mode)
		g := NewWithT(t)
		obj := e.snapshot("db", diskA)
		obj.Spec.Description = "nightly"
		obj.Spec.Metadata = map[string]string{"team": "db"}
		e.create(obj)

		e.waitForPhase("db", evsv1alpha1.PhaseCreating)
		s := e.waitForPhase("db", evsv1alpha1.PhaseAvailable)
		g.Expect(s.Finalizers).To(ContainElement(Finalizer))
		g.Expect(s.Status.CloudStatus).To(Equal("available"))
		g.Expect(s.Status.SnapshotID).NotTo(BeEmpty())
		g.Expect(s.Status.SourceVolumeID).To(Equal(diskA))
		g.Expect(s.Status.SizeGiB).To(Equal(int32(40)))
		g.Expect(s.Status.Progress).To(Equal("100%"))
		g.Expect(s.Status.CreatedAt).NotTo(BeNil())
		g.Expect(s.Status.BackupOwned).To(BeFalse())
		g.Expect(s.Status.AllowedOperations).To(Equal([]evsv1alpha1.Operation{
			evsv1alpha1.OperationCreateVolume, evsv1alpha1.OperationDelete, evsv1alpha1.OperationRollback,
		}))
		ready := condition(s, evsv1alpha1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(ready.ObservedGeneration).To(Equal(s.Generation))
		synced := condition(s, evsv1alpha1.ConditionSynced)
		g.Expect(synced.Status).To(Equal(metav1.ConditionTrue))

		own := e.cloudSnapshots(s)
		g.Expect(own).To(HaveLen(1))
		g.Expect(own[0].ID).To(Equal(s.Status.SnapshotID))
		g.Expect(own[0].Name).To(Equal(s.Spec.SnapshotName))
		g.Expect(own[0].Description).To(Equal("nightly"))
		g.Expect(own[0].Metadata).To(HaveKeyWithValue("team", "db"))
		g.Expect(e.requests("CreateSnapshot")).To(Equal(int64(1)))
	})
}

func TestEveryPhaseOfTheStateTableIsReflected(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode StatusSync) {
		e := startEnv(t, mode)
		g := NewWithT(t)
		e.create(e.snapshot("db", diskA))
		s := e.waitForPhase("db", evsv1alpha1.PhaseAvailable)

		for _, rule := range evsv1alpha1.SnapshotStateTable {
			_, err := e.ctl.SetSnapshotStatus(e.ctx(), s.Status.SnapshotID, rule.CloudStatus)
			g.Expect(err).NotTo(HaveOccurred())
			got := e.waitForPhase("db", rule.Phase)
			g.Expect(got.Status.CloudStatus).To(Equal(rule.CloudStatus))
			g.Expect(got.Status.AllowedOperations).To(Equal(evsv1alpha1.AllowedOperations(rule.Phase, false)))
			ready := condition(got, evsv1alpha1.ConditionReady)
			g.Expect(ready.Status == metav1.ConditionTrue).To(Equal(rule.Phase == evsv1alpha1.PhaseAvailable))
			if rule.Phase != evsv1alpha1.PhaseAvailable {
				g.Expect(ready.Reason).To(Equal(string(rule.Phase)))
			}
		}
		// Nothing the operator saw made it create a second snapshot or mutate the first.
		g.Expect(e.requests("CreateSnapshot")).To(Equal(int64(1)))
		g.Expect(e.requests("DeleteSnapshot")).To(BeZero())
	})
}

func TestFailedCreationEndsInError(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode StatusSync) {
		e := startEnv(t, mode)
		g := NewWithT(t)
		g.Expect(e.ctl.SetFailures(e.ctx(), simulator.Failures{SnapshotCreate: "error"})).To(Succeed())
		e.create(e.snapshot("db", diskA))

		s := e.waitForPhase("db", evsv1alpha1.PhaseError)
		g.Expect(s.Status.CloudStatus).To(Equal("error"))
		g.Expect(s.Status.AllowedOperations).To(Equal([]evsv1alpha1.Operation{evsv1alpha1.OperationDelete}))
		g.Expect(condition(s, evsv1alpha1.ConditionReady).Reason).To(Equal("Error"))

		// Error allows Delete: deleting the object deletes the failed snapshot.
		g.Expect(k8sClient.Delete(e.ctx(), s)).To(Succeed())
		e.waitGone("db")
		_, exists := e.cloudSnapshot(s.Status.SnapshotID)
		g.Expect(exists).To(BeFalse())
	})
}

func TestFailedDeletionEndsInErrorDeletingAndRetainIsTheWayOut(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode StatusSync) {
		e := startEnv(t, mode)
		g := NewWithT(t)
		e.create(e.snapshot("db", diskA))
		s := e.waitForPhase("db", evsv1alpha1.PhaseAvailable)
		g.Expect(e.ctl.SetFailures(e.ctx(), simulator.Failures{SnapshotDelete: "error_deleting"})).To(Succeed())

		g.Expect(k8sClient.Delete(e.ctx(), s)).To(Succeed())
		s = e.eventually("db", func(g Gomega, s *evsv1alpha1.EVSSnapshot) {
			g.Expect(s.Status.Phase).To(Equal(evsv1alpha1.PhaseErrorDeleting))
			synced := condition(s, evsv1alpha1.ConditionSynced)
			g.Expect(synced.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(synced.Reason).To(Equal(evsv1alpha1.ReasonDeletionFailed))
			g.Expect(synced.Message).To(ContainSubstring("deletionPolicy: Retain"))
		})
		g.Expect(s.Status.AllowedOperations).To(BeEmpty())
		deletes := e.requests("DeleteSnapshot")
		g.Expect(deletes).To(Equal(int64(1)))
		// No retry loop against the cloud.
		g.Consistently(func() int64 { return e.requests("DeleteSnapshot") }).
			WithTimeout(3 * resyncPeriod / 2).Should(Equal(deletes))

		e.patchSpec("db", func(s *evsv1alpha1.EVSSnapshot) { s.Spec.DeletionPolicy = evsv1alpha1.DeletionPolicyRetain })
		e.waitGone("db")
		left, exists := e.cloudSnapshot(s.Status.SnapshotID)
		g.Expect(exists).To(BeTrue())
		g.Expect(left.Status).To(Equal("error_deleting"))
	})
}

func TestRollbackRunsOnceAndSucceeds(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode StatusSync) {
		e := startEnv(t, mode)
		g := NewWithT(t)
		e.create(e.snapshot("db", diskA))
		e.waitForPhase("db", evsv1alpha1.PhaseAvailable)

		e.patchSpec("db", func(s *evsv1alpha1.EVSSnapshot) {
			s.Spec.Rollback = &evsv1alpha1.RollbackRequest{RequestID: "r1"}
		})
		e.eventually("db", func(g Gomega, s *evsv1alpha1.EVSSnapshot) {
			g.Expect(s.Status.LastRollback).NotTo(BeNil())
			g.Expect(s.Status.LastRollback.State).To(Equal(evsv1alpha1.RollbackRollbacking))
			g.Expect(s.Status.Phase).To(Equal(evsv1alpha1.PhaseRollbacking))
		})
		s := e.eventually("db", func(g Gomega, s *evsv1alpha1.EVSSnapshot) {
			g.Expect(s.Status.LastRollback.State).To(Equal(evsv1alpha1.RollbackSucceeded))
			g.Expect(s.Status.Phase).To(Equal(evsv1alpha1.PhaseAvailable))
		})
		g.Expect(s.Status.LastRollback.RequestID).To(Equal("r1"))
		g.Expect(s.Status.LastRollback.VolumeID).To(Equal(diskA))
		g.Expect(s.Status.LastRollback.StartedAt).NotTo(BeNil())
		g.Expect(s.Status.LastRollback.CompletedAt).NotTo(BeNil())
		g.Expect(e.volume(diskA).Status).To(Equal("available"))
		g.Expect(e.requests("RollbackSnapshot")).To(Equal(int64(1)))
		inCloud, _ := e.cloudSnapshot(s.Status.SnapshotID)
		g.Expect(inCloud.Rollbacks).To(Equal(1))

		// The same request ID never runs again; a new one does.
		g.Consistently(func() int64 { return e.requests("RollbackSnapshot") }).
			WithTimeout(resyncPeriod).Should(Equal(int64(1)))
		e.patchSpec("db", func(s *evsv1alpha1.EVSSnapshot) { s.Spec.Rollback.RequestID = "r2" })
		e.eventually("db", func(g Gomega, s *evsv1alpha1.EVSSnapshot) {
			g.Expect(s.Status.LastRollback.RequestID).To(Equal("r2"))
			g.Expect(s.Status.LastRollback.State).To(Equal(evsv1alpha1.RollbackSucceeded))
		})
		g.Expect(e.requests("RollbackSnapshot")).To(Equal(int64(2)))
	})
}

func TestRollbackWaitsForTheDisk(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode StatusSync) {
		e := startEnv(t, mode)
		g := NewWithT(t)
		e.create(e.snapshot("db", diskA))
		e.waitForPhase("db", evsv1alpha1.PhaseAvailable)
		_, err := e.ctl.SetVolumeStatus(e.ctx(), diskA, "in-use")
		g.Expect(err).NotTo(HaveOccurred())

		e.patchSpec("db", func(s *evsv1alpha1.EVSSnapshot) {
			s.Spec.Rollback = &evsv1alpha1.RollbackRequest{RequestID: "r1"}
		})
		e.eventually("db", func(g Gomega, s *evsv1alpha1.EVSSnapshot) {
			g.Expect(s.Status.LastRollback).NotTo(BeNil())
			g.Expect(s.Status.LastRollback.State).To(Equal(evsv1alpha1.RollbackWaiting))
			g.Expect(s.Status.LastRollback.Message).To(ContainSubstring("in-use"))
		})
		g.Expect(e.requests("RollbackSnapshot")).To(BeZero())

		_, err = e.ctl.SetVolumeStatus(e.ctx(), diskA, "available")
		g.Expect(err).NotTo(HaveOccurred())
		e.eventually("db", func(g Gomega, s *evsv1alpha1.EVSSnapshot) {
			g.Expect(s.Status.LastRollback.State).To(Equal(evsv1alpha1.RollbackSucceeded))
		})
		g.Expect(e.requests("RollbackSnapshot")).To(Equal(int64(1)))
	})
}

func TestRollbackFromErrorRollbacking(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode StatusSync) {
		e := startEnv(t, mode)
		g := NewWithT(t)
		e.create(e.snapshot("db", diskA))
		e.waitForPhase("db", evsv1alpha1.PhaseAvailable)
		_, err := e.ctl.SetVolumeStatus(e.ctx(), diskA, "error_rollbacking")
		g.Expect(err).NotTo(HaveOccurred())

		e.patchSpec("db", func(s *evsv1alpha1.EVSSnapshot) {
			s.Spec.Rollback = &evsv1alpha1.RollbackRequest{RequestID: "retry"}
		})
		e.eventually("db", func(g Gomega, s *evsv1alpha1.EVSSnapshot) {
			g.Expect(s.Status.LastRollback).NotTo(BeNil())
			g.Expect(s.Status.LastRollback.State).To(Equal(evsv1alpha1.RollbackSucceeded))
		})
		g.Expect(e.volume(diskA).Status).To(Equal("available"))
	})
}

func TestFailedRollback(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode StatusSync) {
		e := startEnv(t, mode)
		g := NewWithT(t)
		e.create(e.snapshot("db", diskA))
		e.waitForPhase("db", evsv1alpha1.PhaseAvailable)
		g.Expect(e.ctl.SetFailures(e.ctx(), simulator.Failures{Rollback: "error_rollbacking"})).To(Succeed())

		e.patchSpec("db", func(s *evsv1alpha1.EVSSnapshot) {
			s.Spec.Rollback = &evsv1alpha1.RollbackRequest{RequestID: "r1"}
		})
		s := e.eventually("db", func(g Gomega, s *evsv1alpha1.EVSSnapshot) {
			g.Expect(s.Status.LastRollback).NotTo(BeNil())
			g.Expect(s.Status.LastRollback.State).To(Equal(evsv1alpha1.RollbackFailed))
		})
		g.Expect(s.Status.LastRollback.Message).To(ContainSubstring("error_rollbacking"))
		g.Expect(s.Status.LastRollback.CompletedAt).NotTo(BeNil())
		g.Expect(e.volume(diskA).Status).To(Equal("error_rollbacking"))
	})
}

func TestRollbackOntoAnotherDiskFails(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode StatusSync) {
		e := startEnv(t, mode)
		g := NewWithT(t)
		e.create(e.snapshot("db", diskA))
		e.waitForPhase("db", evsv1alpha1.PhaseAvailable)

		e.patchSpec("db", func(s *evsv1alpha1.EVSSnapshot) {
			s.Spec.Rollback = &evsv1alpha1.RollbackRequest{RequestID: "r1", VolumeID: simulator.SeedVolumeSAS}
		})
		s := e.eventually("db", func(g Gomega, s *evsv1alpha1.EVSSnapshot) {
			g.Expect(s.Status.LastRollback).NotTo(BeNil())
			g.Expect(s.Status.LastRollback.State).To(Equal(evsv1alpha1.RollbackFailed))
		})
		g.Expect(s.Status.LastRollback.Message).To(ContainSubstring("only onto the snapshot's source disk"))
		g.Expect(e.requests("RollbackSnapshot")).To(BeZero())
	})
}

func TestImportOfAPlainSnapshot(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode StatusSync) {
		e := startEnv(t, mode)
		g := NewWithT(t)
		existing, err := e.ctl.AddSnapshot(e.ctx(), simulator.Snapshot{
			VolumeID: simulator.SeedVolumeSAS, Name: "console-made", Description: "made by hand",
		})
		g.Expect(err).NotTo(HaveOccurred())

		obj := &evsv1alpha1.EVSSnapshot{
			ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: "imported"},
			Spec: evsv1alpha1.EVSSnapshotSpec{
				Source: evsv1alpha1.SnapshotSource{SnapshotID: existing.ID},
			},
		}
		e.create(obj)
		s := e.waitForPhase("imported", evsv1alpha1.PhaseAvailable)
		g.Expect(s.Status.SnapshotID).To(Equal(existing.ID))
		g.Expect(s.Status.SourceVolumeID).To(Equal(simulator.SeedVolumeSAS))
		g.Expect(s.Status.SizeGiB).To(Equal(int32(10)))
		g.Expect(s.EffectiveDeletionPolicy()).To(Equal(evsv1alpha1.DeletionPolicyRetain))
		// Adoption keeps the cloud's name and description.
		left, _ := e.cloudSnapshot(existing.ID)
		g.Expect(left.Name).To(Equal("console-made"))
		g.Expect(e.requests("CreateSnapshot")).To(BeZero())
		g.Expect(e.requests("UpdateSnapshot")).To(BeZero())

		// Retain by default: deleting the object leaves the cloud snapshot.
		g.Expect(k8sClient.Delete(e.ctx(), s)).To(Succeed())
		e.waitGone("imported")
		_, exists := e.cloudSnapshot(existing.ID)
		g.Expect(exists).To(BeTrue())
		g.Expect(e.requests("DeleteSnapshot")).To(BeZero())
	})
}

func TestImportOfABackupOwnedSnapshot(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode StatusSync) {
		e := startEnv(t, mode)
		g := NewWithT(t)
		// The backup service holds its snapshot in backing-up for as long as the backup runs.
		g.Expect(e.ctl.SetTimings(e.ctx(), simulator.Timings{SnapshotCreate: time.Hour})).To(Succeed())
		backup, err := e.ctl.StartBackup(e.ctx(), diskA)
		g.Expect(err).NotTo(HaveOccurred())

		obj := &evsv1alpha1.EVSSnapshot{
			ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: "backup"},
			Spec: evsv1alpha1.EVSSnapshotSpec{
				Source:         evsv1alpha1.SnapshotSource{SnapshotID: backup.ID},
				DeletionPolicy: evsv1alpha1.DeletionPolicyDelete,
				Description:    "try to change it",
			},
		}
		e.create(obj)
		s := e.eventually("backup", func(g Gomega, s *evsv1alpha1.EVSSnapshot) {
			g.Expect(s.Status.Phase).To(Equal(evsv1alpha1.PhaseBackingUp))
			g.Expect(s.Status.BackupOwned).To(BeTrue())
		})
		g.Expect(s.Status.AllowedOperations).To(BeEmpty())

		e.patchSpec("backup", func(s *evsv1alpha1.EVSSnapshot) {
			s.Spec.Rollback = &evsv1alpha1.RollbackRequest{RequestID: "r1"}
		})
		e.eventually("backup", func(g Gomega, s *evsv1alpha1.EVSSnapshot) {
			g.Expect(s.Status.LastRollback).NotTo(BeNil())
			g.Expect(s.Status.LastRollback.State).To(Equal(evsv1alpha1.RollbackFailed))
		})

		// Even with deletionPolicy Delete, a backup-owned snapshot is never deleted.
		g.Expect(k8sClient.Delete(e.ctx(), s)).To(Succeed())
		e.waitGone("backup")
		_, exists := e.cloudSnapshot(backup.ID)
		g.Expect(exists).To(BeTrue())
		for _, op := range []string{"UpdateSnapshot", "DeleteSnapshot", "RollbackSnapshot", "CreateSnapshot"} {
			g.Expect(e.requests(op)).To(BeZero(), op)
		}
	})
}

func TestObserveOnlyNeverChangesTheCloud(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode StatusSync) {
		e := startEnv(t, mode)
		g := NewWithT(t)
		existing, err := e.ctl.AddSnapshot(e.ctx(), simulator.Snapshot{VolumeID: diskA, Name: "watched"})
		g.Expect(err).NotTo(HaveOccurred())

		e.create(&evsv1alpha1.EVSSnapshot{
			ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: "watched"},
			Spec: evsv1alpha1.EVSSnapshotSpec{
				Source:           evsv1alpha1.SnapshotSource{SnapshotID: existing.ID},
				SnapshotName:     "renamed",
				DeletionPolicy:   evsv1alpha1.DeletionPolicyDelete,
				ManagementPolicy: evsv1alpha1.ManagementPolicyObserveOnly,
			},
		})
		s := e.waitForPhase("watched", evsv1alpha1.PhaseAvailable)
		e.patchSpec("watched", func(s *evsv1alpha1.EVSSnapshot) {
			s.Spec.Rollback = &evsv1alpha1.RollbackRequest{RequestID: "r1"}
		})
		e.eventually("watched", func(g Gomega, s *evsv1alpha1.EVSSnapshot) {
			g.Expect(s.Status.LastRollback).NotTo(BeNil())
			g.Expect(s.Status.LastRollback.State).To(Equal(evsv1alpha1.RollbackFailed))
		})
		g.Expect(k8sClient.Delete(e.ctx(), s)).To(Succeed())
		e.waitGone("watched")

		left, exists := e.cloudSnapshot(existing.ID)
		g.Expect(exists).To(BeTrue())
		g.Expect(left.Name).To(Equal("watched"))
		for _, op := range []string{"UpdateSnapshot", "DeleteSnapshot", "RollbackSnapshot", "CreateSnapshot"} {
			g.Expect(e.requests(op)).To(BeZero(), op)
		}
	})
}

func TestVanishedSnapshotMovesToErrorAndIsNotRecreated(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode StatusSync) {
		e := startEnv(t, mode)
		g := NewWithT(t)
		e.create(e.snapshot("db", diskA))
		s := e.waitForPhase("db", evsv1alpha1.PhaseAvailable)

		g.Expect(e.ctl.VanishSnapshot(e.ctx(), s.Status.SnapshotID)).To(Succeed())
		s = e.eventually("db", func(g Gomega, s *evsv1alpha1.EVSSnapshot) {
			g.Expect(s.Status.Phase).To(Equal(evsv1alpha1.PhaseError))
			ready := condition(s, evsv1alpha1.ConditionReady)
			g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ready.Reason).To(Equal(evsv1alpha1.ReasonSnapshotNotFound))
		})
		g.Consistently(func() int64 { return e.requests("CreateSnapshot") }).
			WithTimeout(resyncPeriod).Should(Equal(int64(1)))
		g.Expect(e.cloudSnapshots(s)).To(BeEmpty())

		// Deleting it now only releases the object.
		g.Expect(k8sClient.Delete(e.ctx(), s)).To(Succeed())
		e.waitGone("db")
	})
}

func TestDeleteRemovesTheCloudSnapshot(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode StatusSync) {
		e := startEnv(t, mode)
		g := NewWithT(t)
		e.create(e.snapshot("db", diskA))
		s := e.waitForPhase("db", evsv1alpha1.PhaseAvailable)
		g.Expect(k8sClient.Delete(e.ctx(), s)).To(Succeed())
		e.waitForPhase("db", evsv1alpha1.PhaseDeleting)
		e.waitGone("db")
		_, exists := e.cloudSnapshot(s.Status.SnapshotID)
		g.Expect(exists).To(BeFalse())
	})
}

func TestDeleteWhileCreatingWaitsForTheCloud(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode StatusSync) {
		e := startEnv(t, mode)
		g := NewWithT(t)
		e.create(e.snapshot("db", diskA))
		s := e.waitForPhase("db", evsv1alpha1.PhaseCreating)
		g.Expect(k8sClient.Delete(e.ctx(), s)).To(Succeed())
		e.waitGone("db")
		g.Expect(e.cloudSnapshots(s)).To(BeEmpty())
	})
}

func TestRenameInAvailableIsApplied(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode StatusSync) {
		e := startEnv(t, mode)
		g := NewWithT(t)
		e.create(e.snapshot("db", diskA))
		s := e.waitForPhase("db", evsv1alpha1.PhaseAvailable)
		e.patchSpec("db", func(s *evsv1alpha1.EVSSnapshot) {
			s.Spec.SnapshotName = "db-renamed"
			s.Spec.Description = "described later"
		})
		g.Eventually(func(g Gomega) {
			snap, ok := e.cloudSnapshot(s.Status.SnapshotID)
			g.Expect(ok).To(BeTrue())
			g.Expect(snap.Name).To(Equal("db-renamed"))
			g.Expect(snap.Description).To(Equal("described later"))
		}).WithTimeout(waitTimeout).Should(Succeed())
	})
}

func TestLostCreateResponseLeavesOneSnapshot(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode StatusSync) {
		e := startEnv(t, mode)
		g := NewWithT(t)
		g.Expect(e.ctl.InjectFault(e.ctx(), simulator.Fault{
			Operation: "CreateSnapshot", HTTPStatus: 500, Code: "EVS.5500", Count: 1, AfterCommit: true,
		})).To(Succeed())
		e.create(e.snapshot("db", diskA))

		s := e.waitForPhase("db", evsv1alpha1.PhaseAvailable)
		own := e.cloudSnapshots(s)
		g.Expect(own).To(HaveLen(1))
		g.Expect(own[0].ID).To(Equal(s.Status.SnapshotID))
		g.Expect(e.requests("CreateSnapshot")).To(Equal(int64(1)))
	})
}

func TestFailedStatusPatchLeavesOneSnapshot(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode StatusSync) {
		var failed atomic.Bool
		e := startEnv(t, mode, withInterceptor(interceptor.Funcs{
			SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object,
				patch client.Patch, opts ...client.SubResourcePatchOption) error {
				if sub == "status" && failed.CompareAndSwap(false, true) {
					return errors.New("injected: status patch failed")
				}
				return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
			},
		}))
		g := NewWithT(t)
		e.create(e.snapshot("db", diskA))

		s := e.waitForPhase("db", evsv1alpha1.PhaseAvailable)
		g.Expect(failed.Load()).To(BeTrue())
		own := e.cloudSnapshots(s)
		g.Expect(own).To(HaveLen(1))
		g.Expect(own[0].ID).To(Equal(s.Status.SnapshotID))
		g.Expect(e.requests("CreateSnapshot")).To(Equal(int64(1)))
	})
}

func TestLostRollbackResponseIsNotSentAgain(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode StatusSync) {
		e := startEnv(t, mode)
		g := NewWithT(t)
		e.create(e.snapshot("db", diskA))
		s := e.waitForPhase("db", evsv1alpha1.PhaseAvailable)
		// The rollback is applied, its response lost, and it has ended before the operator
		// looks again: only the snapshot's update time tells that it ran.
		g.Expect(e.ctl.SetTimings(e.ctx(), simulator.Timings{Rollback: time.Millisecond})).To(Succeed())
		g.Expect(e.ctl.InjectFault(e.ctx(), simulator.Fault{
			Operation: "RollbackSnapshot", HTTPStatus: 500, Code: "EVS.5500", Count: 1, AfterCommit: true,
		})).To(Succeed())

		e.patchSpec("db", func(s *evsv1alpha1.EVSSnapshot) {
			s.Spec.Rollback = &evsv1alpha1.RollbackRequest{RequestID: "r1"}
		})
		e.eventually("db", func(g Gomega, s *evsv1alpha1.EVSSnapshot) {
			g.Expect(s.Status.LastRollback).NotTo(BeNil())
			g.Expect(s.Status.LastRollback.State).To(Equal(evsv1alpha1.RollbackSucceeded))
		})
		inCloud, _ := e.cloudSnapshot(s.Status.SnapshotID)
		g.Expect(inCloud.Rollbacks).To(Equal(1))
	})
}
