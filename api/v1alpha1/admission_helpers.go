package v1alpha1

// IsUpdateAllowed reports whether the cloud accepts a new name or description for a snapshot in
// the given phase: only an Available snapshot that the backup service does not own. Renames are
// not an operation of the state table, so this is stated here once for the webhooks and the
// controller.
func IsUpdateAllowed(phase SnapshotPhase, backupOwned bool) bool {
	return phase == PhaseAvailable && !backupOwned
}
