package cloud

import (
	"context"

	"golang.org/x/time/rate"
)

// rateLimited paces every call of a Client with one token bucket, so that the operator as a whole
// stays under the API gateway's limit instead of earning 429s and backing off.
type rateLimited struct {
	Client
	limiter *rate.Limiter
}

// WithRateLimit returns c with its calls paced to qps per second, bursting to burst. A qps of zero
// or less returns c unchanged.
func WithRateLimit(c Client, qps float64, burst int) Client {
	if qps <= 0 {
		return c
	}
	return &rateLimited{Client: c, limiter: rate.NewLimiter(rate.Limit(qps), max(burst, 1))}
}

func (r *rateLimited) wait(ctx context.Context, op string) error {
	if err := r.limiter.Wait(ctx); err != nil {
		return &Error{Op: op, Class: ClassTransient, Message: "waiting for the client-side rate limit", Err: err}
	}
	return nil
}

func (r *rateLimited) CreateSnapshot(ctx context.Context, req CreateSnapshotRequest) (*Snapshot, error) {
	if err := r.wait(ctx, OpCreateSnapshot); err != nil {
		return nil, err
	}
	return r.Client.CreateSnapshot(ctx, req)
}

func (r *rateLimited) GetSnapshot(ctx context.Context, id string) (*Snapshot, error) {
	if err := r.wait(ctx, OpShowSnapshot); err != nil {
		return nil, err
	}
	return r.Client.GetSnapshot(ctx, id)
}

func (r *rateLimited) ListSnapshots(ctx context.Context, opts ListSnapshotsOptions) (*SnapshotPage, error) {
	if err := r.wait(ctx, OpListSnapshots); err != nil {
		return nil, err
	}
	return r.Client.ListSnapshots(ctx, opts)
}

func (r *rateLimited) UpdateSnapshot(ctx context.Context, id, name, description string) (*Snapshot, error) {
	if err := r.wait(ctx, OpUpdateSnapshot); err != nil {
		return nil, err
	}
	return r.Client.UpdateSnapshot(ctx, id, name, description)
}

func (r *rateLimited) DeleteSnapshot(ctx context.Context, id string) error {
	if err := r.wait(ctx, OpDeleteSnapshot); err != nil {
		return err
	}
	return r.Client.DeleteSnapshot(ctx, id)
}

func (r *rateLimited) RollbackSnapshot(ctx context.Context, id, volumeID, name string) error {
	if err := r.wait(ctx, OpRollbackSnapshot); err != nil {
		return err
	}
	return r.Client.RollbackSnapshot(ctx, id, volumeID, name)
}

func (r *rateLimited) GetVolume(ctx context.Context, id string) (*Volume, error) {
	if err := r.wait(ctx, OpShowVolume); err != nil {
		return nil, err
	}
	return r.Client.GetVolume(ctx, id)
}

func (r *rateLimited) CreateVolume(ctx context.Context, req CreateVolumeRequest) (*CreateVolumeResult, error) {
	if err := r.wait(ctx, OpCreateVolume); err != nil {
		return nil, err
	}
	return r.Client.CreateVolume(ctx, req)
}

func (r *rateLimited) DeleteVolume(ctx context.Context, id string) error {
	if err := r.wait(ctx, OpDeleteVolume); err != nil {
		return err
	}
	return r.Client.DeleteVolume(ctx, id)
}

func (r *rateLimited) GetJob(ctx context.Context, id string) (*Job, error) {
	if err := r.wait(ctx, OpShowJob); err != nil {
		return nil, err
	}
	return r.Client.GetJob(ctx, id)
}
