package simulator

import "time"

// Volume is a disk as the control API shows it. As input to AddVolume, ID, Status (default
// available), AvailabilityZone (default sim-az1) and VolumeType (default SSD) may be left empty.
type Volume struct {
	ID               string            `json:"id,omitempty"`
	Name             string            `json:"name"`
	Description      string            `json:"description,omitempty"`
	SizeGiB          int               `json:"sizeGiB"`
	Status           string            `json:"status,omitempty"`
	AvailabilityZone string            `json:"availabilityZone,omitempty"`
	VolumeType       string            `json:"volumeType,omitempty"`
	SnapshotID       string            `json:"snapshotID,omitempty"`
	Metadata         map[string]string `json:"metadata"`
	CreatedAt        time.Time         `json:"createdAt,omitzero"`
	UpdatedAt        time.Time         `json:"updatedAt,omitzero"`
}

// Snapshot is a snapshot as the control API shows it. As input to AddSnapshot only VolumeID,
// Name, Description and Metadata count (and ID, when a fixed id is wanted).
type Snapshot struct {
	ID               string            `json:"id,omitempty"`
	Name             string            `json:"name"`
	Description      string            `json:"description,omitempty"`
	Status           string            `json:"status,omitempty"`
	VolumeID         string            `json:"volumeID"`
	SizeGiB          int               `json:"sizeGiB,omitempty"`
	AvailabilityZone string            `json:"availabilityZone,omitempty"`
	Progress         string            `json:"progress,omitempty"`
	Metadata         map[string]string `json:"metadata"`
	CreatedAt        time.Time         `json:"createdAt,omitzero"`
	UpdatedAt        time.Time         `json:"updatedAt,omitzero"`
	// Rollbacks counts the rollbacks the cloud accepted for this snapshot, so tests can tell
	// that each rollback request ran exactly once. Output only.
	Rollbacks int `json:"rollbacks,omitempty"`
}

// Fault makes an operation of the signed API fail. Operation is one of the Operation* names or
// "*". HTTPStatus defaults to 500 and Code to one that fits it (APIG.0308 for 429, EVS.5<status>
// otherwise; APIG.* codes get the gateway's body shape). Count is how many requests fail (0: until
// the faults are cleared); Probability is the chance that a matching request fails (0 means 1).
// AfterCommit applies the operation and then answers the fault instead of the real response, as
// when a response is lost on the way back.
type Fault struct {
	Operation   string  `json:"operation"`
	HTTPStatus  int     `json:"httpStatus,omitempty"`
	Code        string  `json:"code,omitempty"`
	Count       int     `json:"count,omitempty"`
	Probability float64 `json:"probability,omitempty"`
	AfterCommit bool    `json:"afterCommit,omitempty"`
}

// Failures makes the next transition of a kind end in a failure status instead of succeeding:
// SnapshotCreate "error", SnapshotDelete "error_deleting", Rollback "error_rollbacking" (the
// snapshot returns to available), VolumeCreate "error" (its job FAILs), VolumeDelete
// "error_deleting". An empty field means succeed. Each failure is spent by the next request that
// starts a transition of its kind; transitions already under way are not affected.
type Failures struct {
	SnapshotCreate string `json:"snapshotCreate,omitempty"`
	SnapshotDelete string `json:"snapshotDelete,omitempty"`
	Rollback       string `json:"rollback,omitempty"`
	VolumeCreate   string `json:"volumeCreate,omitempty"`
	VolumeDelete   string `json:"volumeDelete,omitempty"`
}

// Stats counts the signed API requests per operation since the simulator started, refused ones
// (bad signature, throttled, faults, cloud rules) included.
type Stats struct {
	Requests map[string]int64 `json:"requests"`
}

// view is the disk as the control API shows it.
func (v *volume) view() Volume {
	return Volume{
		ID:               v.id,
		Name:             v.name,
		Description:      v.description,
		SizeGiB:          int(v.sizeGiB),
		Status:           v.status,
		AvailabilityZone: v.zone,
		VolumeType:       v.volumeType,
		SnapshotID:       v.snapshotID,
		Metadata:         v.metadata,
		CreatedAt:        v.createdAt,
		UpdatedAt:        v.updatedAt,
	}
}

// view is the snapshot as the control API shows it.
func (sn *snapshot) view() Snapshot {
	return Snapshot{
		ID:               sn.id,
		Name:             sn.name,
		Description:      sn.description,
		Status:           sn.status,
		VolumeID:         sn.volumeID,
		SizeGiB:          int(sn.sizeGiB),
		AvailabilityZone: sn.zone,
		Progress:         sn.progress(),
		Metadata:         sn.metadata,
		CreatedAt:        sn.createdAt,
		UpdatedAt:        sn.updatedAt,
		Rollbacks:        sn.rollbacks,
	}
}
