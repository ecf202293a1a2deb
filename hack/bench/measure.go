package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	evsv1alpha1 "github.com/evs-operator/evs-operator/api/v1alpha1"
	"github.com/evs-operator/evs-operator/internal/simulator"
	"github.com/evs-operator/evs-operator/internal/stack"
)

// startStack starts a control plane, a simulator and the operator with extra flags.
func startStack(ctx context.Context, c config, extra ...string) (*stack.Stack, error) {
	s, err := stack.Start(ctx, stack.Options{
		Root: ".", Assets: c.assets, Operator: c.operator, Namespace: "bench",
		Timings: simulator.Timings{
			SnapshotCreate: c.createTime, SnapshotDelete: c.createTime, Rollback: c.createTime,
			VolumeCreate: c.createTime, VolumeDelete: c.createTime,
		},
	})
	if err != nil {
		return nil, err
	}
	if err := s.StartOperator(ctx, extra...); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// modeResult is one status-sync mode's figures.
type modeResult struct {
	Mode               string           `json:"mode"`
	N                  int              `json:"n"`
	AllReadySeconds    float64          `json:"allReadySeconds"`
	ReadyP50Seconds    float64          `json:"readyP50Seconds"`
	ReadyP99Seconds    float64          `json:"readyP99Seconds"`
	CloudCalls         map[string]int64 `json:"cloudCalls"`
	CloudReadCalls     int64            `json:"cloudReadCalls"`
	CloudCallsPerSnap  float64          `json:"cloudCallsPerSnapshot"`
	CreateCallsPerSnap float64          `json:"createCallsPerSnapshot"`
	Throttled          float64          `json:"throttledResponses"`
	SnapshotWrites     float64          `json:"apiServerSnapshotWritesPerSnapshot"`
	EventWrites        float64          `json:"apiServerEventWritesPerSnapshot"`
	ClientWrites       float64          `json:"clientGoWritesPerSnapshot"`
	PeakRSSMiB         float64          `json:"peakRSSMiB"`
	CPUSeconds         float64          `json:"cpuSeconds"`
	WebhookP50Ms       float64          `json:"webhookP50Ms"`
	WebhookP99Ms       float64          `json:"webhookP99Ms"`
	WebhookErrors      int              `json:"webhookErrors"`
}

// scaleResult is the scale run: many settled snapshots, one resync period watched.
type scaleResult struct {
	Mode                string           `json:"mode"`
	Snapshots           int              `json:"snapshots"`
	SettleSeconds       float64          `json:"settleSeconds"`
	ResyncPeriod        string           `json:"resyncPeriod"`
	CloudCallsPerResync map[string]int64 `json:"cloudCallsPerResync"`
	PeakRSSMiB          float64          `json:"peakRSSMiB"`
	CPUSeconds          float64          `json:"cpuSeconds"`
}

func runMode(ctx context.Context, c config, mode string) (modeResult, error) {
	res := modeResult{Mode: mode, N: c.n}
	s, err := startStack(ctx, c, "--status-sync", mode, "--poll-interval", c.pollInterval.String())
	if err != nil {
		return res, err
	}
	defer s.Stop()

	// One disk per snapshot: the cloud creates one snapshot of a disk at a time.
	disks := make([]string, c.n)
	err = parallel(c.n, 16, func(i int) error {
		v, err := s.Control.AddVolume(ctx, simulator.Volume{Name: fmt.Sprintf("bench-%d", i), SizeGiB: 10})
		disks[i] = v.ID
		return err
	})
	if err != nil {
		return res, fmt.Errorf("adding disks: %w", err)
	}
	if err := s.Control.SetRateLimit(ctx, c.gatewayRPS); err != nil {
		return res, err
	}
	before, err := s.Control.Stats(ctx)
	if err != nil {
		return res, err
	}
	apiBefore, err := apiServerWrites(ctx, s)
	if err != nil {
		return res, err
	}

	created := make([]time.Time, c.n)
	start := time.Now()
	err = parallel(c.n, 32, func(i int) error {
		obj := &evsv1alpha1.EVSSnapshot{
			ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: fmt.Sprintf("snap-%05d", i)},
			Spec:       evsv1alpha1.EVSSnapshotSpec{Source: evsv1alpha1.SnapshotSource{VolumeID: disks[i]}},
		}
		created[i] = time.Now()
		return s.Client.Create(ctx, obj)
	})
	if err != nil {
		return res, fmt.Errorf("creating snapshots: %w", err)
	}
	readyAt, err := waitAllReady(ctx, s, c.n, c.timeout)
	if err != nil {
		return res, err
	}
	res.AllReadySeconds = time.Since(start).Seconds()
	var lat []float64
	for i := range c.n {
		lat = append(lat, readyAt[fmt.Sprintf("snap-%05d", i)].Sub(created[i]).Seconds())
	}
	res.ReadyP50Seconds, res.ReadyP99Seconds = percentile(lat, 50), percentile(lat, 99)

	after, err := s.Control.Stats(ctx)
	if err != nil {
		return res, err
	}
	res.CloudCalls = diffStats(before, after)
	for op, n := range res.CloudCalls {
		if strings.HasPrefix(op, "Show") || strings.HasPrefix(op, "List") {
			res.CloudReadCalls += n
		}
		res.CloudCallsPerSnap += float64(n) / float64(c.n)
	}
	res.CreateCallsPerSnap = float64(res.CloudCalls["CreateSnapshot"]) / float64(c.n)
	apiAfter, err := apiServerWrites(ctx, s)
	if err != nil {
		return res, err
	}
	res.SnapshotWrites = (apiAfter.snapshots - apiBefore.snapshots) / float64(c.n)
	res.EventWrites = (apiAfter.events - apiBefore.events) / float64(c.n)
	op, err := scrape(ctx, s.MetricsURL())
	if err != nil {
		return res, err
	}
	res.Throttled = sumMetric(op, "evs_cloud_requests_total", map[string]string{"class": "Throttled"})
	res.ClientWrites = (sumMetric(op, "rest_client_requests_total", map[string]string{"method": "PATCH"}) +
		sumMetric(op, "rest_client_requests_total", map[string]string{"method": "PUT"}) +
		sumMetric(op, "rest_client_requests_total", map[string]string{"method": "POST"})) / float64(c.n)
	res.PeakRSSMiB, res.CPUSeconds = s.Usage()

	fmt.Fprintf(os.Stderr, "   all Ready after %.1fs; measuring admission at %d requests/s\n",
		res.AllReadySeconds, c.webhookRPS)
	lats, errs := measureWebhook(ctx, s, c.webhookRPS, c.webhookFor)
	res.WebhookP50Ms, res.WebhookP99Ms, res.WebhookErrors = percentile(lats, 50), percentile(lats, 99), errs
	return res, nil
}

// runScale imports many snapshots that are already available and watches one resync period.
func runScale(ctx context.Context, c config, mode string) (scaleResult, error) {
	resync := 60 * time.Second
	res := scaleResult{Mode: mode, Snapshots: c.scaleN, ResyncPeriod: resync.String()}
	// Importing N snapshots reads each once; the gateway limit is lifted for that, as a
	// migration would be run with a raised quota.
	s, err := startStack(ctx, c, "--status-sync", mode, "--poll-interval", c.pollInterval.String(),
		"--resync-period", resync.String(), "--cloud-qps", "500", "--cloud-burst", "500")
	if err != nil {
		return res, err
	}
	defer s.Stop()

	ids := make([]string, c.scaleN)
	err = parallel(c.scaleN, 16, func(i int) error {
		snap, err := s.Control.AddSnapshot(ctx, simulator.Snapshot{
			VolumeID: simulator.SeedVolumeSAS, Name: fmt.Sprintf("settled-%05d", i),
		})
		ids[i] = snap.ID
		return err
	})
	if err != nil {
		return res, fmt.Errorf("adding snapshots: %w", err)
	}
	start := time.Now()
	err = parallel(c.scaleN, 32, func(i int) error {
		return s.Client.Create(ctx, &evsv1alpha1.EVSSnapshot{
			ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: fmt.Sprintf("settled-%05d", i)},
			Spec:       evsv1alpha1.EVSSnapshotSpec{Source: evsv1alpha1.SnapshotSource{SnapshotID: ids[i]}},
		})
	})
	if err != nil {
		return res, fmt.Errorf("importing snapshots: %w", err)
	}
	if _, err := waitAllReady(ctx, s, c.scaleN, c.timeout); err != nil {
		return res, err
	}
	res.SettleSeconds = time.Since(start).Seconds()

	// Let the import's own traffic end, then count one full resync period.
	time.Sleep(c.pollInterval * 2)
	before, err := s.Control.Stats(ctx)
	if err != nil {
		return res, err
	}
	fmt.Fprintf(os.Stderr, "   settled after %.1fs; counting cloud calls over one resync period (%s)\n",
		res.SettleSeconds, resync)
	time.Sleep(resync)
	after, err := s.Control.Stats(ctx)
	if err != nil {
		return res, err
	}
	res.CloudCallsPerResync = diffStats(before, after)
	res.PeakRSSMiB, res.CPUSeconds = s.Usage()
	return res, nil
}

// waitAllReady lists the snapshots until n are Ready, and returns when each was first seen so.
func waitAllReady(ctx context.Context, s *stack.Stack, n int, timeout time.Duration) (map[string]time.Time, error) {
	readyAt := map[string]time.Time{}
	deadline := time.Now().Add(timeout)
	lastReport := time.Now()
	for len(readyAt) < n {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("only %d of %d snapshots Ready after %s (operator logs in %s)",
				len(readyAt), n, timeout, s.Dir)
		}
		if exited, err := s.OperatorExited(); exited {
			return nil, fmt.Errorf("the operator exited: %v (logs in %s)", err, s.Dir)
		}
		list := &evsv1alpha1.EVSSnapshotList{}
		if err := s.Client.List(ctx, list, client.InNamespace(s.Namespace)); err != nil {
			return nil, err
		}
		now := time.Now()
		for i := range list.Items {
			item := &list.Items[i]
			if _, seen := readyAt[item.Name]; !seen &&
				meta.IsStatusConditionTrue(item.Status.Conditions, evsv1alpha1.ConditionReady) {
				readyAt[item.Name] = now
			}
		}
		if time.Since(lastReport) > 10*time.Second {
			fmt.Fprintf(os.Stderr, "   %d/%d Ready\n", len(readyAt), n)
			lastReport = time.Now()
		}
		time.Sleep(250 * time.Millisecond)
	}
	return readyAt, nil
}

// measureWebhook sends server-side dry-run renames of an Available snapshot at a steady rate;
// each passes both admission webhooks and the apiserver, and writes nothing.
func measureWebhook(ctx context.Context, s *stack.Stack, rps int, d time.Duration) ([]float64, int) {
	var (
		mu   sync.Mutex
		lats []float64
		errs int
		wg   sync.WaitGroup
	)
	ticker := time.NewTicker(time.Second / time.Duration(rps))
	defer ticker.Stop()
	end := time.Now().Add(d)
	for i := 0; time.Now().Before(end); i++ {
		<-ticker.C
		wg.Go(func() {
			obj := &evsv1alpha1.EVSSnapshot{
				ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: fmt.Sprintf("snap-%05d", i%10)},
			}
			patch := client.RawPatch("application/merge-patch+json",
				fmt.Appendf(nil, `{"spec":{"description":"dry run %d"}}`, i))
			started := time.Now()
			err := s.Client.Patch(ctx, obj, patch, client.DryRunAll)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs++
				return
			}
			lats = append(lats, float64(time.Since(started).Microseconds())/1000)
		})
	}
	wg.Wait()
	return lats, errs
}

type writes struct{ snapshots, events float64 }

// apiServerWrites reads the API server's own count of writes to EVSSnapshots and events.
func apiServerWrites(ctx context.Context, s *stack.Stack) (writes, error) {
	cs, err := kubernetes.NewForConfig(s.Config)
	if err != nil {
		return writes{}, err
	}
	raw, err := cs.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return writes{}, fmt.Errorf("reading API server metrics: %w", err)
	}
	families, err := parseMetrics(strings.NewReader(string(raw)))
	if err != nil {
		return writes{}, err
	}
	var w writes
	for _, verb := range []string{"PATCH", "PUT", "APPLY"} {
		w.snapshots += sumMetric(families, "apiserver_request_total",
			map[string]string{"resource": "evssnapshots", "verb": verb, "dry_run": ""})
	}
	for _, verb := range []string{"POST", "PATCH", "PUT"} {
		w.events += sumMetric(families, "apiserver_request_total",
			map[string]string{"resource": "events", "verb": verb})
	}
	return w, nil
}

func scrape(ctx context.Context, url string) (map[string]*dto.MetricFamily, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scraping %s: %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	return parseMetrics(resp.Body)
}

func parseMetrics(r io.Reader) (map[string]*dto.MetricFamily, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(r)
}

// sumMetric adds up the samples of a counter or gauge whose labels match; an empty wanted value
// matches a missing label.
func sumMetric(families map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f, ok := families[name]
	if !ok {
		return 0
	}
	var sum float64
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			match = match && labels[k] == v
		}
		if !match {
			continue
		}
		switch {
		case m.GetCounter() != nil:
			sum += m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			sum += m.GetGauge().GetValue()
		}
	}
	return sum
}

func diffStats(before, after simulator.Stats) map[string]int64 {
	d := map[string]int64{}
	for op, n := range after.Requests {
		if delta := n - before.Requests[op]; delta > 0 {
			d[op] = delta
		}
	}
	return d
}

func percentile(values []float64, p float64) float64 {
	if len(values) == 0 {
		return 0
	}
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	i := int(float64(len(sorted)-1) * p / 100)
	return sorted[i]
}

// parallel runs fn for 0..n-1 on workers goroutines and returns the first error.
func parallel(n, workers int, fn func(i int) error) error {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return firstErr
}

func machine() string {
	cpu := "unknown CPU"
	if out, err := exec.Command("sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").Output(); err == nil {
		cpu = strings.TrimSpace(string(out))
	}
	return fmt.Sprintf("%s, %d cores, %s/%s, %s", cpu, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH,
		runtime.Version())
}

func envInt(name string, def int) int {
	var v int
	if _, err := fmt.Sscanf(os.Getenv(name), "%d", &v); err != nil {
		return def
	}
	return v
}
