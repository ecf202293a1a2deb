package cloud

import (
	"reflect"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/evs/v2/model"
)

func TestParseCloudTime(t *testing.T) {
	want := time.Date(2026, 12, 3, 4, 5, 6, 123456000, time.UTC)
	cases := map[string]time.Time{
		"2026-12-03T04:05:06.123456":       want,
		"2026-12-03T04:05:06":              want.Truncate(time.Second),
		"2026-12-03T04:05:06.1":            want.Truncate(time.Second).Add(100 * time.Millisecond),
		"2026-12-03T06:05:06.123456+02:00": want,
		"2026-12-03T04:05:06.123456Z":      want,
		"":                                 {},
		"yesterday":                        {},
	}
	for in, w := range cases {
		if got := parseCloudTime(in); !got.Equal(w) || (!got.IsZero() && got.Location() != time.UTC) {
			t.Errorf("parseCloudTime(%q) = %v, want %v", in, got, w)
		}
	}
}

func TestConversionsAreNilSafe(t *testing.T) {
	if s := snapshotFromDetails(nil); s == nil || s.ID != "" {
		t.Errorf("snapshotFromDetails(nil) = %+v", s)
	}
	if v := volumeFromDetail(nil); v == nil || v.ID != "" {
		t.Errorf("volumeFromDetail(nil) = %+v", v)
	}
	if p := snapshotPageFromList(nil); p == nil || p.Count != 0 || p.Snapshots != nil {
		t.Errorf("snapshotPageFromList(nil) = %+v", p)
	}
	if j := jobFromResponse("j1", &model.ShowJobResponse{}); j.ID != "j1" || j.Status != "" {
		t.Errorf("jobFromResponse(empty) = %+v", j)
	}
	if j := jobFromResponse("j1", nil); j.ID != "j1" {
		t.Errorf("jobFromResponse(nil) = %+v", j)
	}
}

func TestSnapshotFromDetails(t *testing.T) {
	var meta any = map[string]any{"team": "db", "n": 3}
	d := &model.SnapshotDetails{
		Id: new("s1"), Name: new("n"), Status: new("available"), VolumeId: new("v1"), Size: new(int32(40)),
		CreatedAt: new("2026-12-03T04:05:06.000001"), OsExtendedSnapshotAttributesprogress: new("100%"),
		Metadata: &meta,
	}
	got := snapshotFromDetails(d)
	want := &Snapshot{ID: "s1", Name: "n", Status: "available", VolumeID: "v1", SizeGiB: 40, Progress: "100%",
		CreatedAt: time.Date(2026, 12, 3, 4, 5, 6, 1000, time.UTC),
		Metadata:  map[string]string{"team": "db", "n": "3"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("snapshotFromDetails = %+v, want %+v", got, want)
	}
}

func TestJobFromSubJob(t *testing.T) {
	resp := &model.ShowJobResponse{Entities: &model.JobEntities{SubJobs: &[]model.SubJob{
		{Entities: &model.SubJobEntities{VolumeId: new("v9")}},
	}}}
	if got := jobFromResponse("j", resp); got.VolumeID != "v9" {
		t.Errorf("volume from sub-job = %q", got.VolumeID)
	}
}
