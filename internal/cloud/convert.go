package cloud

import (
	"fmt"
	"maps"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/evs/v2/model"
)

// cloudTimeLayout is how EVS writes times: UTC without a zone. Parsing accepts a fraction of any
// length, or none, after the seconds even though the layout has none.
const cloudTimeLayout = "2006-01-02T15:04:05"

// parseCloudTime reads an EVS time; it is zero when s is empty or does not parse, since a bad
// time should not fail a whole read.
func parseCloudTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	if t, err := time.ParseInLocation(cloudTimeLayout, s, time.UTC); err == nil {
		return t
	}
	// Tolerate a zone, in case the cloud (or a proxy) ever adds one.
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC()
	}
	return time.Time{}
}

func snapshotFromDetails(d *model.SnapshotDetails) *Snapshot {
	if d == nil {
		return &Snapshot{}
	}
	s := &Snapshot{
		ID:          deref(d.Id),
		Name:        deref(d.Name),
		Description: deref(d.Description),
		Status:      deref(d.Status),
		VolumeID:    deref(d.VolumeId),
		Progress:    deref(d.OsExtendedSnapshotAttributesprogress),
		SizeGiB:     deref(d.Size),
		CreatedAt:   parseCloudTime(deref(d.CreatedAt)),
		UpdatedAt:   parseCloudTime(deref(d.UpdatedAt)),
	}
	if d.Metadata != nil {
		s.Metadata = stringMap(*d.Metadata)
	}
	return s
}

func snapshotFromList(l *model.SnapshotList) Snapshot {
	return Snapshot{
		ID:          l.Id,
		Name:        deref(l.Name),
		Description: deref(l.Description),
		Status:      l.Status,
		VolumeID:    l.VolumeId,
		Progress:    l.OsExtendedSnapshotAttributesprogress,
		SizeGiB:     l.Size,
		CreatedAt:   parseCloudTime(l.CreatedAt),
		UpdatedAt:   parseCloudTime(deref(l.UpdatedAt)),
		Metadata:    maps.Clone(l.Metadata),
	}
}

func snapshotPageFromList(resp *model.ListSnapshotsResponse) *SnapshotPage {
	page := &SnapshotPage{}
	if resp == nil {
		return page
	}
	if resp.Snapshots != nil {
		page.Snapshots = make([]Snapshot, 0, len(*resp.Snapshots))
		for i := range *resp.Snapshots {
			page.Snapshots = append(page.Snapshots, snapshotFromList(&(*resp.Snapshots)[i]))
		}
	}
	page.Count = int(deref(resp.Count))
	return page
}

func volumeFromDetail(d *model.VolumeDetail) *Volume {
	if d == nil {
		return &Volume{}
	}
	return &Volume{
		ID:               d.Id,
		Name:             d.Name,
		Status:           d.Status,
		AvailabilityZone: d.AvailabilityZone,
		VolumeType:       d.VolumeType,
		SnapshotID:       d.SnapshotId,
		SizeGiB:          d.Size,
		Metadata:         stringMap(d.Metadata),
	}
}

func jobFromResponse(id string, resp *model.ShowJobResponse) *Job {
	if resp == nil {
		return &Job{ID: id}
	}
	job := &Job{ID: deref(resp.JobId), ErrorCode: deref(resp.ErrorCode), FailReason: deref(resp.FailReason)}
	if job.ID == "" {
		job.ID = id
	}
	if resp.Status != nil {
		job.Status = resp.Status.Value()
	}
	if e := resp.Entities; e != nil {
		job.VolumeID = deref(e.VolumeId)
		// A batch create reports its disks in sub-jobs; the operator creates one at a time.
		if job.VolumeID == "" && e.SubJobs != nil && len(*e.SubJobs) == 1 {
			if sub := (*e.SubJobs)[0].Entities; sub != nil {
				job.VolumeID = deref(sub.VolumeId)
			}
		}
	}
	return job
}

// stringMap converts the SDK's loosely typed metadata; EVS metadata values are strings, anything
// else is printed.
func stringMap(v any) map[string]string {
	var in map[string]any
	switch m := v.(type) {
	case map[string]string:
		return maps.Clone(m)
	case map[string]any:
		in = m
	default:
		return nil
	}
	if in == nil {
		return nil
	}
	out := make(map[string]string, len(in))
	for k, val := range in {
		if s, ok := val.(string); ok {
			out[k] = s
		} else {
			out[k] = fmt.Sprint(val)
		}
	}
	return out
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// optional is nil for an empty string, so the SDK leaves the field out.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
