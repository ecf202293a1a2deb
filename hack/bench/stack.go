package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	evsv1alpha1 "github.com/evs-operator/evs-operator/api/v1alpha1"
	"github.com/evs-operator/evs-operator/internal/simulator"
)

// stack is one measured world: a control plane, a simulator and the operator process.
type stack struct {
	env       *envtest.Environment
	cfg       *rest.Config
	k8s       client.Client
	sim       *simulator.Server
	ctl       *simulator.Control
	operator  *exec.Cmd
	exited    chan struct{}
	exitErr   error
	metrics   string
	namespace string
	logPath   string
}

func startStack(ctx context.Context, c config, mode string, extraArgs ...string) (*stack, error) {
	s := &stack{namespace: "bench"}
	s.env = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: c.assets,
		WebhookInstallOptions: envtest.WebhookInstallOptions{Paths: []string{filepath.Join("config", "webhook")}},
	}
	var err error
	if s.cfg, err = s.env.Start(); err != nil {
		return nil, fmt.Errorf("starting the control plane: %w", err)
	}
	// Many clients hammer one API server here: lift client-go's default pacing for the bench
	// driver (the operator keeps its own defaults).
	s.cfg.QPS, s.cfg.Burst = 500, 1000
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = evsv1alpha1.AddToScheme(scheme)
	if s.k8s, err = client.New(s.cfg, client.Options{Scheme: scheme}); err != nil {
		return nil, s.fail(err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.namespace}}
	if err := s.k8s.Create(ctx, ns); err != nil {
		return nil, s.fail(err)
	}

	s.sim, err = simulator.Start("127.0.0.1:0", simulator.Options{Timings: simulator.Timings{
		SnapshotCreate: c.createTime, SnapshotDelete: c.createTime, Rollback: c.createTime,
		VolumeCreate: c.createTime, VolumeDelete: c.createTime,
	}})
	if err != nil {
		return nil, s.fail(err)
	}
	s.ctl = simulator.NewControl(s.sim.URL())

	user, err := s.env.AddUser(envtest.User{Name: "evs-operator", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, s.fail(err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		return nil, s.fail(err)
	}
	dir, err := os.MkdirTemp("", "evs-bench-")
	if err != nil {
		return nil, s.fail(err)
	}
	kubeconfigPath := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfigPath, kubeconfig, 0o600); err != nil {
		return nil, s.fail(err)
	}
	metricsPort, probePort := freePort(), freePort()
	s.metrics = fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)
	wh := s.env.WebhookInstallOptions
	args := append([]string{
		"--kubeconfig", kubeconfigPath,
		"--evs-endpoint", s.sim.URL(), "--project-id", simulator.DefaultProjectID,
		"--status-sync", mode, "--poll-interval", c.pollInterval.String(),
		"--metrics-bind-address", fmt.Sprintf("127.0.0.1:%d", metricsPort),
		"--health-probe-bind-address", fmt.Sprintf("127.0.0.1:%d", probePort),
		"--webhook-host", wh.LocalServingHost, "--webhook-port", strconv.Itoa(wh.LocalServingPort),
		"--webhook-cert-dir", wh.LocalServingCertDir,
	}, extraArgs...)
	s.operator = exec.CommandContext(ctx, c.operator, args...) //nolint:gosec // the binary we built
	s.operator.Env = append(os.Environ(), "HUAWEICLOUD_SDK_AK="+simulator.DefaultAK,
		"HUAWEICLOUD_SDK_SK="+simulator.DefaultSK)
	s.logPath = filepath.Join(dir, "operator.log")
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return nil, s.fail(err)
	}
	s.operator.Stdout, s.operator.Stderr = logFile, logFile
	if err := s.operator.Start(); err != nil {
		return nil, s.fail(fmt.Errorf("starting %s: %w", c.operator, err))
	}
	s.exited = make(chan struct{})
	go func() {
		s.exitErr = s.operator.Wait()
		_ = logFile.Close()
		close(s.exited)
	}()
	if err := waitHTTP(ctx, fmt.Sprintf("http://127.0.0.1:%d/readyz", probePort), s.exited); err != nil {
		return nil, s.fail(fmt.Errorf("operator not ready (log %s): %w", s.logPath, err))
	}
	return s, nil
}

func (s *stack) fail(err error) error {
	s.stop()
	return err
}

// stop ends the operator, the simulator and the control plane.
func (s *stack) stop() {
	if s.operator != nil && s.operator.Process != nil {
		_ = s.operator.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			_ = s.operator.Process.Kill()
			<-s.exited
		}
	}
	if s.sim != nil {
		_ = s.sim.Close()
	}
	if s.env != nil {
		_ = s.env.Stop()
	}
}

// usage reads the operator's peak resident memory and CPU seconds from /proc.
func (s *stack) usage() (peakRSSMiB, cpuSeconds float64) {
	pid := s.operator.Process.Pid
	if status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for line := range strings.SplitSeq(string(status), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
				peakRSSMiB = kb / 1024
			}
		}
	}
	if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// Fields after the command name, which is in parentheses and may hold spaces.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
		utime, _ := strconv.ParseFloat(fields[11], 64)
		stime, _ := strconv.ParseFloat(fields[12], 64)
		cpuSeconds = (utime + stime) / 100 // USER_HZ is 100 on Linux
	}
	return peakRSSMiB, cpuSeconds
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

func waitHTTP(ctx context.Context, url string, exited <-chan struct{}) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("the process exited")
		default:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer 200 within a minute", url)
}
