package controllers

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	evsv1alpha1 "github.com/evs-operator/evs-operator/api/v1alpha1"
)

var (
	timeToAvailable = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "evs_snapshot_time_to_available_seconds",
		Help:    "Time from an EVSSnapshot's creation to its first Available phase.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 12),
	})
	rollbacksTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "evs_snapshot_rollbacks_total",
		Help: "Rollback requests that ended, by result.",
	}, []string{"result"})
)

func init() {
	metrics.Registry.MustRegister(timeToAvailable, rollbacksTotal)
}

// phaseCollector reports EVSSnapshots by phase from the manager's cache at scrape time, so the
// gauge can never drift from what the API server holds.
type phaseCollector struct {
	reader client.Reader
	desc   *prometheus.Desc
}

// RegisterPhaseMetrics adds the snapshots-by-phase gauge, read from the given cache.
func RegisterPhaseMetrics(reader client.Reader) error {
	return metrics.Registry.Register(&phaseCollector{
		reader: reader,
		desc: prometheus.NewDesc("evs_snapshots", "EVSSnapshots by phase.",
			[]string{"phase"}, nil),
	})
}

// Describe sends the gauge's descriptor.
func (c *phaseCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect counts the cached EVSSnapshots by phase; every phase of the table is reported, zero
// included, so dashboards see a stable set of series.
func (c *phaseCollector) Collect(ch chan<- prometheus.Metric) {
	list := &evsv1alpha1.EVSSnapshotList{}
	if err := c.reader.List(context.Background(), list); err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	counts := map[evsv1alpha1.SnapshotPhase]int{}
	for _, rule := range evsv1alpha1.SnapshotStateTable {
		counts[rule.Phase] = 0
	}
	for i := range list.Items {
		counts[list.Items[i].Status.Phase]++
	}
	for phase, n := range counts {
		label := string(phase)
		if label == "" {
			label = "None"
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), label)
	}
}
