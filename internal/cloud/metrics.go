package cloud

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// resultSuccess is the class label of a request that succeeded.
const resultSuccess = "success"

var (
	// requestsTotal counts every request (each retry attempt too) by outcome.
	requestsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "evs_cloud_requests_total",
		Help: "EVS API requests by operation and result class (success or the error class); " +
			"every retry attempt counts.",
	}, []string{"operation", "class"})

	// requestDuration observes the latency of every request attempt.
	requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "evs_cloud_request_duration_seconds",
		Help:    "Latency of EVS API request attempts by operation.",
		Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
	}, []string{"operation"})
)

func init() {
	metrics.Registry.MustRegister(requestsTotal, requestDuration)
}
