package cloud_test

import (
	"testing"

	"github.com/evs-operator/evs-operator/internal/cloud"
)

// TestRateLimitKeepsUnderTheGateway shows the client-side pacing at work: paced below the
// gateway's limit, a burst of calls earns no 429, so the simulator sees each call exactly once.
func TestRateLimitKeepsUnderTheGateway(t *testing.T) {
	e := startEnv(t)
	ctx := testContext(t)
	if err := e.ctl.SetRateLimit(ctx, 20); err != nil {
		t.Fatal(err)
	}
	paced := cloud.WithRateLimit(e.client, 10, 5)
	const calls = 30
	for range calls {
		if _, err := paced.ListSnapshots(ctx, cloud.ListSnapshotsOptions{Limit: 1}); err != nil {
			t.Fatalf("paced call failed: %v", err)
		}
	}
	stats, err := e.ctl.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := stats.Requests["ListSnapshots"]; got != calls {
		t.Fatalf("simulator saw %d list requests, want %d (a retry means a 429 was earned)", got, calls)
	}
}

func TestRateLimitOfZeroIsNoLimit(t *testing.T) {
	e := startEnv(t)
	if cloud.WithRateLimit(e.client, 0, 0) != e.client {
		t.Fatal("a zero rate limit should return the client unchanged")
	}
}
