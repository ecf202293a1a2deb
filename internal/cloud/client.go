// Package cloud is the operator's only way to Huawei Cloud Elastic Volume Service (EVS): a narrow
// Client interface in the operator's own types, implemented over the official Go SDK, with error
// classification, bounded retries, metrics and logging in one place.
package cloud

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// Snapshot is an EVS snapshot as the operator sees it.
type Snapshot struct {
	ID          string
	Name        string
	Description string
	// Status is the raw cloud status, such as "creating" or "available".
	Status   string
	VolumeID string
	// Progress is the cloud's creation progress, such as "100%".
	Progress string
	SizeGiB  int32
	// CreatedAt and UpdatedAt are zero when the cloud sent no time or one that does not parse.
	CreatedAt time.Time
	UpdatedAt time.Time
	Metadata  map[string]string
}

// CreateSnapshotRequest asks for a new snapshot of a disk.
type CreateSnapshotRequest struct {
	VolumeID    string
	Name        string
	Description string
	Metadata    map[string]string
	// Force snapshots a disk that is attaching.
	Force bool
}

// ListSnapshotsOptions filters and pages a snapshot list; empty fields do not filter.
type ListSnapshotsOptions struct {
	Name             string
	Status           string
	VolumeID         string
	AvailabilityZone string
	// IDs keeps only these snapshots; it is sent as a repeated id parameter.
	IDs []string
	// Limit is the page size, 1 to MaxListLimit; 0 means MaxListLimit.
	Limit int
	// Offset is the number of matching snapshots to skip.
	Offset int
}

// MaxListLimit is the largest page the EVS list API serves.
const MaxListLimit = 1000

// SnapshotPage is one page of a snapshot list.
type SnapshotPage struct {
	Snapshots []Snapshot
	// Count is the total number of matching snapshots, regardless of paging.
	Count int
}

// Volume is an EVS disk as the operator sees it.
type Volume struct {
	ID               string
	Name             string
	Status           string
	AvailabilityZone string
	VolumeType       string
	SnapshotID       string
	SizeGiB          int32
	Metadata         map[string]string
}

// CreateVolumeRequest asks for a new disk, normally from a snapshot.
type CreateVolumeRequest struct {
	// ClientToken is sent as X-Client-Token: the cloud answers a repeated request with the same
	// token (for 8 hours) with the first request's result, so retries never make a second disk.
	ClientToken      string
	Name             string
	Description      string
	AvailabilityZone string
	VolumeType       string
	SnapshotID       string
	// SizeGiB is at least the snapshot's size. Set it: the SDK always sends the size, so 0 is sent
	// as 0 rather than left for the cloud to default.
	SizeGiB  int32
	Metadata map[string]string
}

// CreateVolumeResult is the cloud's answer to a disk create: a job to poll and, when the cloud
// already knows them, the new disk IDs.
type CreateVolumeResult struct {
	JobID     string
	VolumeIDs []string
}

// Job statuses as the EVS job API reports them.
const (
	// JobSuccess means the task finished well.
	JobSuccess = "SUCCESS"
	// JobRunning means the task is under way.
	JobRunning = "RUNNING"
	// JobFail means the task failed; Job.ErrorCode and Job.FailReason say why.
	JobFail = "FAIL"
	// JobInit means the task has not started yet.
	JobInit = "INIT"
)

// Job is an asynchronous EVS task, such as a disk create.
type Job struct {
	ID string
	// Status is one of JobSuccess, JobRunning, JobFail and JobInit.
	Status     string
	VolumeID   string
	ErrorCode  string
	FailReason string
}

// Client is the operator's only way to the cloud.
//
// Every method returns either nil or an *Error whose Class tells the caller what to do. Throttled
// and transient failures are already retried a bounded number of times inside the call.
type Client interface {
	// CreateSnapshot starts a snapshot of a disk; the snapshot returned is usually "creating".
	// The API has no idempotency token, so a failed call whose request may have reached the cloud
	// is not repeated: callers find a possibly created snapshot by listing (e.g. by name).
	CreateSnapshot(ctx context.Context, req CreateSnapshotRequest) (*Snapshot, error)
	// GetSnapshot reads one snapshot.
	GetSnapshot(ctx context.Context, id string) (*Snapshot, error)
	// ListSnapshots reads one page of snapshots.
	ListSnapshots(ctx context.Context, opts ListSnapshotsOptions) (*SnapshotPage, error)
	// UpdateSnapshot sets a snapshot's name and description.
	UpdateSnapshot(ctx context.Context, id, name, description string) (*Snapshot, error)
	// DeleteSnapshot starts deleting a snapshot; poll GetSnapshot until it is not found. A
	// NotFound answer means the snapshot is already gone. When an attempt failed in a way that
	// hides whether it went through, the retry may answer NotFound or Conflict (EVS.1047, the
	// snapshot is now deleting) for the first attempt's success: GetSnapshot tells.
	DeleteSnapshot(ctx context.Context, id string) error
	// RollbackSnapshot starts restoring a snapshot's data onto its source disk; name optionally
	// renames the disk. Like CreateSnapshot it is not repeated once it may have reached the cloud.
	RollbackSnapshot(ctx context.Context, id, volumeID, name string) error
	// GetVolume reads one disk.
	GetVolume(ctx context.Context, id string) (*Volume, error)
	// CreateVolume starts creating a disk; poll GetJob with the result's JobID.
	CreateVolume(ctx context.Context, req CreateVolumeRequest) (*CreateVolumeResult, error)
	// DeleteVolume starts deleting a disk. A NotFound answer means the disk is already gone.
	DeleteVolume(ctx context.Context, id string) error
	// GetJob reads an asynchronous task.
	GetJob(ctx context.Context, id string) (*Job, error)
}

// Environment variables that ConfigFromEnv reads the credentials from.
const (
	// EnvAK holds the access key ID.
	EnvAK = "HUAWEICLOUD_SDK_AK"
	// EnvSK holds the secret access key.
	EnvSK = "HUAWEICLOUD_SDK_SK"
)

// Defaults that New applies to zero Config fields.
const (
	// DefaultTimeout bounds one HTTP attempt.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxRetries is how many times a throttled or transient call is repeated.
	DefaultMaxRetries = 3
	// DefaultRetryBaseDelay is the first backoff.
	DefaultRetryBaseDelay = 500 * time.Millisecond
	// DefaultRetryMaxDelay caps one backoff.
	DefaultRetryMaxDelay = 5 * time.Second
)

// Config says which cloud to talk to and how patiently.
type Config struct {
	// Region is the cloud region, such as "cn-north-4"; used to build the endpoint when Endpoint is
	// empty.
	Region string
	// ProjectID is the project the resources live in. It is required: without it the SDK would ask
	// IAM for one on every client build.
	ProjectID string
	// Endpoint is the EVS base URL; empty means the region's public endpoint
	// (https://evs.{region}.myhuaweicloud.com). Plain http is kept as given (for the simulator).
	Endpoint string
	// AK and SK are the access key pair; they never reach a log or an error message.
	AK string
	SK string
	// Timeout bounds each HTTP attempt; 0 means DefaultTimeout.
	Timeout time.Duration
	// MaxRetries is how many times a throttled or transient call is repeated; 0 means
	// DefaultMaxRetries and a negative value disables retries.
	MaxRetries int
	// RetryBaseDelay is the first backoff; it doubles per attempt up to RetryMaxDelay, with jitter.
	// 0 means DefaultRetryBaseDelay.
	RetryBaseDelay time.Duration
	// RetryMaxDelay caps one backoff; 0 means DefaultRetryMaxDelay.
	RetryMaxDelay time.Duration
}

// String describes the configuration with the credentials redacted, so a Config printed or
// logged by mistake leaks nothing.
func (c Config) String() string {
	return fmt.Sprintf("{Region:%s ProjectID:%s Endpoint:%s AK:%s SK:%s Timeout:%s MaxRetries:%d}",
		c.Region, c.ProjectID, c.Endpoint, redact(c.AK), redact(c.SK), c.Timeout, c.MaxRetries)
}

// GoString is String, so %#v redacts too.
func (c Config) GoString() string { return c.String() }

func redact(s string) string {
	if s == "" {
		return `""`
	}
	return "<redacted>"
}

// ConfigFromEnv returns cfg with AK and SK taken from HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK
// where cfg leaves them empty. It fails, naming the variable but never a value, when either is
// still missing.
func ConfigFromEnv(cfg Config) (Config, error) {
	if cfg.AK == "" {
		cfg.AK = os.Getenv(EnvAK)
	}
	if cfg.SK == "" {
		cfg.SK = os.Getenv(EnvSK)
	}
	var errs []error
	if cfg.AK == "" {
		errs = append(errs, fmt.Errorf("environment variable %s is not set", EnvAK))
	}
	if cfg.SK == "" {
		errs = append(errs, fmt.Errorf("environment variable %s is not set", EnvSK))
	}
	return cfg, errors.Join(errs...)
}
