package simulator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/evs/v2/model"
)

func TestListLimit(t *testing.T) {
	e := newEnv(t)
	_, err := e.evs.ListSnapshots(&model.ListSnapshotsRequest{Limit: new(int32(1001))})
	expectError(t, err, http.StatusBadRequest, "EVS.2142")
	_, err = e.evs.ListSnapshots(&model.ListSnapshotsRequest{Limit: new(int32(0))})
	expectError(t, err, http.StatusBadRequest, "EVS.5400")
	resp, err := e.evs.ListSnapshots(&model.ListSnapshotsRequest{Limit: new(int32(1000))})
	if err != nil || *resp.Count != 0 || len(*resp.Snapshots) != 0 {
		t.Fatalf("an empty list answered %v, %v", resp, err)
	}
}

func TestListPagesEachSnapshotOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const total = 2500
	for i := range total {
		e.addAvailableSnapshot(SeedVolumeAvailable, fmt.Sprintf("s-%04d", i))
	}

	seen := map[string]int{}
	for offset := int32(0); ; offset += 1000 {
		resp, err := e.evs.ListSnapshots(&model.ListSnapshotsRequest{
			Limit: new(int32(1000)), Offset: new(offset),
		})
		if err != nil {
			t.Fatalf("list at offset %d: %v", offset, err)
		}
		if offset == 0 {
			// A snapshot made while paging sorts after the others, so the pages stay stable.
			e.clock.Advance(time.Millisecond)
			e.addAvailableSnapshot(SeedVolumeSAS, "late")
		} else if want := int32(total + 1); *resp.Count != want {
			t.Errorf("count at offset %d = %d, want %d", offset, *resp.Count, want)
		}
		page := *resp.Snapshots
		for _, sn := range page {
			seen[sn.Id]++
		}
		if len(page) < 1000 {
			break
		}
	}
	if len(seen) != total+1 {
		t.Errorf("paging saw %d distinct snapshots, want %d", len(seen), total+1)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("snapshot %s was listed %d times", id, n)
		}
	}
	if got := len(must(e.ctl.Snapshots(ctx))); got != total+1 {
		t.Errorf("the control API holds %d snapshots", got)
	}
}

func TestListFilters(t *testing.T) {
	e := newEnv(t)
	// The clock moves between creations so creation order, not id order, decides the listing.
	a := e.addAvailableSnapshot(SeedVolumeAvailable, "a")
	e.clock.Advance(time.Millisecond)
	b := e.addAvailableSnapshot(SeedVolumeSAS, "b")
	e.clock.Advance(time.Millisecond)
	c := *e.createSnapshot(SeedVolumeSAS, "c").Id
	e.clock.Advance(time.Millisecond)
	_ = e.addAvailableSnapshot(SeedVolumeInUse, "a")

	for _, tc := range []struct {
		name string
		req  model.ListSnapshotsRequest
		want []string
	}{
		{"by volume", model.ListSnapshotsRequest{VolumeId: new(SeedVolumeSAS)}, []string{b.ID, c}},
		{"by status", model.ListSnapshotsRequest{Status: new("creating")}, []string{c}},
		{"by name and volume",
			model.ListSnapshotsRequest{Name: new("a"), VolumeId: new(SeedVolumeAvailable)}, []string{a.ID}},
		{"by id", model.ListSnapshotsRequest{Id: new(b.ID)}, []string{b.ID}},
		{"by zone", model.ListSnapshotsRequest{AvailabilityZone: new("elsewhere")}, nil},
		{"paged", model.ListSnapshotsRequest{VolumeId: new(SeedVolumeSAS), Limit: new(int32(1)),
			Offset: new(int32(1))}, []string{c}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := e.evs.ListSnapshots(&tc.req)
			if err != nil {
				t.Fatalf("list: %v", err)
			}
			var got []string
			for _, sn := range *resp.Snapshots {
				got = append(got, sn.Id)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("list = %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("id may repeat", func(t *testing.T) {
		raw := signedRequest(t, e.srv.URL(), http.MethodGet, "/v2/"+DefaultProjectID+"/cloudsnapshots/detail",
			"", map[string]any{"id": []string{a.ID, c}})
		data, _ := io.ReadAll(raw.Body)
		var body struct {
			Count     int `json:"count"`
			Snapshots []struct {
				ID string `json:"id"`
			} `json:"snapshots"`
		}
		if err := json.Unmarshal(data, &body); err != nil || raw.StatusCode != http.StatusOK {
			t.Fatalf("list answered %d %s", raw.StatusCode, data)
		}
		if body.Count != 2 || len(body.Snapshots) != 2 {
			t.Errorf("two ids listed %s", data)
		}
	})
}
