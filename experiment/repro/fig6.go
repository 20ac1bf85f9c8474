package repro

import (
	"fmt"
	"math"
	"strings"

	"github.com/ghostsim/ghostsim/experiment"
)

// Fig6Systems are Fig 6's systems: -policy names of the rocksdb workload,
// with the -set overrides each runs with.
var Fig6Systems = []struct {
	Name, Policy string
	Sets         []string
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

// Fig6Data is what Fig 6's panels are drawn from.
type Fig6Data struct {
	// Lines are the systems' sweeps, in Fig6Systems' order.
	Lines []Fig6Line
	// Knees, by system, are the points measured again over
	// Fig6RefineMs: throughput (k requests/s) and p99 (µs).
	Knees [][]XY
}

// XY is a point of a figure.
type XY struct{ X, Y float64 }

// Fig6Line is one system's sweep.
type Fig6Line struct {
	Label    string
	Load     []float64
	Tput     []float64
	P99      []float64 // µs, all requests
	Batch    []float64 // CPUs used by the batch app
	HasBatch bool
}

// saturation is the load at which p99 reaches 1 ms, interpolated on
// log(p99) between the points around the crossing; +Inf if it never does.
func (l *Fig6Line) saturation() float64 {
	for i, p := range l.P99 {
		if p < 1000 {
			continue
		}
		if i == 0 {
			return l.Load[0]
		}
		a, b := math.Log(l.P99[i-1]), math.Log(p)
		f := (math.Log(1000) - a) / (b - a)
		return l.Load[i-1] + f*(l.Load[i]-l.Load[i-1])
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

// Fig6RefineMs: the two loads around each saturation crossing (of the
// systems the saturation claims compare) are measured again over 10 s,
// moving on while the crossing moves. Near the knee p99 keeps growing with
// the window — the queue's long excursions are rare — and the 5 % claim's
// verdict turned on it (docs/GAPS.md). The public harness measures 13 s
// per point (15 s runs, the first 2 s discarded: ghost-userspace
// experiments/scripts/options.py).
const Fig6RefineMs = 10000

// fig6Saturating are the systems (indexes into Fig6Systems) whose
// saturation the claims use: Shinjuku, ghOSt-Shinjuku, CFS-Shinjuku.
var fig6Saturating = []int{0, 1, 2}

// crossing returns the index of the first load whose p99 reaches 1 ms,
// -1 if none does.
func (l *Fig6Line) crossing() int {
	for i, p := range l.P99 {
		if p >= 1000 {
			return i
		}
	}
	return -1
}

// withKnee returns a copy of l whose p99 at the load indexes of knee is
// the refined value.
func (l *Fig6Line) withKnee(knee map[int]float64) Fig6Line {
	c := *l
	c.P99 = append([]float64(nil), l.P99...)
	for i := range c.P99 {
		if p, ok := knee[i]; ok {
			c.P99[i] = p
		}
	}
	return c
}

// fig6KneePoint is one load of one system to measure over Fig6RefineMs.
type fig6KneePoint struct{ sys, load int }

// refineKnees measures, over longer windows, the loads around each
// saturating system's 1 ms crossing until the crossing's two neighbours
// are both refined: run measures points and returns their p99 in µs. It
// returns, by system, the refined p99 by load index.
func refineKnees(lines []Fig6Line, run func([]fig6KneePoint) ([]float64, error)) ([]map[int]float64, error) {
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

// fig6Point is system sys (an index into Fig6Systems) at load requests/s,
// measured over ms milliseconds (0: rocksdb.toml's duration).
func fig6Point(sys int, load float64, ms int) (experiment.Point, error) {
	sets := append([]string{fmt.Sprintf("workload.rocksdb.load_rps=%g", load)}, Fig6Systems[sys].Sets...)
	if ms > 0 {
		sets = append(sets, fmt.Sprintf("run.duration_ms=%d", ms))
	}
	spec, _, err := experiment.Load(embedded("xeon48", "rocksdb"), sets)
	if err != nil {
		return experiment.Point{}, err
	}
	return experiment.Point{Values: map[string]float64{"load": load}, Spec: spec, Workload: "rocksdb", Policy: Fig6Systems[sys].Policy}, nil
}

// Fig6 runs the rocksdb sweeps of Fig 6 on xeon48 (configs/rocksdb.toml
// after 100 ms of warm-up: 1 s per point below 300k req/s, 3 s from 300k
// up — 25k to about 1.1 M requests per point), measures the loads around
// each saturation crossing again over 10 s, makes fig6.csv and
// fig6-knee.csv, and checks the claims.
func Fig6(env Env) (*Result, error) {
	u := newRunner(env)
	loads := fig6Loads()
	var points []experiment.Point
	for sys := range Fig6Systems {
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
	rs, err := u.sweep("fig6", points)
	if err != nil {
		return nil, err
	}
	lines := make([]Fig6Line, len(Fig6Systems))
	var csv strings.Builder
	csv.WriteString("system,policy,load_rps,throughput_rps,p50_us,p99_us,p99_9_us,short_p99_us,batch_cpus,requests,incomplete,saturated\n")
	for i, r := range rs {
		s := i / len(loads)
		l := &lines[s]
		l.Label = Fig6Systems[s].Name
		all := r.Latency["all"]
		batch, ok := r.Metrics["batch.cpus"]
		l.HasBatch = l.HasBatch || ok
		l.Load = append(l.Load, r.Point["load"])
		l.Tput = append(l.Tput, r.Throughput["requests_per_s"])
		l.P99 = append(l.P99, float64(all.P99)/1000)
		l.Batch = append(l.Batch, batch)
		fmt.Fprintf(&csv, "%q,%s,%g,%.0f,%.3f,%.3f,%.3f,%.3f,%.3f,%d,%d,%s\n", l.Label, Fig6Systems[s].Policy, r.Point["load"],
			r.Throughput["requests_per_s"], float64(all.P50)/1000, float64(all.P99)/1000, float64(all.P999)/1000,
			float64(r.Latency["short"].P99)/1000, batch, all.Count, all.Incomplete, boolNumber(r.Saturated))
	}
	// knees keeps, by system, where each knee point lies on the figure.
	knees := make([][]XY, len(lines))
	run := func(todo []fig6KneePoint) ([]float64, error) {
		var pts []experiment.Point
		for _, pt := range todo {
			p, err := fig6Point(pt.sys, loads[pt.load], Fig6RefineMs)
			if err != nil {
				return nil, err
			}
			pts = append(pts, p)
		}
		label := fmt.Sprintf("fig6 knees (%d s windows)", Fig6RefineMs/1000)
		rs, err := u.sweep(label, pts)
		if err != nil {
			return nil, err
		}
		out := make([]float64, len(rs))
		for i, r := range rs {
			out[i] = float64(r.Latency["all"].P99) / 1000
			knees[todo[i].sys] = append(knees[todo[i].sys], XY{X: r.Throughput["requests_per_s"] / 1e3, Y: out[i]})
		}
		return out, nil
	}
	knee, err := refineKnees(lines, run)
	if err != nil {
		return nil, err
	}
	sat := append([]Fig6Line(nil), lines...)
	var kcsv strings.Builder
	kcsv.WriteString("system,policy,load_rps,window_s,p99_us\n")
	for _, s := range fig6Saturating {
		sat[s] = lines[s].withKnee(knee[s])
		for i, load := range loads {
			if p, ok := knee[s][i]; ok {
				fmt.Fprintf(&kcsv, "%q,%s,%g,%d,%.3f\n", lines[s].Label, Fig6Systems[s].Policy, load, Fig6RefineMs/1000, p)
			}
		}
	}
	return u.finish(&Result{
		Files:  []File{{"fig6.csv", []byte(csv.String())}, {"fig6-knee.csv", []byte(kcsv.String())}},
		Claims: fig6Claims(lines, sat),
		Data:   &Fig6Data{Lines: lines, Knees: knees},
	}), nil
}

// boolNumber is 1 for true, 0 for false, as the CSV files write booleans.
func boolNumber(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// fig6Claims checks docs/PAPER-CLAIMS.md's Fig 6 claims, saturation being
// where p99 reaches 1 ms, taken from sat (the lines with their knees
// measured over longer windows); everything else compares lines.
func fig6Claims(lines, sat []Fig6Line) []Claim {
	shin, ghost, shen, cfsb := &lines[0], &lines[1], &lines[3], &lines[4]
	sShin, sGhost, sCFS := sat[0].saturation(), sat[1].saturation(), sat[2].saturation()
	var out []Claim
	out = append(out, Claim{"6a: ghOSt's saturation within 5 % of Shinjuku's",
		fmt.Sprintf("ghOSt %.0fk, Shinjuku %.0fk req/s (%+.1f %%; %d s windows at the knees)",
			sGhost/1e3, sShin/1e3, 100*(sGhost/sShin-1), Fig6RefineMs/1000),
		math.Abs(sGhost/sShin-1) <= 0.05})
	// The tail at the highest load both sustain.
	hi := -1
	for i := range ghost.Load {
		if ghost.Load[i] < math.Min(sGhost, sShin) {
			hi = i
		}
	}
	if hi >= 0 {
		out = append(out, Claim{"6a: ghOSt's tail slightly higher than Shinjuku's at high load",
			fmt.Sprintf("at %.0fk: ghOSt %.1f µs, Shinjuku %.1f µs", ghost.Load[hi]/1e3, ghost.P99[hi], shin.P99[hi]),
			ghost.P99[hi] >= shin.P99[hi] && ghost.P99[hi] <= 2*shin.P99[hi]})
	}
	sooner := 1 - sCFS/sShin
	out = append(out, Claim{"6a: CFS-Shinjuku saturates 20–40 % sooner than Shinjuku",
		fmt.Sprintf("CFS %.0fk vs Shinjuku %.0fk req/s: %.1f %% sooner", sCFS/1e3, sShin/1e3, 100*sooner),
		sooner >= 0.2 && sooner <= 0.4})
	worst, at := 0.0, 0.0
	for i := range ghost.Load {
		if ghost.Load[i] >= sGhost {
			break
		}
		if d := math.Abs(shen.P99[i]/ghost.P99[i] - 1); d > worst {
			worst, at = d, ghost.Load[i]
		}
	}
	out = append(out, Claim{"6b: the Shenango variant's p99 within 10 % of ghOSt-Shinjuku's below saturation",
		fmt.Sprintf("largest difference %.1f %% (at %.0fk)", 100*worst, at/1e3), worst <= 0.10})
	maxShin := 0.0
	for _, b := range shin.Batch {
		maxShin = math.Max(maxShin, b)
	}
	out = append(out, Claim{"6c: Shinjuku gives the batch app nothing",
		fmt.Sprintf("at most %.3f CPUs", maxShin), maxShin == 0})
	worstPts, atPts := 0.0, 0.0
	const workerCPUs = 20
	for i := range shen.Load {
		if d := 100 * math.Abs(shen.Batch[i]-cfsb.Batch[i]) / workerCPUs; d > worstPts {
			worstPts, atPts = d, shen.Load[i]
		}
	}
	out = append(out, Claim{"6c: ghOSt gives the batch app the idle CPUs, within 10 points of CFS nice 19/−20",
		fmt.Sprintf("largest difference %.1f points of the 20 worker CPUs (at %.0fk)", worstPts, atPts/1e3), worstPts <= 10})
	return out
}
