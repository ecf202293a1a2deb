package v1alpha1

// Condition types shared by EVSSnapshot and EVSVolume.
const (
	// ConditionReady is True when the cloud resource is usable: an Available snapshot, or an
	// Available or InUse disk.
	ConditionReady = "Ready"
	// ConditionSynced is True when the last reconcile reached the cloud and applied the spec.
	ConditionSynced = "Synced"
)

// Condition reasons. A Ready condition that is not True carries the phase as its reason when no
// reason below says more.
const (
	// ReasonAvailable says the cloud resource is available.
	ReasonAvailable = "Available"
	// ReasonPending says the operator has not reached the cloud for the object yet.
	ReasonPending = "Pending"
	// ReasonSnapshotNotFound says the cloud snapshot disappeared outside a deletion.
	ReasonSnapshotNotFound = "SnapshotNotFound"
	// ReasonVolumeNotFound says the cloud disk disappeared outside a deletion.
	ReasonVolumeNotFound = "VolumeNotFound"
	// ReasonReconciled says the last reconcile reached the cloud and applied the spec.
	ReasonReconciled = "Reconciled"
	// ReasonCloudThrottled says the cloud's API gateway throttled the operator; it will retry.
	ReasonCloudThrottled = "CloudThrottled"
	// ReasonCloudUnavailable says the cloud could not be reached or failed; the operator retries.
	ReasonCloudUnavailable = "CloudUnavailable"
	// ReasonCloudRefused says the cloud refused a call; the message carries the cloud's reason.
	ReasonCloudRefused = "CloudRefused"
	// ReasonUnauthorized says the cloud refused the operator's credentials.
	ReasonUnauthorized = "Unauthorized"
	// ReasonInvalidSpec says the spec cannot be applied as written.
	ReasonInvalidSpec = "InvalidSpec"
	// ReasonDeletionWaiting says the object waits for the cloud to allow the delete.
	ReasonDeletionWaiting = "DeletionWaiting"
	// ReasonUnknownCloudStatus says the cloud reports a status the state table does not know.
	ReasonUnknownCloudStatus = "UnknownCloudStatus"
	// ReasonDeletionFailed says the cloud failed to delete the resource.
	ReasonDeletionFailed = "DeletionFailed"
	// ReasonCreationFailed says the cloud failed to create the resource.
	ReasonCreationFailed = "CreationFailed"
	// ReasonObserveOnly says the object only observes the cloud and changes nothing.
	ReasonObserveOnly = "ObserveOnly"
	// ReasonBackupOwned says the backup service owns the snapshot, so nothing is changed.
	ReasonBackupOwned = "BackupOwned"
	// ReasonWaitingForSnapshot says an EVSVolume waits for its source snapshot to become Available.
	ReasonWaitingForSnapshot = "WaitingForSnapshot"
)
