package controllers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	evsv1alpha1 "github.com/evs-operator/evs-operator/api/v1alpha1"
	"github.com/evs-operator/evs-operator/internal/cloud"
	"github.com/evs-operator/evs-operator/internal/simulator"
)

var (
	testScheme = runtime.NewScheme()
	restConfig *rest.Config
	// k8sClient talks to the API server directly, never through a cache.
	k8sClient client.Client
)

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	if os.Getenv("EVS_TEST_VERBOSE") != "" {
		logf.SetLogger(zap.New(zap.UseDevMode(true)))
	} else {
		logf.SetLogger(logr.Discard())
	}
	testEnv := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	var err error
	if restConfig, err = testEnv.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "starting envtest (is KUBEBUILDER_ASSETS set? run 'make test'): %v\n", err)
		return 1
	}
	defer func() { _ = testEnv.Stop() }()
	if err := clientgoscheme.AddToScheme(testScheme); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := evsv1alpha1.AddToScheme(testScheme); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if k8sClient, err = client.New(restConfig, client.Options{Scheme: testScheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// Timings of the test cloud and operator: short, so each test takes seconds.
const (
	simTiming    = 300 * time.Millisecond
	pollInterval = 150 * time.Millisecond
	resyncPeriod = time.Second
	waitTimeout  = 20 * time.Second
)

// env is one test's world: its own namespace, simulator and operator.
type env struct {
	t     *testing.T
	ns    string
	sim   *simulator.Server
	ctl   *simulator.Control
	cloud cloud.Client

	mode StatusSync
	opts []envOption
	// stopOperator stops the running operator and waits until it has stopped.
	stopOperator func()
}

type envOption func(*ctrl.Options)

// withInterceptor wraps the operator's client, to make the API server fail on cue.
func withInterceptor(funcs interceptor.Funcs) envOption {
	return func(o *ctrl.Options) {
		o.NewClient = func(cfg *rest.Config, opts client.Options) (client.Client, error) {
			c, err := client.NewWithWatch(cfg, opts)
			if err != nil {
				return nil, err
			}
			return interceptor.NewClient(c, funcs), nil
		}
	}
}

// forEachMode runs a test once per status-sync mode: both must behave the same.
func forEachMode(t *testing.T, test func(t *testing.T, mode StatusSync)) {
	for _, mode := range []StatusSync{StatusSyncBatched, StatusSyncPerObject} {
		t.Run(string(mode), func(t *testing.T) { test(t, mode) })
	}
}

// startEnv starts a simulator and an operator that watches a fresh namespace only.
func startEnv(t *testing.T, mode StatusSync, opts ...envOption) *env {
	t.Helper()
	g := NewWithT(t)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "evs-"}}
	g.Expect(k8sClient.Create(context.Background(), ns)).To(Succeed())

	sim, err := simulator.Start("127.0.0.1:0", simulator.Options{Timings: simulator.Timings{
		SnapshotCreate: simTiming, SnapshotDelete: simTiming, Rollback: simTiming,
		VolumeCreate: simTiming, VolumeDelete: simTiming,
	}})
	g.Expect(err).NotTo(HaveOccurred())
	evs, err := cloud.New(cloud.Config{
		Endpoint: sim.URL(), ProjectID: simulator.DefaultProjectID,
		AK: simulator.DefaultAK, SK: simulator.DefaultSK,
		Timeout: 5 * time.Second, RetryBaseDelay: 10 * time.Millisecond, RetryMaxDelay: 50 * time.Millisecond,
	})
	g.Expect(err).NotTo(HaveOccurred())

	e := &env{
		t: t, ns: ns.Name, sim: sim, ctl: simulator.NewControl(sim.URL()), cloud: evs, mode: mode, opts: opts,
	}
	e.startOperator()
	t.Cleanup(func() {
		e.stopOperator()
		_ = sim.Close()
		_ = k8sClient.Delete(context.Background(), ns)
	})
	return e
}

// startOperator starts a manager with both controllers, watching the env's namespace only.
func (e *env) startOperator() {
	e.t.Helper()
	g := NewWithT(e.t)
	mgrOpts := ctrl.Options{
		Scheme:                 testScheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  cache.Options{DefaultNamespaces: map[string]cache.Config{e.ns: {}}},
		Controller:             config.Controller{SkipNameValidation: new(true)},
	}
	for _, o := range e.opts {
		o(&mgrOpts)
	}
	mgr, err := ctrl.NewManager(restConfig, mgrOpts)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect((&EVSSnapshotReconciler{
		Client: mgr.GetClient(), Cloud: e.cloud, Recorder: mgr.GetEventRecorder("evs-operator"),
		PollInterval: pollInterval, ResyncPeriod: resyncPeriod, StatusSync: e.mode,
	}).SetupWithManager(mgr)).To(Succeed())
	g.Expect((&EVSVolumeReconciler{
		Client: mgr.GetClient(), Cloud: e.cloud, Recorder: mgr.GetEventRecorder("evs-operator"),
		PollInterval: pollInterval, ResyncPeriod: resyncPeriod,
	}).SetupWithManager(mgr)).To(Succeed())

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	e.stopOperator = func() {
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("operator stopped with an error: %v", err)
		}
	}
}

// restartOperator stops the operator and starts a new one on the same simulator, as a crash and
// restart of the operator's pod would.
func (e *env) restartOperator() {
	e.t.Helper()
	e.stopOperator()
	e.startOperator()
}

func (e *env) ctx() context.Context { return context.Background() }

// snapshot returns a new EVSSnapshot of a disk in the env's namespace.
func (e *env) snapshot(name, volumeID string) *evsv1alpha1.EVSSnapshot {
	return &evsv1alpha1.EVSSnapshot{
		ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: name},
		Spec: evsv1alpha1.EVSSnapshotSpec{
			Source: evsv1alpha1.SnapshotSource{VolumeID: volumeID}, SnapshotName: e.ns + "-" + name,
		},
	}
}

func (e *env) create(obj client.Object) {
	e.t.Helper()
	NewWithT(e.t).Expect(k8sClient.Create(e.ctx(), obj)).To(Succeed())
}

// get reads the object fresh from the API server.
func (e *env) get(name string) *evsv1alpha1.EVSSnapshot {
	obj := &evsv1alpha1.EVSSnapshot{}
	if err := k8sClient.Get(e.ctx(), client.ObjectKey{Namespace: e.ns, Name: name}, obj); err != nil {
		return nil
	}
	return obj
}

// eventually polls a snapshot until match passes.
func (e *env) eventually(name string, match func(g Gomega, s *evsv1alpha1.EVSSnapshot)) *evsv1alpha1.EVSSnapshot {
	e.t.Helper()
	var last *evsv1alpha1.EVSSnapshot
	NewWithT(e.t).Eventually(func(g Gomega) {
		last = e.get(name)
		g.Expect(last).NotTo(BeNil())
		match(g, last)
	}).WithTimeout(waitTimeout).WithPolling(50 * time.Millisecond).Should(Succeed())
	return last
}

func (e *env) waitForPhase(name string, phase evsv1alpha1.SnapshotPhase) *evsv1alpha1.EVSSnapshot {
	e.t.Helper()
	return e.eventually(name, func(g Gomega, s *evsv1alpha1.EVSSnapshot) {
		g.Expect(s.Status.Phase).To(Equal(phase))
		g.Expect(s.Status.ObservedGeneration).To(Equal(s.Generation))
	})
}

func (e *env) waitGone(name string) {
	e.t.Helper()
	NewWithT(e.t).Eventually(func() *evsv1alpha1.EVSSnapshot { return e.get(name) }).
		WithTimeout(waitTimeout).WithPolling(50 * time.Millisecond).Should(BeNil())
}

// patchSpec applies a change to the spec with a merge patch, as kubectl would.
func (e *env) patchSpec(name string, mutate func(*evsv1alpha1.EVSSnapshot)) {
	e.t.Helper()
	g := NewWithT(e.t)
	obj := e.get(name)
	g.Expect(obj).NotTo(BeNil())
	patch := client.MergeFrom(obj.DeepCopy())
	mutate(obj)
	g.Expect(k8sClient.Patch(e.ctx(), obj, patch)).To(Succeed())
}

// cloudSnapshots returns every snapshot in the simulator that carries the object's UID.
func (e *env) cloudSnapshots(obj *evsv1alpha1.EVSSnapshot) []simulator.Snapshot {
	e.t.Helper()
	all, err := e.ctl.Snapshots(e.ctx())
	NewWithT(e.t).Expect(err).NotTo(HaveOccurred())
	var own []simulator.Snapshot
	for _, s := range all {
		if s.Metadata[CloudUIDMetadataKey] == string(obj.UID) {
			own = append(own, s)
		}
	}
	return own
}

func (e *env) cloudSnapshot(id string) (simulator.Snapshot, bool) {
	e.t.Helper()
	all, err := e.ctl.Snapshots(e.ctx())
	NewWithT(e.t).Expect(err).NotTo(HaveOccurred())
	for _, s := range all {
		if s.ID == id {
			return s, true
		}
	}
	return simulator.Snapshot{}, false
}

func (e *env) volume(id string) simulator.Volume {
	e.t.Helper()
	all, err := e.ctl.Volumes(e.ctx())
	NewWithT(e.t).Expect(err).NotTo(HaveOccurred())
	for _, v := range all {
		if v.ID == id {
			return v
		}
	}
	e.t.Fatalf("disk %s not in the simulator", id)
	return simulator.Volume{}
}

func (e *env) requests(op string) int64 {
	e.t.Helper()
	stats, err := e.ctl.Stats(e.ctx())
	NewWithT(e.t).Expect(err).NotTo(HaveOccurred())
	return stats.Requests[op]
}

// condition returns a condition of the object, or nil.
func condition(s *evsv1alpha1.EVSSnapshot, kind string) *metav1.Condition {
	for i := range s.Status.Conditions {
		if s.Status.Conditions[i].Type == kind {
			return &s.Status.Conditions[i]
		}
	}
	return nil
}
