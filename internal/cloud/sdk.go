package cloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	evs "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/evs/v2"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/evs/v2/model"
	evsregion "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/evs/v2/region"
)

// EVS operation names: the operation label of the metrics, Error.Op and the "operation" log key.
// They are the SDK's (and the simulator's) names for the API calls.
const (
	// OpCreateSnapshot is Client.CreateSnapshot.
	OpCreateSnapshot = "CreateSnapshot"
	// OpShowSnapshot is Client.GetSnapshot.
	OpShowSnapshot = "ShowSnapshot"
	// OpListSnapshots is Client.ListSnapshots.
	OpListSnapshots = "ListSnapshots"
	// OpUpdateSnapshot is Client.UpdateSnapshot.
	OpUpdateSnapshot = "UpdateSnapshot"
	// OpDeleteSnapshot is Client.DeleteSnapshot.
	OpDeleteSnapshot = "DeleteSnapshot"
	// OpRollbackSnapshot is Client.RollbackSnapshot.
	OpRollbackSnapshot = "RollbackSnapshot"
	// OpShowVolume is Client.GetVolume.
	OpShowVolume = "ShowVolume"
	// OpCreateVolume is Client.CreateVolume.
	OpCreateVolume = "CreateVolume"
	// OpDeleteVolume is Client.DeleteVolume.
	OpDeleteVolume = "DeleteVolume"
	// OpShowJob is Client.GetJob.
	OpShowJob = "ShowJob"
)

// sdkClient implements Client over the official SDK, which builds, signs and sends the requests.
type sdkClient struct {
	evs   *evs.EvsClient
	retry retrier
}

var _ Client = (*sdkClient)(nil)

// New validates cfg, applies its defaults and builds a Client over the official SDK. It makes no
// network call.
func New(cfg Config) (Client, error) {
	cfg = withDefaults(cfg)
	endpoint, err := resolveEndpoint(cfg)
	if err != nil {
		return nil, err
	}
	if err := validate(cfg); err != nil {
		return nil, err
	}
	cred, err := basic.NewCredentialsBuilder().WithAk(cfg.AK).WithSk(cfg.SK).WithProjectId(cfg.ProjectID).
		SafeBuild()
	if err != nil {
		// The SDK's message names the missing field, never a key.
		return nil, fmt.Errorf("building EVS credentials: %w", err)
	}
	// The SDK's own transport has no proxy support and keeps two idle connections per host; the
	// standard one honours HTTPS_PROXY and NO_PROXY, and many reconcilers share the client.
	transport := &http.Transport{Proxy: http.ProxyFromEnvironment}
	if std, ok := http.DefaultTransport.(*http.Transport); ok {
		transport = std.Clone()
	}
	transport.MaxIdleConnsPerHost = 32
	hc, err := evs.EvsClientBuilder().
		WithEndpoints([]string{endpoint}).
		WithCredential(cred).
		WithHttpConfig(config.DefaultHttpConfig().WithTimeout(cfg.Timeout).WithHttpTransport(transport)).
		SafeBuild()
	if err != nil {
		return nil, fmt.Errorf("building EVS client for %s: %w", endpoint, err)
	}
	return &sdkClient{
		evs: evs.NewEvsClient(hc),
		retry: retrier{
			maxRetries: cfg.MaxRetries,
			baseDelay:  cfg.RetryBaseDelay,
			maxDelay:   cfg.RetryMaxDelay,
		},
	}, nil
}

func withDefaults(cfg Config) Config {
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	switch {
	case cfg.MaxRetries == 0:
		cfg.MaxRetries = DefaultMaxRetries
	case cfg.MaxRetries < 0:
		cfg.MaxRetries = 0
	}
	if cfg.RetryBaseDelay == 0 {
		cfg.RetryBaseDelay = DefaultRetryBaseDelay
	}
	if cfg.RetryMaxDelay == 0 {
		cfg.RetryMaxDelay = DefaultRetryMaxDelay
	}
	return cfg
}

func validate(cfg Config) error {
	var errs []error
	if cfg.ProjectID == "" {
		errs = append(errs, errors.New("project ID is required"))
	}
	if cfg.AK == "" || cfg.SK == "" {
		errs = append(errs, errors.New("access key (AK) and secret key (SK) are required"))
	}
	if cfg.Timeout < 0 || cfg.RetryBaseDelay < 0 || cfg.RetryMaxDelay < 0 {
		errs = append(errs, errors.New("timeout and retry delays must not be negative"))
	}
	if cfg.RetryBaseDelay > cfg.RetryMaxDelay {
		errs = append(errs, fmt.Errorf("retry base delay %s exceeds the maximum %s",
			cfg.RetryBaseDelay, cfg.RetryMaxDelay))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid EVS client configuration: %w", err)
	}
	return nil
}

// regionPattern matches region names such as cn-north-4 and ap-southeast-1.
var regionPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// resolveEndpoint returns cfg.Endpoint without a trailing slash, or the region's endpoint: the
// SDK's for a region it knows (which honours its region overrides), else the public pattern.
func resolveEndpoint(cfg Config) (string, error) {
	if cfg.Endpoint == "" {
		if cfg.Region == "" {
			return "", errors.New("invalid EVS client configuration: a region or an endpoint is required")
		}
		if !regionPattern.MatchString(cfg.Region) {
			return "", fmt.Errorf("invalid EVS client configuration: region %q is not a region name", cfg.Region)
		}
		cfg.Endpoint = "https://evs." + cfg.Region + ".myhuaweicloud.com"
		if r, err := evsregion.SafeValueOf(cfg.Region); err == nil && r != nil && len(r.Endpoints) > 0 {
			cfg.Endpoint = r.Endpoints[0]
			if !strings.Contains(cfg.Endpoint, "://") {
				cfg.Endpoint = "https://" + cfg.Endpoint
			}
		}
	}
	// The SDK replaces the endpoint's path with the API path, so a path prefix would be lost.
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("invalid EVS endpoint %q: want http(s)://host[:port]", cfg.Endpoint)
	}
	return strings.TrimSuffix(cfg.Endpoint, "/"), nil
}

// checkID refuses an ID that would change the request path: the SDK puts path parameters in the
// URL unescaped.
func checkID(op, kind, id string) error {
	if id == "" || url.PathEscape(id) != id || id == "." || id == ".." {
		return &Error{Op: op, Class: ClassBadRequest, Message: fmt.Sprintf("invalid %s ID %q", kind, id)}
	}
	return nil
}

// CreateSnapshot implements Client.
func (c *sdkClient) CreateSnapshot(ctx context.Context, req CreateSnapshotRequest) (*Snapshot, error) {
	if err := checkID(OpCreateSnapshot, "volume", req.VolumeID); err != nil {
		return nil, err
	}
	opt := &model.CreateSnapshotOption{
		VolumeId:    req.VolumeID,
		Name:        optional(req.Name),
		Description: optional(req.Description),
		Metadata:    req.Metadata,
	}
	if req.Force {
		opt.Force = &req.Force
	}
	in := &model.CreateSnapshotRequest{Body: &model.CreateSnapshotRequestBody{Snapshot: opt}}
	resp, err := call(ctx, &c.retry, OpCreateSnapshot, retryUnsent,
		func() (*model.CreateSnapshotResponse, error) {
			return c.evs.CreateSnapshot(in)
		})
	if err != nil {
		return nil, err
	}
	return snapshotFromDetails(resp.Snapshot), nil
}

// GetSnapshot implements Client.
func (c *sdkClient) GetSnapshot(ctx context.Context, id string) (*Snapshot, error) {
	if err := checkID(OpShowSnapshot, "snapshot", id); err != nil {
		return nil, err
	}
	in := &model.ShowSnapshotRequest{SnapshotId: id}
	resp, err := call(ctx, &c.retry, OpShowSnapshot, retryIdempotent,
		func() (*model.ShowSnapshotResponse, error) {
			return c.evs.ShowSnapshot(in)
		})
	if err != nil {
		return nil, err
	}
	return snapshotFromDetails(resp.Snapshot), nil
}

// listSnapshotsQuery stands in for model.ListSnapshotsRequest with the SDK's own request definition:
// the model holds a single id, while the API filters by a repeated id parameter, and the SDK sends
// (and signs) a slice as repeated parameters. Fields the definition names but this type lacks are
// skipped by the SDK.
type listSnapshotsQuery struct {
	Offset           *int32    `json:"offset,omitempty"`
	Limit            *int32    `json:"limit,omitempty"`
	Name             *string   `json:"name,omitempty"`
	Status           *string   `json:"status,omitempty"`
	VolumeId         *string   `json:"volume_id,omitempty"` //nolint:revive // the SDK matches fields by name
	AvailabilityZone *string   `json:"availability_zone,omitempty"`
	Id               *[]string `json:"id,omitempty"` //nolint:revive // the SDK matches fields by name
}

// ListSnapshots implements Client.
func (c *sdkClient) ListSnapshots(ctx context.Context, opts ListSnapshotsOptions) (*SnapshotPage, error) {
	limit := opts.Limit
	if limit == 0 {
		limit = MaxListLimit
	}
	if limit < 0 || limit > MaxListLimit || opts.Offset < 0 || opts.Offset > math.MaxInt32 {
		return nil, &Error{Op: OpListSnapshots, Class: ClassBadRequest,
			Message: fmt.Sprintf("limit %d or offset %d out of range", opts.Limit, opts.Offset)}
	}
	in := &listSnapshotsQuery{
		Limit:            new(int32(limit)),
		Name:             optional(opts.Name),
		Status:           optional(opts.Status),
		VolumeId:         optional(opts.VolumeID),
		AvailabilityZone: optional(opts.AvailabilityZone),
	}
	if opts.Offset > 0 {
		in.Offset = new(int32(opts.Offset))
	}
	if len(opts.IDs) > 0 {
		in.Id = &opts.IDs
	}
	resp, err := call(ctx, &c.retry, OpListSnapshots, retryIdempotent,
		func() (*model.ListSnapshotsResponse, error) {
			out, err := c.evs.HcClient.Sync(in, evs.GenReqDefForListSnapshots())
			if err != nil {
				return nil, err
			}
			resp, ok := out.(*model.ListSnapshotsResponse)
			if !ok {
				return nil, fmt.Errorf("unexpected SDK response type %T", out)
			}
			return resp, nil
		})
	if err != nil {
		return nil, err
	}
	return snapshotPageFromList(resp), nil
}

// UpdateSnapshot implements Client.
func (c *sdkClient) UpdateSnapshot(ctx context.Context, id, name, description string) (*Snapshot, error) {
	if err := checkID(OpUpdateSnapshot, "snapshot", id); err != nil {
		return nil, err
	}
	// Both fields are always sent, so an empty description clears it: the call sets the values.
	in := &model.UpdateSnapshotRequest{
		SnapshotId: id,
		Body: &model.UpdateSnapshotRequestBody{
			Snapshot: &model.UpdateSnapshotOption{Name: &name, Description: &description},
		},
	}
	resp, err := call(ctx, &c.retry, OpUpdateSnapshot, retryIdempotent,
		func() (*model.UpdateSnapshotResponse, error) {
			return c.evs.UpdateSnapshot(in)
		})
	if err != nil {
		return nil, err
	}
	return snapshotFromDetails(resp.Snapshot), nil
}

// DeleteSnapshot implements Client.
func (c *sdkClient) DeleteSnapshot(ctx context.Context, id string) error {
	if err := checkID(OpDeleteSnapshot, "snapshot", id); err != nil {
		return err
	}
	in := &model.DeleteSnapshotRequest{SnapshotId: id}
	return c.retry.do(ctx, OpDeleteSnapshot, retryIdempotent, func() error {
		_, err := c.evs.DeleteSnapshot(in)
		return err
	})
}

// RollbackSnapshot implements Client.
func (c *sdkClient) RollbackSnapshot(ctx context.Context, id, volumeID, name string) error {
	if err := checkID(OpRollbackSnapshot, "snapshot", id); err != nil {
		return err
	}
	if err := checkID(OpRollbackSnapshot, "volume", volumeID); err != nil {
		return err
	}
	in := &model.RollbackSnapshotRequest{
		SnapshotId: id,
		Body: &model.RollbackSnapshotRequestBody{
			Rollback: &model.RollbackSnapshotOption{VolumeId: volumeID, Name: optional(name)},
		},
	}
	return c.retry.do(ctx, OpRollbackSnapshot, retryUnsent, func() error {
		_, err := c.evs.RollbackSnapshot(in)
		return err
	})
}

// GetVolume implements Client.
func (c *sdkClient) GetVolume(ctx context.Context, id string) (*Volume, error) {
	if err := checkID(OpShowVolume, "volume", id); err != nil {
		return nil, err
	}
	in := &model.ShowVolumeRequest{VolumeId: id}
	resp, err := call(ctx, &c.retry, OpShowVolume, retryIdempotent,
		func() (*model.ShowVolumeResponse, error) {
			return c.evs.ShowVolume(in)
		})
	if err != nil {
		return nil, err
	}
	return volumeFromDetail(resp.Volume), nil
}

// CreateVolume implements Client. With a ClientToken the cloud deduplicates repeated requests, so
// the call is retried like a read; without one it is treated like CreateSnapshot.
func (c *sdkClient) CreateVolume(ctx context.Context, req CreateVolumeRequest) (*CreateVolumeResult, error) {
	var volumeType model.CreateVolumeOptionVolumeType
	// The SDK models the type as a closed enum; its JSON decoder accepts any name the cloud knows.
	raw, _ := json.Marshal(req.VolumeType)
	if err := volumeType.UnmarshalJSON(raw); err != nil {
		return nil, &Error{Op: OpCreateVolume, Class: ClassBadRequest,
			Message: fmt.Sprintf("invalid volume type %q", req.VolumeType), Err: err}
	}
	in := &model.CreateVolumeRequest{
		XClientToken: optional(req.ClientToken),
		Body: &model.CreateVolumeRequestBody{Volume: &model.CreateVolumeOption{
			AvailabilityZone: req.AvailabilityZone,
			VolumeType:       volumeType,
			Size:             req.SizeGiB,
			SnapshotId:       optional(req.SnapshotID),
			Name:             optional(req.Name),
			Description:      optional(req.Description),
			Metadata:         req.Metadata,
		}},
	}
	policy := retryIdempotent
	if req.ClientToken == "" {
		policy = retryUnsent
	}
	resp, err := call(ctx, &c.retry, OpCreateVolume, policy, func() (*model.CreateVolumeResponse, error) {
		return c.evs.CreateVolume(in)
	})
	if err != nil {
		return nil, err
	}
	out := &CreateVolumeResult{JobID: deref(resp.JobId)}
	if resp.VolumeIds != nil {
		out.VolumeIDs = append([]string(nil), *resp.VolumeIds...)
	}
	return out, nil
}

// DeleteVolume implements Client.
func (c *sdkClient) DeleteVolume(ctx context.Context, id string) error {
	if err := checkID(OpDeleteVolume, "volume", id); err != nil {
		return err
	}
	in := &model.DeleteVolumeRequest{VolumeId: id}
	return c.retry.do(ctx, OpDeleteVolume, retryIdempotent, func() error {
		_, err := c.evs.DeleteVolume(in)
		return err
	})
}

// GetJob implements Client.
func (c *sdkClient) GetJob(ctx context.Context, id string) (*Job, error) {
	if err := checkID(OpShowJob, "job", id); err != nil {
		return nil, err
	}
	in := &model.ShowJobRequest{JobId: id}
	resp, err := call(ctx, &c.retry, OpShowJob, retryIdempotent,
		func() (*model.ShowJobResponse, error) {
			return c.evs.ShowJob(in)
		})
	if err != nil {
		return nil, err
	}
	return jobFromResponse(id, resp), nil
}
