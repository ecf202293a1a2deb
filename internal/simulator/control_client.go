package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Control is a client of the /sim/v1 control API of a running simulator.
type Control struct {
	baseURL string
	http    *http.Client
}

// ControlError is a control call the simulator refused.
type ControlError struct {
	Method, Path string
	StatusCode   int
	Message      string
}

// Error implements error.
func (e *ControlError) Error() string {
	return fmt.Sprintf("simulator control %s %s: %d: %s", e.Method, e.Path, e.StatusCode, e.Message)
}

// NewControl returns a client for the simulator at baseURL, such as Server.URL().
func NewControl(baseURL string) *Control {
	return &Control{
		baseURL: strings.TrimSuffix(baseURL, "/"),
		http:    &http.Client{Timeout: 30 * time.Second},
	}
}

// AddVolume adds a disk; see Volume for the defaults.
func (c *Control) AddVolume(ctx context.Context, v Volume) (Volume, error) {
	var out Volume
	err := c.do(ctx, http.MethodPost, "/volumes", v, &out)
	return out, err
}

// SetVolumeStatus forces a disk's status, cancelling any transition under way.
func (c *Control) SetVolumeStatus(ctx context.Context, id, status string) (Volume, error) {
	var out Volume
	path := "/volumes/" + url.PathEscape(id) + "/status"
	err := c.do(ctx, http.MethodPut, path, statusRequest{Status: status}, &out)
	return out, err
}

// AddSnapshot adds a snapshot made outside the operator; it is available at once.
func (c *Control) AddSnapshot(ctx context.Context, sn Snapshot) (Snapshot, error) {
	in := Snapshot{
		ID: sn.ID, VolumeID: sn.VolumeID, Name: sn.Name, Description: sn.Description, Metadata: sn.Metadata,
	}
	var out Snapshot
	err := c.do(ctx, http.MethodPost, "/snapshots", in, &out)
	return out, err
}

// SetSnapshotStatus forces a snapshot's status, cancelling any transition under way.
func (c *Control) SetSnapshotStatus(ctx context.Context, id, status string) (Snapshot, error) {
	var out Snapshot
	path := "/snapshots/" + url.PathEscape(id) + "/status"
	err := c.do(ctx, http.MethodPut, path, statusRequest{Status: status}, &out)
	return out, err
}

// VanishSnapshot removes a snapshot at once, as if it were deleted outside the operator.
func (c *Control) VanishSnapshot(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/snapshots/"+url.PathEscape(id), nil, nil)
}

// StartBackup makes the backup service start a backup of a disk and returns its temporary
// autobk_snapshot_ snapshot, which is backing-up.
func (c *Control) StartBackup(ctx context.Context, volumeID string) (Snapshot, error) {
	var out Snapshot
	err := c.do(ctx, http.MethodPost, "/backups", map[string]string{"volumeID": volumeID}, &out)
	return out, err
}

// InjectFault adds a fault; faults fire in the order they were added.
func (c *Control) InjectFault(ctx context.Context, f Fault) error {
	return c.do(ctx, http.MethodPost, "/faults", f, nil)
}

// ClearFaults removes every fault.
func (c *Control) ClearFaults(ctx context.Context) error {
	return c.do(ctx, http.MethodDelete, "/faults", nil, nil)
}

// SetTimings changes how long transitions take from now on. Zero fields are left as they are.
func (c *Control) SetTimings(ctx context.Context, t Timings) error {
	var in timingsBody
	for _, f := range []struct {
		d   time.Duration
		dst *string
	}{
		{t.SnapshotCreate, &in.SnapshotCreate}, {t.SnapshotDelete, &in.SnapshotDelete},
		{t.Rollback, &in.Rollback}, {t.VolumeCreate, &in.VolumeCreate}, {t.VolumeDelete, &in.VolumeDelete},
	} {
		if f.d != 0 {
			*f.dst = f.d.String()
		}
	}
	return c.do(ctx, http.MethodPut, "/timing", in, nil)
}

// SetFailures replaces the failure set: the next transition of each non-empty kind fails.
func (c *Control) SetFailures(ctx context.Context, f Failures) error {
	return c.do(ctx, http.MethodPut, "/failures", f, nil)
}

// SetRateLimit throttles the signed API to requestsPerSecond (0: no limit).
func (c *Control) SetRateLimit(ctx context.Context, requestsPerSecond float64) error {
	return c.do(ctx, http.MethodPut, "/ratelimit", rateLimitBody{RequestsPerSecond: requestsPerSecond}, nil)
}

// Snapshots returns every snapshot, in creation order.
func (c *Control) Snapshots(ctx context.Context) ([]Snapshot, error) {
	var out []Snapshot
	err := c.do(ctx, http.MethodGet, "/snapshots", nil, &out)
	return out, err
}

// Volumes returns every disk, in creation order.
func (c *Control) Volumes(ctx context.Context) ([]Volume, error) {
	var out []Volume
	err := c.do(ctx, http.MethodGet, "/volumes", nil, &out)
	return out, err
}

// Stats returns the request counts per operation.
func (c *Control) Stats(ctx context.Context) (Stats, error) {
	var out Stats
	err := c.do(ctx, http.MethodGet, "/stats", nil, &out)
	return out, err
}

// do sends in as JSON (when not nil) and decodes the answer into out (when not nil).
func (c *Control) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encoding simulator control %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+ControlPrefix+path, body)
	if err != nil {
		return fmt.Errorf("building simulator control %s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("simulator control %s %s: %w", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("reading simulator control %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		return &ControlError{Method: method, Path: path, StatusCode: resp.StatusCode, Message: e.Error}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decoding simulator control %s %s: %w", method, path, err)
	}
	return nil
}
