// Command bench measures the operator in both status-sync modes side by side: N EVSSnapshots
// created at once against the simulator, followed until Ready. For each mode it starts a fresh
// control plane (etcd and kube-apiserver), a fresh simulator and the operator binary as a process
// of its own, so that its memory and CPU are its alone. It prints a table and writes
// bin/bench/results.json.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-logr/logr"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

// config is the benchmark's settings.
type config struct {
	n            int
	scaleN       int
	modes        []string
	operator     string
	assets       string
	out          string
	pollInterval time.Duration
	createTime   time.Duration
	gatewayRPS   float64
	webhookRPS   int
	webhookFor   time.Duration
	timeout      time.Duration
}

func main() {
	var c config
	var modes string
	flag.IntVar(&c.n, "n", envInt("BENCH_N", 1000), "EVSSnapshots created at once per mode (env BENCH_N).")
	flag.IntVar(&c.scaleN, "scale-n", envInt("BENCH_SCALE_N", 10000),
		"Settled snapshots in the scale run (env BENCH_SCALE_N); 0 skips it.")
	flag.StringVar(&modes, "modes", "batched,per-object", "The status-sync modes to compare.")
	flag.StringVar(&c.operator, "operator", "bin/evs-operator", "The operator binary.")
	flag.StringVar(&c.assets, "assets", os.Getenv("KUBEBUILDER_ASSETS"), "Folder of kube-apiserver and etcd.")
	flag.StringVar(&c.out, "out", "bin/bench/results.json", "Where the results go.")
	flag.DurationVar(&c.pollInterval, "poll-interval", 2*time.Second, "The operator's --poll-interval.")
	flag.DurationVar(&c.createTime, "create-time", 2*time.Second, "How long the simulator takes to create a snapshot.")
	flag.Float64Var(&c.gatewayRPS, "gateway-rps", 20, "The simulated API gateway's rate limit.")
	flag.IntVar(&c.webhookRPS, "webhook-rps", 50, "Admission requests a second in the webhook measurement.")
	flag.DurationVar(&c.webhookFor, "webhook-duration", 10*time.Second, "How long the webhook measurement runs.")
	flag.DurationVar(&c.timeout, "timeout", 30*time.Minute, "The most one mode may take to reach Ready.")
	flag.Parse()
	c.modes = strings.Split(modes, ",")
	logf.SetLogger(logr.Discard()) // envtest logs through controller-runtime; the table is the output

	if err := run(context.Background(), c); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

// results is what bin/bench/results.json holds.
type results struct {
	Date     string        `json:"date"`
	Machine  string        `json:"machine"`
	Settings settings      `json:"settings"`
	Modes    []modeResult  `json:"modes"`
	Scale    []scaleResult `json:"scale,omitempty"`
}

type settings struct {
	N                   int     `json:"n"`
	PollInterval        string  `json:"pollInterval"`
	SimulatorCreateTime string  `json:"simulatorCreateTime"`
	GatewayRPS          float64 `json:"gatewayRequestsPerSecond"`
	WebhookRPS          int     `json:"webhookRequestsPerSecond"`
}

func run(ctx context.Context, c config) error {
	if c.assets == "" {
		return fmt.Errorf("set KUBEBUILDER_ASSETS (make bench does) to the folder holding kube-apiserver and etcd")
	}
	res := results{
		Date:    time.Now().UTC().Format(time.RFC3339),
		Machine: machine(),
		Settings: settings{
			N: c.n, PollInterval: c.pollInterval.String(), SimulatorCreateTime: c.createTime.String(),
			GatewayRPS: c.gatewayRPS, WebhookRPS: c.webhookRPS,
		},
	}
	for _, mode := range c.modes {
		fmt.Fprintf(os.Stderr, "== %s: %d snapshots created at once\n", mode, c.n)
		r, err := runMode(ctx, c, mode)
		if err != nil {
			return fmt.Errorf("mode %s: %w", mode, err)
		}
		res.Modes = append(res.Modes, r)
	}
	if c.scaleN > 0 {
		for _, mode := range c.modes {
			fmt.Fprintf(os.Stderr, "== scale, %s: %d settled snapshots\n", mode, c.scaleN)
			r, err := runScale(ctx, c, mode)
			if err != nil {
				return fmt.Errorf("scale run, mode %s: %w", mode, err)
			}
			res.Scale = append(res.Scale, r)
		}
	}

	printTable(os.Stdout, res)
	if err := os.MkdirAll(filepath.Dir(c.out), 0o750); err != nil {
		return err
	}
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(c.out, append(data, '\n'), 0o600); err != nil {
		return err
	}
	fmt.Printf("\nresults written to %s\n", c.out)
	return nil
}
