package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// VolumePhase is where an EVSVolume's cloud disk stands.
type VolumePhase string

// The disk phases.
const (
	// VolumePhaseCreating means the disk is being created.
	VolumePhaseCreating VolumePhase = "Creating"
	// VolumePhaseAvailable means the disk exists and is not attached.
	VolumePhaseAvailable VolumePhase = "Available"
	// VolumePhaseInUse means the disk exists and is attached to a server.
	VolumePhaseInUse VolumePhase = "InUse"
	// VolumePhaseError means creating the disk failed, or the disk is in an error status.
	VolumePhaseError VolumePhase = "Error"
	// VolumePhaseDeleting means the disk is being deleted.
	VolumePhaseDeleting VolumePhase = "Deleting"
	// VolumePhaseErrorDeleting means the cloud failed to delete the disk.
	VolumePhaseErrorDeleting VolumePhase = "ErrorDeleting"
)

// SnapshotReference names an EVSSnapshot in the same namespace.
type SnapshotReference struct {
	// Name is the EVSSnapshot's name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// VolumeSource names the snapshot a disk is made from.
// +kubebuilder:validation:XValidation:rule="has(self.snapshotRef) != has(self.snapshotID)",message="exactly one of snapshotRef and snapshotID must be set"
type VolumeSource struct {
	// SnapshotRef names an EVSSnapshot in the same namespace.
	// +optional
	SnapshotRef *SnapshotReference `json:"snapshotRef,omitempty"`

	// SnapshotID is the ID of a cloud snapshot.
	// +optional
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`
	SnapshotID string `json:"snapshotID,omitempty"`
}

// EVSVolumeSpec is the desired state of a disk made from a snapshot. Only deletionPolicy may
// change after create.
// +kubebuilder:validation:XValidation:rule="self.source == oldSelf.source",message="source is immutable"
// +kubebuilder:validation:XValidation:rule="has(self.volumeName) == has(oldSelf.volumeName) && (!has(self.volumeName) || self.volumeName == oldSelf.volumeName)",message="volumeName is immutable"
// +kubebuilder:validation:XValidation:rule="has(self.sizeGiB) == has(oldSelf.sizeGiB) && (!has(self.sizeGiB) || self.sizeGiB == oldSelf.sizeGiB)",message="sizeGiB is immutable"
// +kubebuilder:validation:XValidation:rule="has(self.availabilityZone) == has(oldSelf.availabilityZone) && (!has(self.availabilityZone) || self.availabilityZone == oldSelf.availabilityZone)",message="availabilityZone is immutable"
// +kubebuilder:validation:XValidation:rule="has(self.volumeType) == has(oldSelf.volumeType) && (!has(self.volumeType) || self.volumeType == oldSelf.volumeType)",message="volumeType is immutable"
// +kubebuilder:validation:XValidation:rule="has(self.description) == has(oldSelf.description) && (!has(self.description) || self.description == oldSelf.description)",message="description is immutable"
// +kubebuilder:validation:XValidation:rule="has(self.metadata) == has(oldSelf.metadata) && (!has(self.metadata) || self.metadata == oldSelf.metadata)",message="metadata is immutable"
type EVSVolumeSpec struct {
	// Source is the snapshot to make the disk from.
	Source VolumeSource `json:"source"`

	// VolumeName is the disk's name in the cloud; it defaults to "<namespace>-<name>".
	// +optional
	// +kubebuilder:validation:MaxLength=64
	VolumeName string `json:"volumeName,omitempty"`

	// SizeGiB is the disk's size; it defaults to, and may not be below, the snapshot's size.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=32768
	SizeGiB int32 `json:"sizeGiB,omitempty"`

	// AvailabilityZone defaults to the source disk's zone, which the cloud requires.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	AvailabilityZone string `json:"availabilityZone,omitempty"`

	// VolumeType defaults to the source disk's type, which the cloud requires.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	VolumeType string `json:"volumeType,omitempty"`

	// Description is the disk's description in the cloud.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:XValidation:rule="bytes(self).size() <= 255",message="description must be at most 255 bytes"
	Description string `json:"description,omitempty"`

	// Metadata is the disk's cloud metadata.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	Metadata map[string]string `json:"metadata,omitempty"`

	// DeletionPolicy says whether deleting the object deletes the cloud disk.
	// +optional
	// +kubebuilder:default=Delete
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`
}

// EVSVolumeStatus is the observed state of a disk made from a snapshot.
type EVSVolumeStatus struct {
	// Phase is where the disk stands.
	// +optional
	Phase VolumePhase `json:"phase,omitempty"`
	// CloudStatus is the raw disk status the cloud reports.
	// +optional
	CloudStatus string `json:"cloudStatus,omitempty"`
	// VolumeID is the cloud disk's ID.
	// +optional
	VolumeID string `json:"volumeID,omitempty"`
	// JobID is the cloud job that creates the disk.
	// +optional
	JobID string `json:"jobID,omitempty"`
	// SnapshotID is the cloud snapshot the disk is made from.
	// +optional
	SnapshotID string `json:"snapshotID,omitempty"`
	// SizeGiB is the disk's size in GiB.
	// +optional
	SizeGiB int32 `json:"sizeGiB,omitempty"`
	// AvailabilityZone is the disk's zone. It is recorded, with volumeType, snapshotID and sizeGiB,
	// before the create is sent, so that a delete can ask the cloud again, with the same client
	// token, for a disk whose create response was lost.
	// +optional
	AvailabilityZone string `json:"availabilityZone,omitempty"`
	// VolumeType is the disk's type.
	// +optional
	VolumeType string `json:"volumeType,omitempty"`
	// ObservedGeneration is the generation of the spec that this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions are Ready and Synced.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// EVSVolume is a Huawei Cloud EVS disk made from a snapshot.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=evsv,categories=evs
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Volume-ID",type=string,JSONPath=`.status.volumeID`
// +kubebuilder:printcolumn:name="Size",type=integer,JSONPath=`.status.sizeGiB`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Snapshot-ID",type=string,JSONPath=`.status.snapshotID`,priority=1
// +kubebuilder:printcolumn:name="Policy",type=string,JSONPath=`.spec.deletionPolicy`,priority=1
type EVSVolume struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   EVSVolumeSpec   `json:"spec,omitempty"`
	Status EVSVolumeStatus `json:"status,omitempty"`
}

// EVSVolumeList is a list of EVSVolumes.
// +kubebuilder:object:root=true
type EVSVolumeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []EVSVolume `json:"items"`
}
