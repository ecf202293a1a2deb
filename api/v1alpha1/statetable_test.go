package v1alpha1

import (
	"slices"
	"testing"

	. "github.com/onsi/gomega"
)

func TestPhaseForCloudStatus(t *testing.T) {
	cases := []struct {
		status string
		phase  SnapshotPhase
		known  bool
	}{
		{"creating", PhaseCreating, true},
		{"available", PhaseAvailable, true},
		{"deleting", PhaseDeleting, true},
		{"error", PhaseError, true},
		{"error_deleting", PhaseErrorDeleting, true},
		{"rollbacking", PhaseRollbacking, true},
		{"backing-up", PhaseBackingUp, true},
		{"", "", false},
		{"Available", "", false},
		{"error_rollbacking", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.status, func(t *testing.T) {
			g := NewWithT(t)
			phase, known := PhaseForCloudStatus(tc.status)
			g.Expect(known).To(Equal(tc.known))
			g.Expect(phase).To(Equal(tc.phase))
		})
	}
}

func TestAllowedOperations(t *testing.T) {
	all := []Operation{OperationCreateVolume, OperationDelete, OperationRollback}
	cases := []struct {
		phase       SnapshotPhase
		backupOwned bool
		want        []Operation
		settled     bool
	}{
		{PhaseCreating, false, []Operation{}, false},
		{PhaseAvailable, false, all, true},
		{PhaseDeleting, false, []Operation{}, false},
		{PhaseError, false, []Operation{OperationDelete}, true},
		{PhaseErrorDeleting, false, []Operation{}, true},
		{PhaseRollbacking, false, []Operation{}, false},
		{PhaseBackingUp, false, []Operation{}, false},
		{"", false, []Operation{}, false},
		{"Unknown", false, []Operation{}, false},
	}
	// A backup-owned snapshot allows nothing in any phase.
	for _, rule := range SnapshotStateTable {
		cases = append(cases, struct {
			phase       SnapshotPhase
			backupOwned bool
			want        []Operation
			settled     bool
		}{rule.Phase, true, []Operation{}, rule.Settled})
	}
	for _, tc := range cases {
		t.Run(string(tc.phase), func(t *testing.T) {
			g := NewWithT(t)
			got := AllowedOperations(tc.phase, tc.backupOwned)
			g.Expect(got).NotTo(BeNil())
			g.Expect(got).To(Equal(tc.want))
			for _, op := range all {
				g.Expect(IsAllowed(tc.phase, tc.backupOwned, op)).To(Equal(contains(tc.want, op)), string(op))
			}
			g.Expect(IsSettled(tc.phase)).To(Equal(tc.settled))
		})
	}
}

func TestAllowedOperationsReturnsACopy(t *testing.T) {
	g := NewWithT(t)
	ops := AllowedOperations(PhaseAvailable, false)
	ops[0] = "Mutated"
	g.Expect(AllowedOperations(PhaseAvailable, false)[0]).To(Equal(OperationCreateVolume))
}

func TestStateTableIsComplete(t *testing.T) {
	g := NewWithT(t)
	g.Expect(SnapshotStateTable).To(HaveLen(7))
	seenPhase := map[SnapshotPhase]bool{}
	seenStatus := map[string]bool{}
	for _, r := range SnapshotStateTable {
		g.Expect(seenPhase[r.Phase]).To(BeFalse(), "phase %s twice", r.Phase)
		g.Expect(seenStatus[r.CloudStatus]).To(BeFalse(), "status %s twice", r.CloudStatus)
		seenPhase[r.Phase], seenStatus[r.CloudStatus] = true, true
		g.Expect(r.Meaning).NotTo(BeEmpty())
	}
}

func TestIsBackupOwned(t *testing.T) {
	cases := []struct {
		name     string
		metadata map[string]string
		want     bool
	}{
		{"autobk_snapshot_2026", nil, true},
		{"autobk_snapshot_vbs_abc", nil, true},
		{"autobk_snapshot_csbs_abc", nil, true},
		{"manualbk_snapshot_", nil, true},
		{"manualbk_snapshot_vbs_abc", nil, true},
		{"manualbk_snapshot_csbs_abc", nil, true},
		{"plain", map[string]string{BackupServiceMetadataKey: "true"}, true},
		{"plain", map[string]string{BackupServiceMetadataKey: ""}, true},
		{"plain", map[string]string{"team": "db"}, false},
		{"plain", nil, false},
		{"", nil, false},
		{"my-autobk_snapshot_", nil, false},
		{"AUTOBK_SNAPSHOT_x", nil, false},
		{"autobk_snapshot", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(IsBackupOwned(tc.name, tc.metadata)).To(Equal(tc.want))
		})
	}
}

func TestDiskAllowsRollback(t *testing.T) {
	statuses := map[string]bool{
		"available": true, "error_rollbacking": true,
		"in-use": false, "creating": false, "rollbacking": false, "error": false, "attaching": false,
		"deleting": false, "extending": false, "backing-up": false,
	}
	for status, want := range statuses {
		t.Run(status, func(t *testing.T) {
			NewWithT(t).Expect(DiskAllowsRollback(status)).To(Equal(want))
		})
	}
}

func TestFormatOperations(t *testing.T) {
	g := NewWithT(t)
	g.Expect(FormatOperations(nil)).To(Equal("none"))
	g.Expect(FormatOperations(AllowedOperations(PhaseAvailable, false))).To(Equal("CreateVolume, Delete, Rollback"))
}

func contains(ops []Operation, op Operation) bool {
	return slices.Contains(ops, op)
}
