package cli

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ghostsim/ghostsim/results"
)

// sweepArgs is a small sweep: 3 loads × 2 thread counts of the synthetic
// request server, 10 ms each.
var sweepArgs = []string{"-config", "skylake112", "-config", "synthetic-requests.toml", "-workload", "synthetic",
	"-duration", "10ms", "-set", "run.warmup_ms=5", "-q",
	"-sweep", "load=40000:120000:40000", "-sweep", "workload.group[0].threads=4,8"}

// jsonLines runs args in-process and decodes every stdout line.
func jsonLines(t *testing.T, args ...string) (rs []*results.Result, stdout string) {
	t.Helper()
	code, stdout, stderr := ghostsim(t, args...)
	if code != exitOK {
		t.Fatalf("ghostsim %s: exit %d\n%s", commandLine(args), code, stderr)
	}
	for _, line := range strings.SplitAfter(stdout, "\n") {
		if line != "" {
			rs = append(rs, decodeLine(t, line))
		}
	}
	return rs, stdout
}

// TestSweep checks the points of a -sweep cross product: first flag
// outermost, keyed by the names given, each the same result as a single
// run with the values as -set overrides; and that -j does not change a
// byte of the output apart from host.
func TestSweep(t *testing.T) {
	rs, _ := jsonLines(t, append(sweepArgs, "-json", "-j", "1")...)
	var got []map[string]float64
	for _, r := range rs {
		got = append(got, r.Point)
	}
	th := "workload.group[0].threads"
	want := []map[string]float64{
		{"load": 40000, th: 4}, {"load": 40000, th: 8},
		{"load": 80000, th: 4}, {"load": 80000, th: 8},
		{"load": 120000, th: 4}, {"load": 120000, th: 8},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("points (-want +got):\n%s", diff)
	}

	for _, j := range []string{"2", "4"} {
		par, _ := jsonLines(t, append(sweepArgs, "-json", "-j", j)...)
		if len(par) != len(rs) {
			t.Fatalf("-j %s: %d results, want %d", j, len(par), len(rs))
		}
		for i := range rs {
			if diff := cmp.Diff(deterministic(t, rs[i]), deterministic(t, par[i])); diff != "" {
				t.Errorf("-j %s, point %d differs from -j 1 (-j1 +j%s):\n%s", j, i, j, diff)
			}
		}
	}

	// The point load=80000, threads=8 is the single run with those -set
	// overrides (its point aside).
	single := jsonResult(t, "-config", "skylake112", "-config", "synthetic-requests.toml", "-workload", "synthetic",
		"-duration", "10ms", "-set", "run.warmup_ms=5", "-q",
		"-set", "workload.group[0].arrival.rate_per_s=80000", "-set", "workload.group[0].threads=8")
	p := rs[3].Deterministic()
	p.Point, p.Sweep = nil, nil
	if diff := cmp.Diff(deterministic(t, single), deterministic(t, p)); diff != "" {
		t.Errorf("sweep point differs from the single run (-single +point):\n%s", diff)
	}
	if rs[0].Latency["all"].Count == 0 || rs[0].Throughput["requests_per_s"] == 0 {
		t.Errorf("first point has no requests: %+v", rs[0])
	}
}

// TestSweepTableAndOut checks the table printed without -json and the
// files -out writes.
func TestSweepTableAndOut(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sweep")
	code, stdout, stderr := ghostsim(t, append(sweepArgs, "-j", "2", "-out", dir)...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	if len(lines) != 7 {
		t.Fatalf("table has %d lines, want a header and 6 rows:\n%s", len(lines), stdout)
	}
	for _, w := range []string{"load", "workload.group[0].threads", "requests/s", "p50 µs", "p99 µs", "p99.9 µs", "share server"} {
		if !strings.Contains(lines[0], w) {
			t.Errorf("table header lacks %q:\n%s", w, lines[0])
		}
	}
	if f := strings.Fields(lines[3]); len(f) < 2 || f[0] != "80000" || f[1] != "4" {
		t.Errorf("third row %q, want load 80000 and 4 threads", lines[3])
	}

	jl, err := os.ReadFile(filepath.Join(dir, "results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := results.DecodeAll(jl)
	if err != nil || len(rs) != 6 {
		t.Fatalf("results.jsonl: %d results, %v; want 6", len(rs), err)
	}
	f, err := os.Open(filepath.Join(dir, "sweep.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("sweep.csv: %v", err)
	}
	if len(rows) != 7 {
		t.Fatalf("sweep.csv has %d rows, want a header and 6", len(rows))
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	if rows[0][0] != "load" || rows[0][1] != "workload.group[0].threads" {
		t.Errorf("sweep.csv starts with %q, want the point columns in -sweep order", rows[0][:2])
	}
	for _, h := range []string{"throughput.requests_per_s", "latency_ns.all.p50", "latency_ns.all.p99.9",
		"latency_ns.server.p99", "latency_ns.all.count", "cpu.utilization", "cpu.share.server", "metrics.requests_completed"} {
		if _, ok := col[h]; !ok {
			t.Errorf("sweep.csv lacks column %s: %q", h, rows[0])
		}
	}
	if got, want := rows[6][col["latency_ns.all.p99"]], formatInt(rs[5].Latency["all"].P99); got != want {
		t.Errorf("sweep.csv last p99 = %s, want %s", got, want)
	}
	if got := rows[6][col["load"]]; got != "120000" {
		t.Errorf("sweep.csv last load = %s, want 120000", got)
	}
	// The figure: p99 against the first axis, a line per value of the second.
	for _, f := range []string{"sweep.png", "sweep.svg"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v (size %v), want a figure", f, err, fi)
		}
	}
	if svg, err := os.ReadFile(filepath.Join(dir, "sweep.svg")); err != nil || !strings.Contains(string(svg), ">4 threads<") {
		t.Errorf("sweep.svg lacks the legend entry \"4 threads\" (err %v)", err)
	}
}

func formatInt(v int64) string { return plainNumber(float64(v)) }

// TestSweepOfSweepWorkload sweeps a key of a workload that is a sweep by
// itself: each -sweep value carries the workload's own points.
func TestSweepOfSweepWorkload(t *testing.T) {
	rs, _ := jsonLines(t, "-config", "haswell72", "-workload", "scalability", "-q", "-json",
		"-set", "workload.scalability.step=72", "-set", "workload.scalability.point_ms=2", "-set", "workload.scalability.warmup_ms=1",
		"-sweep", "workload.scalability.threads_per_cpu=1,2")
	var got []map[string]float64
	for _, r := range rs {
		got = append(got, r.Point)
		if r.Metrics["txns_per_s"] <= 0 {
			t.Errorf("point %v: txns_per_s %v", r.Point, r.Metrics["txns_per_s"])
		}
	}
	tpc := "workload.scalability.threads_per_cpu"
	want := []map[string]float64{{tpc: 1, "cpus": 2}, {tpc: 1, "cpus": 72}, {tpc: 2, "cpus": 2}, {tpc: 2, "cpus": 72}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("points (-want +got):\n%s", diff)
	}
}

func TestSweepErrors(t *testing.T) {
	base := []string{"-q", "-config", "skylake112", "-config", "synthetic-requests.toml", "-workload", "synthetic", "-duration", "10ms"}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"no value", []string{"-sweep", "load"}, []string{"-sweep load: ", "KEY=FROM:TO:STEP"}},
		{"short range", []string{"-sweep", "load=1:2"}, []string{"FROM:TO:STEP"}},
		{"zero step", []string{"-sweep", "load=1:5:0"}, []string{"STEP must be non-zero"}},
		{"wrong direction", []string{"-sweep", "load=5:1:1"}, []string{"STEP must be non-zero"}},
		{"not a number", []string{"-sweep", "load=1000,lots"}, []string{`"lots" is not a number`}},
		{"too many", []string{"-sweep", "load=1:1000000:1"}, []string{"at most"}},
		{"unknown alias", []string{"-sweep", "rate=1,2"}, []string{"-sweep rate=1,2: rate is neither a config key", "load = workload.group[0].arrival.rate_per_s"}},
		{"unknown key", []string{"-sweep", "run.nosuch=1,2"}, []string{"-sweep run.nosuch=1: run.nosuch: unknown key"}},
		{"invalid value", []string{"-sweep", "load=50000,-5"}, []string{"-sweep load=-5: workload.group[0].arrival.rate_per_s: must be > 0"}},
		{"bad index", []string{"-sweep", "workload.group[3].threads=1,2"}, []string{"-sweep workload.group[3].threads=1: workload.group[3]: index out of range"}},
		{"twice", []string{"-sweep", "load=1,2", "-sweep", "workload.group[0].arrival.rate_per_s=3"}, []string{"already swept by -sweep load"}},
		{"alias of another workload", []string{"-workload", "hold", "-sweep", "load=1,2"}, []string{"-sweep load=1,2: load is neither", "it defines none"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkUsageError(t, append(append([]string{}, base...), tt.args...), tt.want)
		})
	}
}

// TestSaturationShown: issue 14's overload shows in every output. Four
// threads of 50 µs requests serve 80k/s: at 40k/s the point keeps up, at
// 400k/s it does not. The table marks the saturated point and its
// percentiles as lower bounds, the CSVs carry saturated, incomplete and
// the backlog, the figure rings the point, and the summary says so.
func TestSaturationShown(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sweep")
	args := []string{"-config", "skylake112", "-config", "synthetic-requests.toml", "-workload", "synthetic",
		"-duration", "10ms", "-set", "run.warmup_ms=5", "-set", "workload.group[0].threads=4", "-q"}
	code, stdout, stderr := ghostsim(t, append(args, "-sweep", "load=40000,400000", "-out", dir)...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("table:\n%s", stdout)
	}
	for _, w := range []string{"incomplete", "saturated"} {
		if !strings.Contains(lines[0], w) {
			t.Errorf("table header lacks %q:\n%s", w, lines[0])
		}
	}
	if !slices.Contains(strings.Fields(lines[1]), "no") {
		t.Errorf("row at 40k/s %q: want saturated no", lines[1])
	}
	if !strings.Contains(lines[2], "YES") || !strings.Contains(lines[2], "≥") || strings.Contains(lines[1], "≥") {
		t.Errorf("rows %q, %q: want the 400k/s one saturated with ≥ percentiles, the 40k/s one not", lines[1], lines[2])
	}

	f, err := os.Open(filepath.Join(dir, "sweep.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("sweep.csv: %d rows, %v", len(rows), err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, h := range []string{"saturated", "latency_ns.all.incomplete", "backlog.all.arrived", "backlog.all.in_flight_start", "backlog.all.in_flight_end"} {
		if _, ok := col[h]; !ok {
			t.Errorf("sweep.csv lacks column %s: %q", h, rows[0])
		}
	}
	if a, b := rows[1][col["saturated"]], rows[2][col["saturated"]]; a != "0" || b != "1" {
		t.Errorf("sweep.csv saturated %s, %s; want 0, 1", a, b)
	}
	if n := rows[2][col["latency_ns.all.incomplete"]]; n == "0" || n == "" {
		t.Errorf("sweep.csv: %q incomplete at 400k/s", n)
	}
	if svg, err := os.ReadFile(filepath.Join(dir, "sweep.svg")); err != nil || !strings.Contains(string(svg), "saturated: a lower bound") {
		t.Errorf("sweep.svg lacks the saturated legend entry (err %v)", err)
	}

	one := filepath.Join(t.TempDir(), "one")
	code, stdout, stderr = ghostsim(t, append(args, "-set", "workload.group[0].arrival.rate_per_s=400000", "-out", one)...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, w := range []string{"YES, the backlog grew over the window (class all in flight", "incomplete", "SATURATED: the system did not keep up"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("summary lacks %q:\n%s", w, stdout)
		}
	}
	data, err := os.ReadFile(filepath.Join(one, "result.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"\nsaturated,1\n", "\nlatency_ns.all.incomplete,", "\nbacklog.all.in_flight_end,"} {
		if !strings.Contains(string(data), w) {
			t.Errorf("result.csv lacks %q", w)
		}
	}
}

func TestParsePlot(t *testing.T) {
	tests := []struct{ in, stat, class, err string }{
		{"", "", "", ""},
		{"p99.9:short", "p99.9", "short", ""},
		{"p50", "p50", "all", ""},
		{"throughput", "throughput", "requests_per_s", ""},
		{"metric:txns_per_s", "metric", "txns_per_s", ""},
		{"metric", "", "", "name the metric"},
		{"p98:all", "", "", `"p98" is not one of mean, p50`},
		{"p99:", "", "", "empty class"},
	}
	for _, tt := range tests {
		stat, class, err := parsePlot(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parsePlot(%q) error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || stat != tt.stat || class != tt.class {
			t.Errorf("parsePlot(%q) = %q, %q, %v; want %q, %q", tt.in, stat, class, err, tt.stat, tt.class)
		}
	}
	if _, err := parseFormats("png,jpg"); err == nil || !strings.Contains(err.Error(), `"jpg" is not one of png, svg, pdf`) {
		t.Errorf("parseFormats(png,jpg): %v", err)
	}
}

// TestLegendWords: legend entries and axis labels in words, not keys.
func TestLegendWords(t *testing.T) {
	r := &results.Result{Policy: "fifo-central", Point: map[string]float64{
		"workload.group[0].threads": 8, "workload.group[1].threads": 1, "load": 40000,
		"workload.group[0].arrival.rate_per_s": 120000, "policy.time_slice_us": 50, "run.seed": 3, "cpus": 16}}
	for key, want := range map[string]string{
		"workload.group[0].threads":            "8 threads",
		"workload.group[1].threads":            "1 thread",
		"load":                                 "40k requests/s",
		"workload.group[0].arrival.rate_per_s": "120k requests/s",
		"policy.time_slice_us":                 "time slice 50 µs",
		"run.seed":                             "seed 3",
		"cpus":                                 "16 CPUs",
		"policy":                               "fifo-central",
	} {
		if got := legendWords(key, r); got != want {
			t.Errorf("legendWords(%s) = %q, want %q", key, got, want)
		}
	}
	if got := axisLabel("load"); got != "offered load (k requests/s)" {
		t.Errorf("axisLabel(load) = %q", got)
	}
	if got := axisLabel("policy.time_slice_us"); got != "time slice (µs)" {
		t.Errorf("axisLabel(time_slice_us) = %q", got)
	}
}

// TestLogTicks: a log axis within one decade still gets labels to read
// values off; one over two decades labels 1, 2 and 5.
func TestLogTicks(t *testing.T) {
	labels := func(min, max float64) []string {
		var out []string
		for _, tk := range (logTicks{}).Ticks(min, max) {
			if tk.Label != "" {
				out = append(out, tk.Label)
			}
		}
		return out
	}
	if got := labels(230, 5900); !slices.Equal(got, []string{"500", "1000", "2000", "5000"}) {
		t.Errorf("230..5900: labels %q", got)
	}
	if got := labels(7400, 18900); len(got) < 4 || got[len(got)-1] != "18000" {
		t.Errorf("7400..18900: labels %q, want four or more up to 18000", got)
	}
	for _, r := range [][2]float64{{120, 180}, {210, 390}, {0.0021, 0.0049}} {
		if got := labels(r[0], r[1]); len(got) < 2 {
			t.Errorf("%g..%g: labels %q, want at least two", r[0], r[1], got)
		}
	}
}

// TestPolicySweepPDF sweeps two policies into one figure, written as PDF:
// a valid PDF, the table naming each point's policy, the SVG's legend
// naming both policies and the title both.
func TestPolicySweepPDF(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pol")
	args := []string{"-config", "skylake112", "-config", "synthetic-requests.toml", "-workload", "synthetic",
		"-duration", "10ms", "-set", "run.warmup_ms=5", "-q", "-set", `workload.group[0].class="ghost"`, "-set", "enclave.cpus=0-8",
		"-sweep", "policy=fifo-central,fifo-percpu", "-sweep", "load=40000,80000", "-plot", "p99.9:all", "-format", "pdf,svg", "-out", dir}
	code, stdout, stderr := ghostsim(t, args...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	if len(lines) != 5 || !strings.HasPrefix(strings.TrimSpace(lines[0]), "policy") || !strings.Contains(lines[1], "fifo-central") || !strings.Contains(lines[4], "fifo-percpu") {
		t.Errorf("table:\n%s", stdout)
	}
	pdf, err := os.ReadFile(filepath.Join(dir, "sweep.pdf"))
	if p := pdfProblem(pdf); err != nil || p != "" {
		t.Errorf("sweep.pdf is not a valid PDF (err %v, %d bytes): %s", err, len(pdf), p)
	}
	if _, err := os.Stat(filepath.Join(dir, "sweep.png")); err == nil {
		t.Errorf("sweep.png written, though -format asked for pdf,svg")
	}
	svg, _ := os.ReadFile(filepath.Join(dir, "sweep.svg"))
	for _, w := range []string{">fifo-central<", ">fifo-percpu<", "policies fifo-central vs fifo-percpu", "p99.9 latency (µs)", "offered load (k requests/s)"} {
		if !strings.Contains(string(svg), w) {
			t.Errorf("sweep.svg lacks %q", w)
		}
	}
	data, _ := os.ReadFile(filepath.Join(dir, "sweep.csv"))
	if !strings.HasPrefix(string(data), "policy,load,") || !strings.Contains(string(data), "\nfifo-percpu,80000,") {
		t.Errorf("sweep.csv lacks the policy column:\n%.200s", data)
	}
	checkUsageError(t, append(args[:len(args):len(args)], "-policy", "fifo-central"), []string{"-sweep policy=fifo-central,fifo-percpu: -policy fifo-central is given too"})
	checkUsageError(t, append(args[:len(args):len(args)], "-sweep", "policy=nosuch"), []string{"unknown policy"})
}

// TestPolicySweepRocksdb: rocksdb's systems (its fixed ones and any
// registered policy) share one sweep without -policy, as Fig 6 compares
// them; without a policy axis -policy is still required, and the message
// names both kinds of system.
func TestPolicySweepRocksdb(t *testing.T) {
	code, stdout, stderr := ghostsim(t, "-workload", "rocksdb", "-duration", "10ms", "-q",
		"-sweep", "policy=cfs-shinjuku,ghost-shinjuku,fifo-percpu", "-sweep", "load=50000")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, sys := range []string{"cfs-shinjuku", "ghost-shinjuku", "fifo-percpu"} {
		if !strings.Contains(stdout, "\n  "+sys+" ") {
			t.Errorf("table has no row for %s:\n%s", sys, stdout)
		}
	}
	checkUsageError(t, []string{"-workload", "rocksdb", "-duration", "10ms"},
		[]string{"give -policy SYSTEM, one of: cfs-shinjuku", "or a registered ghOSt policy (fifo-central"})
}

// TestNoFigureSaysWhy: a sweep whose figure cannot be drawn says why on
// stderr instead of leaving the figure out silently.
func TestNoFigureSaysWhy(t *testing.T) {
	base := []string{"-config", "skylake112", "-config", "synthetic-requests.toml", "-workload", "synthetic", "-duration", "10ms"}
	for _, tc := range []struct {
		extra []string
		want  string
	}{
		{[]string{"-set", `workload.group[0].class="ghost"`, "-set", "enclave.cpus=0-8", "-sweep", "policy=fifo-central,fifo-percpu"},
			"; no figure: a sweep over policies alone has no axis to plot along"},
		{[]string{"-sweep", "load=50000"}, "; no figure: the sweep has one point"},
	} {
		dir := t.TempDir()
		code, _, stderr := ghostsim(t, append(append(append([]string(nil), base...), tc.extra...), "-out", dir)...)
		if code != exitOK || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr lacks %q:\n%s", tc.extra, code, tc.want, stderr)
		}
	}
}

// pdfProblem says what makes data not a well-formed PDF file, "" if
// nothing: it checks the header, a startxref offset that points at the
// cross-reference table, every in-use entry of that table pointing at its
// object ("N G obj"), a trailer naming the root, and %%EOF at the end.
func pdfProblem(data []byte) string {
	if !bytes.HasPrefix(data, []byte("%PDF-1.")) {
		return "no %PDF-1.x header"
	}
	if !bytes.HasSuffix(bytes.TrimRight(data, "\r\n"), []byte("%%EOF")) {
		return "does not end with %%EOF"
	}
	i := bytes.LastIndex(data, []byte("startxref"))
	if i < 0 {
		return "no startxref"
	}
	var off int
	if _, err := fmt.Sscan(string(data[i+len("startxref"):]), &off); err != nil || off <= 0 || off >= len(data) || !bytes.HasPrefix(data[off:], []byte("xref")) {
		return fmt.Sprintf("startxref does not point at an xref table (offset %d)", off)
	}
	lines := strings.Split(string(data[off:]), "\n")
	var first, count int
	if len(lines) < 2 {
		return "empty xref table"
	}
	if _, err := fmt.Sscan(lines[1], &first, &count); err != nil || count < 2 || len(lines) < 2+count {
		return fmt.Sprintf("xref subsection header %q", lines[1])
	}
	for k := 0; k < count; k++ {
		// Ten-digit offsets with leading zeros, decimal (Sscan would
		// read them as octal).
		f := strings.Fields(lines[2+k])
		if len(f) != 3 {
			return fmt.Sprintf("xref entry %q", lines[2+k])
		}
		at, err1 := strconv.Atoi(f[0])
		gen, err2 := strconv.Atoi(f[1])
		kind := f[2]
		if err1 != nil || err2 != nil {
			return fmt.Sprintf("xref entry %q", lines[2+k])
		}
		if want := fmt.Sprintf("%d %d obj", first+k, gen); kind == "n" && (at >= len(data) || !bytes.HasPrefix(data[at:], []byte(want))) {
			return fmt.Sprintf("xref entry %d points at byte %d, which is not %q", first+k, at, want)
		}
	}
	if tr := string(data[off:]); !strings.Contains(tr, "trailer") || !strings.Contains(tr, "/Root") {
		return "no trailer with /Root"
	}
	return ""
}

// TestPDFProblem: pdfProblem passes the PDF a sweep writes and finds a
// damaged one.
func TestPDFProblem(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := ghostsim(t, append(append([]string(nil), sweepArgs...), "-format", "pdf", "-out", dir)...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	pdf, err := os.ReadFile(filepath.Join(dir, "sweep.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	if p := pdfProblem(pdf); p != "" {
		t.Errorf("sweep.pdf: %s", p)
	}
	// An object moved by one byte: the table no longer points at it.
	i := bytes.Index(pdf, []byte("\n3 0 obj"))
	if i < 0 {
		t.Fatalf("sweep.pdf has no object 3")
	}
	if p := pdfProblem(slices.Insert(append([]byte(nil), pdf...), i+1, ' ')); p == "" {
		t.Errorf("a PDF with an object moved passes")
	}
	if p := pdfProblem(pdf[:len(pdf)/2]); p == "" {
		t.Errorf("half a PDF passes")
	}
}
