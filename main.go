// Command evs-operator runs the controllers and admission webhooks that manage Huawei Cloud EVS
// disk snapshots as EVSSnapshot and EVSVolume resources.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	evsv1alpha1 "github.com/evs-operator/evs-operator/api/v1alpha1"
	"github.com/evs-operator/evs-operator/controllers"
	"github.com/evs-operator/evs-operator/internal/cloud"
	"github.com/evs-operator/evs-operator/internal/simulator"
	"github.com/evs-operator/evs-operator/internal/webhooks"
)

var (
	scheme   = runtime.NewScheme()
	setupLog = ctrl.Log.WithName("setup")
)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(evsv1alpha1.AddToScheme(scheme))
}

// options are the operator's command-line settings.
type options struct {
	region, projectID, endpoint string
	useSimulator                bool
	simulatorAddr               string
	pollInterval, resyncPeriod  time.Duration
	statusSync                  string
	cloudTimeout                time.Duration
	cloudQPS                    float64
	cloudBurst                  int
	concurrency                 int

	metricsAddr, probeAddr string
	leaderElect            bool
	enableWebhooks         bool
	webhookCertDir         string
	webhookHost            string
	webhookPort            int
}

func main() {
	var o options
	flag.StringVar(&o.region, "region", "", "The cloud region, such as cn-north-4.")
	flag.StringVar(&o.projectID, "project-id", "", "The cloud project ID the snapshots live in.")
	flag.StringVar(&o.endpoint, "evs-endpoint", "",
		"The EVS endpoint URL; empty means the region's public endpoint.")
	flag.BoolVar(&o.useSimulator, "simulator", false,
		"Start the built-in EVS simulator and use it as the cloud.")
	flag.StringVar(&o.simulatorAddr, "simulator-bind-address", "127.0.0.1:8090",
		"The address the built-in simulator listens on.")
	flag.DurationVar(&o.pollInterval, "poll-interval", controllers.DefaultPollInterval,
		"How often snapshots in a moving phase are checked.")
	flag.DurationVar(&o.resyncPeriod, "resync-period", controllers.DefaultResyncPeriod,
		"How often settled snapshots are checked.")
	flag.StringVar(&o.statusSync, "status-sync", string(controllers.StatusSyncBatched),
		"How cloud status is read: batched (one paged list serves many objects) or per-object.")
	flag.DurationVar(&o.cloudTimeout, "cloud-timeout", cloud.DefaultTimeout, "The timeout of each cloud call.")
	flag.Float64Var(&o.cloudQPS, "cloud-qps", 10,
		"The most cloud calls per second, to stay under the API gateway's limit; 0 means no limit.")
	flag.IntVar(&o.cloudBurst, "cloud-burst", 10, "The most cloud calls in a burst above --cloud-qps.")
	flag.IntVar(&o.concurrency, "max-concurrent-reconciles", 4,
		"How many objects of each kind are reconciled at once; cloud calls block, so more than one.")
	flag.StringVar(&o.metricsAddr, "metrics-bind-address", "127.0.0.1:8080",
		"The address the metrics endpoint binds to; 0 disables it.")
	flag.StringVar(&o.probeAddr, "health-probe-bind-address", "127.0.0.1:8081",
		"The address the health and readiness probes bind to.")
	flag.BoolVar(&o.leaderElect, "leader-elect", false,
		"Elect a leader, so that only one operator replica is active.")
	flag.BoolVar(&o.enableWebhooks, "enable-webhooks", true, "Serve the admission webhooks.")
	flag.StringVar(&o.webhookCertDir, "webhook-cert-dir", "",
		"The directory holding the webhook server's tls.crt and tls.key.")
	flag.StringVar(&o.webhookHost, "webhook-host", "", "The address the webhook server listens on.")
	flag.IntVar(&o.webhookPort, "webhook-port", webhook.DefaultPort, "The port the webhook server listens on.")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))

	if err := run(ctrl.SetupSignalHandler(), o); err != nil {
		setupLog.Error(err, "Operator stopped")
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	syncMode := controllers.StatusSync(o.statusSync)
	if syncMode != controllers.StatusSyncBatched && syncMode != controllers.StatusSyncPerObject {
		return fmt.Errorf("--status-sync must be %q or %q, not %q",
			controllers.StatusSyncBatched, controllers.StatusSyncPerObject, o.statusSync)
	}

	cloudCfg := cloud.Config{
		Region: o.region, ProjectID: o.projectID, Endpoint: o.endpoint, Timeout: o.cloudTimeout,
	}
	if o.useSimulator {
		srv, err := startSimulator(ctx, o.simulatorAddr)
		if err != nil {
			return err
		}
		cloudCfg.Endpoint, cloudCfg.ProjectID = srv.URL(), simulator.DefaultProjectID
		cloudCfg.AK, cloudCfg.SK = simulator.DefaultAK, simulator.DefaultSK
	} else {
		var err error
		if cloudCfg, err = cloud.ConfigFromEnv(cloudCfg); err != nil {
			return fmt.Errorf("reading cloud credentials: %w", err)
		}
	}
	evs, err := cloud.New(cloudCfg)
	if err != nil {
		return fmt.Errorf("building the EVS client: %w", err)
	}
	evs = cloud.WithRateLimit(evs, o.cloudQPS, o.cloudBurst)

	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: o.metricsAddr},
		HealthProbeBindAddress: o.probeAddr,
		LeaderElection:         o.leaderElect,
		LeaderElectionID:       "evs-operator.evs.storage.dev",
		Controller:             config.Controller{MaxConcurrentReconciles: o.concurrency},
		WebhookServer: webhook.NewServer(webhook.Options{
			Host: o.webhookHost, Port: o.webhookPort, CertDir: o.webhookCertDir,
		}),
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}

	if err := (&controllers.EVSSnapshotReconciler{
		Client:       mgr.GetClient(),
		Cloud:        evs,
		Recorder:     mgr.GetEventRecorder("evs-operator"),
		PollInterval: o.pollInterval,
		ResyncPeriod: o.resyncPeriod,
		StatusSync:   syncMode,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the EVSSnapshot controller: %w", err)
	}
	if err := (&controllers.EVSVolumeReconciler{
		Client:       mgr.GetClient(),
		Cloud:        evs,
		Recorder:     mgr.GetEventRecorder("evs-operator"),
		PollInterval: o.pollInterval,
		ResyncPeriod: o.resyncPeriod,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the EVSVolume controller: %w", err)
	}
	if err := controllers.RegisterPhaseMetrics(mgr.GetCache()); err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}
	if o.enableWebhooks {
		if err := webhooks.SetupEVSSnapshotWebhook(mgr); err != nil {
			return err
		}
		if err := webhooks.SetupEVSVolumeWebhook(mgr); err != nil {
			return err
		}
	}

	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("adding health check: %w", err)
	}
	readyz := healthz.Ping
	if o.enableWebhooks {
		readyz = mgr.GetWebhookServer().StartedChecker()
	}
	if err := mgr.AddReadyzCheck("readyz", readyz); err != nil {
		return fmt.Errorf("adding readiness check: %w", err)
	}

	setupLog.Info("Starting manager", "statusSync", syncMode, "pollInterval", o.pollInterval,
		"resyncPeriod", o.resyncPeriod, "endpoint", cloudCfg.Endpoint)
	return mgr.Start(ctx)
}

// startSimulator serves the built-in EVS simulator until ctx ends.
func startSimulator(ctx context.Context, addr string) (*simulator.Server, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--simulator-bind-address: %w", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, errors.New("--simulator-bind-address must be a loopback address: the simulator has no real security")
	}
	srv, err := simulator.Start(addr, simulator.Options{})
	if err != nil {
		return nil, fmt.Errorf("starting the EVS simulator: %w", err)
	}
	setupLog.Info("Started the built-in EVS simulator", "url", srv.URL())
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	return srv, nil
}
