package v1alpha1

import (
	"slices"
	"strings"
)

// SnapshotPhase is where an EVSSnapshot stands in the cloud snapshot's life.
type SnapshotPhase string

// The snapshot phases, one per cloud status.
const (
	// PhaseCreating means the cloud is creating the snapshot.
	PhaseCreating SnapshotPhase = "Creating"
	// PhaseAvailable means the snapshot was created and can be used.
	PhaseAvailable SnapshotPhase = "Available"
	// PhaseDeleting means the cloud is deleting the snapshot.
	PhaseDeleting SnapshotPhase = "Deleting"
	// PhaseError means the cloud failed to create the snapshot.
	PhaseError SnapshotPhase = "Error"
	// PhaseErrorDeleting means the cloud failed to delete the snapshot.
	PhaseErrorDeleting SnapshotPhase = "ErrorDeleting"
	// PhaseRollbacking means the snapshot's data is being rolled back onto its source disk.
	PhaseRollbacking SnapshotPhase = "Rollbacking"
	// PhaseBackingUp means the snapshot is a temporary one the backup service made.
	PhaseBackingUp SnapshotPhase = "BackingUp"
)

// Operation is something a user may ask of a snapshot.
type Operation string

// The operations the state table grants.
const (
	// OperationCreateVolume makes a new disk from the snapshot.
	OperationCreateVolume Operation = "CreateVolume"
	// OperationDelete deletes the snapshot in the cloud.
	OperationDelete Operation = "Delete"
	// OperationRollback rolls the snapshot's data back onto its source disk.
	OperationRollback Operation = "Rollback"
)

// PhaseRule is one row of the snapshot state table.
type PhaseRule struct {
	// Phase is the EVSSnapshot phase.
	Phase SnapshotPhase
	// CloudStatus is the cloud snapshot status that maps to Phase.
	CloudStatus string
	// Meaning says what the phase means, for status messages and docs.
	Meaning string
	// Allowed lists the operations the phase allows on a snapshot that is not backup-owned.
	Allowed []Operation
	// Settled is true when the cloud will not move the snapshot out of the phase on its own.
	Settled bool
}

// SnapshotStateTable is the snapshot state table: the only statement of which phase allows what.
// The controller, the webhooks, status.allowedOperations and the docs all read it.
var SnapshotStateTable = []PhaseRule{
	{PhaseCreating, "creating", "the snapshot is being created", nil, false},
	{PhaseAvailable, "available", "created successfully",
		[]Operation{OperationCreateVolume, OperationDelete, OperationRollback}, true},
	{PhaseDeleting, "deleting", "being deleted", nil, false},
	{PhaseError, "error", "creation failed", []Operation{OperationDelete}, true},
	{PhaseErrorDeleting, "error_deleting", "deletion failed", nil, true},
	{PhaseRollbacking, "rollbacking", "its data is being rolled back onto its disk", nil, false},
	{PhaseBackingUp, "backing-up",
		"a temporary snapshot that the backup service creates while it backs a disk up", nil, false},
}

// RollbackDiskStatuses are the source disk statuses from which the cloud accepts a rollback.
var RollbackDiskStatuses = []string{"available", "error_rollbacking"}

// BackupServiceNamePrefixes are the name prefixes of snapshots that the backup service owns.
var BackupServiceNamePrefixes = []string{"autobk_snapshot_", "manualbk_snapshot_"}

// BackupServiceMetadataKey marks a snapshot taken as part of a server backup.
const BackupServiceMetadataKey = "__system__enableActive"

// RuleForPhase returns the state table row of a phase.
func RuleForPhase(phase SnapshotPhase) (PhaseRule, bool) {
	i := slices.IndexFunc(SnapshotStateTable, func(r PhaseRule) bool { return r.Phase == phase })
	if i < 0 {
		return PhaseRule{}, false
	}
	return SnapshotStateTable[i], true
}

// PhaseForCloudStatus returns the phase of a cloud snapshot status, and false for a status the
// table does not know.
func PhaseForCloudStatus(status string) (SnapshotPhase, bool) {
	i := slices.IndexFunc(SnapshotStateTable, func(r PhaseRule) bool { return r.CloudStatus == status })
	if i < 0 {
		return "", false
	}
	return SnapshotStateTable[i].Phase, true
}

// AllowedOperations returns the operations a phase allows, in table order. A backup-owned
// snapshot, or a phase the table does not know, allows none. The result is never nil, so that
// status shows an empty list rather than no list.
func AllowedOperations(phase SnapshotPhase, backupOwned bool) []Operation {
	rule, ok := RuleForPhase(phase)
	if !ok || backupOwned {
		return []Operation{}
	}
	return append([]Operation{}, rule.Allowed...)
}

// IsAllowed reports whether a phase allows an operation.
func IsAllowed(phase SnapshotPhase, backupOwned bool, op Operation) bool {
	return slices.Contains(AllowedOperations(phase, backupOwned), op)
}

// IsUpdateAllowed reports whether the cloud accepts a new name or description for a snapshot in
// the given phase: only an Available snapshot that the backup service does not own. Renames are
// not an operation of the state table, so this is stated here once for the webhooks and the
// controller.
func IsUpdateAllowed(phase SnapshotPhase, backupOwned bool) bool {
	return phase == PhaseAvailable && !backupOwned
}

// IsSettled reports whether the cloud leaves a snapshot in the phase until someone acts. Unknown
// phases count as moving, so they are looked at often.
func IsSettled(phase SnapshotPhase) bool {
	rule, ok := RuleForPhase(phase)
	return ok && rule.Settled
}

// IsBackupOwned reports whether the backup service owns a cloud snapshot, from its name and
// metadata.
func IsBackupOwned(name string, metadata map[string]string) bool {
	if HasBackupServicePrefix(name) {
		return true
	}
	_, ok := metadata[BackupServiceMetadataKey]
	return ok
}

// HasBackupServicePrefix reports whether a snapshot name starts with a backup-service prefix.
func HasBackupServicePrefix(name string) bool {
	return slices.ContainsFunc(BackupServiceNamePrefixes, func(p string) bool {
		return strings.HasPrefix(name, p)
	})
}

// DiskAllowsRollback reports whether a disk in the given status accepts a rollback.
func DiskAllowsRollback(diskStatus string) bool {
	return slices.Contains(RollbackDiskStatuses, diskStatus)
}

// FormatOperations renders operations for messages: "CreateVolume, Delete" or "none".
func FormatOperations(ops []Operation) string {
	if len(ops) == 0 {
		return "none"
	}
	s := make([]string, len(ops))
	for i, op := range ops {
		s[i] = string(op)
	}
	return strings.Join(s, ", ")
}
