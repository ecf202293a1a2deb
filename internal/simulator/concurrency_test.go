package simulator

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/evs/v2/model"
)

// TestConcurrentClients drives many SDK clients and the control API at once; run it with -race.
func TestConcurrentClients(t *testing.T) {
	const workers = 8
	const rounds = 5
	e := newEnvWith(t, fastTimings(5*time.Millisecond), false)
	ctx := context.Background()

	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds*4)
	for w := range workers {
		disk := must(e.ctl.AddVolume(ctx, Volume{Name: fmt.Sprintf("w%d", w), SizeGiB: 10}))
		wg.Go(func() {
			c := newSDKClient(t, e.srv.URL(), DefaultAK, DefaultSK, DefaultProjectID)
			for r := range rounds {
				if err := snapshotRound(c, disk.ID, fmt.Sprintf("w%d-r%d", w, r)); err != nil {
					errs <- fmt.Errorf("worker %d round %d: %w", w, r, err)
				}
			}
		})
	}
	// Readers and the control API run alongside.
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := e.ctl.Stats(ctx); err != nil {
				errs <- err
			}
			if _, err := e.ctl.Snapshots(ctx); err != nil {
				errs <- err
			}
			if _, err := e.evs.ListSnapshots(&model.ListSnapshotsRequest{}); err != nil {
				errs <- err
			}
		}
	})
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	eventually(t, 5*time.Second, "every snapshot is deleted", func() bool {
		return len(must(e.ctl.Snapshots(ctx))) == 0
	})
	stats := must(e.ctl.Stats(ctx)).Requests
	n := int64(workers * rounds)
	if stats[OperationCreateSnapshot] != n || stats[OperationDeleteSnapshot] != n {
		t.Errorf("stats = %v", stats)
	}
}

// snapshotRound creates a snapshot, waits for it, renames it and deletes it.
func snapshotRound(c interface {
	CreateSnapshot(*model.CreateSnapshotRequest) (*model.CreateSnapshotResponse, error)
	ShowSnapshot(*model.ShowSnapshotRequest) (*model.ShowSnapshotResponse, error)
	UpdateSnapshot(*model.UpdateSnapshotRequest) (*model.UpdateSnapshotResponse, error)
	DeleteSnapshot(*model.DeleteSnapshotRequest) (*model.DeleteSnapshotResponse, error)
}, volumeID, name string) error {
	created, err := c.CreateSnapshot(&model.CreateSnapshotRequest{Body: &model.CreateSnapshotRequestBody{
		Snapshot: &model.CreateSnapshotOption{VolumeId: volumeID, Name: &name},
	}})
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	id := *created.Snapshot.Id
	deadline := time.Now().Add(5 * time.Second)
	for {
		shown, err := c.ShowSnapshot(&model.ShowSnapshotRequest{SnapshotId: id})
		if err != nil {
			return fmt.Errorf("show: %w", err)
		}
		if *shown.Snapshot.Status == "available" {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("snapshot %s stuck in %s", id, *shown.Snapshot.Status)
		}
		time.Sleep(2 * time.Millisecond)
	}
	renamed := name + "-renamed"
	_, err = c.UpdateSnapshot(&model.UpdateSnapshotRequest{
		SnapshotId: id,
		Body:       &model.UpdateSnapshotRequestBody{Snapshot: &model.UpdateSnapshotOption{Name: &renamed}},
	})
	if err != nil {
		return fmt.Errorf("update: %w", err)
	}
	resp, err := c.DeleteSnapshot(&model.DeleteSnapshotRequest{SnapshotId: id})
	if err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if resp.HttpStatusCode != http.StatusAccepted {
		return fmt.Errorf("delete answered %d", resp.HttpStatusCode)
	}
	return nil
}
