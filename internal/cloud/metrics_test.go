package cloud_test

import (
	"testing"

	dto "github.com/prometheus/client_model/go"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/evs-operator/evs-operator/internal/cloud"
	"github.com/evs-operator/evs-operator/internal/simulator"
)

// metricValue reads a sample of the controller-runtime registry: a counter's value, or a
// histogram's observation count. Missing series read as 0.
func metricValue(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatalf("gathering metrics: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if matches(m, labels) {
				if h := m.GetHistogram(); h != nil {
					return float64(h.GetSampleCount())
				}
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func matches(m *dto.Metric, labels map[string]string) bool {
	n := 0
	for _, l := range m.GetLabel() {
		if v, ok := labels[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(labels)
}

func TestMetrics(t *testing.T) {
	ctx := testContext(t)
	e := startEnv(t)
	sn := e.addSnapshot(t, e.addVolume(t, 20).ID, "measured")
	const op = cloud.OpShowSnapshot
	success := map[string]string{"operation": op, "class": "success"}
	throttled := map[string]string{"operation": op, "class": string(cloud.ClassThrottled)}
	notFound := map[string]string{"operation": op, "class": string(cloud.ClassNotFound)}
	duration := map[string]string{"operation": op}
	s0, t0, n0 := metricValue(t, "evs_cloud_requests_total", success),
		metricValue(t, "evs_cloud_requests_total", throttled), metricValue(t, "evs_cloud_requests_total", notFound)
	d0 := metricValue(t, "evs_cloud_request_duration_seconds", duration)

	e.inject(t, simulator.Fault{Operation: simulator.OperationShowSnapshot, HTTPStatus: 429, Count: 2})
	if _, err := e.client.GetSnapshot(ctx, sn.ID); err != nil {
		t.Fatal(err)
	}
	_, _ = e.client.GetSnapshot(ctx, "99999999-9999-4999-8999-999999999999")

	if d := metricValue(t, "evs_cloud_requests_total", success) - s0; d != 1 {
		t.Errorf("success count rose by %v, want 1", d)
	}
	if d := metricValue(t, "evs_cloud_requests_total", throttled) - t0; d != 2 {
		t.Errorf("throttled count rose by %v, want 2", d)
	}
	if d := metricValue(t, "evs_cloud_requests_total", notFound) - n0; d != 1 {
		t.Errorf("not-found count rose by %v, want 1", d)
	}
	if d := metricValue(t, "evs_cloud_request_duration_seconds", duration) - d0; d != 4 {
		t.Errorf("duration observations rose by %v, want 4", d)
	}
}
