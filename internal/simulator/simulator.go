// Package simulator is an in-memory EVS cloud. It speaks the EVS REST API the way the official
// Go SDK (services/evs/v2) calls it, checks SDK-HMAC-SHA256 signatures, enforces the cloud's
// status rules and moves resources through their statuses on timers. A plain JSON control API
// under /sim/v1 lets tests and demos shape the cloud: add disks, force statuses, inject faults,
// throttle and read request counts.
//
// Statuses move lazily: each resource records its pending transition and the transition is
// applied by whichever request next touches the store, so there is no goroutine or timer per
// resource and memory stays flat with many snapshots.
package simulator

import (
	"net/http"
	"sync"
	"time"
)

// DefaultAK is the access key the simulator accepts when Options.AK is empty.
const DefaultAK = "SIMULATOR-AK"

// DefaultSK is the secret key the simulator accepts when Options.SK is empty.
const DefaultSK = "SIMULATOR-SK"

// DefaultProjectID is the project the simulator serves when Options.ProjectID is empty.
const DefaultProjectID = "0123456789abcdef0123456789abcdef"

// DefaultTiming is how long every status transition takes unless a Timings field says otherwise.
const DefaultTiming = 2 * time.Second

// DefaultAvailabilityZone is the zone of the seed disks and of disks added without a zone.
const DefaultAvailabilityZone = "sim-az1"

// The seed disks every simulator starts with; config/samples and the end-to-end tests use them.
const (
	// SeedVolumeAvailable is an available 40 GiB SSD disk.
	SeedVolumeAvailable = "11111111-1111-4111-8111-111111111111"
	// SeedVolumeInUse is an in-use (attached) 100 GiB SSD disk.
	SeedVolumeInUse = "22222222-2222-4222-8222-222222222222"
	// SeedVolumeSAS is an available 10 GiB SAS disk.
	SeedVolumeSAS = "33333333-3333-4333-8333-333333333333"
)

// Timings says how long each kind of status transition takes.
type Timings struct {
	SnapshotCreate, SnapshotDelete, Rollback, VolumeCreate, VolumeDelete time.Duration
}

// withDefaults fills every zero field with DefaultTiming.
func (t Timings) withDefaults() Timings {
	for _, d := range []*time.Duration{
		&t.SnapshotCreate, &t.SnapshotDelete, &t.Rollback, &t.VolumeCreate, &t.VolumeDelete,
	} {
		if *d == 0 {
			*d = DefaultTiming
		}
	}
	return t
}

// Options configure a Simulator; zero fields take the Default* values.
type Options struct {
	AK, SK, ProjectID string
	Timings           Timings
}

// Simulator is an in-memory EVS cloud; Handler serves it over HTTP. It is safe for concurrent use.
type Simulator struct {
	ak, sk, projectID string
	handler           http.Handler
	// now is the clock for statuses, timestamps and the rate limiter; tests replace it. Signature
	// dates are always checked against the wall clock, as the SDK signs with it.
	now func() time.Time

	// mu guards everything below; one lock keeps the rules simple and is far from a bottleneck.
	mu        sync.Mutex
	timings   Timings
	failures  Failures
	snapshots map[string]*snapshot
	// ordered holds the snapshots sorted by creation time, then id, so paging is stable.
	ordered []*snapshot
	volumes map[string]*volume
	jobs    map[string]*job
	tokens  map[string]clientToken
	// tokenOrder lists the client tokens oldest first, for expiry.
	tokenOrder []string
	queue      transitionQueue
	seq        uint64
	faults     []*Fault
	limiter    tokenBucket
	stats      map[string]int64
}

// New returns a simulator holding the three seed disks.
func New(opts Options) *Simulator {
	s := &Simulator{
		ak:        orDefault(opts.AK, DefaultAK),
		sk:        orDefault(opts.SK, DefaultSK),
		projectID: orDefault(opts.ProjectID, DefaultProjectID),
		now:       time.Now,
		timings:   opts.Timings.withDefaults(),
		snapshots: map[string]*snapshot{},
		volumes:   map[string]*volume{},
		jobs:      map[string]*job{},
		tokens:    map[string]clientToken{},
		stats:     map[string]int64{},
	}
	s.seedVolumes()
	s.handler = s.routes()
	return s
}

// Handler returns the whole HTTP surface: the signed EVS API and the /sim/v1 control API.
func (s *Simulator) Handler() http.Handler {
	return s.handler
}

func (s *Simulator) seedVolumes() {
	now := s.now().UTC()
	for _, v := range []*volume{
		{id: SeedVolumeAvailable, name: "sim-ssd-40", status: volumeAvailable, sizeGiB: 40},
		{id: SeedVolumeInUse, name: "sim-ssd-100", status: volumeInUse, sizeGiB: 100},
		{id: SeedVolumeSAS, name: "sim-sas-10", status: volumeAvailable, sizeGiB: 10, volumeType: "SAS"},
	} {
		v.zone = DefaultAvailabilityZone
		v.volumeType = orDefault(v.volumeType, "SSD")
		v.metadata = copyMetadata(nil)
		v.createdAt, v.updatedAt = now, now
		s.volumes[v.id] = v
	}
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
