package simulator

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/evs/v2/model"
)

func TestFaults(t *testing.T) {
	ctx := context.Background()

	t.Run("a fault refuses the call without applying it", func(t *testing.T) {
		e := newEnv(t)
		noErr(t, e.ctl.InjectFault(ctx, Fault{
			Operation: OperationCreateSnapshot, HTTPStatus: 503, Count: 1,
		}))
		_, err := e.evs.CreateSnapshot(&model.CreateSnapshotRequest{Body: &model.CreateSnapshotRequestBody{
			Snapshot: &model.CreateSnapshotOption{VolumeId: SeedVolumeAvailable},
		}})
		expectError(t, err, http.StatusServiceUnavailable, "EVS.5503")
		if n := len(must(e.ctl.Snapshots(ctx))); n != 0 {
			t.Fatalf("a refused create left %d snapshots", n)
		}
		// Count 1: the fault is spent.
		e.createSnapshot(SeedVolumeAvailable, "ok")
	})
	t.Run("afterCommit applies the create and loses the response", func(t *testing.T) {
		e := newEnv(t)
		noErr(t, e.ctl.InjectFault(ctx, Fault{
			Operation: OperationCreateSnapshot, HTTPStatus: 500, Count: 1, AfterCommit: true,
		}))
		_, err := e.evs.CreateSnapshot(&model.CreateSnapshotRequest{Body: &model.CreateSnapshotRequestBody{
			Snapshot: &model.CreateSnapshotOption{
				VolumeId: SeedVolumeAvailable, Name: new("lost"), Metadata: map[string]string{"uid": "u-1"},
			},
		}})
		expectError(t, err, http.StatusInternalServerError, "EVS.5500")
		resp, err := e.evs.ListSnapshots(&model.ListSnapshotsRequest{VolumeId: new(SeedVolumeAvailable)})
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		if *resp.Count != 1 || (*resp.Snapshots)[0].Metadata["uid"] != "u-1" {
			t.Fatalf("after a lost create response the list is %s, want exactly the one snapshot", resp)
		}
	})
	t.Run("a wildcard fault with a gateway code hits every operation until cleared", func(t *testing.T) {
		e := newEnv(t)
		noErr(t, e.ctl.InjectFault(ctx, Fault{Operation: OperationAny, HTTPStatus: 429}))
		for range 3 {
			_, err := e.evs.ShowVolume(&model.ShowVolumeRequest{VolumeId: SeedVolumeAvailable})
			expectError(t, err, http.StatusTooManyRequests, "APIG.0308")
		}
		_, err := e.evs.ListSnapshots(&model.ListSnapshotsRequest{})
		expectError(t, err, http.StatusTooManyRequests, "APIG.0308")
		noErr(t, e.ctl.ClearFaults(ctx))
		if _, err := e.evs.ListSnapshots(&model.ListSnapshotsRequest{}); err != nil {
			t.Fatalf("after clearing: %v", err)
		}
	})
	t.Run("a fault on another operation does not fire", func(t *testing.T) {
		e := newEnv(t)
		noErr(t, e.ctl.InjectFault(ctx, Fault{Operation: OperationDeleteVolume}))
		if _, err := e.evs.ShowVolume(&model.ShowVolumeRequest{VolumeId: SeedVolumeAvailable}); err != nil {
			t.Fatalf("show: %v", err)
		}
	})
	t.Run("an unknown operation is refused", func(t *testing.T) {
		e := newEnv(t)
		err := e.ctl.InjectFault(ctx, Fault{Operation: "Explode"})
		var ce *ControlError
		if !errors.As(err, &ce) || ce.StatusCode != http.StatusBadRequest {
			t.Fatalf("want a 400 ControlError, got %v", err)
		}
	})
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	noErr(t, e.ctl.SetRateLimit(ctx, 2))

	show := func() error {
		_, err := e.evs.ShowVolume(&model.ShowVolumeRequest{VolumeId: SeedVolumeAvailable})
		return err
	}
	// The fake clock stands still: a burst of 2 passes, the third is throttled.
	noErr(t, show())
	noErr(t, show())
	err := show()
	expectError(t, err, http.StatusTooManyRequests, "APIG.0308")
	if se := asServiceError(t, err); !strings.Contains(se.ErrorMessage, "over ratelimit, limit:120, time:1 minute") {
		t.Errorf("throttle message %q", se.ErrorMessage)
	}
	e.clock.Advance(500 * time.Millisecond)
	noErr(t, show())
	noErr(t, e.ctl.SetRateLimit(ctx, 0))
	for range 10 {
		noErr(t, show())
	}
}

func TestStatsCountEverySignedRequest(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.createSnapshot(SeedVolumeAvailable, "a")
	_, _ = e.showSnapshot("missing")
	bad := newSDKClient(t, e.srv.URL(), DefaultAK, "WRONG", DefaultProjectID)
	_, _ = bad.ShowSnapshot(&model.ShowSnapshotRequest{SnapshotId: "x"})
	_, _ = e.evs.ListSnapshots(&model.ListSnapshotsRequest{})
	_ = must(e.ctl.Snapshots(ctx)) // control calls are not counted

	got := must(e.ctl.Stats(ctx)).Requests
	want := map[string]int64{
		OperationCreateSnapshot: 1, OperationShowSnapshot: 2, OperationListSnapshots: 1,
	}
	if len(got) != len(want) {
		t.Errorf("stats = %v, want %v", got, want)
	}
	for op, n := range want {
		if got[op] != n {
			t.Errorf("stats[%s] = %d, want %d (all: %v)", op, got[op], n, got)
		}
	}
}
