package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/ghostsim/ghostsim/experiment"
	"github.com/ghostsim/ghostsim/results"
)

// Fig 8's systems: CFS, the search policy, the policy with each heuristic
// switched off (the ablations §4.4 reports), and the policy with the BPF
// fast path (a line of its own, no claim).
var fig8Systems = []struct {
	name, policy string
	sets         []string
}{
	{"CFS", "", nil},
	{"ghOSt", "search", nil},
	{"ghOSt, no NUMA", "search", []string{"policy.numa=false"}},
	{"ghOSt, no CCX", "search", []string{"policy.ccx=false", "policy.hold_us=0"}},
	{"ghOSt, no hold-back", "search", []string{"policy.hold_us=0"}},
	{"ghOSt, no heuristics", "search", []string{"policy.numa=false", "policy.ccx=false", "policy.hold_us=0"}},
	// The BPF fast path (paper §3.2, §5: future work, no claim): an idling
	// CPU runs a ready thread from its CCX's ring (docs/BPF-STUDY.md).
	{"ghOSt + BPF fast path", "search", []string{"policy.bpf=true"}},
}

// Indexes into fig8Systems.
const (
	fig8CFS = iota
	fig8Ghost
	fig8NoNUMA
	fig8NoCCX
	fig8NoHold
	fig8None
)

// fig8Types are the query types, the result's latency classes.
var fig8Types = []string{"A", "B", "C"}

// fig8WindowMs and fig8WarmupMs: each system runs search.toml's
// experiment for a longer window than the default run, so each type's p99
// rests on thousands of queries (C, the rarest, completes about 5.8k per
// second). fig8Seeds runs are averaged per system.
const (
	fig8WindowMs = 1500
	fig8WarmupMs = 300
)

var fig8Seeds = []int{1, 2}

// fig8Row is one system's figures, averaged over the seeds.
type fig8Row struct {
	tput map[string]float64 // queries/s per type
	p99  map[string]float64 // µs
	p999 map[string]float64 // µs
	loop [2]float64         // agent loop p50, p99 (µs)
	hold float64            // hold-backs taken per second
}

// reproFig8 runs the Search benchmark under each system on rome256, writes
// fig8.csv and the throughput and tail panels, and checks the claims.
func reproFig8(dir string, jobs int, showProgress bool, stdout, stderr io.Writer) ([]claim, error) {
	var points []experiment.Point
	for _, sys := range fig8Systems {
		for _, seed := range fig8Seeds {
			sets := append([]string{fmt.Sprintf("run.duration_ms=%d", fig8WindowMs), fmt.Sprintf("run.warmup_ms=%d", fig8WarmupMs),
				fmt.Sprintf("run.seed=%d", seed)}, sys.sets...)
			spec, _, err := experiment.LoadWorkload("search", []string{"rome256", "search"}, sets)
			if err != nil {
				return nil, err
			}
			points = append(points, experiment.Point{Values: map[string]float64{"seed": float64(seed)}, Spec: spec, Workload: "search", Policy: sys.policy})
		}
	}
	rs, err := experiment.RunSweep(points, jobs, countProgress(showProgress, stderr, "fig8", "simulations"))
	if err != nil {
		return nil, err
	}
	rows := make([]fig8Row, len(fig8Systems))
	for s := range fig8Systems {
		rows[s] = fig8Average(rs[s*len(fig8Seeds) : (s+1)*len(fig8Seeds)])
	}

	var csv strings.Builder
	csv.WriteString("system,type,throughput_qps,throughput_norm,p99_us,p99_norm,p99_9_us,agent_loop_p50_us,agent_loop_p99_us,holdbacks_per_s\n")
	for s, sys := range fig8Systems {
		for _, t := range fig8Types {
			r := rows[s]
			fmt.Fprintf(&csv, "%q,%s,%.1f,%.4f,%.3f,%.4f,%.3f,%.3f,%.3f,%.1f\n", sys.name, t, r.tput[t], r.tput[t]/rows[fig8CFS].tput[t],
				r.p99[t], r.p99[t]/rows[fig8CFS].p99[t], r.p999[t], r.loop[0], r.loop[1], r.hold)
		}
	}
	printFig8(stdout, rows)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "fig8.csv"), []byte(csv.String()), 0o644); err != nil {
		return nil, err
	}
	if err := plotFig8(dir, "fig8-throughput", "8a–c: throughput normalized to CFS", "throughput / CFS", rows, func(r fig8Row, t string) float64 {
		return r.tput[t] / rows[fig8CFS].tput[t]
	}); err != nil {
		return nil, err
	}
	if err := plotFig8(dir, "fig8-p99", "8d–f: p99 latency normalized to CFS", "p99 / CFS", rows, func(r fig8Row, t string) float64 {
		return r.p99[t] / rows[fig8CFS].p99[t]
	}); err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "wrote %s and fig8-throughput, fig8-p99 as PNG and SVG in %s\n", filepath.Join(dir, "fig8.csv"), dir)
	return fig8Claims(rows), nil
}

// fig8Average averages the seeds' results of one system.
func fig8Average(rs []*results.Result) fig8Row {
	row := fig8Row{tput: map[string]float64{}, p99: map[string]float64{}, p999: map[string]float64{}}
	n := float64(len(rs))
	for _, r := range rs {
		for _, t := range fig8Types {
			row.tput[t] += r.Throughput[t+"_per_s"] / n
			row.p99[t] += float64(r.Latency[t].P99) / 1000 / n
			row.p999[t] += float64(r.Latency[t].P999) / 1000 / n
		}
		if l := r.Ghost.AgentLoopNs; l != nil {
			row.loop[0] += float64(l.P50) / 1000 / n
			row.loop[1] += float64(l.P99) / 1000 / n
		}
		row.hold += r.Metrics["policy.holdbacks"] / (float64(r.SimTimeNs) / 1e9) / n
	}
	return row
}

// meanNorm is a system's throughput normalized to CFS's, averaged over
// the three types (Fig 8a–c's panels, one number).
func (r fig8Row) meanNorm(cfs fig8Row) float64 {
	var s float64
	for _, t := range fig8Types {
		s += r.tput[t] / cfs.tput[t]
	}
	return s / float64(len(fig8Types))
}

// printFig8 prints one line per system: per-type throughput and p99, both
// normalized to CFS, and the agent's loop time.
func printFig8(w io.Writer, rows []fig8Row) {
	fmt.Fprintf(w, "Fig 8 on rome256: Search queries, %d ms windows after %d ms warm-up, mean of seeds %v\n", fig8WindowMs, fig8WarmupMs, fig8Seeds)
	fmt.Fprintf(w, "%-22s %27s   %33s   %s\n", "", "throughput / CFS", "p99 µs (÷ CFS)", "agent loop µs")
	fmt.Fprintf(w, "%-22s %8s %8s %8s   %10s %10s %10s   %6s %6s\n", "system", "A", "B", "C", "A", "B", "C", "p50", "p99")
	for s, sys := range fig8Systems {
		r := rows[s]
		fmt.Fprintf(w, "%-22s", sys.name)
		for _, t := range fig8Types {
			fmt.Fprintf(w, " %8.3f", r.tput[t]/rows[fig8CFS].tput[t])
		}
		fmt.Fprint(w, "  ")
		for _, t := range fig8Types {
			fmt.Fprintf(w, " %10s", fmt.Sprintf("%.0f(%.2f)", r.p99[t], r.p99[t]/rows[fig8CFS].p99[t]))
		}
		fmt.Fprintf(w, "   %6.1f %6.1f\n", r.loop[0], r.loop[1])
	}
}

// fig8Claims checks the paper's Fig 8 claims (§4.4).
func fig8Claims(rows []fig8Row) []claim {
	cfs, gh := rows[fig8CFS], rows[fig8Ghost]
	var cs []claim
	for _, t := range fig8Types {
		x := gh.tput[t] / cfs.tput[t]
		cs = append(cs, claim{
			what:     fmt.Sprintf("%s throughput: ghOSt comparable to CFS (within 5 %%)", t),
			measured: fmt.Sprintf("%.0f vs %.0f queries/s (%.3f×)", gh.tput[t], cfs.tput[t], x),
			ok:       math.Abs(x-1) <= 0.05,
		})
	}
	for _, t := range []string{"A", "B"} {
		red := 1 - gh.p99[t]/cfs.p99[t]
		cs = append(cs, claim{
			what:     fmt.Sprintf("%s p99: ghOSt 40–45 %% lower than CFS (±10 points)", t),
			measured: fmt.Sprintf("%.0f vs %.0f µs (%.1f %% lower)", gh.p99[t], cfs.p99[t], 100*red),
			ok:       red >= 0.30 && red <= 0.55,
		})
	}
	c := gh.p99["C"] / cfs.p99["C"]
	cs = append(cs, claim{
		what:     "C p99: ghOSt comparable to CFS (within 10 %)",
		measured: fmt.Sprintf("%.0f vs %.0f µs (%.3f×)", gh.p99["C"], cfs.p99["C"], c),
		ok:       math.Abs(c-1) <= 0.10,
	})
	for _, a := range []struct {
		sys    int
		what   string
		target float64
	}{{fig8NoNUMA, "NUMA", 0.27}, {fig8NoCCX, "CCX", 0.10}} {
		loss := 1 - rows[a.sys].meanNorm(cfs)/gh.meanNorm(cfs)
		cs = append(cs, claim{
			what:     fmt.Sprintf("without the %s heuristic ghOSt's throughput is about %.0f %% lower (±5 points; mean of A, B, C normalized to CFS)", a.what, 100*a.target),
			measured: fmt.Sprintf("%.1f %% lower (%.3f vs %.3f of CFS)", 100*loss, rows[a.sys].meanNorm(cfs), gh.meanNorm(cfs)),
			ok:       math.Abs(loss-a.target) <= 0.05,
		})
	}
	none := rows[fig8None]
	x := none.p99["A"] / cfs.p99["A"]
	cs = append(cs, claim{
		what:     "without the NUMA and CCX heuristics, ghOSt's A p99 is about 2× CFS's (1.6–2.4×)",
		measured: fmt.Sprintf("%.0f vs %.0f µs (%.2f×)", none.p99["A"], cfs.p99["A"], x),
		ok:       x >= 1.6 && x <= 2.4,
	})
	for _, t := range []string{"B", "C"} {
		x := none.p99[t] / cfs.p99[t]
		cs = append(cs, claim{
			what:     fmt.Sprintf("without the heuristics, ghOSt's %s p99 is on par with CFS's (within 10 %%)", t),
			measured: fmt.Sprintf("%.0f vs %.0f µs (%.3f×)", none.p99[t], cfs.p99[t], x),
			ok:       math.Abs(x-1) <= 0.10,
		})
	}
	cs = append(cs, claim{
		what:     "the global agent's scheduling loop takes about 30 µs (p50 within 15–45 µs)",
		measured: fmt.Sprintf("p50 %.1f µs, p99 %.1f µs", gh.loop[0], gh.loop[1]),
		ok:       gh.loop[0] >= 15 && gh.loop[0] <= 45,
	})
	hold, noHold := gh.meanNorm(cfs), rows[fig8NoHold].meanNorm(cfs)
	cs = append(cs, claim{
		what:     "holding a thread up to 100 µs for its CCX beats migrating it at once (throughput and A p99)",
		measured: fmt.Sprintf("throughput %.3f vs %.3f of CFS, A p99 %.0f vs %.0f µs", hold, noHold, gh.p99["A"], rows[fig8NoHold].p99["A"]),
		ok:       hold >= noHold && gh.p99["A"] <= rows[fig8NoHold].p99["A"],
	})
	return cs
}

// plotFig8 draws one panel: for each query type a group of bars, one per
// system, of value(row, type).
func plotFig8(dir, file, title, ylabel string, rows []fig8Row, value func(fig8Row, string) float64) error {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.X.Label.Text = "query type"
	p.Add(plotter.NewGrid())
	w := vg.Points(12)
	top := 0.0
	for s, sys := range fig8Systems {
		vals := make(plotter.Values, len(fig8Types))
		for i, t := range fig8Types {
			vals[i] = value(rows[s], t)
			top = max(top, vals[i])
		}
		b, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		b.Color = plotColors[s%len(plotColors)]
		b.LineStyle.Width = 0
		b.Offset = vg.Length(s-len(fig8Systems)/2) * w
		p.Add(b)
		p.Legend.Add(sys.name, b)
	}
	p.NominalX(fig8Types...)
	// Room above the tallest bar for the legend, so it covers no data.
	p.Y.Min, p.Y.Max = 0, 1.5*top
	p.Legend.Top = true
	return savePlot(p, 8*vg.Inch, 4.5*vg.Inch, dir, file)
}
