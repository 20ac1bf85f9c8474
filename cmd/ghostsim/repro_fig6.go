package main

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/ghostsim/ghostsim/experiment"
)

// Fig 6's systems: -policy names of the rocksdb workload, with the -set
// overrides each runs with.
var fig6Systems = []struct {
	name, policy string
	sets         []string
}{
	// The data plane runs with the batch app (nothing of it can run: that
	// is 6c's point); its latency is the same as without it.
	{"Shinjuku", "shinjuku-dataplane", []string{"workload.rocksdb.batch=true"}},
	{"ghOSt-Shinjuku", "ghost-shinjuku", nil},
	{"CFS-Shinjuku", "cfs-shinjuku", nil},
	{"ghOSt-Shinjuku+Shenango", "ghost-shinjuku-shenango", nil},
	{"CFS (batch nice 19, RocksDB nice -20)", "cfs-shinjuku-batch", nil},
}

// fig6Loads are the offered loads in requests/s: coarse up to 300k, then
// every 10k across the knees.
func fig6Loads() []float64 {
	var out []float64
	for l := 25000.0; l <= 300000; l += 25000 {
		out = append(out, l)
	}
	for l := 310000.0; l <= 360000; l += 10000 {
		out = append(out, l)
	}
	return out
}

// fig6Line is one system's sweep.
type fig6Line struct {
	label    string
	load     []float64
	tput     []float64
	p99      []float64 // µs, all requests
	batch    []float64 // CPUs used by the batch app
	hasBatch bool
}

// saturation is the load at which p99 reaches 1 ms, interpolated on
// log(p99) between the points around the crossing; +Inf if it never does.
func (l *fig6Line) saturation() float64 {
	for i, p := range l.p99 {
		if p < 1000 {
			continue
		}
		if i == 0 {
			return l.load[0]
		}
		a, b := math.Log(l.p99[i-1]), math.Log(p)
		f := (math.Log(1000) - a) / (b - a)
		return l.load[i-1] + f*(l.load[i]-l.load[i-1])
	}
	return math.Inf(1)
}

// fig6KneeLoad and fig6KneeMs: from this load up, points are measured over
// 3 s instead of rocksdb.toml's 1 s. Near saturation the queue of a
// round-robin server grows slowly (short requests get through while long
// ones pile up), so a 1 s window understates p99: the data plane's p99
// crosses 1 ms at ~358k req/s in 1 s windows but between 330k and 340k in
// 3 s ones (its capacity is ~333k). Every system gets the same windows.
const (
	fig6KneeLoad = 300000
	fig6KneeMs   = 3000
)

// fig6RefineMs: the two loads around each saturation crossing (of the
// systems the saturation claims compare) are measured again over 10 s,
// moving on while the crossing moves. Near the knee p99 keeps growing with
// the window — the queue's long excursions are rare — and the 5 % claim's
// verdict turned on it (docs/GAPS.md). The public harness measures 13 s
// per point (15 s runs, the first 2 s discarded: ghost-userspace
// experiments/scripts/options.py).
const fig6RefineMs = 10000

// fig6Saturating are the systems (indexes into fig6Systems) whose
// saturation the claims use: Shinjuku, ghOSt-Shinjuku, CFS-Shinjuku.
var fig6Saturating = []int{0, 1, 2}

// crossing returns the index of the first load whose p99 reaches 1 ms,
// -1 if none does.
func (l *fig6Line) crossing() int {
	for i, p := range l.p99 {
		if p >= 1000 {
			return i
		}
	}
	return -1
}

// withKnee returns a copy of l whose p99 at the load indexes of knee is
// the refined value.
func (l *fig6Line) withKnee(knee map[int]float64) fig6Line {
	c := *l
	c.p99 = append([]float64(nil), l.p99...)
	for i := range c.p99 {
		if p, ok := knee[i]; ok {
			c.p99[i] = p
		}
	}
	return c
}

// fig6KneePoint is one load of one system to measure over fig6RefineMs.
type fig6KneePoint struct{ sys, load int }

// refineKnees measures, over longer windows, the loads around each
// saturating system's 1 ms crossing until the crossing's two neighbours
// are both refined: run measures points and returns their p99 in µs. It
// returns, by system, the refined p99 by load index.
func refineKnees(lines []fig6Line, run func([]fig6KneePoint) ([]float64, error)) ([]map[int]float64, error) {
	knee := make([]map[int]float64, len(lines))
	for i := range knee {
		knee[i] = map[int]float64{}
	}
	for {
		var todo []fig6KneePoint
		for _, s := range fig6Saturating {
			merged := lines[s].withKnee(knee[s])
			i := merged.crossing()
			if i < 0 {
				continue
			}
			for _, j := range []int{i - 1, i} {
				if _, done := knee[s][j]; j >= 0 && !done {
					todo = append(todo, fig6KneePoint{s, j})
				}
			}
		}
		if len(todo) == 0 {
			return knee, nil
		}
		p99s, err := run(todo)
		if err != nil {
			return nil, err
		}
		for k, pt := range todo {
			knee[pt.sys][pt.load] = p99s[k]
		}
	}
}

// fig6Point is system sys (an index into fig6Systems) at load requests/s,
// measured over ms milliseconds (0: rocksdb.toml's duration).
func fig6Point(sys int, load float64, ms int) (experiment.Point, error) {
	sets := append([]string{fmt.Sprintf("workload.rocksdb.load_rps=%g", load)}, fig6Systems[sys].sets...)
	if ms > 0 {
		sets = append(sets, fmt.Sprintf("run.duration_ms=%d", ms))
	}
	spec, _, err := experiment.Load([]string{"xeon48", "rocksdb"}, sets)
	if err != nil {
		return experiment.Point{}, err
	}
	return experiment.Point{Values: map[string]float64{"load": load}, Spec: spec, Workload: "rocksdb", Policy: fig6Systems[sys].policy}, nil
}

// reproFig6 runs the rocksdb sweeps of Fig 6 on xeon48 (configs/rocksdb.toml
// after 100 ms of warm-up: 1 s per point below 300k req/s, 3 s from 300k
// up — 25k to about 1.1 M requests per point), measures the loads around
// each saturation crossing again over 10 s, writes fig6.csv, fig6-knee.csv
// and the three panels, and checks the claims.
func reproFig6(dir string, jobs int, showProgress bool, stdout, stderr io.Writer) ([]claim, error) {
	loads := fig6Loads()
	var points []experiment.Point
	for sys := range fig6Systems {
		for _, load := range loads {
			ms := 0
			if load >= fig6KneeLoad {
				ms = fig6KneeMs
			}
			p, err := fig6Point(sys, load, ms)
			if err != nil {
				return nil, err
			}
			points = append(points, p)
		}
	}
	rs, err := experiment.RunSweep(points, jobs, countProgress(showProgress, stderr, "fig6", "simulations"))
	if err != nil {
		return nil, err
	}
	lines := make([]fig6Line, len(fig6Systems))
	var csv strings.Builder
	csv.WriteString("system,policy,load_rps,throughput_rps,p50_us,p99_us,p99_9_us,short_p99_us,batch_cpus,requests,incomplete,saturated\n")
	for i, r := range rs {
		s := i / len(loads)
		l := &lines[s]
		l.label = fig6Systems[s].name
		all := r.Latency["all"]
		batch, ok := r.Metrics["batch.cpus"]
		l.hasBatch = l.hasBatch || ok
		l.load = append(l.load, r.Point["load"])
		l.tput = append(l.tput, r.Throughput["requests_per_s"])
		l.p99 = append(l.p99, float64(all.P99)/1000)
		l.batch = append(l.batch, batch)
		fmt.Fprintf(&csv, "%q,%s,%g,%.0f,%.3f,%.3f,%.3f,%.3f,%.3f,%d,%d,%s\n", l.label, fig6Systems[s].policy, r.Point["load"],
			r.Throughput["requests_per_s"], float64(all.P50)/1000, float64(all.P99)/1000, float64(all.P999)/1000,
			float64(r.Latency["short"].P99)/1000, batch, all.Count, all.Incomplete, boolNumber(r.Saturated))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "fig6.csv"), []byte(csv.String()), 0o644); err != nil {
		return nil, err
	}
	// kneeXY keeps, by system, where each knee point lies on the figure.
	kneeXY := make([]plotter.XYs, len(lines))
	run := func(todo []fig6KneePoint) ([]float64, error) {
		var pts []experiment.Point
		for _, pt := range todo {
			p, err := fig6Point(pt.sys, loads[pt.load], fig6RefineMs)
			if err != nil {
				return nil, err
			}
			pts = append(pts, p)
		}
		label := fmt.Sprintf("fig6 knees (%d s windows)", fig6RefineMs/1000)
		rs, err := experiment.RunSweep(pts, jobs, countProgress(showProgress, stderr, label, "simulations"))
		if err != nil {
			return nil, err
		}
		out := make([]float64, len(rs))
		for i, r := range rs {
			out[i] = float64(r.Latency["all"].P99) / 1000
			kneeXY[todo[i].sys] = append(kneeXY[todo[i].sys], plotter.XY{X: r.Throughput["requests_per_s"] / 1e3, Y: out[i]})
		}
		return out, nil
	}
	knee, err := refineKnees(lines, run)
	if err != nil {
		return nil, err
	}
	sat := append([]fig6Line(nil), lines...)
	var kcsv strings.Builder
	kcsv.WriteString("system,policy,load_rps,window_s,p99_us\n")
	for _, s := range fig6Saturating {
		sat[s] = lines[s].withKnee(knee[s])
		for i, load := range loads {
			if p, ok := knee[s][i]; ok {
				fmt.Fprintf(&kcsv, "%q,%s,%g,%d,%.3f\n", lines[s].label, fig6Systems[s].policy, load, fig6RefineMs/1000, p)
			}
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "fig6-knee.csv"), []byte(kcsv.String()), 0o644); err != nil {
		return nil, err
	}
	panels := []struct {
		file, title string
		lines       []int
		batch       bool
	}{
		{"fig6a", "6a: p99 latency vs throughput", []int{0, 1, 2}, false},
		{"fig6b", "6b: ghOSt-Shinjuku with and without Shenango", []int{1, 3}, false},
		{"fig6c", "6c: CPUs used by the batch app vs offered load", []int{0, 3, 4}, true},
	}
	for _, p := range panels {
		if err := plotFig6(dir, p.file, p.title, lines, kneeXY, p.lines, p.batch); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(stdout, "wrote %s, %s and fig6a/b/c as PNG and SVG in %s\n",
		filepath.Join(dir, "fig6.csv"), filepath.Join(dir, "fig6-knee.csv"), dir)
	return fig6Claims(lines, sat), nil
}

// fig6Claims checks docs/PAPER-CLAIMS.md's Fig 6 claims, saturation being
// where p99 reaches 1 ms, taken from sat (the lines with their knees
// measured over longer windows); everything else compares lines.
func fig6Claims(lines, sat []fig6Line) []claim {
	shin, ghost, shen, cfsb := &lines[0], &lines[1], &lines[3], &lines[4]
	sShin, sGhost, sCFS := sat[0].saturation(), sat[1].saturation(), sat[2].saturation()
	var out []claim
	out = append(out, claim{"6a: ghOSt's saturation within 5 % of Shinjuku's",
		fmt.Sprintf("ghOSt %.0fk, Shinjuku %.0fk req/s (%+.1f %%; %d s windows at the knees)",
			sGhost/1e3, sShin/1e3, 100*(sGhost/sShin-1), fig6RefineMs/1000),
		math.Abs(sGhost/sShin-1) <= 0.05})
	// The tail at the highest load both sustain.
	hi := -1
	for i := range ghost.load {
		if ghost.load[i] < math.Min(sGhost, sShin) {
			hi = i
		}
	}
	if hi >= 0 {
		out = append(out, claim{"6a: ghOSt's tail slightly higher than Shinjuku's at high load",
			fmt.Sprintf("at %.0fk: ghOSt %.1f µs, Shinjuku %.1f µs", ghost.load[hi]/1e3, ghost.p99[hi], shin.p99[hi]),
			ghost.p99[hi] >= shin.p99[hi] && ghost.p99[hi] <= 2*shin.p99[hi]})
	}
	sooner := 1 - sCFS/sShin
	out = append(out, claim{"6a: CFS-Shinjuku saturates 20–40 % sooner than Shinjuku",
		fmt.Sprintf("CFS %.0fk vs Shinjuku %.0fk req/s: %.1f %% sooner", sCFS/1e3, sShin/1e3, 100*sooner),
		sooner >= 0.2 && sooner <= 0.4})
	worst, at := 0.0, 0.0
	for i := range ghost.load {
		if ghost.load[i] >= sGhost {
			break
		}
		if d := math.Abs(shen.p99[i]/ghost.p99[i] - 1); d > worst {
			worst, at = d, ghost.load[i]
		}
	}
	out = append(out, claim{"6b: the Shenango variant's p99 within 10 % of ghOSt-Shinjuku's below saturation",
		fmt.Sprintf("largest difference %.1f %% (at %.0fk)", 100*worst, at/1e3), worst <= 0.10})
	maxShin := 0.0
	for _, b := range shin.batch {
		maxShin = math.Max(maxShin, b)
	}
	out = append(out, claim{"6c: Shinjuku gives the batch app nothing",
		fmt.Sprintf("at most %.3f CPUs", maxShin), maxShin == 0})
	worstPts, atPts := 0.0, 0.0
	const workerCPUs = 20
	for i := range shen.load {
		if d := 100 * math.Abs(shen.batch[i]-cfsb.batch[i]) / workerCPUs; d > worstPts {
			worstPts, atPts = d, shen.load[i]
		}
	}
	out = append(out, claim{"6c: ghOSt gives the batch app the idle CPUs, within 10 points of CFS nice 19/−20",
		fmt.Sprintf("largest difference %.1f points of the 20 worker CPUs (at %.0fk)", worstPts, atPts/1e3), worstPts <= 10})
	return out
}

// plotFig6 draws one panel: p99 (log scale) against throughput, or the
// batch app's CPUs against offered load.
func plotFig6(dir, file, title string, lines []fig6Line, knees []plotter.XYs, which []int, batch bool) error {
	p := plot.New()
	p.Title.Text = title
	if batch {
		p.X.Label.Text = "offered load (k requests/s)"
		p.Y.Label.Text = "CPUs used by the batch app"
	} else {
		p.X.Label.Text = "throughput (k requests/s)"
		p.Y.Label.Text = "p99 latency (µs)"
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	p.Add(plotter.NewGrid())
	for n, i := range which {
		l := lines[i]
		var xy plotter.XYs
		for j := range l.load {
			if batch {
				xy = append(xy, plotter.XY{X: l.load[j] / 1e3, Y: l.batch[j]})
			} else if l.p99[j] > 0 {
				xy = append(xy, plotter.XY{X: l.tput[j] / 1e3, Y: l.p99[j]})
			}
		}
		ln, pts, err := plotter.NewLinePoints(xy)
		if err != nil {
			return err
		}
		ln.Color = plotColors[n%len(plotColors)]
		pts.Color = ln.Color
		p.Add(ln, pts)
		p.Legend.Add(l.label, ln, pts)
		if !batch && len(knees[i]) > 0 {
			// The knee measured again over longer windows: what the
			// saturation claims use.
			sc, err := plotter.NewScatter(knees[i])
			if err != nil {
				return err
			}
			sc.Color = ln.Color
			sc.Shape = draw.TriangleGlyph{}
			sc.Radius = vg.Points(4)
			p.Add(sc)
			p.Legend.Add(fmt.Sprintf("%s, %d s windows", l.label, fig6RefineMs/1000), sc)
		}
	}
	if !batch {
		sat := plotter.NewFunction(func(float64) float64 { return 1000 })
		sat.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		sat.Color = color.Gray{Y: 96}
		p.Add(sat)
		p.Legend.Add("p99 = 1 ms (saturation)", sat)
	}
	p.Legend.Top = true
	p.Legend.Left = !batch
	return savePlot(p, 7*vg.Inch, 4.5*vg.Inch, dir, file)
}
