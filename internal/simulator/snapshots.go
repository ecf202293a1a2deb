package simulator

import "net/http"

// snapshotBody is a snapshot as EVS shows it; it reads as both the SDK's SnapshotDetails and
// SnapshotList.
type snapshotBody struct {
	ID          string            `json:"id"`
	Status      string            `json:"status"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	CreatedAt   string            `json:"created_at"`
	UpdatedAt   string            `json:"updated_at"`
	Metadata    map[string]string `json:"metadata"`
	VolumeID    string            `json:"volume_id"`
	Size        int32             `json:"size"`
	ProjectID   string            `json:"os-extended-snapshot-attributes:project_id"`
	Progress    string            `json:"os-extended-snapshot-attributes:progress"`
	ServiceType string            `json:"service_type"`
}

type snapshotEnvelope struct {
	Snapshot snapshotBody `json:"snapshot"`
}

func (s *Simulator) snapshotBody(sn *snapshot) snapshotBody {
	return snapshotBody{
		ID:          sn.id,
		Status:      sn.status,
		Name:        sn.name,
		Description: sn.description,
		CreatedAt:   cloudTime(sn.createdAt),
		UpdatedAt:   cloudTime(sn.updatedAt),
		Metadata:    sn.metadata,
		VolumeID:    sn.volumeID,
		Size:        sn.sizeGiB,
		ProjectID:   s.projectID,
		Progress:    sn.progress(),
		ServiceType: "EVS",
	}
}

// createSnapshotRequest is the body of POST /v2/{project_id}/cloudsnapshots.
type createSnapshotRequest struct {
	Snapshot *struct {
		VolumeID    string            `json:"volume_id"`
		Force       bool              `json:"force"`
		Name        string            `json:"name"`
		Description string            `json:"description"`
		Metadata    map[string]string `json:"metadata"`
	} `json:"snapshot"`
}

func (s *Simulator) createSnapshot(req *apiRequest) reply {
	var in createSnapshotRequest
	if rep := req.decode(&in); rep != nil {
		return *rep
	}
	o := in.Snapshot
	if o == nil || o.VolumeID == "" {
		return badRequest("snapshot.volume_id is required")
	}
	if rep, ok := checkNameAndDescription(o.Name, o.Description); !ok {
		return rep
	}
	v := s.volumes[o.VolumeID]
	if v == nil {
		return notFound("volume", o.VolumeID)
	}
	switch {
	case v.status == volumeAvailable || v.status == volumeInUse:
	case v.status == volumeAttaching && o.Force:
	default:
		return errorReply(http.StatusBadRequest, codeVolumeStatus,
			"volume %s is %s; a snapshot needs it available or in-use (attaching only with force)",
			v.id, v.status)
	}
	if busy := s.creatingSnapshotOf(v); busy != nil {
		return errorReply(http.StatusConflict, codeSnapshotBusy,
			"snapshot %s of volume %s is still being created; retry later", busy.id, v.id)
	}
	sn := newSnapshot(v, o.Name, o.Description, snapshotCreating, o.Metadata, req.now)
	sn.pending = s.schedule(req.now, s.timings.SnapshotCreate, transition{
		kind: snapshotCreated, snapshotID: sn.id, failure: takeFailure(&s.failures.SnapshotCreate),
	})
	s.addSnapshot(sn)
	return reply{status: http.StatusAccepted, body: snapshotEnvelope{s.snapshotBody(sn)}}
}

func (s *Simulator) showSnapshot(req *apiRequest) reply {
	sn := s.snapshots[req.r.PathValue("id")]
	if sn == nil {
		return notFound("snapshot", req.r.PathValue("id"))
	}
	return reply{status: http.StatusOK, body: snapshotEnvelope{s.snapshotBody(sn)}}
}

// updateSnapshotRequest is the body of PUT /v2/{project_id}/cloudsnapshots/{snapshot_id}.
type updateSnapshotRequest struct {
	Snapshot *struct {
		Name        *string `json:"name"`
		Description *string `json:"description"`
	} `json:"snapshot"`
}

func (s *Simulator) updateSnapshot(req *apiRequest) reply {
	var in updateSnapshotRequest
	if rep := req.decode(&in); rep != nil {
		return *rep
	}
	o := in.Snapshot
	if o == nil || (o.Name == nil && o.Description == nil) {
		return badRequest("snapshot.name or snapshot.description is required")
	}
	if rep, ok := checkNameAndDescription(deref(o.Name), deref(o.Description)); !ok {
		return rep
	}
	sn := s.snapshots[req.r.PathValue("id")]
	if sn == nil {
		return notFound("snapshot", req.r.PathValue("id"))
	}
	if sn.backupOwned() {
		return backupOwned(sn, "updated")
	}
	if o.Name != nil {
		sn.name = *o.Name
	}
	if o.Description != nil {
		sn.description = *o.Description
	}
	sn.updatedAt = req.now.UTC()
	return reply{status: http.StatusOK, body: snapshotEnvelope{s.snapshotBody(sn)}}
}

func (s *Simulator) deleteSnapshot(req *apiRequest) reply {
	sn := s.snapshots[req.r.PathValue("id")]
	if sn == nil {
		return notFound("snapshot", req.r.PathValue("id"))
	}
	if sn.backupOwned() {
		return backupOwned(sn, "deleted")
	}
	if sn.status != snapshotAvailable && sn.status != snapshotError {
		return errorReply(http.StatusBadRequest, codeSnapshotNotDeletable,
			"snapshot %s is %s; it can be deleted only when available or error", sn.id, sn.status)
	}
	sn.setStatus(snapshotDeleting, req.now)
	sn.pending = s.schedule(req.now, s.timings.SnapshotDelete, transition{
		kind: snapshotDeleted, snapshotID: sn.id, failure: takeFailure(&s.failures.SnapshotDelete),
	})
	return reply{status: http.StatusAccepted}
}

// rollbackRequest is the body of POST /v2/{project_id}/cloudsnapshots/{snapshot_id}/rollback.
type rollbackRequest struct {
	Rollback *struct {
		VolumeID string `json:"volume_id"`
		Name     string `json:"name"`
	} `json:"rollback"`
}

type rollbackEnvelope struct {
	Rollback struct {
		VolumeID   string `json:"volume_id"`
		VolumeName string `json:"volume_name"`
	} `json:"rollback"`
}

func (s *Simulator) rollbackSnapshot(req *apiRequest) reply {
	var in rollbackRequest
	if rep := req.decode(&in); rep != nil {
		return *rep
	}
	if in.Rollback == nil || in.Rollback.VolumeID == "" {
		return badRequest("rollback.volume_id is required")
	}
	sn := s.snapshots[req.r.PathValue("id")]
	if sn == nil {
		return notFound("snapshot", req.r.PathValue("id"))
	}
	if sn.backupOwned() {
		return backupOwned(sn, "rolled back")
	}
	if sn.status != snapshotAvailable {
		return errorReply(http.StatusBadRequest, codeSnapshotNotAvailable,
			"snapshot %s is %s; a rollback needs it available", sn.id, sn.status)
	}
	if in.Rollback.VolumeID != sn.volumeID {
		return errorReply(http.StatusBadRequest, codeRollbackTarget,
			"snapshot %s can be rolled back only onto its source volume %s, not %s",
			sn.id, sn.volumeID, in.Rollback.VolumeID)
	}
	v := s.volumes[sn.volumeID]
	if v == nil {
		return notFound("volume", sn.volumeID)
	}
	if v.status != volumeAvailable && v.status != volumeErrorRollbacking {
		return errorReply(http.StatusBadRequest, codeVolumeStatus,
			"volume %s is %s; a rollback needs it available or error_rollbacking", v.id, v.status)
	}
	sn.setStatus(snapshotRollbacking, req.now)
	v.setStatus(volumeRollbacking, req.now)
	sn.rollbacks++
	seq := s.schedule(req.now, s.timings.Rollback, transition{
		kind:       rollbackFinished,
		snapshotID: sn.id,
		volumeID:   v.id,
		failure:    takeFailure(&s.failures.Rollback),
	})
	sn.pending, v.pending = seq, seq

	var out rollbackEnvelope
	out.Rollback.VolumeID, out.Rollback.VolumeName = v.id, v.name
	return reply{status: http.StatusAccepted, body: out}
}

func checkNameAndDescription(name, description string) (reply, bool) {
	if len(name) > maxNameBytes {
		return badRequest("the name is %d bytes; at most %d are allowed", len(name), maxNameBytes), false
	}
	if len(description) > maxNameBytes {
		return badRequest("the description is %d bytes; at most %d are allowed",
			len(description), maxNameBytes), false
	}
	return reply{}, true
}

func backupOwned(sn *snapshot, verb string) reply {
	return errorReply(http.StatusBadRequest, codeBackupOwned,
		"snapshot %s belongs to the backup service and cannot be %s", sn.id, verb)
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
