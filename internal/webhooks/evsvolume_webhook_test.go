package webhooks

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	admissionv1 "k8s.io/api/admission/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	evsv1alpha1 "github.com/evs-operator/evs-operator/api/v1alpha1"
)

func volumeFrom(snapshot string, sizeGiB int32) *evsv1alpha1.EVSVolume {
	return &evsv1alpha1.EVSVolume{
		ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "restored"},
		Spec: evsv1alpha1.EVSVolumeSpec{
			Source: evsv1alpha1.VolumeSource{
				SnapshotRef: &evsv1alpha1.SnapshotReference{Name: snapshot},
			},
			VolumeName:     "prod-restored",
			SizeGiB:        sizeGiB,
			DeletionPolicy: evsv1alpha1.DeletionPolicyDelete,
		},
	}
}

func sized(s *evsv1alpha1.EVSSnapshot, sizeGiB int32) *evsv1alpha1.EVSSnapshot {
	s.Status.SizeGiB = sizeGiB
	return s
}

func TestValidateVolumeCreate(t *testing.T) {
	// Only an Available snapshot gives a disk (contract section 2), written out by hand.
	createVolume := map[evsv1alpha1.SnapshotPhase]bool{
		"":                             false,
		evsv1alpha1.PhaseCreating:      false,
		evsv1alpha1.PhaseAvailable:     true,
		evsv1alpha1.PhaseDeleting:      false,
		evsv1alpha1.PhaseError:         false,
		evsv1alpha1.PhaseErrorDeleting: false,
		evsv1alpha1.PhaseRollbacking:   false,
		evsv1alpha1.PhaseBackingUp:     false,
	}
	g := NewWithT(t)
	for _, rule := range evsv1alpha1.SnapshotStateTable {
		g.Expect(createVolume).To(HaveKey(rule.Phase))
	}
	for phase, allowed := range createVolume {
		for _, backupOwned := range []bool{false, true} {
			name := "from " + string(phase)
			if phase == "" {
				name = "from NoPhase"
			}
			if backupOwned {
				name += " backup-owned"
			}
			t.Run(name, func(t *testing.T) {
				g := NewWithT(t)
				errs := validateVolume(nil, volumeFrom("db-nightly", 0), snapshotIn(phase, backupOwned))
				if allowed && !backupOwned {
					g.Expect(errs).To(BeEmpty())
					return
				}
				g.Expect(errs).To(HaveLen(1))
				g.Expect(errs[0].Field).To(Equal("spec.source.snapshotRef.name"))
				g.Expect(errs[0].Detail).To(
					HavePrefix("EVSVolume prod/restored: EVSSnapshot prod/db-nightly "))
				g.Expect(errs[0].Detail).To(ContainSubstring(": CreateVolume is not allowed"))
			})
		}
	}

	beingDeleted := sized(snapshotIn(evsv1alpha1.PhaseAvailable, false), 40)
	beingDeleted.DeletionTimestamp = &metav1.Time{}
	cases := []struct {
		name    string
		v       *evsv1alpha1.EVSVolume
		source  *evsv1alpha1.EVSSnapshot
		refused string // the refused field, "" when admitted
		message string
	}{
		{"size unset", volumeFrom("db-nightly", 0), sized(snapshotIn("Available", false), 40), "", ""},
		{"size equal", volumeFrom("db-nightly", 40), sized(snapshotIn("Available", false), 40), "", ""},
		{"size above", volumeFrom("db-nightly", 100), sized(snapshotIn("Available", false), 40), "", ""},
		{"snapshot size unknown", volumeFrom("db-nightly", 1), snapshotIn("Available", false), "", ""},
		{"size below", volumeFrom("db-nightly", 10), sized(snapshotIn("Available", false), 40),
			"spec.sizeGiB",
			"EVSVolume prod/restored: sizeGiB 10 is below the 40 GiB of EVSSnapshot prod/db-nightly; " +
				"a disk is never smaller than its snapshot"},
		{"snapshot missing", volumeFrom("db-nightly", 0), nil, "spec.source.snapshotRef.name",
			"EVSVolume prod/restored: EVSSnapshot prod/db-nightly does not exist; " +
				"create it and wait until it is Available"},
		{"snapshot being deleted", volumeFrom("db-nightly", 0), beingDeleted, "spec.source.snapshotRef.name",
			"EVSVolume prod/restored: EVSSnapshot prod/db-nightly is being deleted"},
		{"snapshot Creating", volumeFrom("db-nightly", 0), snapshotIn("Creating", false),
			"spec.source.snapshotRef.name",
			"EVSVolume prod/restored: EVSSnapshot prod/db-nightly is Creating: CreateVolume is not allowed " +
				"in this phase (allowed: none); create the EVSVolume once the snapshot is Available"},
		{"from a cloud snapshot ID", &evsv1alpha1.EVSVolume{
			ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "restored"},
			Spec: evsv1alpha1.EVSVolumeSpec{
				Source: evsv1alpha1.VolumeSource{SnapshotID: cloudSnap}, SizeGiB: 1,
			},
		}, nil, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			errs := validateVolume(nil, tc.v, tc.source)
			if tc.refused == "" {
				g.Expect(errs).To(BeEmpty())
				return
			}
			g.Expect(errs).To(HaveLen(1))
			g.Expect(errs[0].Field).To(Equal(tc.refused))
			g.Expect(errs[0].Detail).To(Equal(tc.message))
		})
	}
}

func TestValidateVolumeUpdate(t *testing.T) {
	old := volumeFrom("db-nightly", 40)
	old.Spec.Metadata = map[string]string{}
	old.Status.Phase = evsv1alpha1.VolumePhaseAvailable
	cases := []struct {
		name    string
		change  func(*evsv1alpha1.EVSVolume)
		refused []string
	}{
		{"deletionPolicy", func(v *evsv1alpha1.EVSVolume) {
			v.Spec.DeletionPolicy = evsv1alpha1.DeletionPolicyRetain
		}, nil},
		{"status only", func(v *evsv1alpha1.EVSVolume) {
			v.Status.Phase = evsv1alpha1.VolumePhaseInUse
			v.Status.VolumeID = otherDisk
		}, nil},
		{"metadata only", func(v *evsv1alpha1.EVSVolume) {
			v.Labels = map[string]string{"team": "db"}
			v.Finalizers = []string{"evs.storage.dev/cleanup"}
		}, nil},
		{"empty cloud metadata dropped", func(v *evsv1alpha1.EVSVolume) { v.Spec.Metadata = nil }, nil},
		{"source", func(v *evsv1alpha1.EVSVolume) { v.Spec.Source.SnapshotRef.Name = "other" },
			[]string{"spec.source"}},
		{"volumeName", func(v *evsv1alpha1.EVSVolume) { v.Spec.VolumeName = "x" },
			[]string{"spec.volumeName"}},
		{"sizeGiB", func(v *evsv1alpha1.EVSVolume) { v.Spec.SizeGiB = 80 }, []string{"spec.sizeGiB"}},
		{"availabilityZone", func(v *evsv1alpha1.EVSVolume) { v.Spec.AvailabilityZone = "az2" },
			[]string{"spec.availabilityZone"}},
		{"volumeType", func(v *evsv1alpha1.EVSVolume) { v.Spec.VolumeType = "SAS" },
			[]string{"spec.volumeType"}},
		{"description", func(v *evsv1alpha1.EVSVolume) { v.Spec.Description = "x" },
			[]string{"spec.description"}},
		{"cloud metadata", func(v *evsv1alpha1.EVSVolume) { v.Spec.Metadata = map[string]string{"a": "b"} },
			[]string{"spec.metadata"}},
		{"two fields and the policy", func(v *evsv1alpha1.EVSVolume) {
			v.Spec.SizeGiB = 80
			v.Spec.Description = "x"
			v.Spec.DeletionPolicy = evsv1alpha1.DeletionPolicyRetain
		}, []string{"spec.sizeGiB", "spec.description"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			v := old.DeepCopy()
			tc.change(v)
			errs := validateVolume(old, v, nil)
			paths := []string{}
			for _, e := range errs {
				paths = append(paths, e.Field)
				g.Expect(e.Detail).To(Equal("EVSVolume prod/restored is Available: changing " + e.Field +
					" is not allowed: only spec.deletionPolicy may change after create"))
			}
			g.Expect(paths).To(ConsistOf(tc.refused))
			if len(errs) > 0 {
				err := toAPIError(volumeKind, volumeResource, v.Name, errs)
				g.Expect(apierrors.IsForbidden(err)).To(BeTrue())
			}
		})
	}
}

func TestEVSVolumeDefaulter(t *testing.T) {
	g := NewWithT(t)
	onCreate := admission.NewContextWithRequest(context.Background(), admission.Request{
		AdmissionRequest: admissionv1.AdmissionRequest{Operation: admissionv1.Create, Namespace: "prod"}})
	onUpdate := admission.NewContextWithRequest(context.Background(), admission.Request{
		AdmissionRequest: admissionv1.AdmissionRequest{Operation: admissionv1.Update, Namespace: "prod"}})

	v := &evsv1alpha1.EVSVolume{ObjectMeta: metav1.ObjectMeta{Name: "restored"}}
	g.Expect((&EVSVolumeDefaulter{}).Default(onCreate, v)).To(Succeed())
	g.Expect(v.Spec.VolumeName).To(Equal("prod-restored"))
	g.Expect(v.Spec.DeletionPolicy).To(Equal(evsv1alpha1.DeletionPolicyDelete))

	v = &evsv1alpha1.EVSVolume{ObjectMeta: metav1.ObjectMeta{Name: "restored"},
		Spec: evsv1alpha1.EVSVolumeSpec{VolumeName: "db", DeletionPolicy: evsv1alpha1.DeletionPolicyRetain}}
	g.Expect((&EVSVolumeDefaulter{}).Default(onCreate, v)).To(Succeed())
	g.Expect(v.Spec.VolumeName).To(Equal("db"))
	g.Expect(v.Spec.DeletionPolicy).To(Equal(evsv1alpha1.DeletionPolicyRetain))

	v = &evsv1alpha1.EVSVolume{ObjectMeta: metav1.ObjectMeta{Name: "restored"}}
	g.Expect((&EVSVolumeDefaulter{}).Default(onUpdate, v)).To(Succeed())
	g.Expect(v.Spec).To(Equal(evsv1alpha1.EVSVolumeSpec{}))
}
