package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

func printTable(w io.Writer, res results) {
	fmt.Fprintf(w, "\nevs-operator benchmark, %s\nmachine: %s\n", res.Date, res.Machine)
	fmt.Fprintf(w, "N=%d, simulator create %s, poll interval %s, gateway limit %.0f req/s\n\n",
		res.Settings.N, res.Settings.SimulatorCreateTime, res.Settings.PollInterval, res.Settings.GatewayRPS)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(name string, f func(m modeResult) string) {
		cells := []string{name}
		for _, m := range res.Modes {
			cells = append(cells, f(m))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	row("", func(m modeResult) string { return m.Mode })
	row("all Ready (s)", func(m modeResult) string { return fmt.Sprintf("%.1f", m.AllReadySeconds) })
	row("per object p50 / p99 (s)", func(m modeResult) string {
		return fmt.Sprintf("%.1f / %.1f", m.ReadyP50Seconds, m.ReadyP99Seconds)
	})
	row("cloud calls per snapshot", func(m modeResult) string { return fmt.Sprintf("%.2f", m.CloudCallsPerSnap) })
	row("cloud read calls (total)", func(m modeResult) string { return fmt.Sprint(m.CloudReadCalls) })
	row("cloud calls by operation", func(m modeResult) string { return formatCalls(m.CloudCalls) })
	row("create calls per snapshot", func(m modeResult) string { return fmt.Sprintf("%.2f", m.CreateCallsPerSnap) })
	row("429 responses", func(m modeResult) string { return fmt.Sprintf("%.0f", m.Throttled) })
	row("EVSSnapshot writes per snapshot", func(m modeResult) string { return fmt.Sprintf("%.2f", m.SnapshotWrites) })
	row("event writes per snapshot", func(m modeResult) string { return fmt.Sprintf("%.2f", m.EventWrites) })
	row("client-go writes per snapshot", func(m modeResult) string { return fmt.Sprintf("%.2f", m.ClientWrites) })
	row("operator peak RSS (MiB)", func(m modeResult) string { return fmt.Sprintf("%.0f", m.PeakRSSMiB) })
	row("operator CPU (s)", func(m modeResult) string { return fmt.Sprintf("%.1f", m.CPUSeconds) })
	row("admission p50 / p99 (ms)", func(m modeResult) string {
		return fmt.Sprintf("%.1f / %.1f (%d errors)", m.WebhookP50Ms, m.WebhookP99Ms, m.WebhookErrors)
	})
	_ = tw.Flush()

	if len(res.Scale) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "scale run\tsnapshots\tsettled (s)\tcloud calls per resync\tpeak RSS (MiB)\tCPU (s)")
		for _, s := range res.Scale {
			fmt.Fprintf(tw, "%s\t%d\t%.1f\t%s (%s)\t%.0f\t%.1f\n", s.Mode, s.Snapshots, s.SettleSeconds,
				formatCalls(s.CloudCallsPerResync), s.ResyncPeriod, s.PeakRSSMiB, s.CPUSeconds)
		}
		_ = tw.Flush()
	}
}

func formatCalls(calls map[string]int64) string {
	var parts []string
	for _, op := range slices.Sorted(maps.Keys(calls)) {
		parts = append(parts, fmt.Sprintf("%s=%d", op, calls[op]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}
