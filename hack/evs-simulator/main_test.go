package main

import (
	"context"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	evs "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/evs/v2"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/evs/v2/model"

	"github.com/evs-operator/evs-operator/internal/simulator"
)

// TestRunServesTheSDKAndTheControlAPI starts the binary's run loop with custom flags, drives it
// with the SDK and the control client, then stops it the way a signal would.
func TestRunServesTheSDKAndTheControlAPI(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan *simulator.Server, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{
			"--bind-address", "127.0.0.1:0", "--ak", "AK1", "--sk", "SK1", "--project-id", "proj1",
			"--snapshot-create", "10ms",
		}, func(s *simulator.Server) { started <- s })
	}()
	var srv *simulator.Server
	select {
	case srv = <-started:
	case err := <-done:
		t.Fatalf("run ended before serving: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the simulator did not start")
	}

	cred, err := basic.NewCredentialsBuilder().
		WithAk("AK1").WithSk("SK1").WithProjectId("proj1").SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	hc, err := evs.EvsClientBuilder().WithEndpoints([]string{srv.URL()}).WithCredential(cred).SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	c := evs.NewEvsClient(hc)
	created, err := c.CreateSnapshot(&model.CreateSnapshotRequest{Body: &model.CreateSnapshotRequestBody{
		Snapshot: &model.CreateSnapshotOption{VolumeId: simulator.SeedVolumeAvailable},
	}})
	if err != nil {
		t.Fatalf("create through the binary: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		sn, err := c.ShowSnapshot(&model.ShowSnapshotRequest{SnapshotId: *created.Snapshot.Id})
		if err != nil {
			t.Fatalf("show: %v", err)
		}
		if *sn.Snapshot.Status == "available" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the --snapshot-create timing was not applied: still %s", *sn.Snapshot.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stats, err := simulator.NewControl(srv.URL()).Stats(ctx)
	if err != nil || stats.Requests[simulator.OperationCreateSnapshot] != 1 {
		t.Fatalf("control stats = %+v, %v", stats, err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the simulator did not shut down")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--snapshot-create", "soon"},
		{"--bind-address", "not-an-address"},
		{"stray"},
	} {
		if err := run(context.Background(), args, nil); err == nil {
			t.Errorf("run %v succeeded", args)
		}
	}
}
