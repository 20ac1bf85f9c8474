package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/ghostsim/ghostsim/sim"
)

// Tolerances say how much worse a candidate may be than its baseline
// before a metric counts as regressed, as fractions (0.05 is 5 %), keyed by
// metric:
//   - a latency field of the contract: "mean", "p50", "p90", "p99",
//     "p99.9", "p99.99" or "max", compared for every latency class (lower
//     is better: a candidate above baseline × (1 + tolerance) regresses);
//   - "throughput", compared for every throughput key (higher is better: a
//     candidate below baseline × (1 − tolerance) regresses).
//
// A metric without a tolerance is not compared.
type Tolerances map[string]float64

// ToleranceKeys are the metrics Tolerances may name, in the order Compare
// reports them.
var ToleranceKeys = append(slices.Clip(sim.SummaryStats), "throughput")

// DefaultTolerances returns the tolerances used unless told otherwise:
// p99 5 %, p99.9 10 %, throughput 5 %. Tails further out than p99.9 and the
// maximum rest on a handful of requests in a short run, so they are not
// compared by default.
func DefaultTolerances() Tolerances {
	return Tolerances{"p99": 0.05, "p99.9": 0.10, "throughput": 0.05}
}

// ParseTolerances applies s, a comma-separated list of METRIC=PERCENT items
// such as "p99=5%,p99.9=10%,throughput=2%", to a copy of base and returns
// it. PERCENT is a non-negative number followed by %; "off" stops comparing
// the metric. METRIC is one of ToleranceKeys.
func ParseTolerances(s string, base Tolerances) (Tolerances, error) {
	out := Tolerances{}
	for k, v := range base {
		out[k] = v
	}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		key, val, ok := strings.Cut(item, "=")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if !ok {
			return nil, fmt.Errorf("tolerance %q: want METRIC=PERCENT such as p99=5%%", item)
		}
		if !isToleranceKey(key) {
			return nil, fmt.Errorf("tolerance %q: unknown metric %q (valid: %s)", item, key, strings.Join(ToleranceKeys, ", "))
		}
		if val == "off" {
			delete(out, key)
			continue
		}
		num, isPct := strings.CutSuffix(val, "%")
		pct, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if !isPct || err != nil || pct < 0 || math.IsInf(pct, 0) || math.IsNaN(pct) {
			return nil, fmt.Errorf("tolerance %q: want a percentage >= 0 such as 5%%, or off", item)
		}
		out[key] = pct / 100
	}
	return out, nil
}

func isToleranceKey(k string) bool { return slices.Contains(ToleranceKeys, k) }

// String writes t as ParseTolerances reads it, in ToleranceKeys order.
func (t Tolerances) String() string {
	var parts []string
	for _, k := range ToleranceKeys {
		if v, ok := t[k]; ok {
			parts = append(parts, k+"="+strconv.FormatFloat(100*v, 'f', -1, 64)+"%")
		}
	}
	return strings.Join(parts, ",")
}

// Finding is the comparison of one metric of one latency class (or one
// throughput key) at one point.
type Finding struct {
	// Point is the point's values as PointKey writes them, "" for a run
	// outside a sweep.
	Point string
	// Metric is a key of Tolerances: "p99", ..., or "throughput".
	Metric string
	// Class is the latency class, or for throughput the throughput key
	// ("requests_per_s").
	Class string
	// Baseline and Candidate are the values compared: ns for latencies,
	// per second for throughput.
	Baseline, Candidate float64
	// Change is Candidate/Baseline − 1: +0.1 is 10 % more. It is 0 when
	// both are 0 and +Inf when only Baseline is.
	Change float64
	// Tolerance is the fraction allowed.
	Tolerance float64
	// Missing says the candidate has no such class or throughput key.
	Missing bool
	// Regressed says the candidate is worse than allowed, or Missing.
	Regressed bool
	// Note explains a "saturated" or "served" finding (Compare).
	Note string
}

// Findings that no tolerance controls (Compare): the candidate saturated
// where the baseline was not, and a candidate that served nothing.
const (
	// MetricSaturated compares Result.Saturated: Baseline and Candidate
	// are 1 for saturated, 0 for not.
	MetricSaturated = "saturated"
	// MetricServed is a candidate that completed no request in the
	// window while the baseline did: Baseline and Candidate are the
	// requests completed (the most of any latency class).
	MetricServed = "served"
)

// String describes f on one line, such as
// "p99 of class all at load=50000: 243711 -> 300000 (+23.1 %, tolerance 5 %)".
func (f Finding) String() string {
	what := f.Metric + " of class " + f.Class
	if f.Metric == "throughput" {
		what = "throughput " + f.Class
	}
	if f.Point != "" {
		what += " at " + f.Point
	}
	if f.Missing {
		return what + ": missing from the candidate"
	}
	if f.Metric == MetricSaturated || f.Metric == MetricServed {
		what := f.Metric
		if f.Point != "" {
			what += " at " + f.Point
		}
		return what + ": " + f.Note
	}
	return fmt.Sprintf("%s: %s -> %s (%s, tolerance %s)", what, fmtValue(f.Baseline), fmtValue(f.Candidate),
		FormatChange(f.Change), strconv.FormatFloat(100*f.Tolerance, 'f', -1, 64)+" %")
}

func fmtValue(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

// FormatChange writes a relative change as a signed percentage ("+4.2 %").
func FormatChange(c float64) string {
	if math.IsInf(c, 1) {
		return "+inf"
	}
	return fmt.Sprintf("%+.1f %%", 100*c)
}

// PointKey writes a point's values as "k1=v1,k2=v2", keys sorted; "" for
// no point. Compare matches baseline and candidate results by it.
func PointKey(p map[string]float64) string {
	keys := slices.Sorted(maps.Keys(p))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.FormatFloat(p[k], 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}

// Compare compares candidate results with baseline ones, each pair matched
// by point (a single run outside a sweep has no point and matches another
// such run), and returns a finding for each metric with a tolerance: for
// every latency class of the baseline with requests (count > 0), each
// latency field in tol, and with "throughput" in tol every throughput key
// of the baseline. Findings come in baseline order; at each point first
// MetricServed and MetricSaturated when they apply, then latency classes
// sorted and fields in ToleranceKeys order, then throughput keys sorted.
//
// Two findings no tolerance controls come first at a point:
//   - MetricServed, regressed, when the candidate served nothing (no
//     latency class with a completed request, every throughput 0) and
//     the baseline served something: its latencies would otherwise read
//     as fast, or be skipped;
//   - MetricSaturated when either result is Saturated: regressed when
//     only the candidate is, whatever its percentiles say (those of a
//     saturated run describe a load it could not serve, and its
//     unfinished requests count only with their age, a lower bound);
//     not regressed when only the baseline is, or both are (then both
//     sets of percentiles are lower bounds, compared as usual).
//
// The results' Host and policy play no part: comparing a policy of one's
// own with a reference policy is a use. Machine and workload must agree
// at each point: results of another machine or workload are not a
// baseline, and comparing them is an error.
//
// It is an error when a point appears twice in either list, or when the
// two lists do not hold the same points.
func Compare(base, cand []*Result, tol Tolerances) ([]Finding, error) {
	if len(base) == 0 || len(cand) == 0 {
		return nil, errors.New("nothing to compare: no baseline or no candidate results")
	}
	bi, err := indexPoints(base, "baseline")
	if err != nil {
		return nil, err
	}
	ci, err := indexPoints(cand, "candidate")
	if err != nil {
		return nil, err
	}
	var onlyBase, onlyCand []string
	for _, r := range base {
		if _, ok := ci[PointKey(r.Point)]; !ok {
			onlyBase = append(onlyBase, pointName(r.Point))
		}
	}
	for _, r := range cand {
		if _, ok := bi[PointKey(r.Point)]; !ok {
			onlyCand = append(onlyCand, pointName(r.Point))
		}
	}
	if len(onlyBase) > 0 || len(onlyCand) > 0 {
		var msg []string
		if len(onlyBase) > 0 {
			msg = append(msg, "only in the baseline: "+listSome(onlyBase))
		}
		if len(onlyCand) > 0 {
			msg = append(msg, "only in the candidate: "+listSome(onlyCand))
		}
		return nil, fmt.Errorf("baseline and candidate hold different points (%s)", strings.Join(msg, "; "))
	}

	for _, b := range base {
		c := ci[PointKey(b.Point)]
		var what []string
		if b.Machine != c.Machine {
			what = append(what, fmt.Sprintf("machine %q, candidate %q", b.Machine, c.Machine))
		}
		if b.Workload != c.Workload {
			what = append(what, fmt.Sprintf("workload %q, candidate %q", b.Workload, c.Workload))
		}
		if len(what) > 0 {
			return nil, fmt.Errorf("baseline and candidate are not the same experiment at %s: baseline %s; "+
				"compare a candidate with a baseline of its own machine and workload", pointName(b.Point), strings.Join(what, ", "))
		}
	}

	var out []Finding
	for _, b := range base {
		key := PointKey(b.Point)
		c := ci[key]
		if bn, cn := served(b), served(c); bn > 0 && cn == 0 {
			out = append(out, Finding{Point: key, Metric: MetricServed, Class: "requests", Baseline: float64(bn),
				Change: -1, Regressed: true,
				Note: fmt.Sprintf("the candidate completed no request in the window (the baseline %d): it served nothing", bn)})
		}
		if b.Saturated || c.Saturated {
			f := Finding{Point: key, Metric: MetricSaturated, Class: saturatedClasses(c, b)}
			if b.Saturated {
				f.Baseline = 1
			}
			if c.Saturated {
				f.Candidate = 1
			}
			switch {
			case !b.Saturated:
				f.Regressed, f.Change = true, math.Inf(1)
				f.Note = "the candidate did not keep up (its backlog grew: " + backlogText(c) + "), the baseline did: a regression whatever its percentiles say"
			case !c.Saturated:
				f.Change = -1
				f.Note = "the baseline did not keep up (" + backlogText(b) + "), the candidate does"
			default:
				f.Note = "neither kept up (baseline " + backlogText(b) + "; candidate " + backlogText(c) + "): both sets of percentiles are lower bounds"
			}
			out = append(out, f)
		}
		for _, class := range slices.Sorted(maps.Keys(b.Latency)) {
			bs := b.Latency[class]
			if bs.Count == 0 {
				continue
			}
			cs, ok := c.Latency[class]
			for _, m := range ToleranceKeys {
				t, has := tol[m]
				if !has || m == "throughput" {
					continue
				}
				f := Finding{Point: key, Metric: m, Class: class, Tolerance: t, Baseline: latencyField(bs, m)}
				if !ok {
					f.Missing, f.Regressed = true, true
				} else {
					f.Candidate = latencyField(cs, m)
					f.Change = change(f.Baseline, f.Candidate)
					f.Regressed = f.Candidate > f.Baseline*(1+t)
				}
				out = append(out, f)
			}
		}
		if t, has := tol["throughput"]; has {
			for _, k := range slices.Sorted(maps.Keys(b.Throughput)) {
				f := Finding{Point: key, Metric: "throughput", Class: k, Tolerance: t, Baseline: b.Throughput[k]}
				if v, ok := c.Throughput[k]; !ok {
					f.Missing, f.Regressed = true, true
				} else {
					f.Candidate = v
					f.Change = change(f.Baseline, f.Candidate)
					f.Regressed = f.Candidate < f.Baseline*(1-t)
				}
				out = append(out, f)
			}
		}
	}
	return out, nil
}

// Regressions returns the findings that regressed.
func Regressions(fs []Finding) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Regressed {
			out = append(out, f)
		}
	}
	return out
}

func indexPoints(rs []*Result, which string) (map[string]*Result, error) {
	idx := make(map[string]*Result, len(rs))
	for _, r := range rs {
		k := PointKey(r.Point)
		if _, dup := idx[k]; dup {
			return nil, fmt.Errorf("the %s holds point %s twice", which, pointName(r.Point))
		}
		idx[k] = r
	}
	return idx, nil
}

// pointName writes a point for an error message: {load=50000}, or {} for
// a run outside a sweep.
func pointName(p map[string]float64) string {
	if len(p) == 0 {
		return "{} (no point)"
	}
	return "{" + PointKey(p) + "}"
}

func listSome(s []string) string {
	const most = 3
	if len(s) <= most {
		return strings.Join(s, " ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(s[:most], " "), len(s)-most)
}

func change(base, cand float64) float64 {
	switch {
	case base == cand:
		return 0
	case base == 0:
		return math.Inf(1)
	}
	return cand/base - 1
}

// served returns the most requests any latency class of r completed in
// the window (count − incomplete), or 1 when r has none but some
// throughput is positive.
func served(r *Result) int64 {
	var n int64
	for _, s := range r.Latency {
		n = max(n, s.Count-s.Incomplete)
	}
	if n == 0 {
		for _, v := range r.Throughput {
			if v > 0 {
				return 1
			}
		}
	}
	return n
}

// saturatedClasses names the classes of the first of rs that is
// saturated, sorted and comma-separated.
func saturatedClasses(rs ...*Result) string {
	for _, r := range rs {
		var cl []string
		for _, k := range slices.Sorted(maps.Keys(r.Backlog)) {
			if Saturated(r.Backlog[k]) {
				cl = append(cl, k)
			}
		}
		if len(cl) > 0 {
			return strings.Join(cl, ",")
		}
	}
	return "-"
}

// backlogText describes r's saturated classes' backlogs: "class all: in
// flight 3697 -> 10906, 7521 arrived, 312 completed".
func backlogText(r *Result) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(r.Backlog)) {
		if b := r.Backlog[k]; Saturated(b) {
			parts = append(parts, fmt.Sprintf("class %s in flight %d -> %d, %d arrived, %d completed", k, b.InFlightStart, b.InFlightEnd, b.Arrived, b.Completed))
		}
	}
	if len(parts) == 0 {
		return "saturated"
	}
	return strings.Join(parts, "; ")
}

// latencyField returns the statistic of s named m ("p99"), one of
// ToleranceKeys other than throughput.
func latencyField(s sim.Summary, m string) float64 {
	v, ok := s.Stat(m)
	if !ok {
		panic("results: no latency field " + m)
	}
	return v
}

// DecodeAll parses results written by ghostsim: one JSON object (one line
// of -json, or -out's indented result.json) or several, one per line as a
// sweep prints them. Each must carry this version's schema, a machine, a
// workload and a measured window (sim_time_ns > 0): a file holding only a
// schema field is not a result.
func DecodeAll(data []byte) ([]*Result, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var out []*Result
	for n := 1; ; n++ {
		r := New()
		r.Schema = "" // must come from the input
		err := dec.Decode(r)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("result %d: not a ghostsim result: %v", n, err)
		}
		if r.Schema != Schema {
			return nil, fmt.Errorf("result %d: not a ghostsim result: schema %q, want %q", n, r.Schema, Schema)
		}
		var missing []string
		if r.Machine == "" {
			missing = append(missing, "machine")
		}
		if r.Workload == "" {
			missing = append(missing, "workload")
		}
		if r.SimTimeNs <= 0 {
			missing = append(missing, "sim_time_ns")
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("result %d: not a complete ghostsim result: no %s", n, strings.Join(missing, ", no "))
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, errors.New("no results (empty input)")
	}
	return out, nil
}

// MaxFileBytes is the largest results file ReadFile reads: a result is
// about 3 KB of JSON, so 64 MiB holds a sweep of some 20,000 points.
const MaxFileBytes = 64 << 20

// ReadFile reads the results in the file at path (DecodeAll); errors name
// the file.
// A file larger than MaxFileBytes is refused without reading it all, so
// an endless file such as /dev/zero cannot hang or fill memory.
func ReadFile(path string) ([]*Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes (%d MiB), the limit for a results file", path, MaxFileBytes, MaxFileBytes>>20)
	}
	rs, err := DecodeAll(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rs, nil
}
