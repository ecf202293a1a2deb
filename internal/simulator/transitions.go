package simulator

import (
	"container/heap"
	"fmt"
	"slices"
	"time"
)

// transitionKind names what a pending transition finishes.
type transitionKind int

const (
	snapshotCreated transitionKind = iota
	backupFinished
	snapshotDeleted
	rollbackFinished
	volumeCreated
	volumeDeleted
)

// transition is a status change that becomes due at a point in time. It is applied lazily by
// advance; a resource whose pending seq no longer matches (forced status, vanished) ignores it.
type transition struct {
	due                         time.Time
	seq                         uint64
	kind                        transitionKind
	snapshotID, volumeID, jobID string
	// failure is the status a failed transition ends in; empty: it succeeds.
	failure string
}

// transitionQueue is a min-heap of transitions by due time, then seq.
type transitionQueue []transition

func (q transitionQueue) Len() int { return len(q) }

func (q transitionQueue) Less(i, j int) bool {
	if !q[i].due.Equal(q[j].due) {
		return q[i].due.Before(q[j].due)
	}
	return q[i].seq < q[j].seq
}

func (q transitionQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }

func (q *transitionQueue) Push(x any) { *q = append(*q, x.(transition)) }

func (q *transitionQueue) Pop() any {
	old := *q
	t := old[len(old)-1]
	*q = old[:len(old)-1]
	return t
}

// schedule queues a transition after d and returns its seq, which the caller stores as the
// pending seq of every resource the transition may change.
func (s *Simulator) schedule(now time.Time, d time.Duration, t transition) uint64 {
	s.seq++
	t.seq = s.seq
	t.due = now.Add(d)
	heap.Push(&s.queue, t)
	return t.seq
}

// advance applies every transition due at now, in due order. Callers hold s.mu.
func (s *Simulator) advance(now time.Time) {
	for len(s.queue) > 0 && !s.queue[0].due.After(now) {
		t := heap.Pop(&s.queue).(transition)
		s.apply(t)
	}
	s.expireTokens(now)
}

func (s *Simulator) apply(t transition) {
	switch t.kind {
	case snapshotCreated:
		s.finishSnapshotCreate(t)
	case backupFinished:
		if sn := s.pendingSnapshot(t); sn != nil {
			sn.setStatus(snapshotAvailable, t.due)
		}
	case snapshotDeleted:
		s.finishSnapshotDelete(t)
	case rollbackFinished:
		s.finishRollback(t)
	case volumeCreated:
		s.finishVolumeCreate(t)
	case volumeDeleted:
		s.finishVolumeDelete(t)
	}
}

func (s *Simulator) finishSnapshotCreate(t transition) {
	sn := s.pendingSnapshot(t)
	if sn == nil {
		return
	}
	sn.setStatus(orDefault(t.failure, snapshotAvailable), t.due)
}

func (s *Simulator) finishSnapshotDelete(t transition) {
	sn := s.pendingSnapshot(t)
	if sn == nil {
		return
	}
	if t.failure != "" {
		sn.setStatus(t.failure, t.due)
		return
	}
	s.removeSnapshot(sn)
}

// finishRollback ends a rollback: the snapshot is available again either way; the disk is
// available, or in the configured failure status.
func (s *Simulator) finishRollback(t transition) {
	if sn := s.pendingSnapshot(t); sn != nil {
		sn.setStatus(snapshotAvailable, t.due)
	}
	if v := s.pendingVolume(t); v != nil {
		v.setStatus(orDefault(t.failure, volumeAvailable), t.due)
	}
}

func (s *Simulator) finishVolumeCreate(t transition) {
	j := s.jobs[t.jobID]
	v := s.pendingVolume(t)
	if v != nil {
		v.setStatus(orDefault(t.failure, volumeAvailable), t.due)
	} else {
		// The disk's status was forced or it vanished: the job reports what became of it.
		v = s.volumes[t.volumeID]
	}
	if j == nil {
		return
	}
	if v == nil || v.status == volumeError || v.status == volumeCreating {
		j.fail(t.due, "the disk could not be created")
		return
	}
	j.finish(jobSuccess, t.due)
}

func (s *Simulator) finishVolumeDelete(t transition) {
	j := s.jobs[t.jobID]
	v := s.pendingVolume(t)
	if v == nil {
		if j != nil {
			j.finish(jobSuccess, t.due)
		}
		return
	}
	if t.failure != "" {
		v.setStatus(t.failure, t.due)
		if j != nil {
			j.fail(t.due, "the disk could not be deleted")
		}
		return
	}
	s.removeVolume(v)
	if j != nil {
		j.finish(jobSuccess, t.due)
	}
}

// pendingSnapshot returns the snapshot t may still change, or nil.
func (s *Simulator) pendingSnapshot(t transition) *snapshot {
	sn := s.snapshots[t.snapshotID]
	if sn == nil || sn.pending != t.seq {
		return nil
	}
	return sn
}

// pendingVolume returns the disk t may still change, or nil.
func (s *Simulator) pendingVolume(t transition) *volume {
	v := s.volumes[t.volumeID]
	if v == nil || v.pending != t.seq {
		return nil
	}
	return v
}

// setStatus sets a status and cancels any pending transition.
func (sn *snapshot) setStatus(status string, at time.Time) {
	sn.status = status
	sn.updatedAt = at.UTC()
	sn.pending = 0
}

// setStatus sets a status and cancels any pending transition.
func (v *volume) setStatus(status string, at time.Time) {
	v.status = status
	v.updatedAt = at.UTC()
	v.pending = 0
}

// takeFailure returns the configured failure status for a transition that starts now and clears
// it, so only the next transition of that kind fails. Taking it at the start, not at the end, ties
// the failure to the next request rather than to whichever transition happens to finish first.
func takeFailure(f *string) string {
	status := *f
	*f = ""
	return status
}

// failureStatuses lists, per Failures field, the statuses a failed transition may end in.
var failureStatuses = map[string][]string{
	"snapshotCreate": {snapshotError},
	"snapshotDelete": {snapshotErrorDeleting},
	"rollback":       {volumeErrorRollbacking},
	"volumeCreate":   {volumeError},
	"volumeDelete":   {volumeErrorDeleting},
}

func (f Failures) validate() error {
	for field, v := range map[string]string{
		"snapshotCreate": f.SnapshotCreate, "snapshotDelete": f.SnapshotDelete, "rollback": f.Rollback,
		"volumeCreate": f.VolumeCreate, "volumeDelete": f.VolumeDelete,
	} {
		if v != "" && !slices.Contains(failureStatuses[field], v) {
			return fmt.Errorf("%s: a failed transition ends in %q, not %q",
				field, failureStatuses[field], v)
		}
	}
	return nil
}
