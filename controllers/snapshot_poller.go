package controllers

import (
	"context"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	evsv1alpha1 "github.com/evs-operator/evs-operator/api/v1alpha1"
	"github.com/evs-operator/evs-operator/internal/cloud"
)

// listPageSize is the most snapshots the cloud returns in one list call.
const listPageSize = 1000

// snapshotPoller is the batched status sync: one goroutine lists the cloud's snapshots, a page
// of up to 1000 at a time, and wakes only the objects whose snapshot changed. Reconciles then
// read the listed state instead of calling the cloud once per object.
//
// It lists when any tracked snapshot is in a moving phase (every poll interval) and lists
// everything once per resync period, which also notices snapshots that vanished.
type snapshotPoller struct {
	cloud    cloud.Client
	interval time.Duration
	resync   time.Duration
	changes  chan event.GenericEvent

	mu sync.Mutex
	// tracked maps a snapshot ID to the object that follows it and the status it last recorded.
	tracked map[string]trackedSnapshot
	// byObject maps an object key to its snapshot ID, to forget it when the object goes.
	byObject map[string]string
	// seen is the latest listed state of each tracked snapshot.
	seen map[string]seenSnapshot
	// dirty holds the time of the operator's own last change to a snapshot: a listing older than
	// that is stale for it.
	dirty    map[string]time.Time
	lastFull time.Time

	// started is when this process began; a listing taken after it shows every snapshot that
	// an earlier run of the operator created.
	started time.Time
	// owned maps an object UID to the ID of the snapshot carrying it, from the latest listing,
	// which began at ownedAt.
	owned   map[string]string
	ownedAt time.Time
	// attempted holds the UIDs this process has sent a create for: a listing cannot vouch that
	// such a create did not land.
	attempted map[string]bool
}

type trackedSnapshot struct {
	key    types.NamespacedName
	status string
	moving bool
}

type seenSnapshot struct {
	snap cloud.Snapshot
	at   time.Time
}

func newSnapshotPoller(c cloud.Client, interval, resync time.Duration) *snapshotPoller {
	return &snapshotPoller{
		cloud: c, interval: interval, resync: resync,
		changes:   make(chan event.GenericEvent, 1024),
		tracked:   map[string]trackedSnapshot{},
		byObject:  map[string]string{},
		seen:      map[string]seenSnapshot{},
		dirty:     map[string]time.Time{},
		started:   time.Now(),
		attempted: map[string]bool{},
	}
}

// NeedLeaderElection makes only the leader poll.
func (p *snapshotPoller) NeedLeaderElection() bool { return true }

// Start polls until the context ends.
func (p *snapshotPoller) Start(ctx context.Context) error {
	log := logf.FromContext(ctx).WithName("snapshot-poller")
	ticker := time.NewTicker(p.interval)
	defer ticker.Stop()
	for first := true; ; first = false {
		if !first {
			select {
			case <-ctx.Done():
				return nil
			case <-ticker.C:
			}
		}
		if err := p.pollOnce(ctx); err != nil {
			// The next tick tries again; objects keep their last known state meanwhile.
			log.Info("Listing cloud snapshots failed", "err", err.Error())
		}
	}
}

// pollOnce lists the cloud when something needs it and wakes the objects whose snapshot changed.
func (p *snapshotPoller) pollOnce(ctx context.Context) error {
	p.mu.Lock()
	full := time.Since(p.lastFull) >= p.resync
	moving := false
	for _, t := range p.tracked {
		moving = moving || t.moving
	}
	p.mu.Unlock()
	if !full && !moving {
		return nil
	}

	started := time.Now()
	listed, err := p.listAll(ctx)
	if err != nil {
		return err
	}
	wake := p.compare(listed, started, full)
	for _, key := range wake {
		obj := &evsv1alpha1.EVSSnapshot{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
		select {
		case p.changes <- event.GenericEvent{Object: obj}:
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}

// listAll lists every snapshot of the project, page by page.
func (p *snapshotPoller) listAll(ctx context.Context) (map[string]cloud.Snapshot, error) {
	listed := map[string]cloud.Snapshot{}
	for offset := 0; ; {
		page, err := p.cloud.ListSnapshots(ctx, cloud.ListSnapshotsOptions{Limit: listPageSize, Offset: offset})
		if err != nil {
			return nil, err
		}
		for _, snap := range page.Snapshots {
			listed[snap.ID] = snap
		}
		offset += len(page.Snapshots)
		if len(page.Snapshots) == 0 || offset >= page.Count {
			return listed, nil
		}
	}
}

// compare records a listing that began at started and returns the objects whose snapshot
// changed or vanished.
func (p *snapshotPoller) compare(
	listed map[string]cloud.Snapshot, started time.Time, full bool,
) []types.NamespacedName {
	owned := map[string]string{}
	for id, snap := range listed {
		if uid := snap.Metadata[CloudUIDMetadataKey]; uid != "" {
			owned[uid] = id
		}
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	var wake []types.NamespacedName
	for id, t := range p.tracked {
		if dirtyAt, ok := p.dirty[id]; ok && dirtyAt.After(started) {
			continue // changed by the operator while the list ran: its reconcile follows it
		}
		seen, seenOK := p.seen[id]
		if seenOK && seen.at.After(started) {
			continue // read from the cloud after the list began: newer than the listing
		}
		snap, ok := listed[id]
		if !ok {
			delete(p.seen, id)
			wake = append(wake, t.key) // vanished, or deleted: the reconcile asks the cloud
			continue
		}
		p.seen[id] = seenSnapshot{snap: snap, at: started}
		if snap.Status != t.status {
			wake = append(wake, t.key)
		}
	}
	if full {
		p.lastFull = started
	}
	p.owned, p.ownedAt = owned, started
	return wake
}

// ownedSnapshot answers from the latest listing which snapshot carries an object's UID: the ID,
// or "" for none. known is false when the listing cannot vouch for it, and the caller must ask
// the cloud: no listing since this process started, or a create for the UID sent by this
// process.
func (p *snapshotPoller) ownedSnapshot(uid string) (id string, known bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.owned == nil || !p.ownedAt.After(p.started) || p.attempted[uid] {
		return "", false
	}
	return p.owned[uid], true
}

// attemptingCreate records that a create for the UID is about to be sent.
func (p *snapshotPoller) attemptingCreate(uid string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.attempted[uid] = true
}

// lookup returns the listed state of a snapshot when it is newer than the operator's own last
// change to it.
func (p *snapshotPoller) lookup(id string) (*cloud.Snapshot, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	seen, ok := p.seen[id]
	// Settled snapshots are listed only once per resync period: a reconcile woken by a spec
	// change must not act on a listing that old.
	if !ok || !seen.at.After(p.dirty[id]) || time.Since(seen.at) > 2*p.interval {
		return nil, false
	}
	snap := seen.snap
	return &snap, true
}

// remember stores a snapshot read outside the poller, so later reconciles can use it.
func (p *snapshotPoller) remember(snap *cloud.Snapshot) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.tracked[snap.ID]; ok {
		p.seen[snap.ID] = seenSnapshot{snap: *snap, at: time.Now()}
	}
}

func (p *snapshotPoller) markDirty(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dirty[id] = time.Now()
	delete(p.seen, id)
}

func (p *snapshotPoller) track(key types.NamespacedName, uid, id, status string, moving bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	// Status names the snapshot now, so the UID is never looked up again.
	delete(p.attempted, uid)
	if old, ok := p.byObject[key.String()]; ok && old != id {
		p.untrackLocked(old)
	}
	p.byObject[key.String()] = id
	p.tracked[id] = trackedSnapshot{key: key, status: status, moving: moving}
}

func (p *snapshotPoller) forget(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if id, ok := p.byObject[key]; ok {
		p.untrackLocked(id)
		delete(p.byObject, key)
	}
}

func (p *snapshotPoller) untrackLocked(id string) {
	delete(p.tracked, id)
	delete(p.seen, id)
	delete(p.dirty, id)
}

// observe reads a snapshot: from the poller's latest listing when it is fresh, else from the
// cloud. listed reports the former, for callers that must not act on a listing.
func (r *EVSSnapshotReconciler) observe(ctx context.Context, id string) (snap *cloud.Snapshot, listed bool, err error) {
	if r.poller != nil {
		if snap, ok := r.poller.lookup(id); ok {
			return snap, true, nil
		}
	}
	if snap, err = r.Cloud.GetSnapshot(ctx, id); err != nil {
		return nil, false, err
	}
	r.remember(snap)
	return snap, false, nil
}

// remember hands a snapshot read from the cloud to the poller, so later reconciles can use it.
func (r *EVSSnapshotReconciler) remember(snap *cloud.Snapshot) {
	if r.poller != nil {
		r.poller.remember(snap)
	}
}

// invalidate records that the operator just changed a snapshot, so older listings are not used.
func (r *EVSSnapshotReconciler) invalidate(id string) {
	if r.poller != nil {
		r.poller.markDirty(id)
	}
}

// track hands the object's snapshot to the poller after a reconcile.
func (r *EVSSnapshotReconciler) track(s *snapshotScope) {
	if r.poller == nil || s.obj.Status.SnapshotID == "" || s.notFound {
		return
	}
	st := s.obj.Status
	r.poller.track(client.ObjectKeyFromObject(s.obj), string(s.obj.UID), st.SnapshotID, st.CloudStatus,
		!evsv1alpha1.IsSettled(st.Phase))
}

// forget drops a deleted object from the poller.
func (r *EVSSnapshotReconciler) forget(key string) {
	if r.poller != nil {
		r.poller.forget(key)
	}
}
