package simulator

import (
	"net/http"
	"time"
)

// clientTokenTTL is how long an X-Client-Token keeps answering with its first result.
const clientTokenTTL = 8 * time.Hour

// clientToken remembers the answer to a create made with an X-Client-Token.
type clientToken struct {
	expires time.Time
	answer  createVolumeBody
}

// createVolumeBody answers POST /v2.1/{project_id}/cloudvolumes for pay-per-use disks.
type createVolumeBody struct {
	JobID     string   `json:"job_id"`
	VolumeIDs []string `json:"volume_ids"`
}

// createVolumeRequest is the body of POST /v2.1/{project_id}/cloudvolumes.
type createVolumeRequest struct {
	Volume *struct {
		AvailabilityZone string            `json:"availability_zone"`
		VolumeType       string            `json:"volume_type"`
		Size             int32             `json:"size"`
		SnapshotID       string            `json:"snapshot_id"`
		BackupID         string            `json:"backup_id"`
		ImageRef         string            `json:"imageRef"`
		Name             string            `json:"name"`
		Description      string            `json:"description"`
		Metadata         map[string]string `json:"metadata"`
		Count            int32             `json:"count"`
	} `json:"volume"`
	BssParam *struct {
		ChargingMode string `json:"chargingMode"`
	} `json:"bssParam"`
}

// Disk sizes the cloud accepts for data disks, in GiB.
const (
	minVolumeGiB = 10
	maxVolumeGiB = 32768
)

func (s *Simulator) createVolume(req *apiRequest) reply {
	token := req.r.Header.Get("X-Client-Token")
	if t, ok := s.tokens[token]; ok && token != "" {
		// A retried create: the same job and disk, never a second disk.
		return reply{status: http.StatusAccepted, body: t.answer}
	}
	var in createVolumeRequest
	if rep := req.decode(&in); rep != nil {
		return *rep
	}
	v, rep, ok := s.volumeToCreate(&in, req.now)
	if !ok {
		return rep
	}
	s.volumes[v.id] = v
	j := s.newJob("createVolume", v, req.now)
	v.pending = s.schedule(req.now, s.timings.VolumeCreate, transition{
		kind: volumeCreated, volumeID: v.id, jobID: j.id, failure: takeFailure(&s.failures.VolumeCreate),
	})
	answer := createVolumeBody{JobID: j.id, VolumeIDs: []string{v.id}}
	if token != "" {
		s.tokens[token] = clientToken{expires: req.now.Add(clientTokenTTL), answer: answer}
		s.tokenOrder = append(s.tokenOrder, token)
	}
	return reply{status: http.StatusAccepted, body: answer}
}

// volumeToCreate checks a create request against the cloud's rules and builds the new disk.
func (s *Simulator) volumeToCreate(in *createVolumeRequest, now time.Time) (*volume, reply, bool) {
	o := in.Volume
	if o == nil {
		return nil, badRequest("volume is required"), false
	}
	sources := 0
	for _, id := range []string{o.SnapshotID, o.BackupID, o.ImageRef} {
		if id != "" {
			sources++
		}
	}
	switch {
	case sources > 1:
		return nil, errorReply(http.StatusBadRequest, codeMultipleSources,
			"only one of snapshot_id, backup_id and imageRef may be given"), false
	case o.BackupID != "":
		return nil, errorReply(http.StatusBadRequest, codeInvalidBackupID,
			"backup %s does not exist", o.BackupID), false
	case o.ImageRef != "":
		// TODO: the simulator has no images; a disk from an image is refused as if the image were missing.
		return nil, badRequest("image %s does not exist", o.ImageRef), false
	case o.Count > 1:
		// TODO: batch creation (count > 1) is not modelled; it is refused.
		return nil, errorReply(http.StatusBadRequest, codeUnsupportedParam,
			"the simulator creates one disk per request; count %d is not supported", o.Count), false
	case in.BssParam != nil && in.BssParam.ChargingMode == "prePaid":
		// TODO: yearly/monthly disks answer with an order id in the cloud; only pay-per-use is modelled.
		return nil, errorReply(http.StatusBadRequest, codeUnsupportedParam,
			"the simulator creates pay-per-use disks only"), false
	case o.AvailabilityZone == "":
		return nil, badRequest("volume.availability_zone is required"), false
	case o.VolumeType == "":
		return nil, badRequest("volume.volume_type is required"), false
	case len(o.Name) > maxNameBytes || len(o.Description) > maxNameBytes:
		return nil, badRequest("the name and the description may have at most %d bytes",
			maxNameBytes), false
	}
	size := o.Size
	if o.SnapshotID != "" {
		sn := s.snapshots[o.SnapshotID]
		if sn == nil {
			return nil, errorReply(http.StatusBadRequest, codeInvalidSnapshotID,
				"snapshot %s does not exist", o.SnapshotID), false
		}
		if rep, ok := checkSnapshotSource(sn, o.AvailabilityZone, o.VolumeType, &size); !ok {
			return nil, rep, false
		}
	}
	if size < minVolumeGiB || size > maxVolumeGiB {
		return nil, errorReply(http.StatusBadRequest, codeInvalidSize,
			"size %d GiB is outside %d-%d GiB", size, minVolumeGiB, maxVolumeGiB), false
	}
	return &volume{
		id:          newUUID(),
		name:        o.Name,
		description: o.Description,
		status:      volumeCreating,
		zone:        o.AvailabilityZone,
		volumeType:  o.VolumeType,
		snapshotID:  o.SnapshotID,
		sizeGiB:     size,
		metadata:    copyMetadata(o.Metadata),
		createdAt:   now.UTC(),
		updatedAt:   now.UTC(),
	}, reply{}, true
}

// checkSnapshotSource applies the rules for a disk made from snapshot sn; a zero *size becomes
// the snapshot's size.
func checkSnapshotSource(sn *snapshot, zone, volumeType string, size *int32) (reply, bool) {
	switch {
	case sn.backupOwned():
		return backupOwned(sn, "used to create a disk"), false
	case sn.status != snapshotAvailable:
		return errorReply(http.StatusBadRequest, codeSnapshotNotAvailable,
			"snapshot %s is %s; a disk can be created only from an available snapshot",
			sn.id, sn.status), false
	case zone != sn.zone:
		return errorReply(http.StatusBadRequest, codeZoneMismatch,
			"availability zone %s differs from the source disk's zone %s", zone, sn.zone), false
	case volumeType != sn.volumeType:
		return errorReply(http.StatusBadRequest, codeTypeMismatch,
			"volume type %s differs from the source disk's type %s", volumeType, sn.volumeType), false
	}
	if *size == 0 {
		*size = sn.sizeGiB
	}
	if *size < sn.sizeGiB {
		return errorReply(http.StatusBadRequest, codeInvalidSize,
			"size %d GiB is smaller than snapshot %s (%d GiB)", *size, sn.id, sn.sizeGiB), false
	}
	return reply{}, true
}

// expireTokens forgets client tokens older than clientTokenTTL. Callers hold s.mu.
func (s *Simulator) expireTokens(now time.Time) {
	// Every token lives equally long, so tokenOrder is also expiry order: only its head needs looking at.
	for len(s.tokenOrder) > 0 {
		oldest := s.tokenOrder[0]
		if t, ok := s.tokens[oldest]; ok && now.Before(t.expires) {
			return
		}
		delete(s.tokens, oldest)
		s.tokenOrder = s.tokenOrder[1:]
	}
}

func (s *Simulator) showVolume(req *apiRequest) reply {
	v := s.volumes[req.r.PathValue("id")]
	if v == nil {
		return notFound("volume", req.r.PathValue("id"))
	}
	return reply{status: http.StatusOK, body: volumeEnvelope{s.volumeBody(v)}}
}

type deleteVolumeBody struct {
	JobID string `json:"job_id"`
}

func (s *Simulator) deleteVolume(req *apiRequest) reply {
	v := s.volumes[req.r.PathValue("id")]
	if v == nil {
		return notFound("volume", req.r.PathValue("id"))
	}
	if v.status != volumeAvailable && v.status != volumeError {
		return errorReply(http.StatusBadRequest, codeVolumeStatus,
			"volume %s is %s; it can be deleted only when available or error", v.id, v.status)
	}
	v.setStatus(volumeDeleting, req.now)
	j := s.newJob("deleteVolume", v, req.now)
	v.pending = s.schedule(req.now, s.timings.VolumeDelete, transition{
		kind: volumeDeleted, volumeID: v.id, jobID: j.id, failure: takeFailure(&s.failures.VolumeDelete),
	})
	return reply{status: http.StatusAccepted, body: deleteVolumeBody{JobID: j.id}}
}

// volumeBody is a disk as EVS shows it, as the SDK's VolumeDetail reads it.
type volumeBody struct {
	ID                  string            `json:"id"`
	Links               []snapshotLink    `json:"links"`
	Name                string            `json:"name"`
	Status              string            `json:"status"`
	Attachments         []attachmentBody  `json:"attachments"`
	AvailabilityZone    string            `json:"availability_zone"`
	Host                string            `json:"os-vol-host-attr:host"`
	SnapshotID          string            `json:"snapshot_id"`
	Description         string            `json:"description"`
	CreatedAt           string            `json:"created_at"`
	UpdatedAt           string            `json:"updated_at"`
	TenantID            string            `json:"os-vol-tenant-attr:tenant_id"`
	VolumeImageMetadata map[string]string `json:"volume_image_metadata"`
	VolumeType          string            `json:"volume_type"`
	Size                int32             `json:"size"`
	Bootable            string            `json:"bootable"`
	Metadata            map[string]string `json:"metadata"`
	ReplicationStatus   string            `json:"replication_status"`
	Shareable           string            `json:"shareable"`
	Multiattach         bool              `json:"multiattach"`
	Encrypted           bool              `json:"encrypted"`
	ServiceType         string            `json:"service_type"`
	Tags                map[string]string `json:"tags"`
}

type attachmentBody struct {
	AttachedAt   string `json:"attached_at"`
	AttachmentID string `json:"attachment_id"`
	Device       string `json:"device"`
	HostName     string `json:"host_name"`
	ID           string `json:"id"`
	ServerID     string `json:"server_id"`
	VolumeID     string `json:"volume_id"`
}

type volumeEnvelope struct {
	Volume volumeBody `json:"volume"`
}

// simServerID is the server every in-use disk appears attached to.
const simServerID = "44444444-4444-4444-8444-444444444444"

func (s *Simulator) volumeBody(v *volume) volumeBody {
	b := volumeBody{
		ID:                  v.id,
		Links:               []snapshotLink{},
		Name:                v.name,
		Status:              v.status,
		Attachments:         []attachmentBody{},
		AvailabilityZone:    v.zone,
		Host:                "sim-host#" + v.volumeType,
		SnapshotID:          v.snapshotID,
		Description:         v.description,
		CreatedAt:           cloudTime(v.createdAt),
		UpdatedAt:           cloudTime(v.updatedAt),
		TenantID:            s.projectID,
		VolumeImageMetadata: map[string]string{},
		VolumeType:          v.volumeType,
		Size:                v.sizeGiB,
		Bootable:            "false",
		Metadata:            v.metadata,
		ReplicationStatus:   "disabled",
		Shareable:           "false",
		ServiceType:         "EVS",
		Tags:                map[string]string{},
	}
	if v.status == volumeInUse {
		b.Attachments = append(b.Attachments, attachmentBody{
			AttachedAt:   cloudTime(v.createdAt),
			AttachmentID: v.id,
			Device:       "/dev/vdb",
			HostName:     "sim-host",
			ID:           v.id,
			ServerID:     simServerID,
			VolumeID:     v.id,
		})
	}
	return b
}
