package webhooks

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	evsv1alpha1 "github.com/evs-operator/evs-operator/api/v1alpha1"
)

// defaultAssets is where `make k8s-binaries` puts kube-apiserver, etcd and kubectl.
const defaultAssets = "/root/.cache/evs-operator/k8s-v1.37.2"

var (
	// testScheme knows the built-in kinds and ours.
	testScheme = runtime.NewScheme()
	// k8sClient talks to the apiserver directly, as a user's kubectl does.
	k8sClient client.Client
	// cachedClient is the manager's client: what the webhooks read.
	cachedClient client.Client
	// envtestSkipped says why the envtest tests cannot run, when they cannot.
	envtestSkipped string
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

// runTests starts one kube-apiserver and etcd with the CRDs and webhook configurations of
// config/, and a manager serving the webhooks and nothing else, for every envtest test. Without
// KUBEBUILDER_ASSETS and without the binaries in the default place, only the pure tests run.
func runTests(m *testing.M) int {
	utilruntime.Must(clientgoscheme.AddToScheme(testScheme))
	utilruntime.Must(evsv1alpha1.AddToScheme(testScheme))
	ctrl.SetLogger(logr.Discard())

	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		if _, err := os.Stat(filepath.Join(defaultAssets, "kube-apiserver")); err != nil {
			envtestSkipped = "KUBEBUILDER_ASSETS is unset and " + defaultAssets + " has no kube-apiserver"
			fmt.Fprintln(os.Stderr, "skipping envtest tests:", envtestSkipped)
			return m.Run()
		}
		utilruntime.Must(os.Setenv("KUBEBUILDER_ASSETS", defaultAssets))
	}

	root := filepath.Join("..", "..")
	testEnv := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		WebhookInstallOptions: envtest.WebhookInstallOptions{
			Paths: []string{filepath.Join(root, "config", "webhook")},
		},
		Scheme: testScheme,
	}
	cfg, err := testEnv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting envtest:", err)
		return 1
	}
	defer func() {
		if err := testEnv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping envtest:", err)
		}
	}()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped, err := startManager(ctx, cfg, &testEnv.WebhookInstallOptions)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	cancel()
	<-stopped
	return code
}

// startManager runs a manager with both webhooks and no controllers, and waits until its webhook
// server answers TLS and its cache has synced.
func startManager(
	ctx context.Context, cfg *rest.Config, wio *envtest.WebhookInstallOptions,
) (<-chan struct{}, error) {
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 testScheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		WebhookServer: webhook.NewServer(webhook.Options{
			Host:    wio.LocalServingHost,
			Port:    wio.LocalServingPort,
			CertDir: wio.LocalServingCertDir,
		}),
	})
	if err != nil {
		return nil, fmt.Errorf("creating the manager: %w", err)
	}
	if err := SetupEVSSnapshotWebhook(mgr); err != nil {
		return nil, err
	}
	if err := SetupEVSVolumeWebhook(mgr); err != nil {
		return nil, err
	}
	if k8sClient, err = client.New(cfg, client.Options{Scheme: testScheme}); err != nil {
		return nil, fmt.Errorf("creating the client: %w", err)
	}
	cachedClient = mgr.GetClient()

	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager stopped:", err)
		}
	}()
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		return nil, fmt.Errorf("the manager's cache did not sync")
	}
	addr := net.JoinHostPort(wio.LocalServingHost, strconv.Itoa(wio.LocalServingPort))
	dialer := &net.Dialer{Timeout: time.Second}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		// Only whether the server answers matters here, not who it is.
		conn, err := tls.DialWithDialer(dialer, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err == nil {
			_ = conn.Close()
			return stopped, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the webhook server at %s did not come up: %w", addr, err)
		}
	}
}

// requireEnvtest skips a test that needs the apiserver when there is none.
func requireEnvtest(tb testing.TB) {
	tb.Helper()
	if envtestSkipped != "" {
		tb.Skip("envtest: " + envtestSkipped)
	}
}

// newNamespace gives each test a namespace of its own, so EVSVolume lookups see only its objects.
func newNamespace(t testing.TB) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "webhooks-"}}
	if err := k8sClient.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating a namespace: %v", err)
	}
	return ns.Name
}
