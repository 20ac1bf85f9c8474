package synthetic_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ghostsim/ghostsim/configs"
	"github.com/ghostsim/ghostsim/experiment"
	"github.com/ghostsim/ghostsim/results"
)

// run loads files (a machine first) and runs the synthetic workload.
func run(t *testing.T, files []string, sets ...string) (*results.Result, error) {
	t.Helper()
	spec, meta, err := experiment.Load(files, sets)
	if err != nil {
		return nil, err
	}
	r, err := experiment.Run(spec, experiment.Options{Workload: "synthetic", Check: true})
	return r, meta.Wrap(err)
}

func TestExamplesRun(t *testing.T) {
	for _, ex := range []string{"synthetic-requests", "synthetic-hog", "synthetic-periodic"} {
		t.Run(ex, func(t *testing.T) {
			r, err := run(t, []string{"skylake112", ex}, "run.duration_ms=50", "run.warmup_ms=5")
			if err != nil {
				t.Fatal(err)
			}
			if r.Events == 0 || r.CPU.Utilization <= 0 {
				t.Errorf("nothing happened: %d events, utilization %v", r.Events, r.CPU.Utilization)
			}
		})
	}
}

// TestRequestAccounting: every request is accounted for, and the server
// keeps up with an offered load below capacity.
func TestRequestAccounting(t *testing.T) {
	r, err := run(t, []string{"skylake112", "synthetic-requests"})
	if err != nil {
		t.Fatal(err)
	}
	gen, done, fly := r.Metrics["requests_generated"], r.Metrics["requests_completed"], r.Metrics["requests_in_flight"]
	if gen != done+fly || gen == 0 || fly < 0 {
		t.Errorf("generated %v, completed %v, in flight %v", gen, done, fly)
	}
	// 100k/s offered; the window is 200 ms.
	if tp := r.Throughput["requests_per_s"]; math.Abs(tp-100000)/100000 > 0.05 {
		t.Errorf("throughput %v/s, offered 100000/s", tp)
	}
	if l := r.Latency["server"]; l.Count == 0 || l.P50 < 50000/2 || l.P99 < l.P50 {
		t.Errorf("server latency %+v", l)
	}
}

// TestHogShares: nice 0 and nice 19 hogs on the same CPUs split them by
// weight, 1024:15.
func TestHogShares(t *testing.T) {
	r, err := run(t, []string{"skylake112", "synthetic-hog"}, "run.duration_ms=2000")
	if err != nil {
		t.Fatal(err)
	}
	normal, batch := r.CPU.Share["normal"], r.CPU.Share["batch"]
	got := batch / (normal + batch)
	want := 15.0 / 1039
	if math.Abs(got-want)/want > 0.05 {
		t.Errorf("batch share of the hogs' CPU time %.5f, want %.5f (weights 15 vs 1024)", got, want)
	}
}

// TestBadSyntheticConfigs: mistakes in [[workload.group]] are reported
// with file, line and key.
func TestBadSyntheticConfigs(t *testing.T) {
	tests := []struct {
		name, toml, want string
	}{
		{"unknown program", "[[workload.group]]\nname = \"a\"\nthreads = 1\nprogram = \"spin\"\n",
			"bad.toml:4: workload.group[0].program: unknown program \"spin\""},
		{"negative rate", "[[workload.group]]\nname = \"a\"\nthreads = 1\nprogram = \"requests\"\narrival = {dist = \"exponential\", rate_per_s = -5}\nservice = {dist = \"constant\", mean_us = 3}\n",
			"bad.toml:5: workload.group[0].arrival.rate_per_s: must be > 0, got -5"},
		{"affinity outside the machine", "[[workload.group]]\nname = \"a\"\nthreads = 1\nprogram = \"hog\"\n\n[[workload.group]]\nname = \"b\"\nthreads = 2\ncpus = \"100-120\"\nprogram = \"hog\"\n",
			"bad.toml:9: workload.group[1].cpus: CPU list \"100-120\" names CPU 120, but the machine has CPUs 0-111"},
		{"unknown key", "[[workload.group]]\nname = \"a\"\nthreds = 1\nprogram = \"hog\"\n",
			"bad.toml:3: workload.group[0].threds"},
		{"microquanta bandwidth", "[[workload.group]]\nname = \"a\"\nthreads = 1\nclass = \"microquanta\"\nmq_runtime_us = 2000\nmq_period_us = 1000\nprogram = \"hog\"\n",
			"bad.toml:5: workload.group[0].mq_runtime_us: must be at most mq_period_us"},
		{"no groups", "[run]\nduration_ms = 5\n",
			"workload.group: the synthetic workload needs at least one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.toml")
			if err := os.WriteFile(path, []byte(tt.toml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := run(t, []string{"skylake112", path})
			if err == nil {
				t.Fatal("no error")
			}
			msg := strings.ReplaceAll(err.Error(), filepath.Dir(path)+string(filepath.Separator), "")
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error:\n  %s\nwant it to contain:\n  %s", msg, tt.want)
			}
			var ce *configs.Error
			if tt.name != "no groups" && !errors.As(err, &ce) {
				t.Errorf("error is not a located *configs.Error: %T", err)
			}
		})
	}
}

// TestOverloadCountsEveryRequest is issue 14's example at test size:
// `ghostsim -config rome256 -config synthetic-requests.toml -workload
// synthetic` with 512 request threads (on the config's 8 CPUs) offered
// 3.8 M requests/s of 50 µs. The warm-up's backlog is ahead of every
// request of the window, so none of them completes: they all count, with
// their age at the end (incomplete), and the result is saturated. Before,
// the latency had no requests and p99 read 0.
func TestOverloadCountsEveryRequest(t *testing.T) {
	r, err := run(t, []string{"rome256", "synthetic-requests"}, "workload.group[0].threads=512",
		"workload.group[0].arrival.rate_per_s=3800000", "workload.group[0].service.mean_us=50",
		"run.warmup_ms=1", "run.duration_ms=2")
	if err != nil {
		t.Fatal(err)
	}
	all, b := r.Latency["all"], r.Backlog["all"]
	t.Logf("latency all %+v; backlog %+v", all, b)
	if all.Count == 0 || all.Count != b.Arrived {
		t.Errorf("latency counts %d requests, %d arrived in the window: every one must count", all.Count, b.Arrived)
	}
	if all.Incomplete == 0 || all.Incomplete > all.Count {
		t.Errorf("%d incomplete of %d", all.Incomplete, all.Count)
	}
	// The requests of the window are up to 2 ms old at its end; the
	// median is about 1 ms.
	if all.P99 < 1_500_000 || all.P50 < 500_000 {
		t.Errorf("p50 %d ns, p99 %d ns: want the ages of requests waiting up to 2 ms", all.P50, all.P99)
	}
	if b.InFlightEnd != b.InFlightStart+b.Arrived-b.Completed || b.InFlightEnd <= b.InFlightStart {
		t.Errorf("backlog %+v: want it adding up and growing", b)
	}
	if !r.Saturated {
		t.Error("saturated = false with the backlog growing by most of the arrivals")
	}
}

// TestUnderCapacityNotSaturated: a load the servers keep up with (half
// their capacity, and 90 %) is not saturated, and few of its requests are
// in flight at the end.
func TestUnderCapacityNotSaturated(t *testing.T) {
	for _, rate := range []string{"80000", "144000"} { // 8 CPUs × 20k/s of 50 µs = 160k/s
		r, err := run(t, []string{"skylake112", "synthetic-requests"}, "workload.group[0].arrival.rate_per_s="+rate,
			"run.duration_ms=50", "run.warmup_ms=10")
		if err != nil {
			t.Fatal(err)
		}
		if all := r.Latency["all"]; r.Saturated || all.Incomplete > 100 {
			t.Errorf("rate %s/s: saturated %v, %d incomplete of %d; backlog %+v", rate, r.Saturated, all.Incomplete, all.Count, r.Backlog["all"])
		}
	}
}
