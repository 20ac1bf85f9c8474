package main

import (
	"flag"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/ghostsim/ghostsim/experiment"
	"github.com/ghostsim/ghostsim/results"
	"github.com/ghostsim/ghostsim/sim/hw"
	"github.com/ghostsim/ghostsim/workloads/microbench"
)

// runRepro reproduces one of the paper's figures or tables: it runs the
// experiments on the embedded machines, writes data and plots, and prints
// each claim of docs/PAPER-CLAIMS.md with the measured numbers and PASS
// or FAIL. The exit code is 0 when every claim passes, 1 otherwise.
func runRepro(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ghostsim repro", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("out", "out", "write data and plots into `DIR`")
	jobs := fs.Int("j", runtime.GOMAXPROCS(0), "run up to `N` simulations at once")
	quiet := fs.Bool("q", false, "no progress on stderr")
	reproFormats = append(formatList(nil), defaultFormats...)
	fs.Var(&reproFormats, "format", "write figures as `LIST`, comma-separated of png, svg and pdf (default png,svg)")
	usage := func() {
		fmt.Fprintf(stdout, "usage: ghostsim repro [-out DIR] [-j N] [-q] NAME\n\nNAME is one of:\n"+
			"  table3  Table 3: ghOSt operation costs on skylake112\n"+
			"  fig5    Fig 5: global-agent scalability on skylake112 and haswell72\n"+
			"  fig6    Fig 6a–c: RocksDB on Shinjuku, ghOSt-Shinjuku (+Shenango) and CFS on xeon48\n"+
			"  fig7    Fig 7: Google Snap round trips (64 B, 64 kB) under MicroQuanta and the snap policy, quiet and loaded, on skylake112\n"+
			"  fig8    Fig 8: Google Search queries on rome256 under CFS and the search policy, with its ablations\n"+
			"  table4  Table 4: secure VM core scheduling on skylake112: CFS, in-kernel core scheduling, the securevm policy\n\nFlags:\n")
		fs.SetOutput(stdout)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			usage()
			return exitOK
		}
		fmt.Fprintf(stderr, "ghostsim repro: %v\n", err)
		return exitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "ghostsim repro: name one figure or table (table3, fig5, fig6, fig7, fig8, table4); see 'ghostsim repro -h'")
		return exitUsage
	}
	var claims []claim
	var err error
	switch fs.Arg(0) {
	case "table3":
		claims, err = reproTable3(*out, stdout)
	case "fig5":
		claims, err = reproFig5(*out, *jobs, !*quiet && isTerminal(stderr), stdout, stderr)
	case "fig6":
		claims, err = reproFig6(*out, *jobs, !*quiet && isTerminal(stderr), stdout, stderr)
	case "fig7":
		claims, err = reproFig7(*out, *jobs, !*quiet && isTerminal(stderr), stdout, stderr)
	case "fig8":
		claims, err = reproFig8(*out, *jobs, !*quiet && isTerminal(stderr), stdout, stderr)
	case "table4":
		claims, err = reproTable4(*out, *jobs, !*quiet && isTerminal(stderr), stdout, stderr)
	default:
		fmt.Fprintf(stderr, "ghostsim repro: unknown figure %q (valid: table3, fig5, fig6, fig7, fig8, table4)\n", fs.Arg(0))
		return exitUsage
	}
	if err != nil {
		fmt.Fprintf(stderr, "ghostsim repro %s: %v\n", fs.Arg(0), err)
		return exitFailure
	}
	failed := 0
	fmt.Fprintln(stdout, "\nclaims (docs/PAPER-CLAIMS.md):")
	for _, c := range claims {
		status := "PASS"
		if !c.ok {
			status, failed = "FAIL", failed+1
		}
		fmt.Fprintf(stdout, "  %s  %s: %s\n", status, c.what, c.measured)
	}
	if failed > 0 {
		fmt.Fprintf(stdout, "%d of %d claims fail\n", failed, len(claims))
		return exitFailure
	}
	return exitOK
}

type claim struct {
	what, measured string
	ok             bool
}

// reproTable3 runs the microbenchmarks on skylake112 and prints Table 3:
// the paper's value, the simulated one and their ratio.
func reproTable3(dir string, w io.Writer) ([]claim, error) {
	spec, _, err := experiment.Load([]string{"skylake112"}, nil)
	if err != nil {
		return nil, err
	}
	r, err := experiment.Run(spec, experiment.Options{Workload: "microbench"})
	if err != nil {
		return nil, err
	}
	printTable3(w, r)
	var claims []claim
	var csv strings.Builder
	csv.WriteString("row,operation,paper_ns,sim_ns,ratio\n")
	for _, row := range microbench.Rows {
		got := r.Metrics[fmt.Sprintf("table3_row%d_ns", row.N)]
		ratio := got / row.Paper
		fmt.Fprintf(&csv, "%d,%q,%g,%.1f,%.3f\n", row.N, row.Name, row.Paper, got, ratio)
		claims = append(claims, claim{
			what:     fmt.Sprintf("row %d %s within ±10%% of %g ns", row.N, row.Name, row.Paper),
			measured: fmt.Sprintf("%.1f ns (ratio %.3f)", got, ratio),
			ok:       ratio >= 0.9 && ratio <= 1.1,
		})
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return claims, os.WriteFile(filepath.Join(dir, "table3.csv"), []byte(csv.String()), 0o644)
}

// printTable3 prints Table 3 from a microbench result.
func printTable3(w io.Writer, r *results.Result) {
	fmt.Fprintf(w, "Table 3 on %s (paper: 2 × Xeon Platinum 8173M @ 2 GHz)\n", r.Machine)
	fmt.Fprintf(w, "%-4s %-52s %9s %9s %7s\n", "row", "operation", "paper ns", "sim ns", "ratio")
	for _, row := range microbench.Rows {
		got := r.Metrics[fmt.Sprintf("table3_row%d_ns", row.N)]
		fmt.Fprintf(w, "%-4d %-52s %9.0f %9.1f %7.3f\n", row.N, row.Name, row.Paper, got, got/row.Paper)
	}
}

// fig5Line is one machine's Fig 5 sweep.
type fig5Line struct {
	machine string
	m       *hw.Machine
	cpus    []float64
	tps     []float64
}

// reproFig5 sweeps every CPU count on skylake112 and haswell72, writes
// fig5.csv and fig5.png/.svg, and checks the figure's features.
func reproFig5(dir string, jobs int, showProgress bool, stdout, stderr io.Writer) ([]claim, error) {
	var lines []fig5Line
	var points []experiment.Point
	var owner []int
	for i, name := range []string{"skylake112", "haswell72"} {
		spec, _, err := experiment.Load([]string{name}, []string{"workload.scalability.step=1"})
		if err != nil {
			return nil, err
		}
		m, err := hw.New(spec.Spec)
		if err != nil {
			return nil, err
		}
		info, _ := experiment.FindWorkload("scalability")
		pts, err := info.Sweep(spec, "")
		if err != nil {
			return nil, err
		}
		lines = append(lines, fig5Line{machine: name, m: m})
		points = append(points, pts...)
		for range pts {
			owner = append(owner, i)
		}
	}
	rs, err := experiment.RunSweep(points, jobs, countProgress(showProgress, stderr, "fig5", "simulations"))
	if err != nil {
		return nil, err
	}
	var csv strings.Builder
	csv.WriteString("machine,cpus,txns_per_s\n")
	for i, r := range rs {
		l := &lines[owner[i]]
		l.cpus = append(l.cpus, r.Metrics["cpus"])
		l.tps = append(l.tps, r.Metrics["txns_per_s"])
		fmt.Fprintf(&csv, "%s,%g,%.0f\n", l.machine, r.Metrics["cpus"], r.Metrics["txns_per_s"])
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "fig5.csv"), []byte(csv.String()), 0o644); err != nil {
		return nil, err
	}
	if err := plotFig5(dir, lines); err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "wrote %s, %s and %s\n", filepath.Join(dir, "fig5.csv"), filepath.Join(dir, "fig5.png"), filepath.Join(dir, "fig5.svg"))
	var claims []claim
	for _, l := range lines {
		claims = append(claims, fig5Claims(l)...)
	}
	return claims, nil
}

// fig5Claims checks one machine's curve against the figure's features.
func fig5Claims(l fig5Line) []claim {
	cores := l.m.NumCores() / l.m.NumSockets()
	at := func(x int) float64 {
		for i, c := range l.cpus {
			if int(c) == x {
				return l.tps[i]
			}
		}
		return 0
	}
	peak, peakX := 0.0, 0
	for i, v := range l.tps {
		if v > peak {
			peak, peakX = v, int(l.cpus[i])
		}
	}
	socketPeak := 0.0
	for i, v := range l.tps {
		if int(l.cpus[i]) <= cores*l.m.SMT() && v > socketPeak {
			socketPeak = v
		}
	}
	all := l.tps[len(l.tps)-1]
	beforeSib, withSib := at(cores), at(cores+1)
	out := []claim{
		{fmt.Sprintf("%s: steep ramp (10 CPUs ≥ 1.5 × 2 CPUs)", l.machine),
			fmt.Sprintf("%.2f M/s at 2, %.2f M/s at 10", at(2)/1e6, at(10)/1e6), at(10) >= 1.5*at(2)},
		{fmt.Sprintf("%s: drop when the agent's SMT sibling gets a thread (%d → %d CPUs)", l.machine, cores, cores+1),
			fmt.Sprintf("%.3f → %.3f M/s", beforeSib/1e6, withSib/1e6), withSib < beforeSib},
		{fmt.Sprintf("%s: decline once remote-socket CPUs are scheduled", l.machine),
			fmt.Sprintf("socket-0 peak %.3f M/s, all %d CPUs %.3f M/s", socketPeak/1e6, int(l.cpus[len(l.cpus)-1]), all/1e6), all < 0.97*socketPeak},
	}
	if l.machine == "skylake112" {
		out = append(out, claim{"skylake112: peak above 2 M txns/s", fmt.Sprintf("%.3f M/s at %d CPUs", peak/1e6, peakX), peak > 2e6})
	}
	return out
}

// plotFig5 draws txns/s against enclave CPUs, one line per machine.
func plotFig5(dir string, lines []fig5Line) error {
	p := plot.New()
	p.Title.Text = "Global agent scalability (round-robin, 5 yielding threads per CPU)"
	p.X.Label.Text = "CPUs in the enclave"
	p.Y.Label.Text = "transactions committed per second (millions)"
	p.Add(plotter.NewGrid())
	for i, l := range lines {
		xy := make(plotter.XYs, len(l.cpus))
		for j := range l.cpus {
			xy[j].X, xy[j].Y = l.cpus[j], l.tps[j]/1e6
		}
		ln, err := plotter.NewLine(xy)
		if err != nil {
			return err
		}
		ln.Color = plotColors[i%len(plotColors)]
		ln.Width = vg.Points(1.5)
		p.Add(ln)
		p.Legend.Add(l.machine, ln)
	}
	p.Legend.Top = true
	return savePlot(p, 8*vg.Inch, 5*vg.Inch, dir, "fig5")
}

// savePlot writes p as dir/name.FORMAT for each of repro's -format
// formats (reproFormats), in the paper-column style (paperStyle): w × h
// scaled to 3.3 in wide.
func savePlot(p *plot.Plot, w, h vg.Length, dir, name string) error {
	paperStyle(p)
	return writeFormats(p.Draw, paperWidth, h*paperWidth/w, dir, name, reproFormats)
}

var plotColors = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
	color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff},
	color.RGBA{R: 0xe3, G: 0x77, B: 0xc2, A: 0xff},
	color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff},
}
