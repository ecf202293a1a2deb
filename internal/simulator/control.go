package simulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// ControlPrefix is where the control API lives; it needs no signature.
const ControlPrefix = "/sim/v1"

// controlError is a refused control call; it is answered as {"error": message}.
type controlError struct {
	status  int
	message string
}

func (e *controlError) Error() string { return e.message }

func ctlErrorf(status int, format string, args ...any) error {
	return &controlError{status: status, message: fmt.Sprintf(format, args...)}
}

// controlFunc runs one control call under s.mu, after pending transitions were applied.
type controlFunc func(r *http.Request, body []byte, now time.Time) (status int, out any, err error)

func (s *Simulator) controlRoutes(mux *http.ServeMux) {
	for pattern, fn := range map[string]controlFunc{
		"POST /volumes":              s.ctlAddVolume,
		"GET /volumes":               s.ctlVolumes,
		"PUT /volumes/{id}/status":   s.ctlSetVolumeStatus,
		"POST /snapshots":            s.ctlAddSnapshot,
		"GET /snapshots":             s.ctlSnapshots,
		"PUT /snapshots/{id}/status": s.ctlSetSnapshotStatus,
		"DELETE /snapshots/{id}":     s.ctlVanishSnapshot,
		"POST /backups":              s.ctlStartBackup,
		"POST /faults":               s.ctlInjectFault,
		"GET /faults":                s.ctlFaults,
		"DELETE /faults":             s.ctlClearFaults,
		"GET /timing":                s.ctlTimings,
		"PUT /timing":                s.ctlSetTimings,
		"GET /failures":              s.ctlFailures,
		"PUT /failures":              s.ctlSetFailures,
		"GET /ratelimit":             s.ctlRateLimit,
		"PUT /ratelimit":             s.ctlSetRateLimit,
		"GET /stats":                 s.ctlStats,
	} {
		method, path, _ := strings.Cut(pattern, " ")
		mux.HandleFunc(method+" "+ControlPrefix+path, s.control(fn))
	}
	mux.HandleFunc(ControlPrefix+"/", func(w http.ResponseWriter, r *http.Request) {
		msg := "no control call " + r.Method + " " + r.URL.Path
		writeJSON(w, http.StatusNotFound, map[string]string{"error": msg})
	})
}

func unknownStatus(kind, status string, known []string) error {
	return ctlErrorf(http.StatusBadRequest, "unknown %s status %q; one of %v", kind, status, known)
}

func (s *Simulator) control(fn controlFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		s.mu.Lock()
		now := s.now()
		s.advance(now)
		status, out, err := fn(r, body, now)
		s.mu.Unlock()

		var ce *controlError
		switch {
		case errors.As(err, &ce):
			writeJSON(w, ce.status, map[string]string{"error": ce.message})
		case err != nil:
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		case out == nil:
			w.WriteHeader(status)
		default:
			writeJSON(w, status, out)
		}
	}
}

// decodeControl reads a control body strictly, so a misspelt field is an error, not a no-op.
func decodeControl(body []byte, v any) error {
	if len(body) == 0 {
		return ctlErrorf(http.StatusBadRequest, "a JSON body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return ctlErrorf(http.StatusBadRequest, "invalid body: %v", err)
	}
	return nil
}

func (s *Simulator) ctlAddVolume(_ *http.Request, body []byte, now time.Time) (int, any, error) {
	var in Volume
	if err := decodeControl(body, &in); err != nil {
		return 0, nil, err
	}
	in.Status = orDefault(in.Status, volumeAvailable)
	in.AvailabilityZone = orDefault(in.AvailabilityZone, DefaultAvailabilityZone)
	in.VolumeType = orDefault(in.VolumeType, "SSD")
	switch {
	case in.SizeGiB < 1 || in.SizeGiB > maxVolumeGiB:
		return 0, nil, ctlErrorf(http.StatusBadRequest, "sizeGiB %d is outside 1-%d",
			in.SizeGiB, maxVolumeGiB)
	case !slices.Contains(volumeStatuses, in.Status):
		return 0, nil, unknownStatus("disk", in.Status, volumeStatuses)
	case in.ID != "" && s.volumes[in.ID] != nil:
		return 0, nil, ctlErrorf(http.StatusConflict, "volume %s exists", in.ID)
	}
	v := &volume{
		id:          orDefault(in.ID, newUUID()),
		name:        in.Name,
		description: in.Description,
		status:      in.Status,
		zone:        in.AvailabilityZone,
		volumeType:  in.VolumeType,
		sizeGiB:     int32(in.SizeGiB),
		metadata:    copyMetadata(in.Metadata),
		createdAt:   now.UTC(),
		updatedAt:   now.UTC(),
	}
	s.volumes[v.id] = v
	return http.StatusCreated, v.view(), nil
}

func (s *Simulator) ctlVolumes(_ *http.Request, _ []byte, _ time.Time) (int, any, error) {
	vs := slices.SortedFunc(maps.Values(s.volumes), func(a, b *volume) int {
		if c := a.createdAt.Compare(b.createdAt); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	out := make([]Volume, 0, len(vs))
	for _, v := range vs {
		out = append(out, v.view())
	}
	return http.StatusOK, out, nil
}

type statusRequest struct {
	Status string `json:"status"`
}

func (s *Simulator) ctlSetVolumeStatus(r *http.Request, body []byte, now time.Time) (int, any, error) {
	var in statusRequest
	if err := decodeControl(body, &in); err != nil {
		return 0, nil, err
	}
	v := s.volumes[r.PathValue("id")]
	switch {
	case v == nil:
		return 0, nil, ctlErrorf(http.StatusNotFound, "volume %s does not exist", r.PathValue("id"))
	case !slices.Contains(volumeStatuses, in.Status):
		return 0, nil, unknownStatus("disk", in.Status, volumeStatuses)
	}
	v.setStatus(in.Status, now)
	return http.StatusOK, v.view(), nil
}

func (s *Simulator) ctlAddSnapshot(_ *http.Request, body []byte, now time.Time) (int, any, error) {
	var in Snapshot
	if err := decodeControl(body, &in); err != nil {
		return 0, nil, err
	}
	v := s.volumes[in.VolumeID]
	switch {
	case v == nil:
		return 0, nil, ctlErrorf(http.StatusNotFound, "volume %q does not exist", in.VolumeID)
	case len(in.Name) > maxNameBytes || len(in.Description) > maxNameBytes:
		return 0, nil, ctlErrorf(http.StatusBadRequest,
			"name and description may have at most %d bytes", maxNameBytes)
	case in.ID != "" && s.snapshots[in.ID] != nil:
		return 0, nil, ctlErrorf(http.StatusConflict, "snapshot %s exists", in.ID)
	}
	sn := newSnapshot(v, in.Name, in.Description, snapshotAvailable, in.Metadata, now)
	if in.ID != "" {
		sn.id = in.ID
	}
	s.addSnapshot(sn)
	return http.StatusCreated, sn.view(), nil
}

func (s *Simulator) ctlSnapshots(_ *http.Request, _ []byte, _ time.Time) (int, any, error) {
	out := make([]Snapshot, 0, len(s.ordered))
	for _, sn := range s.ordered {
		out = append(out, sn.view())
	}
	return http.StatusOK, out, nil
}

// ctlSetSnapshotStatus forces a status; it cancels any transition under way, so a forced
// moving status (creating, deleting ...) stays until it is forced again.
func (s *Simulator) ctlSetSnapshotStatus(r *http.Request, body []byte, now time.Time) (int, any, error) {
	var in statusRequest
	if err := decodeControl(body, &in); err != nil {
		return 0, nil, err
	}
	sn := s.snapshots[r.PathValue("id")]
	switch {
	case sn == nil:
		return 0, nil, ctlErrorf(http.StatusNotFound, "snapshot %s does not exist", r.PathValue("id"))
	case !slices.Contains(snapshotStatuses, in.Status):
		return 0, nil, unknownStatus("snapshot", in.Status, snapshotStatuses)
	}
	sn.setStatus(in.Status, now)
	return http.StatusOK, sn.view(), nil
}

func (s *Simulator) ctlVanishSnapshot(r *http.Request, _ []byte, _ time.Time) (int, any, error) {
	sn := s.snapshots[r.PathValue("id")]
	if sn == nil {
		return 0, nil, ctlErrorf(http.StatusNotFound, "snapshot %s does not exist", r.PathValue("id"))
	}
	s.removeSnapshot(sn)
	return http.StatusNoContent, nil, nil
}

// ctlStartBackup makes the backup service's temporary snapshot: backing-up, then available after
// the snapshot-create timing, and kept (the backup service keeps the latest one per disk).
func (s *Simulator) ctlStartBackup(_ *http.Request, body []byte, now time.Time) (int, any, error) {
	var in struct {
		VolumeID string `json:"volumeID"`
	}
	if err := decodeControl(body, &in); err != nil {
		return 0, nil, err
	}
	v := s.volumes[in.VolumeID]
	if v == nil {
		return 0, nil, ctlErrorf(http.StatusNotFound, "volume %q does not exist", in.VolumeID)
	}
	// TODO: the cloud also shows the disk as backing-up and prunes older backup snapshots of the
	// disk; the simulator leaves the disk's status and earlier backup snapshots alone.
	sn := newSnapshot(v, "autobk_snapshot_vbs_"+newUUID(), "", snapshotBackingUp, nil, now)
	sn.pending = s.schedule(now, s.timings.SnapshotCreate,
		transition{kind: backupFinished, snapshotID: sn.id})
	s.addSnapshot(sn)
	return http.StatusCreated, sn.view(), nil
}

func (s *Simulator) ctlInjectFault(_ *http.Request, body []byte, _ time.Time) (int, any, error) {
	var f Fault
	if err := decodeControl(body, &f); err != nil {
		return 0, nil, err
	}
	if err := f.normalize(); err != nil {
		return 0, nil, ctlErrorf(http.StatusBadRequest, "%v", err)
	}
	s.faults = append(s.faults, &f)
	return http.StatusCreated, f, nil
}

func (s *Simulator) ctlFaults(_ *http.Request, _ []byte, _ time.Time) (int, any, error) {
	out := make([]Fault, 0, len(s.faults))
	for _, f := range s.faults {
		out = append(out, *f)
	}
	return http.StatusOK, out, nil
}

func (s *Simulator) ctlClearFaults(_ *http.Request, _ []byte, _ time.Time) (int, any, error) {
	s.faults = nil
	return http.StatusNoContent, nil, nil
}

// timingsBody is Timings on the wire: Go duration strings such as "2s" or "150ms".
type timingsBody struct {
	SnapshotCreate string `json:"snapshotCreate,omitempty"`
	SnapshotDelete string `json:"snapshotDelete,omitempty"`
	Rollback       string `json:"rollback,omitempty"`
	VolumeCreate   string `json:"volumeCreate,omitempty"`
	VolumeDelete   string `json:"volumeDelete,omitempty"`
}

func (t Timings) body() timingsBody {
	return timingsBody{
		SnapshotCreate: t.SnapshotCreate.String(),
		SnapshotDelete: t.SnapshotDelete.String(),
		Rollback:       t.Rollback.String(),
		VolumeCreate:   t.VolumeCreate.String(),
		VolumeDelete:   t.VolumeDelete.String(),
	}
}

func (s *Simulator) ctlTimings(_ *http.Request, _ []byte, _ time.Time) (int, any, error) {
	return http.StatusOK, s.timings.body(), nil
}

// ctlSetTimings changes the fields given ("0s" is instant) and leaves the others; transitions
// already under way keep their due time.
func (s *Simulator) ctlSetTimings(_ *http.Request, body []byte, _ time.Time) (int, any, error) {
	var in timingsBody
	if err := decodeControl(body, &in); err != nil {
		return 0, nil, err
	}
	next := s.timings
	for _, f := range []struct {
		name, value string
		dst         *time.Duration
	}{
		{"snapshotCreate", in.SnapshotCreate, &next.SnapshotCreate},
		{"snapshotDelete", in.SnapshotDelete, &next.SnapshotDelete},
		{"rollback", in.Rollback, &next.Rollback},
		{"volumeCreate", in.VolumeCreate, &next.VolumeCreate},
		{"volumeDelete", in.VolumeDelete, &next.VolumeDelete},
	} {
		if f.value == "" {
			continue
		}
		d, err := time.ParseDuration(f.value)
		if err != nil || d < 0 {
			return 0, nil, ctlErrorf(http.StatusBadRequest,
				"%s: %q is not a duration such as \"2s\"", f.name, f.value)
		}
		*f.dst = d
	}
	s.timings = next
	return http.StatusOK, s.timings.body(), nil
}

func (s *Simulator) ctlFailures(_ *http.Request, _ []byte, _ time.Time) (int, any, error) {
	return http.StatusOK, s.failures, nil
}

// ctlSetFailures replaces the whole set: a field left out means that kind succeeds.
func (s *Simulator) ctlSetFailures(_ *http.Request, body []byte, _ time.Time) (int, any, error) {
	var in Failures
	if err := decodeControl(body, &in); err != nil {
		return 0, nil, err
	}
	if err := in.validate(); err != nil {
		return 0, nil, ctlErrorf(http.StatusBadRequest, "%v", err)
	}
	s.failures = in
	return http.StatusOK, s.failures, nil
}

type rateLimitBody struct {
	RequestsPerSecond float64 `json:"requestsPerSecond"`
}

func (s *Simulator) ctlRateLimit(_ *http.Request, _ []byte, _ time.Time) (int, any, error) {
	return http.StatusOK, rateLimitBody{RequestsPerSecond: s.limiter.rate}, nil
}

func (s *Simulator) ctlSetRateLimit(_ *http.Request, body []byte, now time.Time) (int, any, error) {
	var in rateLimitBody
	if err := decodeControl(body, &in); err != nil {
		return 0, nil, err
	}
	if in.RequestsPerSecond < 0 {
		return 0, nil, ctlErrorf(http.StatusBadRequest,
			"requestsPerSecond %g is negative", in.RequestsPerSecond)
	}
	s.limiter.set(in.RequestsPerSecond, now)
	return http.StatusOK, in, nil
}

func (s *Simulator) ctlStats(_ *http.Request, _ []byte, _ time.Time) (int, any, error) {
	return http.StatusOK, Stats{Requests: maps.Clone(s.stats)}, nil
}
