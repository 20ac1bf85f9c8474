package cli

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/ghostsim/ghostsim/experiment"
	"github.com/ghostsim/ghostsim/results"
	"github.com/ghostsim/ghostsim/sim"
)

// Files written by -out.
const (
	resultJSON = "result.json"
	resultCSV  = "result.csv"
)

// printSummary writes the human summary of res: the run's identity, the
// machine-wide counters and the workload's figures, in aligned columns and
// a fixed order (map keys sorted). Latencies are in µs.
func printSummary(w io.Writer, spec *experiment.Spec, res *results.Result) {
	if res.Workload == "microbench" {
		printTable3(w, res)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, args ...any) {
		fmt.Fprintf(tw, "%s\t%s\n", k, fmt.Sprintf(format, args...))
	}
	machine := res.Machine
	if d := spec.Machine.Description; d != "" {
		machine += ": " + d
	}
	row("machine", "%s", machine)
	row("workload", "%s", res.Workload)
	row("policy", "%s", res.Policy)
	row("seed", "%d", res.Seed)
	row("config sha256", "%s", res.ConfigSHA256)
	row("simulated time", "%v measured after %v warm-up", sim.Time(res.SimTimeNs)*sim.Nanosecond, sim.Ms(spec.Run.WarmupMs))
	row("events", "%d", res.Events)
	if len(res.Backlog) > 0 {
		row("saturated", "%s", saturationText(res))
	}
	if h := res.Host; h != nil {
		row("wall time", "%.3f s", h.WallSeconds)
		row("speed", "%.3f sim-s per wall-s, %.3g events per wall-s", h.SimSecondsPerWallSecond, h.EventsPerWallSecond)
	}
	row("cpu utilization", "%.2f %%", 100*res.CPU.Utilization)
	for _, g := range slices.Sorted(maps.Keys(res.CPU.Share)) {
		row("  share "+g, "%.2f %%", 100*res.CPU.Share[g])
	}
	row("context switches", "%d", res.Kernel.ContextSwitches)
	var total int64
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(res.Kernel.Migrations)) {
		total += res.Kernel.Migrations[k]
		parts = append(parts, fmt.Sprintf("%s %d", k, res.Kernel.Migrations[k]))
	}
	if len(parts) > 0 {
		row("migrations", "%d (%s)", total, strings.Join(parts, ", "))
	} else {
		row("migrations", "%d", total)
	}
	row("ipis", "%d", res.Kernel.IPIs)
	row("wakeups", "%d", res.Kernel.Wakeups)
	ghost := false
	if g := res.Ghost; g.Messages != 0 || len(g.Txns) != 0 || g.AgentCPUNs != 0 || g.AgentCrashes != 0 || g.WatchdogDestroys != 0 || g.IPIs != 0 {
		ghost = true
		row("ghost messages", "%d", g.Messages)
		for _, k := range slices.Sorted(maps.Keys(g.Txns)) {
			row("  txns "+k, "%d", g.Txns[k])
		}
		row("ghost agent cpu", "%v", sim.Time(g.AgentCPUNs)*sim.Nanosecond)
		row("  of it polling", "%v", sim.Time(g.AgentPollNs)*sim.Nanosecond)
		if l := g.AgentLoopNs; l != nil {
			row("agent loop", "p50 %v, p99 %v (%d loops)", sim.Time(l.P50)*sim.Nanosecond, sim.Time(l.P99)*sim.Nanosecond, l.Count)
		}
		row("ghost ipis", "%d", g.IPIs)
		row("agent crashes (run)", "%d", g.AgentCrashes)
		for _, c := range g.AgentCrashReports {
			what := "injected"
			if !c.Injected {
				what = "panic: " + c.Panic
			}
			row("  crash", "at %v, %s; then %s", sim.Time(c.AtNs)*sim.Nanosecond, what, c.Outcome)
		}
		row("watchdog destroys (run)", "%d", g.WatchdogDestroys)
		row("queue overflows (run)", "%d", g.QueueOverflows)
		row("messages dropped (run)", "%d", g.MessagesDropped)
	}
	tw.Flush()
	if ghost {
		fmt.Fprintln(w, "  (run): counted from time 0, warm-up included; the other counts are the window's")
	}

	if len(res.Throughput) > 0 {
		fmt.Fprintln(w, "\nthroughput")
		var rows [][]string
		for _, k := range slices.Sorted(maps.Keys(res.Throughput)) {
			rows = append(rows, []string{k, formatNumber(res.Throughput[k])})
		}
		writeTable(w, rows)
	}
	if len(res.Latency) > 0 {
		fmt.Fprintln(w, "\nlatency (µs)")
		rows := [][]string{{"class", "count", "incomplete", "mean", "p50", "p90", "p99", "p99.9", "p99.99", "max"}}
		us := func(ns int64) string { return fmt.Sprintf("%.3f", float64(ns)/1e3) }
		incomplete := false
		for _, k := range slices.Sorted(maps.Keys(res.Latency)) {
			s := res.Latency[k]
			incomplete = incomplete || s.Incomplete > 0
			rows = append(rows, []string{k, strconv.FormatInt(s.Count, 10), strconv.FormatInt(s.Incomplete, 10), fmt.Sprintf("%.3f", s.Mean/1e3),
				us(s.P50), us(s.P90), us(s.P99), us(s.P999), us(s.P9999), us(s.Max)})
		}
		writeTable(w, rows)
		if incomplete {
			fmt.Fprintln(w, "  incomplete: requests of the window unfinished at its end, counted with their age then (a lower bound)")
		}
		if res.Saturated {
			fmt.Fprintln(w, "  SATURATED: the system did not keep up (its backlog grew); these latencies are lower bounds that grow with the run's length")
		}
	}
	if len(res.Metrics) > 0 {
		fmt.Fprintln(w, "\nmetrics")
		var rows [][]string
		for _, k := range slices.Sorted(maps.Keys(res.Metrics)) {
			rows = append(rows, []string{k, formatNumber(res.Metrics[k])})
		}
		writeTable(w, rows)
		if _, ok := res.Metrics["requests_completed"]; ok {
			fmt.Fprintln(w, "  *requests_*: from time 0, warm-up included; the latency counts are the window's")
		}
	}
}

// saturationText says whether res is saturated and shows the backlog it
// is judged from: class "all"'s when it is saturated, else each saturated
// class's; when none is, class "all"'s (the first class's without one).
func saturationText(res *results.Result) string {
	show := func(k string) string {
		b := res.Backlog[k]
		return fmt.Sprintf("class %s in flight %d -> %d, %d arrived, %d completed", k, b.InFlightStart, b.InFlightEnd, b.Arrived, b.Completed)
	}
	var sat []string
	if results.Saturated(res.Backlog["all"]) {
		sat = append(sat, show("all"))
	} else {
		for _, k := range slices.Sorted(maps.Keys(res.Backlog)) {
			if results.Saturated(res.Backlog[k]) {
				sat = append(sat, show(k))
			}
		}
	}
	if res.Saturated {
		return "YES, the backlog grew over the window (" + strings.Join(sat, "; ") + "): latencies are lower bounds"
	}
	k := "all"
	if _, ok := res.Backlog[k]; !ok {
		k = slices.Sorted(maps.Keys(res.Backlog))[0]
	}
	what := "no (" + show(k)
	if c := res.Backlog[k].Clients; c > 0 {
		what += fmt.Sprintf(", a closed loop of %d clients", c)
	}
	return what + ")"
}

// writeTable writes rows indented by two spaces, the first column
// left-aligned (names) and the others right-aligned (numbers).
func writeTable(w io.Writer, rows [][]string) {
	writeAligned(w, rows, func(col int) bool { return col == 0 })
}

// writeAligned writes rows indented by two spaces, the columns for which
// left is true left-aligned and the others right-aligned.
func writeAligned(w io.Writer, rows [][]string, left func(col int) bool) {
	var width []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		b.WriteString("  ")
		for i, c := range r {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i > 0 {
				b.WriteString("  ")
			}
			if left(i) {
				b.WriteString(c + pad)
			} else {
				b.WriteString(pad + c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// formatNumber prints a whole number without decimals and any other with
// three.
func formatNumber(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

// writeOut writes res into dir as result.json (indented by two spaces) and
// result.csv (flatCSV), creating dir.
func writeOut(dir string, res *results.Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("-out: %w", err)
	}
	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(res); err != nil {
		return fmt.Errorf("encoding the result: %w", err)
	}
	c, err := flatCSV(res)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, resultJSON), js.Bytes(), 0o644); err != nil {
		return fmt.Errorf("-out: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, resultCSV), c, 0o644); err != nil {
		return fmt.Errorf("-out: %w", err)
	}
	return nil
}

// flatCSV returns every numeric and boolean field of res (saturated, as 1
// or 0) as a two-column CSV,
// "key,value" after a header row, keyed by the dotted JSON path
// ("latency_ns.all.p99", "host.wall_seconds") and sorted by key. Values are
// written exactly as in the JSON.
func flatCSV(res *results.Result) ([]byte, error) {
	data, err := json.Marshal(res)
	if err != nil {
		return nil, fmt.Errorf("encoding the result: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("encoding the result: %w", err)
	}
	var rows [][2]string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				key := k
				if prefix != "" {
					key = prefix + "." + k
				}
				walk(key, x)
			}
		case []any:
			for i, x := range v {
				walk(fmt.Sprintf("%s.%d", prefix, i), x)
			}
		case json.Number:
			rows = append(rows, [2]string{prefix, v.String()})
		case bool: // saturated: 1 or 0, so that every value is a number
			rows = append(rows, [2]string{prefix, boolNumber(v)})
		}
	}
	walk("", tree)
	sort.Slice(rows, func(i, j int) bool { return rows[i][0] < rows[j][0] })

	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	cw.Write([]string{"key", "value"})
	for _, r := range rows {
		cw.Write(r[:])
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// boolNumber writes a boolean as a CSV number: 1 for true, 0 for false.
func boolNumber(v bool) string {
	if v {
		return "1"
	}
	return "0"
}

func joinPath(dir, file string) string { return filepath.Join(dir, file) }
