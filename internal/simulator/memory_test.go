package simulator

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/evs/v2/model"
)

// addCreatingSnapshots stores n snapshots of disk volumeID that are being created, each with a
// pending transition, straight into the store (the HTTP path is not what is measured).
func addCreatingSnapshots(s *Simulator, volumeID string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.volumes[volumeID]
	now := s.now()
	for i := range n {
		meta := map[string]string{"uid": "x"}
		sn := newSnapshot(v, fmt.Sprintf("bulk-%05d", i), "", snapshotCreating, meta, now)
		sn.pending = s.schedule(now, s.timings.SnapshotCreate,
			transition{kind: snapshotCreated, snapshotID: sn.id})
		s.addSnapshot(sn)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestMemoryStaysFlat checks that 10,000 snapshots, all with a pending transition, cost a few
// hundred bytes each and no goroutines, and that settling them all takes no more memory.
func TestMemoryStaysFlat(t *testing.T) {
	const n = 10_000
	s := New(Options{})
	clock := newFakeClock()
	s.useClock(clock.Now)
	goroutines := runtime.NumGoroutine()
	before := heapInUse()

	addCreatingSnapshots(s, SeedVolumeAvailable, n)
	afterAdd := heapInUse()
	if g := runtime.NumGoroutine(); g > goroutines {
		t.Errorf("goroutines grew from %d to %d", goroutines, g)
	}
	perSnapshot := float64(afterAdd-before) / n
	t.Logf("%.0f bytes per snapshot", perSnapshot)
	// Generous: the point is "no timer, goroutine or buffer per snapshot", which costs kilobytes.
	if perSnapshot > 2048 {
		t.Errorf("each snapshot costs %.0f bytes of heap", perSnapshot)
	}

	clock.Advance(DefaultTiming)
	s.mu.Lock()
	s.advance(clock.Now())
	pending := len(s.queue)
	s.mu.Unlock()
	if pending != 0 {
		t.Errorf("%d transitions still pending after their due time", pending)
	}
	if afterSettle := heapInUse(); afterSettle > afterAdd+afterAdd/10 {
		t.Errorf("settling grew the heap from %d to %d bytes", afterAdd, afterSettle)
	}
	runtime.KeepAlive(s)
}

// BenchmarkSnapshotMemory reports the heap cost of one stored snapshot, measured over 10,000.
func BenchmarkSnapshotMemory(b *testing.B) {
	const n = 10_000
	for b.Loop() {
		s := New(Options{})
		before := heapInUse()
		addCreatingSnapshots(s, SeedVolumeAvailable, n)
		b.ReportMetric(float64(heapInUse()-before)/n, "heapB/snapshot")
		runtime.KeepAlive(s)
	}
}

// BenchmarkListPage measures one 1,000-snapshot page over 10,000 snapshots, through HTTP and the SDK.
func BenchmarkListPage(b *testing.B) {
	srv, err := Start("127.0.0.1:0", Options{Timings: Timings{SnapshotCreate: time.Nanosecond}})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = srv.Close() }()
	addCreatingSnapshots(srv.Simulator(), SeedVolumeAvailable, 10_000)
	c := newSDKClient(b, srv.URL(), DefaultAK, DefaultSK, DefaultProjectID)
	limit, offset := int32(1000), int32(4000)
	for b.Loop() {
		_, err := c.ListSnapshots(&model.ListSnapshotsRequest{Limit: &limit, Offset: &offset})
		if err != nil {
			b.Fatal(err)
		}
	}
}
