package results_test

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ghostsim/ghostsim/results"
	"github.com/ghostsim/ghostsim/sim"
)

// result builds a result with one latency class "all" and requests_per_s,
// at point p (nil for none).
func result(p map[string]float64, p50, p99, p999 int64, rps float64) *results.Result {
	r := results.New()
	r.Machine, r.Workload, r.SimTimeNs = "skylake112", "synthetic", 1e8
	r.Point = p
	r.Latency["all"] = sim.Summary{Count: 1000, Mean: float64(p50), P50: p50, P90: p99 / 2, P99: p99, P999: p999, P9999: p999, Max: p999}
	r.Throughput["requests_per_s"] = rps
	return r
}

func load(v float64) map[string]float64 { return map[string]float64{"load": v} }

// empty is a result of the same experiment as result's with nothing
// measured.
func empty() *results.Result {
	r := results.New()
	r.Machine, r.Workload, r.SimTimeNs = "skylake112", "synthetic", 1e8
	return r
}

// saturated marks r saturated, with a backlog of class "all" that is.
func saturated(r *results.Result) *results.Result {
	r.Saturated = true
	r.Backlog["all"] = sim.Backlog{Arrived: 10000, Completed: 5000, InFlightStart: 100, InFlightEnd: 5100}
	return r
}

// servedNothing makes every request of r's classes incomplete.
func servedNothing(r *results.Result) *results.Result {
	for k, s := range r.Latency {
		s.Incomplete = s.Count
		r.Latency[k] = s
	}
	return r
}

// status is the short form of findings that a test states: "p99 all +10.0 % REGRESSED".
func status(fs []results.Finding) []string {
	var out []string
	for _, f := range fs {
		s := "ok"
		switch {
		case f.Missing:
			s = "MISSING"
		case f.Regressed:
			s = "REGRESSED"
		}
		pt := ""
		if f.Point != "" {
			pt = " @" + f.Point
		}
		out = append(out, fmt.Sprintf("%s %s%s %s %s", f.Metric, f.Class, pt, results.FormatChange(f.Change), s))
	}
	return out
}

func TestCompare(t *testing.T) {
	def := results.DefaultTolerances()
	tests := []struct {
		name       string
		base, cand []*results.Result
		tol        results.Tolerances
		want       []string
	}{
		{
			name: "identical",
			base: []*results.Result{result(nil, 100, 1000, 2000, 1e5)},
			cand: []*results.Result{result(nil, 100, 1000, 2000, 1e5)},
			tol:  def,
			want: []string{"p99 all +0.0 % ok", "p99.9 all +0.0 % ok", "throughput requests_per_s +0.0 % ok"},
		},
		{
			name: "within tolerance",
			base: []*results.Result{result(nil, 100, 1000, 2000, 1e5)},
			cand: []*results.Result{result(nil, 500, 1050, 2200, 0.95e5)},
			tol:  def,
			want: []string{"p99 all +5.0 % ok", "p99.9 all +10.0 % ok", "throughput requests_per_s -5.0 % ok"},
		},
		{
			name: "regression",
			base: []*results.Result{result(nil, 100, 1000, 2000, 1e5)},
			cand: []*results.Result{result(nil, 100, 1051, 2000, 0.94e5)},
			tol:  def,
			want: []string{"p99 all +5.1 % REGRESSED", "p99.9 all +0.0 % ok", "throughput requests_per_s -6.0 % REGRESSED"},
		},
		{
			name: "improvement is no regression",
			base: []*results.Result{result(nil, 100, 1000, 2000, 1e5)},
			cand: []*results.Result{result(nil, 50, 500, 900, 2e5)},
			tol:  def,
			want: []string{"p99 all -50.0 % ok", "p99.9 all -55.0 % ok", "throughput requests_per_s +100.0 % ok"},
		},
		{
			name: "only the tolerances given",
			base: []*results.Result{result(nil, 100, 1000, 2000, 1e5)},
			cand: []*results.Result{result(nil, 120, 9000, 9000, 1)},
			tol:  results.Tolerances{"p50": 0.1},
			want: []string{"p50 all +20.0 % REGRESSED"},
		},
		{
			name: "sweep matched by point, not by order",
			base: []*results.Result{result(load(1), 100, 1000, 2000, 1e5), result(load(2), 100, 2000, 4000, 2e5)},
			cand: []*results.Result{result(load(2), 100, 2400, 4000, 2e5), result(load(1), 100, 1000, 2000, 1e5)},
			tol:  results.Tolerances{"p99": 0.05},
			want: []string{"p99 all @load=1 +0.0 % ok", "p99 all @load=2 +20.0 % REGRESSED"},
		},
		{
			name: "missing class",
			base: []*results.Result{result(nil, 100, 1000, 2000, 1e5)},
			cand: []*results.Result{empty()},
			tol:  def,
			want: []string{"served requests -100.0 % REGRESSED", "p99 all +0.0 % MISSING", "p99.9 all +0.0 % MISSING", "throughput requests_per_s +0.0 % MISSING"},
		},
		{
			// Issue 14: a saturated candidate is a regression whatever
			// its percentiles say.
			name: "saturated candidate, unsaturated baseline",
			base: []*results.Result{result(nil, 100, 1000, 2000, 1e5)},
			cand: []*results.Result{saturated(result(nil, 50, 500, 900, 1e5))},
			tol:  def,
			want: []string{"saturated all +inf REGRESSED", "p99 all -50.0 % ok", "p99.9 all -55.0 % ok", "throughput requests_per_s +0.0 % ok"},
		},
		{
			name: "saturated baseline, unsaturated candidate",
			base: []*results.Result{saturated(result(nil, 100, 1000, 2000, 1e5))},
			cand: []*results.Result{result(nil, 100, 1000, 2000, 1e5)},
			tol:  results.Tolerances{"p99": 0.05},
			want: []string{"saturated all -100.0 % ok", "p99 all +0.0 % ok"},
		},
		{
			name: "both saturated: percentiles compared",
			base: []*results.Result{saturated(result(nil, 100, 1000, 2000, 1e5))},
			cand: []*results.Result{saturated(result(nil, 100, 2000, 2000, 1e5))},
			tol:  results.Tolerances{"p99": 0.05},
			want: []string{"saturated all +0.0 % ok", "p99 all +100.0 % REGRESSED"},
		},
		{
			// Issue 14: a candidate whose requests all stayed
			// unfinished has small percentiles (ages) and used to pass
			// with throughput off.
			name: "candidate that served nothing",
			base: []*results.Result{result(nil, 100, 1000, 2000, 1e5)},
			cand: []*results.Result{servedNothing(result(nil, 10, 100, 200, 0))},
			tol:  results.Tolerances{"p99": 0.05},
			want: []string{"served requests -100.0 % REGRESSED", "p99 all -90.0 % ok"},
		},
		{
			name: "class without requests is skipped",
			base: []*results.Result{empty()},
			cand: []*results.Result{result(nil, 100, 1000, 2000, 1e5)},
			tol:  def,
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := results.Compare(tt.base, tt.cand, tt.tol)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, status(fs)); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if n, want := len(results.Regressions(fs)), strings.Count(strings.Join(tt.want, "\n"), "REGRESSED")+strings.Count(strings.Join(tt.want, "\n"), "MISSING"); n != want {
				t.Errorf("Regressions: %d, want %d", n, want)
			}
		})
	}
}

func TestCompareMismatchedPoints(t *testing.T) {
	one := func(p map[string]float64) *results.Result { return result(p, 1, 1, 1, 1) }
	tests := []struct {
		name       string
		base, cand []*results.Result
		want       string
	}{
		{"missing point", []*results.Result{one(load(1)), one(load(2))}, []*results.Result{one(load(1))}, "only in the baseline: {load=2}"},
		{"extra point", []*results.Result{one(load(1))}, []*results.Result{one(load(1)), one(load(3))}, "only in the candidate: {load=3}"},
		{"sweep against a single run", []*results.Result{one(load(1))}, []*results.Result{one(nil)}, "only in the candidate: {} (no point)"},
		{"other key", []*results.Result{one(load(1))}, []*results.Result{one(map[string]float64{"threads": 1})}, "{threads=1}"},
		{"duplicate", []*results.Result{one(load(1)), one(load(1))}, []*results.Result{one(load(1))}, "baseline holds point {load=1} twice"},
		{"empty", nil, []*results.Result{one(nil)}, "nothing to compare"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := results.Compare(tt.base, tt.cand, results.DefaultTolerances())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestParseTolerances(t *testing.T) {
	tests := []struct {
		in      string
		want    results.Tolerances
		wantErr string
	}{
		{"", results.DefaultTolerances(), ""},
		{"p99=10%", results.Tolerances{"p99": 0.10, "p99.9": 0.10, "throughput": 0.05}, ""},
		{"p50=2.5%, max=100%,throughput=0%", results.Tolerances{"p50": 0.025, "p99": 0.05, "p99.9": 0.10, "max": 1, "throughput": 0}, ""},
		{"p99.9=off,throughput=off", results.Tolerances{"p99": 0.05}, ""},
		{"p99.99=1%,mean=3%,p90=4%", results.Tolerances{"mean": 0.03, "p90": 0.04, "p99": 0.05, "p99.9": 0.10, "p99.99": 0.01, "throughput": 0.05}, ""},
		{"p98=5%", nil, `unknown metric "p98"`},
		{"p99", nil, "want METRIC=PERCENT"},
		{"p99=5", nil, "want a percentage"},
		{"p99=-5%", nil, "want a percentage"},
		{"p99=five%", nil, "want a percentage"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := results.ParseTolerances(tt.in, results.DefaultTolerances())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-12 })); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	// String writes what ParseTolerances reads.
	tol := results.Tolerances{"p50": 0.025, "throughput": 0.02}
	if s := tol.String(); s != "p50=2.5%,throughput=2%" {
		t.Errorf("String() = %q", s)
	}
	if back, err := results.ParseTolerances(tol.String(), nil); err != nil || !cmp.Equal(back, tol) {
		t.Errorf("round trip: %v, %v", back, err)
	}
	// The default is not changed by parsing over it.
	if d := results.DefaultTolerances(); d["p99"] != 0.05 {
		t.Errorf("DefaultTolerances changed: %v", d)
	}
}

func TestDecodeAll(t *testing.T) {
	a, _ := result(load(1), 1, 2, 3, 4).JSON()
	b, _ := result(load(2), 1, 2, 3, 4).JSON()
	tests := []struct {
		name    string
		in      string
		n       int
		wantErr string
	}{
		{"one line", string(a) + "\n", 1, ""},
		{"json lines", string(a) + "\n" + string(b) + "\n", 2, ""},
		{"indented", "{\n  \"schema\": \"ghostsim.result/v1\",\n  \"machine\": \"m\",\n  \"workload\": \"w\",\n  \"sim_time_ns\": 5\n}\n", 1, ""},
		// Issue 14: a file holding only a schema field is no result.
		{"schema only", `{"schema": "ghostsim.result/v1"}`, 0, "result 1: not a complete ghostsim result: no machine, no workload, no sim_time_ns"},
		{"empty", "", 0, "no results"},
		{"not json", "hello", 0, "result 1: not a ghostsim result"},
		{"other json", `{"name": "x"}`, 0, `schema ""`},
		{"second bad", string(a) + "\n[1,2]\n", 0, "result 2: not a ghostsim result"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := results.DecodeAll([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(rs) != tt.n {
				t.Fatalf("got %d results, %v; want %d", len(rs), err, tt.n)
			}
		})
	}
}

// ExampleCompare compares a candidate run with its baseline under the
// default tolerances and prints what regressed.
func ExampleCompare() {
	base := results.New()
	base.Latency["all"] = sim.Summary{Count: 10000, P99: 240000, P999: 350000}
	base.Throughput["requests_per_s"] = 100000

	cand := results.New()
	cand.Latency["all"] = sim.Summary{Count: 10000, P99: 300000, P999: 360000}
	cand.Throughput["requests_per_s"] = 99000

	findings, err := results.Compare([]*results.Result{base}, []*results.Result{cand}, results.DefaultTolerances())
	if err != nil {
		panic(err)
	}
	for _, f := range results.Regressions(findings) {
		fmt.Println(f)
	}
	// Output:
	// p99 of class all: 240000 -> 300000 (+25.0 %, tolerance 5 %)
}

// TestReadFileSizeLimit: a results file over MaxFileBytes, or an endless
// one such as /dev/zero, is refused after reading at most the limit.
func TestReadFileSizeLimit(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	_, err := results.ReadFile("/dev/zero")
	want := "/dev/zero: larger than 67108864 bytes (64 MiB), the limit for a results file"
	if err == nil || err.Error() != want {
		t.Errorf("ReadFile(/dev/zero) = %v, want %q", err, want)
	}
}

// TestCompareDifferentExperiments: results of another machine or workload
// are refused (issue 14: they used to compare).
func TestCompareDifferentExperiments(t *testing.T) {
	base := result(load(1), 100, 1000, 2000, 1e5)
	for _, tt := range []struct {
		change func(*results.Result)
		want   string
	}{
		{func(r *results.Result) { r.Machine = "rome256" }, `machine "skylake112", candidate "rome256"`},
		{func(r *results.Result) { r.Workload = "rocksdb" }, `workload "synthetic", candidate "rocksdb"`},
		{func(r *results.Result) { r.Policy = "mine" }, ""}, // another policy is a use
	} {
		cand := result(load(1), 100, 1000, 2000, 1e5)
		tt.change(cand)
		_, err := results.Compare([]*results.Result{base}, []*results.Result{cand}, results.DefaultTolerances())
		if tt.want == "" {
			if err != nil {
				t.Errorf("%+v: %v", cand, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "{load=1}") {
			t.Errorf("error %v, want one naming %s at {load=1}", err, tt.want)
		}
	}
}

// TestSaturated pins the definition: growth of the in-flight count over
// the window beyond 1 % of arrivals, beyond three standard deviations of
// its own noise, and beyond a closed loop's clients.
func TestSaturated(t *testing.T) {
	for _, tt := range []struct {
		b    sim.Backlog
		want bool
	}{
		{sim.Backlog{}, false},
		{sim.Backlog{Arrived: 7521, Completed: 312, InFlightStart: 3697, InFlightEnd: 10906}, true},           // issue 14's example, small
		{sim.Backlog{Arrived: 32214, Completed: 31905, InFlightStart: 111, InFlightEnd: 420}, false},          // at capacity: 309 < 322
		{sim.Backlog{Arrived: 10000, Completed: 9899, InFlightStart: 0, InFlightEnd: 101}, true},              // 101 > 100 and > 3·√101
		{sim.Backlog{Arrived: 10000, Completed: 9900, InFlightStart: 0, InFlightEnd: 100}, false},             // exactly 1 %
		{sim.Backlog{Arrived: 100, Completed: 80, InFlightStart: 30, InFlightEnd: 50}, false},                 // 20 < 3·√80 ≈ 26.8: noise
		{sim.Backlog{Arrived: 1000, Completed: 900, InFlightStart: 0, InFlightEnd: 100, Clients: 100}, false}, // a closed loop
		{sim.Backlog{Arrived: 1000, Completed: 1100, InFlightStart: 200, InFlightEnd: 100}, false},            // shrinking
	} {
		if got := results.Saturated(tt.b); got != tt.want {
			t.Errorf("Saturated(%+v) = %v, want %v", tt.b, got, tt.want)
		}
	}
}
