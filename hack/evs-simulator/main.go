// Command evs-simulator serves the in-memory EVS cloud of internal/simulator over HTTP: the signed
// EVS API for the official SDK and the /sim/v1 control API. It binds to loopback unless told
// otherwise, and stops gracefully on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/evs-operator/evs-operator/internal/simulator"
)

// shutdownTimeout bounds how long in-flight requests may finish after a signal.
const shutdownTimeout = 5 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], nil)
	stop()
	if err != nil {
		slog.Error("EVS simulator failed", "err", err)
		os.Exit(1)
	}
}

// run serves until ctx ends; started, when set, learns the running server (tests use it).
func run(ctx context.Context, args []string, started func(*simulator.Server)) error {
	fs := flag.NewFlagSet("evs-simulator", flag.ContinueOnError)
	bind := fs.String("bind-address", "127.0.0.1:8090", "address to listen on (loopback by default)")
	var opts simulator.Options
	fs.StringVar(&opts.AK, "ak", simulator.DefaultAK, "access key the simulator accepts")
	fs.StringVar(&opts.SK, "sk", simulator.DefaultSK, "secret key the simulator accepts")
	fs.StringVar(&opts.ProjectID, "project-id", simulator.DefaultProjectID, "project the simulator serves")
	t := &opts.Timings
	def := simulator.DefaultTiming
	fs.DurationVar(&t.SnapshotCreate, "snapshot-create", def, "time a snapshot takes to become available")
	fs.DurationVar(&t.SnapshotDelete, "snapshot-delete", def, "time a snapshot takes to be deleted")
	fs.DurationVar(&t.Rollback, "rollback", def, "time a rollback takes")
	fs.DurationVar(&t.VolumeCreate, "volume-create", def, "time a disk takes to become available")
	fs.DurationVar(&t.VolumeDelete, "volume-delete", def, "time a disk takes to be deleted")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %v", fs.Args())
	}

	if host, _, err := net.SplitHostPort(*bind); err == nil {
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			slog.Warn("Listening beyond loopback: anyone who can reach it can drive the simulator",
				"bindAddress", *bind)
		}
	}
	srv, err := simulator.Start(*bind, opts)
	if err != nil {
		return fmt.Errorf("starting the EVS simulator: %w", err)
	}
	slog.Info("EVS simulator listening", "url", srv.URL(), "projectID", opts.ProjectID,
		"control", srv.URL()+simulator.ControlPrefix)
	if started != nil {
		started(srv)
	}
	<-ctx.Done()

	slog.Info("Shutting the EVS simulator down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("stopping the EVS simulator: %w", err)
	}
	return nil
}
