// Package stack runs the operator the way a user does, for the benchmark and the chaos suite: a
// real control plane (etcd and kube-apiserver from the envtest assets) with the CRDs and webhook
// configurations, the simulator in this process, and bin/evs-operator as a process of its own
// that can be killed, restarted and measured.
package stack

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

// Options configure a Stack.
type Options struct {
	// Root is the repository root, where config/ and bin/ are.
	Root string
	// Assets is the folder holding kube-apiserver and etcd.
	Assets string
	// Operator is the operator binary; default <Root>/bin/evs-operator.
	Operator string
	// Timings are the simulator's.
	Timings simulator.Timings
	// Namespace is created for the test objects; default "evs".
	Namespace string
}

// Stack is a running control plane, simulator and operator.
type Stack struct {
	opts Options
	env  *envtest.Environment
	// Config reaches the API server as an administrator.
	Config *rest.Config
	// Client talks to the API server directly.
	Client client.Client
	// Sim is the simulator and Control its control API.
	Sim     *simulator.Server
	Control *simulator.Control
	// Namespace holds the test objects.
	Namespace string
	// Dir holds the kubeconfig and the operator's logs.
	Dir string

	kubeconfig  string
	metricsPort int
	probePort   int
	operator    *process
	args        []string
	runs        int
}

// process is one run of the operator.
type process struct {
	cmd     *exec.Cmd
	exited  chan struct{}
	exitErr error
	log     string
}

// Start brings up the control plane and the simulator; the operator starts with StartOperator.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	if opts.Operator == "" {
		opts.Operator = filepath.Join(opts.Root, "bin", "evs-operator")
	}
	if opts.Namespace == "" {
		opts.Namespace = "evs"
	}
	s := &Stack{opts: opts, Namespace: opts.Namespace}
	s.env = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(opts.Root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: opts.Assets,
		WebhookInstallOptions: envtest.WebhookInstallOptions{
			Paths: []string{filepath.Join(opts.Root, "config", "webhook")},
		},
	}
	var err error
	if s.Config, err = s.env.Start(); err != nil {
		return nil, fmt.Errorf("starting the control plane: %w", err)
	}
	// The driver of a benchmark or chaos run sends many requests: lift client-go's pacing for
	// it (the operator keeps its own defaults).
	s.Config.QPS, s.Config.Burst = 500, 1000
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, s.fail(err)
	}
	if err := evsv1alpha1.AddToScheme(scheme); err != nil {
		return nil, s.fail(err)
	}
	if s.Client, err = client.New(s.Config, client.Options{Scheme: scheme}); err != nil {
		return nil, s.fail(err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.Namespace}}
	if err := s.Client.Create(ctx, ns); err != nil {
		return nil, s.fail(err)
	}
	if s.Sim, err = simulator.Start("127.0.0.1:0", simulator.Options{Timings: opts.Timings}); err != nil {
		return nil, s.fail(err)
	}
	s.Control = simulator.NewControl(s.Sim.URL())

	user, err := s.env.AddUser(envtest.User{Name: "evs-operator", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, s.fail(err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		return nil, s.fail(err)
	}
	if s.Dir, err = os.MkdirTemp("", "evs-stack-"); err != nil {
		return nil, s.fail(err)
	}
	s.kubeconfig = filepath.Join(s.Dir, "kubeconfig")
	if err := os.WriteFile(s.kubeconfig, kubeconfig, 0o600); err != nil {
		return nil, s.fail(err)
	}
	if s.metricsPort, err = freePort(); err != nil {
		return nil, s.fail(err)
	}
	if s.probePort, err = freePort(); err != nil {
		return nil, s.fail(err)
	}
	return s, nil
}

// StartOperator starts the operator with the stack's wiring plus extra flags, and waits until
// it is ready. Later calls (after StopOperator or KillOperator) reuse the same flags and ports.
func (s *Stack) StartOperator(ctx context.Context, extra ...string) error {
	if s.args == nil || len(extra) > 0 {
		wh := s.env.WebhookInstallOptions
		s.args = append([]string{
			"--kubeconfig", s.kubeconfig,
			"--evs-endpoint", s.Sim.URL(), "--project-id", simulator.DefaultProjectID,
			"--metrics-bind-address", fmt.Sprintf("127.0.0.1:%d", s.metricsPort),
			"--health-probe-bind-address", fmt.Sprintf("127.0.0.1:%d", s.probePort),
			"--webhook-host", wh.LocalServingHost, "--webhook-port", strconv.Itoa(wh.LocalServingPort),
			"--webhook-cert-dir", wh.LocalServingCertDir,
		}, extra...)
	}
	s.runs++
	p := &process{exited: make(chan struct{}), log: filepath.Join(s.Dir, fmt.Sprintf("operator-%d.log", s.runs))}
	p.cmd = exec.Command(s.opts.Operator, s.args...) //nolint:gosec // the operator binary this repo builds
	p.cmd.Env = append(os.Environ(),
		"HUAWEICLOUD_SDK_AK="+simulator.DefaultAK, "HUAWEICLOUD_SDK_SK="+simulator.DefaultSK)
	logFile, err := os.Create(p.log)
	if err != nil {
		return err
	}
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		_ = logFile.Close()
		return fmt.Errorf("starting %s: %w", s.opts.Operator, err)
	}
	go func() {
		p.exitErr = p.cmd.Wait()
		_ = logFile.Close()
		close(p.exited)
	}()
	s.operator = p
	if err := waitHTTP(ctx, fmt.Sprintf("http://127.0.0.1:%d/readyz", s.probePort), p.exited); err != nil {
		return fmt.Errorf("the operator is not ready (log %s): %w", p.log, err)
	}
	return nil
}

// KillOperator ends the operator at once, as a crash or an evicted pod would.
func (s *Stack) KillOperator() {
	if p := s.operator; p != nil {
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// StopOperator ends the operator gracefully.
func (s *Stack) StopOperator() {
	p := s.operator
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// OperatorExited reports whether the running operator has exited, and how.
func (s *Stack) OperatorExited() (bool, error) {
	select {
	case <-s.operator.exited:
		return true, s.operator.exitErr
	default:
		return false, nil
	}
}

// OperatorLogs returns the paths of every operator run's log, oldest first.
func (s *Stack) OperatorLogs() []string {
	var logs []string
	for i := 1; i <= s.runs; i++ {
		logs = append(logs, filepath.Join(s.Dir, fmt.Sprintf("operator-%d.log", i)))
	}
	return logs
}

// MetricsURL is the running operator's metrics endpoint.
func (s *Stack) MetricsURL() string {
	return fmt.Sprintf("http://127.0.0.1:%d/metrics", s.metricsPort)
}

// Usage reads the running operator's peak resident memory and CPU seconds from /proc.
func (s *Stack) Usage() (peakRSSMiB, cpuSeconds float64) {
	pid := s.operator.cmd.Process.Pid
	if status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for line := range strings.SplitSeq(string(status), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
				peakRSSMiB = kb / 1024
			}
		}
	}
	if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// The fields after the command name, which is in parentheses and may hold spaces.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
		if len(fields) > 12 {
			utime, _ := strconv.ParseFloat(fields[11], 64)
			stime, _ := strconv.ParseFloat(fields[12], 64)
			cpuSeconds = (utime + stime) / 100 // USER_HZ is 100 on Linux
		}
	}
	return peakRSSMiB, cpuSeconds
}

// Stop ends the operator, the simulator and the control plane.
func (s *Stack) Stop() {
	s.StopOperator()
	if s.Sim != nil {
		_ = s.Sim.Close()
	}
	if s.env != nil {
		_ = s.env.Stop()
	}
}

func (s *Stack) fail(err error) error {
	s.Stop()
	return err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitHTTP(ctx context.Context, url string, exited <-chan struct{}) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("the process exited")
		default:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
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
