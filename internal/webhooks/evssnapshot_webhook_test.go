package webhooks

import (
	"context"
	"encoding/json"
	"testing"

	. "github.com/onsi/gomega"
	admissionv1 "k8s.io/api/admission/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	evsv1alpha1 "github.com/evs-operator/evs-operator/api/v1alpha1"
)

const (
	sourceDisk = "11111111-1111-4111-8111-111111111111"
	otherDisk  = "33333333-3333-4333-8333-333333333333"
	cloudSnap  = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
)

// snapshotIn returns a Managed snapshot of sourceDisk with deletionPolicy Delete in the given
// phase, as the operator would have left it.
func snapshotIn(phase evsv1alpha1.SnapshotPhase, backupOwned bool) *evsv1alpha1.EVSSnapshot {
	s := &evsv1alpha1.EVSSnapshot{
		ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "db-nightly"},
		Spec: evsv1alpha1.EVSSnapshotSpec{
			Source:           evsv1alpha1.SnapshotSource{VolumeID: sourceDisk},
			SnapshotName:     "prod-db-nightly",
			Description:      "nightly",
			DeletionPolicy:   evsv1alpha1.DeletionPolicyDelete,
			ManagementPolicy: evsv1alpha1.ManagementPolicyManaged,
		},
		Status: evsv1alpha1.EVSSnapshotStatus{Phase: phase, BackupOwned: backupOwned},
	}
	if phase != "" {
		s.Status.SourceVolumeID = sourceDisk
		s.Status.SnapshotID = cloudSnap
	}
	return s
}

// snapshotExpectations is what a user may do to a snapshot in one phase, written out by hand from
// the contract (sections 2 and 5) rather than computed from the state table.
type snapshotExpectations struct {
	rename, describe, rollback, rollbackObserveOnly, otherDisk bool
	deletionPolicy, managementPolicy                           bool
	// Deletes, by deletionPolicy and managementPolicy.
	deleteManaged, deleteObserveOnly, retainManaged, retainObserveOnly bool
}

// y and n keep the matrix below readable.
const y, n = true, false

// snapshotMatrix holds one row per phase of the state table and one for no phase yet.
var snapshotMatrix = map[evsv1alpha1.SnapshotPhase]snapshotExpectations{
	// Columns: rename, describe, rollback, rollback while ObserveOnly, rollback onto another
	// disk, deletionPolicy, managementPolicy; then deletes: Delete+Managed, Delete+ObserveOnly,
	// Retain+Managed, Retain+ObserveOnly.
	"":                             {n, n, n, n, n, y, y, y, y, y, y},
	evsv1alpha1.PhaseCreating:      {n, n, n, n, n, y, y, n, y, y, y},
	evsv1alpha1.PhaseAvailable:     {y, y, y, n, n, y, y, y, y, y, y},
	evsv1alpha1.PhaseDeleting:      {n, n, n, n, n, y, y, n, y, y, y},
	evsv1alpha1.PhaseError:         {n, n, n, n, n, y, y, y, y, y, y},
	evsv1alpha1.PhaseErrorDeleting: {n, n, n, n, n, y, y, n, y, y, y},
	evsv1alpha1.PhaseRollbacking:   {n, n, n, n, n, y, y, n, y, y, y},
	evsv1alpha1.PhaseBackingUp:     {n, n, n, n, n, y, y, n, y, y, y},
}

// backupOwnedExpectations holds for a backup-owned snapshot in every phase: nothing reaches the
// cloud, so only the policies may change and every delete just lets the object go.
var backupOwnedExpectations = snapshotExpectations{n, n, n, n, n, y, y, y, y, y, y}

// snapshotRequest is one kind of request against an existing snapshot; it returns the errors
// that the webhook's rules give for it.
type snapshotRequest struct {
	name    string
	allowed func(snapshotExpectations) bool
	run     func(old *evsv1alpha1.EVSSnapshot) field.ErrorList
}

func updated(old *evsv1alpha1.EVSSnapshot, change func(*evsv1alpha1.EVSSnapshot)) field.ErrorList {
	s := old.DeepCopy()
	change(s)
	return validateSnapshot(old, s)
}

func deleted(
	old *evsv1alpha1.EVSSnapshot, dp evsv1alpha1.DeletionPolicy, mp evsv1alpha1.ManagementPolicy,
) field.ErrorList {
	s := old.DeepCopy()
	s.Spec.DeletionPolicy, s.Spec.ManagementPolicy = dp, mp
	return validateSnapshotDelete(s, nil)
}

var snapshotRequests = []snapshotRequest{
	{"rename", func(e snapshotExpectations) bool { return e.rename },
		func(old *evsv1alpha1.EVSSnapshot) field.ErrorList {
			return updated(old, func(s *evsv1alpha1.EVSSnapshot) { s.Spec.SnapshotName = "db-renamed" })
		}},
	{"new description", func(e snapshotExpectations) bool { return e.describe },
		func(old *evsv1alpha1.EVSSnapshot) field.ErrorList {
			return updated(old, func(s *evsv1alpha1.EVSSnapshot) { s.Spec.Description = "weekly" })
		}},
	{"new rollback request", func(e snapshotExpectations) bool { return e.rollback },
		func(old *evsv1alpha1.EVSSnapshot) field.ErrorList {
			return updated(old, func(s *evsv1alpha1.EVSSnapshot) {
				s.Spec.Rollback = &evsv1alpha1.RollbackRequest{RequestID: "r1", VolumeID: sourceDisk}
			})
		}},
	{"new rollback request while ObserveOnly",
		func(e snapshotExpectations) bool { return e.rollbackObserveOnly },
		func(old *evsv1alpha1.EVSSnapshot) field.ErrorList {
			old = old.DeepCopy()
			old.Spec.ManagementPolicy = evsv1alpha1.ManagementPolicyObserveOnly
			return updated(old, func(s *evsv1alpha1.EVSSnapshot) {
				s.Spec.Rollback = &evsv1alpha1.RollbackRequest{RequestID: "r1"}
			})
		}},
	{"rollback onto another disk", func(e snapshotExpectations) bool { return e.otherDisk },
		func(old *evsv1alpha1.EVSSnapshot) field.ErrorList {
			return updated(old, func(s *evsv1alpha1.EVSSnapshot) {
				s.Spec.Rollback = &evsv1alpha1.RollbackRequest{RequestID: "r1", VolumeID: otherDisk}
			})
		}},
	{"deletionPolicy Retain", func(e snapshotExpectations) bool { return e.deletionPolicy },
		func(old *evsv1alpha1.EVSSnapshot) field.ErrorList {
			return updated(old, func(s *evsv1alpha1.EVSSnapshot) {
				s.Spec.DeletionPolicy = evsv1alpha1.DeletionPolicyRetain
			})
		}},
	{"managementPolicy ObserveOnly", func(e snapshotExpectations) bool { return e.managementPolicy },
		func(old *evsv1alpha1.EVSSnapshot) field.ErrorList {
			return updated(old, func(s *evsv1alpha1.EVSSnapshot) {
				s.Spec.ManagementPolicy = evsv1alpha1.ManagementPolicyObserveOnly
			})
		}},
	{"delete with Delete, Managed", func(e snapshotExpectations) bool { return e.deleteManaged },
		func(old *evsv1alpha1.EVSSnapshot) field.ErrorList {
			return deleted(old, evsv1alpha1.DeletionPolicyDelete, evsv1alpha1.ManagementPolicyManaged)
		}},
	{"delete with Delete, ObserveOnly", func(e snapshotExpectations) bool { return e.deleteObserveOnly },
		func(old *evsv1alpha1.EVSSnapshot) field.ErrorList {
			return deleted(old, evsv1alpha1.DeletionPolicyDelete, evsv1alpha1.ManagementPolicyObserveOnly)
		}},
	{"delete with Retain, Managed", func(e snapshotExpectations) bool { return e.retainManaged },
		func(old *evsv1alpha1.EVSSnapshot) field.ErrorList {
			return deleted(old, evsv1alpha1.DeletionPolicyRetain, evsv1alpha1.ManagementPolicyManaged)
		}},
	{"delete with Retain, ObserveOnly", func(e snapshotExpectations) bool { return e.retainObserveOnly },
		func(old *evsv1alpha1.EVSSnapshot) field.ErrorList {
			return deleted(old, evsv1alpha1.DeletionPolicyRetain, evsv1alpha1.ManagementPolicyObserveOnly)
		}},
}

func TestValidateSnapshotEveryPhaseAndRequest(t *testing.T) {
	g := NewWithT(t)
	// Every phase of the table has a row here, so a new phase cannot slip past these tests.
	for _, rule := range evsv1alpha1.SnapshotStateTable {
		g.Expect(snapshotMatrix).To(HaveKey(rule.Phase), "no expectations for phase %s", rule.Phase)
	}
	g.Expect(snapshotMatrix).To(HaveLen(len(evsv1alpha1.SnapshotStateTable) + 1))

	for phase, want := range snapshotMatrix {
		for _, backupOwned := range []bool{false, true} {
			want := want
			if backupOwned {
				want = backupOwnedExpectations
			}
			for _, req := range snapshotRequests {
				name := string(phase)
				if name == "" {
					name = "NoPhase"
				}
				if backupOwned {
					name += "/backup-owned"
				}
				t.Run(name+"/"+req.name, func(t *testing.T) {
					g := NewWithT(t)
					errs := req.run(snapshotIn(phase, backupOwned))
					if req.allowed(want) {
						g.Expect(errs).To(BeEmpty())
						return
					}
					g.Expect(errs).NotTo(BeEmpty())
					subject := "EVSSnapshot prod/db-nightly is " + string(phase) + ": "
					if phase == "" {
						subject = "EVSSnapshot prod/db-nightly has no phase yet: "
					}
					for _, e := range errs {
						g.Expect(e.Detail).To(HavePrefix(subject))
					}
				})
			}
		}
	}
}

func TestValidateSnapshotMessages(t *testing.T) {
	cases := []struct {
		name    string
		errs    field.ErrorList
		forbid  bool
		message string
	}{
		{
			name: "rollback while Creating",
			errs: updated(snapshotIn(evsv1alpha1.PhaseCreating, false), func(s *evsv1alpha1.EVSSnapshot) {
				s.Spec.Rollback = &evsv1alpha1.RollbackRequest{RequestID: "r1"}
			}),
			forbid: true,
			message: "EVSSnapshot prod/db-nightly is Creating: " +
				"rollback is not allowed in this phase (allowed: none)",
		},
		{
			name:   "delete while Creating names the way out",
			errs:   deleted(snapshotIn(evsv1alpha1.PhaseCreating, false), "Delete", "Managed"),
			forbid: true,
			message: "EVSSnapshot prod/db-nightly is Creating: " +
				"delete is not allowed in this phase (allowed: none); " +
				"to remove the object and leave the cloud snapshot as it is, " +
				"set deletionPolicy: Retain, then delete",
		},
		{
			name: "rename of a backup-owned snapshot",
			errs: updated(snapshotIn(evsv1alpha1.PhaseAvailable, true), func(s *evsv1alpha1.EVSSnapshot) {
				s.Spec.SnapshotName = "x"
			}),
			forbid: true,
			message: "EVSSnapshot prod/db-nightly is Available: changing spec.snapshotName is not allowed " +
				"on a snapshot that the backup service owns (allowed: none)",
		},
		{
			name: "description while in Error lists what is allowed",
			errs: updated(snapshotIn(evsv1alpha1.PhaseError, false), func(s *evsv1alpha1.EVSSnapshot) {
				s.Spec.Description = "x"
			}),
			forbid: true,
			message: "EVSSnapshot prod/db-nightly is Error: " +
				"changing spec.description is not allowed in this phase (allowed: Delete); " +
				"spec.description can change only while the snapshot is Available",
		},
		{
			name: "rollback while ObserveOnly",
			errs: updated(snapshotIn(evsv1alpha1.PhaseAvailable, false), func(s *evsv1alpha1.EVSSnapshot) {
				s.Spec.ManagementPolicy = evsv1alpha1.ManagementPolicyObserveOnly
				s.Spec.Rollback = &evsv1alpha1.RollbackRequest{RequestID: "r1"}
			}),
			forbid: true,
			message: "EVSSnapshot prod/db-nightly is Available: " +
				"rollback is not allowed while managementPolicy is ObserveOnly; " +
				"set managementPolicy: Managed to ask for one",
		},
		{
			name: "rollback onto another disk",
			errs: updated(snapshotIn(evsv1alpha1.PhaseAvailable, false), func(s *evsv1alpha1.EVSSnapshot) {
				s.Spec.Rollback = &evsv1alpha1.RollbackRequest{RequestID: "r1", VolumeID: otherDisk}
			}),
			message: "EVSSnapshot prod/db-nightly is Available: rollback onto disk " + otherDisk +
				" is not allowed: a snapshot rolls back only onto its source disk " + sourceDisk,
		},
		{
			name: "delete while a volume is being created from it",
			errs: validateSnapshotDelete(snapshotIn(evsv1alpha1.PhaseAvailable, false),
				[]evsv1alpha1.EVSVolume{*volumeFrom("db-nightly", 0)}),
			forbid: true,
			message: "EVSSnapshot prod/db-nightly is Available: delete is not allowed while EVSVolume " +
				"prod/restored is being created from it; retry when the creation has finished",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(tc.errs).To(HaveLen(1))
			g.Expect(tc.errs[0].Detail).To(Equal(tc.message))
			err := toAPIError(snapshotKind, snapshotResource, "db-nightly", tc.errs)
			g.Expect(apierrors.IsForbidden(err)).To(Equal(tc.forbid))
			g.Expect(apierrors.IsInvalid(err)).To(Equal(!tc.forbid))
			g.Expect(err.Error()).To(ContainSubstring(tc.message))
		})
	}
}

func TestValidateSnapshotCreate(t *testing.T) {
	newSnapshot := func(change func(*evsv1alpha1.EVSSnapshot)) *evsv1alpha1.EVSSnapshot {
		s := snapshotIn("", false)
		change(s)
		return s
	}
	cases := []struct {
		name    string
		s       *evsv1alpha1.EVSSnapshot
		refused []string // field paths refused
	}{
		{"new snapshot of a disk", newSnapshot(func(*evsv1alpha1.EVSSnapshot) {}), nil},
		{"import of a cloud snapshot", newSnapshot(func(s *evsv1alpha1.EVSSnapshot) {
			s.Spec.Source = evsv1alpha1.SnapshotSource{SnapshotID: cloudSnap}
		}), nil},
		{"no snapshotName", newSnapshot(func(s *evsv1alpha1.EVSSnapshot) { s.Spec.SnapshotName = "" }), nil},
		{"name with autobk prefix", newSnapshot(func(s *evsv1alpha1.EVSSnapshot) {
			s.Spec.SnapshotName = "autobk_snapshot_db"
		}), []string{"spec.snapshotName"}},
		{"name with manualbk prefix", newSnapshot(func(s *evsv1alpha1.EVSSnapshot) {
			s.Spec.SnapshotName = "manualbk_snapshot_db"
		}), []string{"spec.snapshotName"}},
		{"prefix not at the start", newSnapshot(func(s *evsv1alpha1.EVSSnapshot) {
			s.Spec.SnapshotName = "db-autobk_snapshot_"
		}), nil},
		{"rollback at create", newSnapshot(func(s *evsv1alpha1.EVSSnapshot) {
			s.Spec.Rollback = &evsv1alpha1.RollbackRequest{RequestID: "r1"}
		}), []string{"spec.rollback"}},
		{"both", newSnapshot(func(s *evsv1alpha1.EVSSnapshot) {
			s.Spec.SnapshotName = "autobk_snapshot_db"
			s.Spec.Rollback = &evsv1alpha1.RollbackRequest{RequestID: "r1"}
		}), []string{"spec.snapshotName", "spec.rollback"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			errs := validateSnapshot(nil, tc.s)
			paths := []string{}
			for _, e := range errs {
				paths = append(paths, e.Field)
				g.Expect(e.Detail).To(HavePrefix("EVSSnapshot prod/db-nightly has no phase yet: "))
			}
			g.Expect(paths).To(ConsistOf(tc.refused))
		})
	}
}

func TestValidateSnapshotUnchangedIsNoChange(t *testing.T) {
	creating := snapshotIn(evsv1alpha1.PhaseCreating, false)
	legacy := snapshotIn(evsv1alpha1.PhaseCreating, false)
	// Written while the webhook was off: no defaults, and a rollback onto another disk.
	legacy.Spec.SnapshotName = ""
	legacy.Spec.Rollback = &evsv1alpha1.RollbackRequest{RequestID: "r0", VolumeID: otherDisk}
	cases := []struct {
		name   string
		old    *evsv1alpha1.EVSSnapshot
		change func(*evsv1alpha1.EVSSnapshot)
	}{
		{"same name and description", creating, func(*evsv1alpha1.EVSSnapshot) {}},
		{"labels and finalizers", creating, func(s *evsv1alpha1.EVSSnapshot) {
			s.Labels = map[string]string{"team": "db"}
			s.Finalizers = []string{"evs.storage.dev/cleanup"}
		}},
		{"default name spelled out", legacy, func(s *evsv1alpha1.EVSSnapshot) {
			s.Spec.SnapshotName = "prod-db-nightly"
		}},
		{"old rollback request left alone while setting Retain", legacy, func(s *evsv1alpha1.EVSSnapshot) {
			s.Spec.DeletionPolicy = evsv1alpha1.DeletionPolicyRetain
		}},
		{"rollback request removed", legacy, func(s *evsv1alpha1.EVSSnapshot) { s.Spec.Rollback = nil }},
		{"status changes", creating, func(s *evsv1alpha1.EVSSnapshot) {
			s.Status.Phase = evsv1alpha1.PhaseAvailable
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(updated(tc.old, tc.change)).To(BeEmpty())
		})
	}
}

func TestValidateSnapshotDeleteSpecialCases(t *testing.T) {
	g := NewWithT(t)
	creating := snapshotIn(evsv1alpha1.PhaseCreating, false)
	building := []evsv1alpha1.EVSVolume{{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "restored"}}}

	beingDeleted := creating.DeepCopy()
	beingDeleted.DeletionTimestamp = &metav1.Time{}
	g.Expect(validateSnapshotDelete(beingDeleted, building)).To(BeEmpty(), "already being deleted")

	retained := snapshotIn(evsv1alpha1.PhaseAvailable, false)
	retained.Spec.DeletionPolicy = evsv1alpha1.DeletionPolicyRetain
	g.Expect(validateSnapshotDelete(retained, building)).To(HaveLen(1), "a volume is being made from it")

	// The policy left empty by an old object still counts: Delete for a new snapshot, Retain for
	// an import.
	unset := creating.DeepCopy()
	unset.Spec.DeletionPolicy = ""
	g.Expect(validateSnapshotDelete(unset, nil)).To(HaveLen(1))
	unset.Spec.Source = evsv1alpha1.SnapshotSource{SnapshotID: cloudSnap}
	g.Expect(validateSnapshotDelete(unset, nil)).To(BeEmpty())

	// A backup-service name makes the snapshot backup-owned before status says so.
	named := creating.DeepCopy()
	named.Spec.SnapshotName = "autobk_snapshot_db"
	g.Expect(validateSnapshotDelete(named, nil)).To(BeEmpty())
}

func TestEVSSnapshotDefaulter(t *testing.T) {
	onCreate := admission.NewContextWithRequest(context.Background(), admission.Request{
		AdmissionRequest: admissionv1.AdmissionRequest{Operation: admissionv1.Create, Namespace: "prod"}})
	onUpdate := admission.NewContextWithRequest(context.Background(), admission.Request{
		AdmissionRequest: admissionv1.AdmissionRequest{Operation: admissionv1.Update, Namespace: "prod"}})
	bare := func(source evsv1alpha1.SnapshotSource) *evsv1alpha1.EVSSnapshot {
		// The namespace is left out, as it can be in the request's object.
		return &evsv1alpha1.EVSSnapshot{ObjectMeta: metav1.ObjectMeta{Name: "db-nightly"},
			Spec: evsv1alpha1.EVSSnapshotSpec{Source: source}}
	}
	type defaulterCase struct {
		name string
		ctx  context.Context
		in   *evsv1alpha1.EVSSnapshot
		want evsv1alpha1.EVSSnapshotSpec
	}
	cases := []defaulterCase{
		{"new snapshot", onCreate, bare(evsv1alpha1.SnapshotSource{VolumeID: sourceDisk}),
			evsv1alpha1.EVSSnapshotSpec{Source: evsv1alpha1.SnapshotSource{VolumeID: sourceDisk},
				SnapshotName: "prod-db-nightly", DeletionPolicy: "Delete", ManagementPolicy: "Managed"}},
		{"import keeps its cloud name", onCreate, bare(evsv1alpha1.SnapshotSource{SnapshotID: cloudSnap}),
			evsv1alpha1.EVSSnapshotSpec{Source: evsv1alpha1.SnapshotSource{SnapshotID: cloudSnap},
				DeletionPolicy: "Retain", ManagementPolicy: "Managed"}},
		{"explicit values kept", onCreate, &evsv1alpha1.EVSSnapshot{
			ObjectMeta: metav1.ObjectMeta{Name: "db-nightly"},
			Spec: evsv1alpha1.EVSSnapshotSpec{Source: evsv1alpha1.SnapshotSource{VolumeID: sourceDisk},
				SnapshotName: "db", DeletionPolicy: "Retain", ManagementPolicy: "ObserveOnly"},
		}, evsv1alpha1.EVSSnapshotSpec{Source: evsv1alpha1.SnapshotSource{VolumeID: sourceDisk},
			SnapshotName: "db", DeletionPolicy: "Retain", ManagementPolicy: "ObserveOnly"}},
		{"generateName leaves the name to the controller", onCreate, &evsv1alpha1.EVSSnapshot{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "db-"},
			Spec:       evsv1alpha1.EVSSnapshotSpec{Source: evsv1alpha1.SnapshotSource{VolumeID: sourceDisk}},
		}, evsv1alpha1.EVSSnapshotSpec{Source: evsv1alpha1.SnapshotSource{VolumeID: sourceDisk},
			DeletionPolicy: "Delete", ManagementPolicy: "Managed"}},
		{"update leaves names and policies", onUpdate, bare(evsv1alpha1.SnapshotSource{VolumeID: sourceDisk}),
			evsv1alpha1.EVSSnapshotSpec{Source: evsv1alpha1.SnapshotSource{VolumeID: sourceDisk}}},
		{"rollback disk from spec.source", onUpdate, &evsv1alpha1.EVSSnapshot{
			Spec: evsv1alpha1.EVSSnapshotSpec{Source: evsv1alpha1.SnapshotSource{VolumeID: sourceDisk},
				Rollback: &evsv1alpha1.RollbackRequest{RequestID: "r1"}},
		}, evsv1alpha1.EVSSnapshotSpec{Source: evsv1alpha1.SnapshotSource{VolumeID: sourceDisk},
			Rollback: &evsv1alpha1.RollbackRequest{RequestID: "r1", VolumeID: sourceDisk}}},
		{"rollback disk from status for an import", onUpdate, &evsv1alpha1.EVSSnapshot{
			Spec: evsv1alpha1.EVSSnapshotSpec{Source: evsv1alpha1.SnapshotSource{SnapshotID: cloudSnap},
				Rollback: &evsv1alpha1.RollbackRequest{RequestID: "r1"}},
			Status: evsv1alpha1.EVSSnapshotStatus{SourceVolumeID: otherDisk},
		}, evsv1alpha1.EVSSnapshotSpec{Source: evsv1alpha1.SnapshotSource{SnapshotID: cloudSnap},
			Rollback: &evsv1alpha1.RollbackRequest{RequestID: "r1", VolumeID: otherDisk}}},
		{"rollback disk unknown", onUpdate, &evsv1alpha1.EVSSnapshot{
			Spec: evsv1alpha1.EVSSnapshotSpec{Source: evsv1alpha1.SnapshotSource{SnapshotID: cloudSnap},
				Rollback: &evsv1alpha1.RollbackRequest{RequestID: "r1"}},
		}, evsv1alpha1.EVSSnapshotSpec{Source: evsv1alpha1.SnapshotSource{SnapshotID: cloudSnap},
			Rollback: &evsv1alpha1.RollbackRequest{RequestID: "r1"}}},
		{"explicit rollback disk kept", onUpdate, &evsv1alpha1.EVSSnapshot{
			Spec: evsv1alpha1.EVSSnapshotSpec{Source: evsv1alpha1.SnapshotSource{VolumeID: sourceDisk},
				Rollback: &evsv1alpha1.RollbackRequest{RequestID: "r1", VolumeID: otherDisk}},
		}, evsv1alpha1.EVSSnapshotSpec{Source: evsv1alpha1.SnapshotSource{VolumeID: sourceDisk},
			Rollback: &evsv1alpha1.RollbackRequest{RequestID: "r1", VolumeID: otherDisk}}},
	}
	// An old request written without the webhook is left as it was on an unrelated update, such as
	// the controller adding its finalizer.
	legacy := &evsv1alpha1.EVSSnapshot{
		Spec: evsv1alpha1.EVSSnapshotSpec{Source: evsv1alpha1.SnapshotSource{VolumeID: sourceDisk},
			Rollback: &evsv1alpha1.RollbackRequest{RequestID: "r0"}},
	}
	oldRaw, err := json.Marshal(legacy)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	onLegacyUpdate := admission.NewContextWithRequest(context.Background(), admission.Request{
		AdmissionRequest: admissionv1.AdmissionRequest{Operation: admissionv1.Update, Namespace: "prod",
			OldObject: runtime.RawExtension{Raw: oldRaw}}})
	cases = append(cases,
		defaulterCase{"old rollback request left as it was", onLegacyUpdate, legacy.DeepCopy(), legacy.Spec})

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect((&EVSSnapshotDefaulter{}).Default(tc.ctx, tc.in)).To(Succeed())
			g.Expect(tc.in.Spec).To(Equal(tc.want))
		})
	}
}

func TestValidateSnapshotImportName(t *testing.T) {
	g := NewWithT(t)
	adopted := snapshotIn(evsv1alpha1.PhaseCreating, false)
	adopted.Spec.Source = evsv1alpha1.SnapshotSource{SnapshotID: cloudSnap}
	adopted.Spec.SnapshotName = ""
	// An adopted snapshot without a name keeps its cloud name; naming it, even with the default,
	// is a rename.
	errs := updated(adopted, func(s *evsv1alpha1.EVSSnapshot) { s.Spec.SnapshotName = "prod-db-nightly" })
	g.Expect(errs).To(HaveLen(1))
	g.Expect(errs[0].Field).To(Equal("spec.snapshotName"))
}
