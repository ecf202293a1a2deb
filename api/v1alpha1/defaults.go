package v1alpha1

// DefaultCloudName is the cloud-side name an object gets when its spec names none.
func DefaultCloudName(namespace, name string) string {
	return namespace + "-" + name
}

// CloudName is the snapshot's name in the cloud: spec.snapshotName, or "<namespace>-<name>".
func (s *EVSSnapshot) CloudName() string {
	if s.Spec.SnapshotName != "" {
		return s.Spec.SnapshotName
	}
	return DefaultCloudName(s.Namespace, s.Name)
}

// IsImport reports whether the object adopts an existing cloud snapshot.
func (s *EVSSnapshot) IsImport() bool {
	return s.Spec.Source.SnapshotID != ""
}

// EffectiveDeletionPolicy is spec.deletionPolicy, or its default when unset: Retain for an
// adopted snapshot, Delete for a new one.
func (s *EVSSnapshot) EffectiveDeletionPolicy() DeletionPolicy {
	switch {
	case s.Spec.DeletionPolicy != "":
		return s.Spec.DeletionPolicy
	case s.IsImport():
		return DeletionPolicyRetain
	default:
		return DeletionPolicyDelete
	}
}

// IsObserveOnly reports whether the operator must never change the cloud snapshot.
func (s *EVSSnapshot) IsObserveOnly() bool {
	return s.Spec.ManagementPolicy == ManagementPolicyObserveOnly
}

// IsBackupOwned reports whether the backup service owns the snapshot, from what status has seen
// of the cloud or, before that, from the name the spec asks for.
func (s *EVSSnapshot) IsBackupOwned() bool {
	return s.Status.BackupOwned || HasBackupServicePrefix(s.Spec.SnapshotName)
}

// DeletesInCloud reports whether deleting the object deletes the cloud snapshot.
func (s *EVSSnapshot) DeletesInCloud() bool {
	return s.EffectiveDeletionPolicy() == DeletionPolicyDelete && !s.IsObserveOnly() && !s.IsBackupOwned()
}

// RollbackVolumeID is the disk a rollback goes onto: spec.rollback.volumeID, or the source disk.
func (s *EVSSnapshot) RollbackVolumeID() string {
	if s.Spec.Rollback != nil && s.Spec.Rollback.VolumeID != "" {
		return s.Spec.Rollback.VolumeID
	}
	return s.SourceVolumeID()
}

// SourceVolumeID is the disk the snapshot was taken of, as far as it is known.
func (s *EVSSnapshot) SourceVolumeID() string {
	if s.Status.SourceVolumeID != "" {
		return s.Status.SourceVolumeID
	}
	return s.Spec.Source.VolumeID
}

// CloudName is the disk's name in the cloud: spec.volumeName, or "<namespace>-<name>".
func (v *EVSVolume) CloudName() string {
	if v.Spec.VolumeName != "" {
		return v.Spec.VolumeName
	}
	return DefaultCloudName(v.Namespace, v.Name)
}

// EffectiveDeletionPolicy is spec.deletionPolicy, or Delete when unset.
func (v *EVSVolume) EffectiveDeletionPolicy() DeletionPolicy {
	if v.Spec.DeletionPolicy != "" {
		return v.Spec.DeletionPolicy
	}
	return DeletionPolicyDelete
}
