package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DeletionPolicy says what happens to the cloud resource when its object is deleted.
// +kubebuilder:validation:Enum=Delete;Retain
type DeletionPolicy string

const (
	// DeletionPolicyDelete deletes the cloud resource with the object.
	DeletionPolicyDelete DeletionPolicy = "Delete"
	// DeletionPolicyRetain leaves the cloud resource as it is when the object goes.
	DeletionPolicyRetain DeletionPolicy = "Retain"
)

// ManagementPolicy says whether the operator may change the cloud resource.
// +kubebuilder:validation:Enum=Managed;ObserveOnly
type ManagementPolicy string

const (
	// ManagementPolicyManaged lets the operator create, update and delete in the cloud.
	ManagementPolicyManaged ManagementPolicy = "Managed"
	// ManagementPolicyObserveOnly makes the operator read the cloud and never change it.
	ManagementPolicyObserveOnly ManagementPolicy = "ObserveOnly"
)

// RollbackState is how far a rollback request has got.
// +kubebuilder:validation:Enum=Pending;Waiting;Rollbacking;Succeeded;Failed
type RollbackState string

const (
	// RollbackPending means the request was seen and the cloud has not been called yet.
	RollbackPending RollbackState = "Pending"
	// RollbackWaiting means the source disk is in a status that does not accept a rollback yet.
	RollbackWaiting RollbackState = "Waiting"
	// RollbackRollbacking means the cloud accepted the rollback and is running it.
	RollbackRollbacking RollbackState = "Rollbacking"
	// RollbackSucceeded means snapshot and disk are back to available after the rollback.
	RollbackSucceeded RollbackState = "Succeeded"
	// RollbackFailed means the cloud refused or failed the rollback, or it was replaced.
	RollbackFailed RollbackState = "Failed"
)

// SnapshotSource names what the EVSSnapshot stands for: a disk to snapshot, or an existing snapshot.
// +kubebuilder:validation:XValidation:rule="has(self.volumeID) != has(self.snapshotID)",message="exactly one of volumeID and snapshotID must be set"
type SnapshotSource struct {
	// VolumeID is the ID of a disk to take a new snapshot of.
	// +optional
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`
	VolumeID string `json:"volumeID,omitempty"`

	// SnapshotID is the ID of an existing cloud snapshot to adopt.
	// +optional
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`
	SnapshotID string `json:"snapshotID,omitempty"`
}

// RollbackRequest asks for the snapshot's data to be rolled back onto its source disk.
type RollbackRequest struct {
	// RequestID identifies the request: each new value asks for one rollback.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	RequestID string `json:"requestID"`

	// VolumeID is the disk to roll back onto; it defaults to, and may only be, the source disk.
	// +optional
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`
	VolumeID string `json:"volumeID,omitempty"`
}

// EVSSnapshotSpec is the desired state of an EVS disk snapshot.
// +kubebuilder:validation:XValidation:rule="self.source == oldSelf.source",message="source is immutable"
// +kubebuilder:validation:XValidation:rule="has(self.metadata) == has(oldSelf.metadata) && (!has(self.metadata) || self.metadata == oldSelf.metadata)",message="metadata is immutable"
// +kubebuilder:validation:XValidation:rule="self.force == oldSelf.force",message="force is immutable"
type EVSSnapshotSpec struct {
	// Source is the disk to snapshot or the existing snapshot to adopt; exactly one of them.
	Source SnapshotSource `json:"source"`

	// SnapshotName is the snapshot's name in the cloud; it defaults to "<namespace>-<name>".
	// +optional
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:XValidation:rule="bytes(self).size() <= 255",message="snapshotName must be at most 255 bytes"
	SnapshotName string `json:"snapshotName,omitempty"`

	// Description is the snapshot's description in the cloud.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:XValidation:rule="bytes(self).size() <= 255",message="description must be at most 255 bytes"
	Description string `json:"description,omitempty"`

	// Metadata is the snapshot's cloud metadata, set when it is created.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	Metadata map[string]string `json:"metadata,omitempty"`

	// Force snapshots a disk that is attaching; it is set when the snapshot is created.
	// +optional
	// +kubebuilder:default=false
	Force bool `json:"force"`

	// DeletionPolicy says whether deleting the object deletes the cloud snapshot. It defaults to
	// Delete for a new snapshot and Retain for an adopted one.
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// ManagementPolicy says whether the operator may change the cloud snapshot.
	// +optional
	// +kubebuilder:default=Managed
	ManagementPolicy ManagementPolicy `json:"managementPolicy,omitempty"`

	// Rollback asks for a rollback of the snapshot onto its source disk.
	// +optional
	Rollback *RollbackRequest `json:"rollback,omitempty"`
}

// RollbackStatus records the last rollback request and how it went.
type RollbackStatus struct {
	// RequestID is the rollback request this status is about.
	RequestID string `json:"requestID"`
	// VolumeID is the disk the rollback goes onto.
	// +optional
	VolumeID string `json:"volumeID,omitempty"`
	// State is how far the rollback has got.
	State RollbackState `json:"state"`
	// Message says why the rollback waits or failed.
	// +optional
	Message string `json:"message,omitempty"`
	// SnapshotUpdatedAt is the cloud snapshot's update time when the request was recorded. The
	// cloud moves it when it runs a rollback, so a later time tells the operator, after a crash
	// or a lost response, that the rollback was sent and must not be sent again.
	// +optional
	SnapshotUpdatedAt *metav1.MicroTime `json:"snapshotUpdatedAt,omitempty"`
	// StartedAt is when the cloud accepted the rollback.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// CompletedAt is when the rollback ended.
	// +optional
	CompletedAt *metav1.Time `json:"completedAt,omitempty"`
}

// EVSSnapshotStatus is the observed state of an EVS disk snapshot.
type EVSSnapshotStatus struct {
	// Phase is the snapshot's phase in the state table.
	// +optional
	Phase SnapshotPhase `json:"phase,omitempty"`
	// CloudStatus is the raw status the cloud reports.
	// +optional
	CloudStatus string `json:"cloudStatus,omitempty"`
	// SnapshotID is the cloud snapshot's ID.
	// +optional
	SnapshotID string `json:"snapshotID,omitempty"`
	// SourceVolumeID is the disk the snapshot was taken of.
	// +optional
	SourceVolumeID string `json:"sourceVolumeID,omitempty"`
	// SizeGiB is the snapshot's size in GiB.
	// +optional
	SizeGiB int32 `json:"sizeGiB,omitempty"`
	// CreatedAt is when the cloud created the snapshot.
	// +optional
	CreatedAt *metav1.Time `json:"createdAt,omitempty"`
	// Progress is the cloud's creation progress, such as "100%".
	// +optional
	Progress string `json:"progress,omitempty"`
	// BackupOwned is true when the backup service owns the snapshot: nothing may be done to it.
	// +optional
	BackupOwned bool `json:"backupOwned,omitempty"`
	// AllowedOperations are the operations the current phase allows.
	// +optional
	// +listType=set
	AllowedOperations []Operation `json:"allowedOperations"`
	// ObservedGeneration is the generation of the spec that this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions are Ready and Synced.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// LastRollback is the last rollback request and how it went.
	// +optional
	LastRollback *RollbackStatus `json:"lastRollback,omitempty"`
}

// EVSSnapshot is a Huawei Cloud EVS disk snapshot, taken of a disk or adopted from the cloud.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=evss,categories=evs
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Volume",type=string,JSONPath=`.status.sourceVolumeID`
// +kubebuilder:printcolumn:name="Snapshot-ID",type=string,JSONPath=`.status.snapshotID`
// +kubebuilder:printcolumn:name="Size",type=integer,JSONPath=`.status.sizeGiB`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Allowed",type=string,JSONPath=`.status.allowedOperations`,priority=1
// +kubebuilder:printcolumn:name="Policy",type=string,JSONPath=`.spec.deletionPolicy`,priority=1
type EVSSnapshot struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   EVSSnapshotSpec   `json:"spec,omitempty"`
	Status EVSSnapshotStatus `json:"status,omitempty"`
}

// EVSSnapshotList is a list of EVSSnapshots.
// +kubebuilder:object:root=true
type EVSSnapshotList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []EVSSnapshot `json:"items"`
}
