package simulator

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Snapshot statuses, as the cloud spells them.
const (
	snapshotCreating      = "creating"
	snapshotAvailable     = "available"
	snapshotError         = "error"
	snapshotDeleting      = "deleting"
	snapshotErrorDeleting = "error_deleting"
	snapshotRollbacking   = "rollbacking"
	snapshotBackingUp     = "backing-up"
)

// Disk statuses the rules refer to; any status of volumeStatuses may be forced.
const (
	volumeCreating         = "creating"
	volumeAvailable        = "available"
	volumeInUse            = "in-use"
	volumeError            = "error"
	volumeAttaching        = "attaching"
	volumeDeleting         = "deleting"
	volumeErrorDeleting    = "error_deleting"
	volumeRollbacking      = "rollbacking"
	volumeErrorRollbacking = "error_rollbacking"
)

var snapshotStatuses = []string{
	snapshotCreating, snapshotAvailable, snapshotError, snapshotDeleting, snapshotErrorDeleting,
	snapshotRollbacking, snapshotBackingUp,
}

var volumeStatuses = []string{
	"creating", "available", "in-use", "error", "attaching", "detaching", "restoring-backup",
	"backing-up", "error_restoring", "uploading", "downloading", "extending", "error_extending",
	"deleting", "error_deleting", "rollbacking", "error_rollbacking", "awaiting-transfer",
}

// cloudTimeFormat is how EVS writes created_at and updated_at: UTC, microseconds, no zone.
const cloudTimeFormat = "2006-01-02T15:04:05.000000"

// maxNameBytes bounds snapshot names and descriptions, as the cloud does.
const maxNameBytes = 255

// Name prefixes and the metadata key that mark a snapshot as made by the backup service.
var backupPrefixes = []string{"autobk_snapshot_", "manualbk_snapshot_"}

const backupMetadataKey = "__system__enableActive"

type snapshot struct {
	id, name, description, status string
	volumeID, zone, volumeType    string
	sizeGiB                       int32
	// metadata is never mutated after creation, so responses may share it outside the lock.
	metadata             map[string]string
	createdAt, updatedAt time.Time
	// pending is the seq of the scheduled transition allowed to change this snapshot; 0: none.
	pending uint64
	// rollbacks counts the rollbacks accepted for the snapshot.
	rollbacks int
}

func (sn *snapshot) backupOwned() bool {
	for _, p := range backupPrefixes {
		if strings.HasPrefix(sn.name, p) {
			return true
		}
	}
	_, ok := sn.metadata[backupMetadataKey]
	return ok
}

func (sn *snapshot) progress() string {
	if sn.status == snapshotCreating || sn.status == snapshotBackingUp {
		return "0%"
	}
	return "100%"
}

// before orders snapshots for listing: by creation time, then id.
func (sn *snapshot) before(o *snapshot) bool {
	if !sn.createdAt.Equal(o.createdAt) {
		return sn.createdAt.Before(o.createdAt)
	}
	return sn.id < o.id
}

type volume struct {
	id, name, description, status string
	zone, volumeType, snapshotID  string
	sizeGiB                       int32
	// metadata is never mutated after creation, so responses may share it outside the lock.
	metadata             map[string]string
	createdAt, updatedAt time.Time
	// snapshots holds the ids of this disk's snapshots: the one-creating-at-a-time rule and
	// cascading deletes look only at these.
	snapshots map[string]struct{}
	pending   uint64
}

// addSnapshot stores sn and keeps the listing order.
func (s *Simulator) addSnapshot(sn *snapshot) {
	s.snapshots[sn.id] = sn
	i, _ := slices.BinarySearchFunc(s.ordered, sn, compareSnapshots)
	s.ordered = slices.Insert(s.ordered, i, sn)
	if v := s.volumes[sn.volumeID]; v != nil {
		if v.snapshots == nil {
			v.snapshots = map[string]struct{}{}
		}
		v.snapshots[sn.id] = struct{}{}
	}
}

// removeSnapshot forgets sn; a later request for it gets 404.
func (s *Simulator) removeSnapshot(sn *snapshot) {
	delete(s.snapshots, sn.id)
	if i, found := slices.BinarySearchFunc(s.ordered, sn, compareSnapshots); found {
		s.ordered = slices.Delete(s.ordered, i, i+1)
	}
	if v := s.volumes[sn.volumeID]; v != nil {
		delete(v.snapshots, sn.id)
	}
}

func compareSnapshots(a, b *snapshot) int {
	switch {
	case a.before(b):
		return -1
	case b.before(a):
		return 1
	}
	return 0
}

// removeVolume forgets v and, as the cloud does when a disk is deleted, its snapshots.
func (s *Simulator) removeVolume(v *volume) {
	for id := range v.snapshots {
		if sn := s.snapshots[id]; sn != nil {
			s.removeSnapshot(sn)
		}
	}
	delete(s.volumes, v.id)
}

// creatingSnapshotOf returns the snapshot of disk v that is being created, if any.
func (s *Simulator) creatingSnapshotOf(v *volume) *snapshot {
	for id := range v.snapshots {
		if sn := s.snapshots[id]; sn != nil && sn.status == snapshotCreating {
			return sn
		}
	}
	return nil
}

// newSnapshot builds a snapshot of disk v; the caller stores it with addSnapshot.
func newSnapshot(v *volume, name, description, status string, meta map[string]string,
	now time.Time) *snapshot {
	return &snapshot{
		id:          newUUID(),
		name:        name,
		description: description,
		status:      status,
		volumeID:    v.id,
		zone:        v.zone,
		volumeType:  v.volumeType,
		sizeGiB:     v.sizeGiB,
		metadata:    copyMetadata(meta),
		createdAt:   now.UTC(),
		updatedAt:   now.UTC(),
	}
}

// copyMetadata detaches the caller's map and never returns nil, so JSON shows {} rather than null.
func copyMetadata(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return maps.Clone(m)
}

func cloudTime(t time.Time) string {
	return t.UTC().Format(cloudTimeFormat)
}

// newUUID returns a random RFC 4122 version 4 UUID, the form EVS ids take.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms.
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// newHexID returns 32 random hex digits, the form of job and request ids.
func newHexID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
