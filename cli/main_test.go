package cli

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ghostsim/ghostsim/configs"
	"github.com/ghostsim/ghostsim/experiment"
	"github.com/ghostsim/ghostsim/results"
	"github.com/ghostsim/ghostsim/sim"
)

// ghostsim runs the command in-process and returns its exit code and output.
func ghostsim(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// checkUsageError runs ghostsim with args and checks it fails as a usage
// error: exit 2, nothing on stdout, one clean "ghostsim:" line per error
// on stderr containing each of want.
func checkUsageError(t *testing.T, args []string, want []string) {
	t.Helper()
	code, stdout, stderr := ghostsim(t, args...)
	if code != exitUsage {
		t.Errorf("exit code %d, want %d", code, exitUsage)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing", stdout)
	}
	checkErrorLines(t, stderr)
	checkNoTrace(t, stderr)
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
}

// checkNoTrace fails if output looks like a Go panic or trace.
func checkNoTrace(t *testing.T, output string) {
	t.Helper()
	for _, bad := range []string{"goroutine", "panic", ".go:"} {
		if strings.Contains(output, bad) {
			t.Errorf("output contains %q:\n%s", bad, output)
		}
	}
}

// checkErrorLines checks that every line of stderr is a "ghostsim: " message.
func checkErrorLines(t *testing.T, stderr string) {
	t.Helper()
	if stderr == "" {
		t.Errorf("stderr is empty, want an error message")
	}
	for _, line := range strings.Split(strings.TrimRight(stderr, "\n"), "\n") {
		if !strings.HasPrefix(line, "ghostsim: ") {
			t.Errorf("stderr line %q lacks the \"ghostsim: \" prefix", line)
		}
	}
}

// lineOf returns the 1-based line of the first line of an embedded config
// that starts with prefix.
func lineOf(t *testing.T, name, prefix string) int {
	t.Helper()
	data, err := configs.ReadEmbedded(name)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		if strings.HasPrefix(sc.Text(), prefix) {
			return n
		}
	}
	t.Fatalf("%s has no line starting with %q", name, prefix)
	return 0
}

func TestBadConfigs(t *testing.T) {
	dir := t.TempDir()
	cpusLine := lineOf(t, "skylake112", "cpus ")
	tests := []struct {
		name    string
		content string // "" = the file does not exist
		want    func(path string) []string
	}{
		{
			name:    "unknown_key",
			content: "[run]\nduraton_ms = 5\n",
			want:    func(p string) []string { return []string{p + ":2: run.duraton_ms: ", "unknown key"} },
		},
		{
			name:    "wrong_type",
			content: "[run]\nduration_ms = \"long\"\n",
			want:    func(p string) []string { return []string{p + ":2: run.duration_ms: ", "integer", "string"} },
		},
		{
			name:    "negative_ghz",
			content: "[machine]\nghz = -2.0\n",
			want:    func(p string) []string { return []string{p + ":2: machine.ghz: ", "> 0", "-2"} },
		},
		{
			// The hw validator reports the inconsistency at machine.cpus,
			// located where cpus was set: the machine file.
			name:    "smt_does_not_divide",
			content: "[machine]\nsmt = 3\n",
			want: func(string) []string {
				return []string{fmt.Sprintf("skylake112.toml:%d: machine.cpus: ", cpusLine), "smt", "× 3"}
			},
		},
		{
			name: "missing_file",
			want: func(p string) []string { return append([]string{p + ": ", "no such file"}, configs.Names()...) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name+".toml")
			if tt.content != "" {
				if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			code, stdout, stderr := ghostsim(t, "-config", "skylake112", "-config", path, "-q")
			if code != exitUsage {
				t.Errorf("exit code %d, want %d", code, exitUsage)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			checkErrorLines(t, stderr)
			checkNoTrace(t, stdout+stderr)
			for _, w := range tt.want(path) {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

func TestUserErrors(t *testing.T) {
	var workloads, policies []string
	for _, w := range experiment.Workloads() {
		workloads = append(workloads, w.Name)
	}
	for _, p := range experiment.Policies() {
		policies = append(policies, p.Name)
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown workload", []string{"-workload", "nosuch"}, append([]string{`unknown workload "nosuch"`}, workloads...)},
		{"unknown policy", []string{"-policy", "nosuch"}, append([]string{`unknown policy "nosuch"`}, policies...)},
		{"unknown machine", []string{"-config", "nosuch"}, append([]string{"nosuch: no such file"}, configs.Names()...)},
		{"bad seed", []string{"-seed", "-3"}, []string{`-seed "-3"`, "non-negative integer"}},
		{"seed not a number", []string{"-seed", "abc"}, []string{`-seed "abc"`}},
		{"bad duration", []string{"-duration", "soon"}, []string{`-duration "soon"`, "500ms"}},
		{"fractional ms", []string{"-duration", "1500us"}, []string{`-duration "1500us"`, "whole number of milliseconds"}},
		{"zero duration", []string{"-duration", "0s"}, []string{`-duration "0s"`, "> 0"}},
		{"unknown flag", []string{"-bogus"}, []string{"-bogus", "ghostsim -h"}},
		{"missing flag value", []string{"-workload"}, []string{"-workload"}},
		{"argument", []string{"extra"}, []string{`"extra"`, "flags only"}},
		{"bad -set value", []string{"-set", "run.seed=abc"}, []string{"-set #1: run.seed: "}},
		{"bad -set key", []string{"-set", "run.nosuch=1"}, []string{"-set #1: run.nosuch: "}},
		{"invalid -set", []string{"-set", "run.warmup_ms=1", "-set", "run.warmup_ms=-1"}, []string{"-set #2: run.warmup_ms: ", ">= 0"}},
		{"invalid workload value", []string{"-workload", "hold", "-set", "workload.hold.pending=0"}, []string{"-set #1: workload.hold.pending: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkUsageError(t, append([]string{"-q"}, tt.args...), tt.want)
		})
	}
}

func TestRelabel(t *testing.T) {
	labels := map[int]string{3: "-seed 7"}
	tests := []struct {
		name string
		err  error
		want []string
	}{
		{"flag", &configs.Error{File: configs.SetFile, Line: 3, Key: "run.seed", Msg: "bad"},
			[]string{"-seed 7: run.seed: bad"}},
		{"user -set", &configs.Error{File: configs.SetFile, Line: 1, Key: "run.seed", Msg: "bad"},
			[]string{"-set #1: run.seed: bad"}},
		{"file", &configs.Error{File: "a.toml", Line: 3, Key: "run.seed", Msg: "bad"},
			[]string{"a.toml:3: run.seed: bad"}},
		{"joined", errors.Join(
			&configs.Error{File: configs.SetFile, Line: 3, Key: "run.seed", Msg: "bad"},
			errors.New("other")),
			[]string{"-seed 7: run.seed: bad", "other"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range flatten(relabel(tt.err, labels)) {
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("relabel (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCommandLine(t *testing.T) {
	got := commandLine([]string{"-config", "rome256.toml", "-set", "enclave.cpus=0-7", "-set", `a b`, "-set", "it's"})
	want := `ghostsim -config rome256.toml -set enclave.cpus=0-7 -set 'a b' -set 'it'\''s'`
	if got != want {
		t.Errorf("commandLine = %s, want %s", got, want)
	}
}

// jsonResult runs args (with -json) in-process and decodes the one line of
// stdout.
func jsonResult(t *testing.T, args ...string) *results.Result {
	t.Helper()
	code, stdout, stderr := ghostsim(t, append(args, "-json")...)
	if code != exitOK {
		t.Fatalf("ghostsim %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
	}
	if stderr != "" {
		t.Errorf("stderr = %q, want nothing with -json on a non-terminal", stderr)
	}
	return decodeLine(t, stdout)
}

// decodeLine checks that out is exactly one JSON line and decodes it.
func decodeLine(t *testing.T, out string) *results.Result {
	t.Helper()
	if !strings.HasSuffix(out, "\n") || strings.Count(out, "\n") != 1 {
		t.Fatalf("want one JSON line, got %q", out)
	}
	r, err := results.Decode([]byte(out))
	if err != nil {
		t.Fatalf("results.Decode: %v\n%s", err, out)
	}
	return r
}

// deterministic returns r's bytes without the host part.
func deterministic(t *testing.T, r *results.Result) string {
	t.Helper()
	b, err := r.Deterministic().JSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestJSON(t *testing.T) {
	r := jsonResult(t, "-config", "rome256.toml", "-workload", "hold", "-duration", "50ms", "-seed", "3")
	got := struct {
		Schema, Machine, Workload, Policy string
		Seed                              uint64
		SimTimeNs                         int64
		HasHost                           bool
	}{r.Schema, r.Machine, r.Workload, r.Policy, r.Seed, r.SimTimeNs, r.Host != nil}
	want := got
	want.Schema, want.Machine, want.Workload, want.Policy = "ghostsim.result/v1", "rome256", "hold", "none"
	want.Seed, want.SimTimeNs, want.HasHost = 3, 50_000_000, true
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if r.Events == 0 || len(r.ConfigSHA256) != 64 {
		t.Errorf("events = %d, config_sha256 = %q: want events and a sha256", r.Events, r.ConfigSHA256)
	}
}

// TestFlagsOverrideSet checks that -seed and -duration win over -set of the
// same key, whatever the order on the command line.
func TestFlagsOverrideSet(t *testing.T) {
	r := jsonResult(t, "-seed", "5", "-duration", "20ms", "-set", "run.seed=9", "-set", "run.duration_ms=40")
	if r.Seed != 5 || r.SimTimeNs != 20_000_000 {
		t.Errorf("seed %d, sim_time_ns %d: want 5 and 20000000", r.Seed, r.SimTimeNs)
	}
	r = jsonResult(t, "-set", "run.seed=9", "-set", "run.seed=11", "-duration", "20ms")
	if r.Seed != 11 {
		t.Errorf("seed %d: want the later -set, 11", r.Seed)
	}
}

// TestDefaultMachine checks that a run without -config uses skylake112,
// or the workload's own configs where it has them (the default workload,
// search, runs on rome256); an explicit -config replaces those.
func TestDefaultMachine(t *testing.T) {
	tests := []struct {
		args        []string
		wantMachine string
	}{
		{[]string{"-workload", "hold", "-duration", "10ms"}, "skylake112"},
		{[]string{"-duration", "10ms", "-set", "run.warmup_ms=1"}, "rome256"},
		{[]string{"-workload", "rocksdb", "-policy", "ghost-shinjuku", "-duration", "10ms"}, "xeon48"},
		{[]string{"-workload", "rocksdb", "-policy", "cfs-shinjuku", "-config", "xeon48", "-config", "rocksdb.toml",
			"-set", "workload.rocksdb.load_rps=1000", "-duration", "10ms"}, "xeon48"},
	}
	for _, tt := range tests {
		if r := jsonResult(t, tt.args...); r.Machine != tt.wantMachine {
			t.Errorf("ghostsim %s: machine %q, want %q", strings.Join(tt.args, " "), r.Machine, tt.wantMachine)
		}
	}
	// The workload's configs are replaced, not merged, by an explicit one.
	code, _, stderr := ghostsim(t, "-workload", "rocksdb", "-policy", "ghost-shinjuku", "-config", "skylake112", "-duration", "10ms", "-q")
	if code != exitUsage || !strings.HasPrefix(stderr, "ghostsim: workload rocksdb: its config rocksdb.toml is not loaded") {
		t.Errorf("rocksdb on skylake112 alone: exit %d, stderr %q; want exit 2 naming the missing rocksdb.toml first", code, stderr)
	}
}

// detArgs is the determinism scenario; jsonResult adds -json.
var detArgs = []string{"-config", "rome256.toml", "-workload", "hold", "-duration", "200ms"}

// TestDeterminism runs the same config and seed twice in-process and
// compares the results byte for byte without host (docs/DESIGN.md §10); two
// seeds must differ.
func TestDeterminism(t *testing.T) {
	a := deterministic(t, jsonResult(t, detArgs...))
	b := deterministic(t, jsonResult(t, detArgs...))
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different results (-first +second):\n%s", diff)
	}
	c := deterministic(t, jsonResult(t, append(detArgs, "-seed", "2")...))
	if a == c {
		t.Errorf("seeds 1 and 2 gave identical results:\n%s", a)
	}
}

// TestDeterminismSubprocess runs the built binary under GOMAXPROCS=1 and
// 2 and compares with the in-process result.
func TestDeterminismSubprocess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "ghostsim")
	build := exec.Command("go", "build", "-o", bin, "../cmd/ghostsim")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	want := deterministic(t, jsonResult(t, detArgs...))
	for _, procs := range []string{"1", "2"} {
		t.Run("GOMAXPROCS="+procs, func(t *testing.T) {
			cmd := exec.Command(bin, append(detArgs, "-json")...)
			cmd.Env = append(os.Environ(), "GOMAXPROCS="+procs)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, stderr.String())
			}
			r := decodeLine(t, string(out))
			if r.Host == nil || strconv.Itoa(r.Host.GOMAXPROCS) != procs {
				t.Errorf("host = %+v, want gomaxprocs %s", r.Host, procs)
			}
			if diff := cmp.Diff(want, deterministic(t, r)); diff != "" {
				t.Errorf("GOMAXPROCS=%s differs from the in-process run (-want +got):\n%s", procs, diff)
			}
		})
	}
}

func TestOut(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b") // created by -out
	code, stdout, stderr := ghostsim(t, "-config", "rome256", "-workload", "hold", "-duration", "20ms", "-q", "-json", "-out", dir)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	want := decodeLine(t, stdout)

	js, err := os.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(js), "{\n  \"schema\": ") {
		t.Errorf("result.json is not indented by two spaces:\n%.80s", js)
	}
	got, err := results.Decode(js)
	if err != nil {
		t.Fatalf("result.json: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("result.json differs from -json (-want +got):\n%s", diff)
	}

	f, err := os.Open(filepath.Join(dir, "result.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("result.csv: %v", err)
	}
	if len(rows) < 2 || !cmp.Equal(rows[0], []string{"key", "value"}) {
		t.Fatalf("result.csv starts %q, want a key,value header and rows", rows)
	}
	values := map[string]float64{}
	var keys []string
	for _, r := range rows[1:] {
		v, err := strconv.ParseFloat(r[1], 64)
		if err != nil {
			t.Errorf("result.csv: %s = %q is not a number", r[0], r[1])
		}
		values[r[0]] = v
		keys = append(keys, r[0])
	}
	if !sort.StringsAreSorted(keys) {
		t.Errorf("result.csv keys are not sorted: %q", keys)
	}
	for key, v := range map[string]float64{
		"seed":                  float64(want.Seed),
		"events":                float64(want.Events),
		"sim_time_ns":           float64(want.SimTimeNs),
		"metrics.pending":       want.Metrics["pending"],
		"metrics.hold_events":   want.Metrics["hold_events"],
		"kernel.migrations.smt": float64(want.Kernel.Migrations["smt"]),
		"cpu.utilization":       want.CPU.Utilization,
		"host.wall_seconds":     want.Host.WallSeconds,
	} {
		if got, ok := values[key]; !ok || got != v {
			t.Errorf("result.csv %s = %v (present %v), want %v", key, got, ok, v)
		}
	}
	if _, ok := values["machine"]; ok {
		t.Errorf("result.csv holds the non-numeric field machine")
	}
}

// TestOutNotADirectory checks that an -out that cannot be a directory is
// bad usage (exit 2), found before the run starts.
func TestOutNotADirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-duration", "10ms", "-q", "-out", file}
	code, _, stderr := ghostsim(t, args...)
	if code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
	checkErrorLines(t, stderr)
	checkNoTrace(t, stderr)
	if want := "ghostsim: -out: mkdir " + file + ": not a directory\n"; stderr != want {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
}

// TestSummary checks the human summary's rows, and that it is the same
// for the same seed apart from the wall-clock rows.
func TestSummary(t *testing.T) {
	args := []string{"-config", "rome256", "-workload", "hold", "-duration", "20ms"}
	code, out, stderr := ghostsim(t, args...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, w := range []string{"machine ", "rome256: ", "workload ", "policy ", "seed ", "simulated time ",
		"events ", "wall time ", "sim-s per wall-s", "cpu utilization ", "context switches ", "migrations ",
		"metrics\n", "hold_events"} {
		if !strings.Contains(out, w) {
			t.Errorf("summary lacks %q:\n%s", w, out)
		}
	}
	// The start line names the seed and the resolved run.
	for _, w := range []string{"ghostsim: seed 1,", "machine rome256", "workload hold", "20ms measured"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("start line lacks %q:\n%s", w, stderr)
		}
	}
	_, again, _ := ghostsim(t, args...)
	if diff := cmp.Diff(stripWall(out), stripWall(again)); diff != "" {
		t.Errorf("summary not deterministic (-first +second):\n%s", diff)
	}
	if _, _, quiet := ghostsim(t, append(args, "-q")...); quiet != "" {
		t.Errorf("-q: stderr = %q, want nothing", quiet)
	}
}

func stripWall(s string) string {
	var keep []string
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(line, "wall time") && !strings.HasPrefix(line, "speed") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

func TestList(t *testing.T) {
	code, out, stderr := ghostsim(t, "-list")
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	var machines []string
	for _, m := range []string{"haswell72", "rome256", "skylake112", "xeon48"} {
		if strings.Contains(out, "\n  "+m+" ") {
			machines = append(machines, m)
		}
	}
	if diff := cmp.Diff([]string{"haswell72", "rome256", "skylake112", "xeon48"}, machines); diff != "" {
		t.Errorf("-list machines (-want +got):\n%s\n%s", diff, out)
	}
	for _, w := range []string{"2 × AMD EPYC 7742", "\n  hold ", "Workloads", "Policies"} {
		if !strings.Contains(out, w) {
			t.Errorf("-list lacks %q:\n%s", w, out)
		}
	}
	for _, w := range experiment.Workloads() {
		if !strings.Contains(out, w.Summary) {
			t.Errorf("-list lacks the summary of %s:\n%s", w.Name, out)
		}
		// Every system the workload accepts: its baseline line, and each
		// registered policy where the workload runs one.
		if w.Baseline == "" || !strings.Contains(out, "systems: "+w.Baseline+"\n") {
			t.Errorf("-list does not say which systems %s accepts:\n%s", w.Name, out)
		}
		if strings.Contains(w.Baseline, "any policy below") {
			for _, p := range experiment.Policies() {
				if _, err := w.GhostPolicy(p.Name); err != nil {
					t.Errorf("-list says %s takes any policy, but -policy %s: %v", w.Name, p.Name, err)
				}
			}
		}
	}
	for _, sys := range []string{"cfs-shinjuku", "cfs-shinjuku-batch", "ghost-shinjuku", "ghost-shinjuku-shenango", "shinjuku-dataplane"} {
		if !strings.Contains(out, sys+",") {
			t.Errorf("-list lacks rocksdb's system %s", sys)
		}
	}
}

func TestHelp(t *testing.T) {
	code, out, stderr := ghostsim(t, "-h")
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	var o options
	var flags []string
	newFlagSet(&o).VisitAll(func(f *flag.Flag) { flags = append(flags, f.Name) })
	want := []string{"check", "config", "duration", "format", "j", "json", "list", "out", "plot", "policy", "q", "seed", "set", "shard", "shards", "sweep", "trace", "workload"}
	if diff := cmp.Diff(want, flags); diff != "" {
		t.Errorf("flags (-want +got):\n%s", diff)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range flags {
		if !strings.Contains(out, "\n  -"+f) {
			t.Errorf("-h does not mention -%s:\n%s", f, out)
		}
		// README's usage block and flag table name every flag too.
		if !strings.Contains(string(readme), "\n| `-"+f) {
			t.Errorf("README.md's flag table has no row for -%s", f)
		}
		if !strings.Contains(string(readme), "[-"+f) && !strings.Contains(string(readme), "ghostsim -"+f+"\n") {
			t.Errorf("README.md's usage block does not show -%s", f)
		}
	}
	if n := strings.Count(out, "\n  ghostsim -config"); n < 3 {
		t.Errorf("-h shows %d examples, want at least 3:\n%s", n, out)
	}
	for _, w := range []string{"Usage:", "rome256", "hold", "repro", "fifo-central", "compare", "-sweep load="} {
		if !strings.Contains(out, w) {
			t.Errorf("-h lacks %q", w)
		}
	}
	// Each subcommand: a usage line and a line saying what it does.
	for _, sub := range []string{"repro", "merge", "compare"} {
		if !strings.Contains(out, "\n  ghostsim "+sub+" [") || !regexp.MustCompile(`\n  `+sub+` +[a-z]`).MatchString(out) {
			t.Errorf("-h does not list the %s subcommand with a line of its own:\n%s", sub, out)
		}
	}
}

// TestProgress drives the progress line with a fake clock.
func TestProgress(t *testing.T) {
	var b bytes.Buffer
	now := time.Unix(0, 0)
	p := newProgress(&b)
	p.now = func() time.Time { return now }
	total := 100 * sim.Millisecond
	p.update(10*sim.Millisecond, total) // drawn: the first
	now = now.Add(50 * time.Millisecond)
	p.update(20*sim.Millisecond, total) // too soon
	now = now.Add(200 * time.Millisecond)
	p.update(50*sim.Millisecond, total) // drawn
	p.clear()
	p.clear() // nothing left to clear
	want := "\rghostsim:  10.0%  10ms of 100ms simulated\x1b[K" +
		"\rghostsim:  50.0%  50ms of 100ms simulated\x1b[K" +
		"\r\x1b[K"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("progress output (-want +got):\n%s", diff)
	}
	var nilProgress *progress
	nilProgress.clear() // must not panic
	if isTerminal(&b) {
		t.Errorf("isTerminal(buffer) = true")
	}
}

// TestReadmeRuns runs every `go run ./cmd/ghostsim` line of the README
// (the set-up commands of a fresh machine), shortened to 10 ms, so the
// README cannot name a run that fails.
func TestReadmeRuns(t *testing.T) {
	text, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "go run ./cmd/ghostsim "
	n := 0
	for line := range strings.Lines(string(text)) {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		n++
		args, err := shellFields(strings.TrimSpace(strings.TrimPrefix(line, prefix)))
		if err != nil {
			t.Fatalf("README line %q: %v", line, err)
		}
		args = append(args, "-duration", "10ms", "-q")
		if code, _, stderr := ghostsim(t, args...); code != 0 {
			t.Errorf("README command %q exits %d:\n%s", strings.TrimSpace(line), code, stderr)
		}
	}
	if n == 0 {
		t.Fatalf("no %q line in README.md", prefix)
	}
}

// shellFields splits a command line as a POSIX shell would for the
// README's commands: fields separated by spaces, single quotes kept
// literally.
func shellFields(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inField, quoted := false, false
	for _, r := range s {
		switch {
		case r == '\'':
			quoted = !quoted
			inField = true
		case r == ' ' && !quoted:
			if inField {
				out = append(out, cur.String())
				cur.Reset()
				inField = false
			}
		default:
			cur.WriteRune(r)
			inField = true
		}
	}
	if quoted {
		return nil, errors.New("unbalanced single quote")
	}
	if inField {
		out = append(out, cur.String())
	}
	return out, nil
}

// TestSummarySaysWhatIncludesWarmup: the text summary marks the counts
// that run from time 0 (warm-up included) apart from the window's.
func TestSummarySaysWhatIncludesWarmup(t *testing.T) {
	code, stdout, stderr := ghostsim(t, "-config", "skylake112", "-config", "synthetic-requests.toml", "-workload", "synthetic",
		"-set", `workload.group[0].class="ghost"`, "-set", "enclave.cpus=0-8", "-policy", "fifo-central",
		"-duration", "10ms", "-set", "run.warmup_ms=5", "-q")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, w := range []string{"agent crashes (run)", "watchdog destroys (run)", "(run): counted from time 0, warm-up included",
		"*requests_*: from time 0, warm-up included; the latency counts are the window's"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("summary lacks %q:\n%s", w, stdout)
		}
	}
}
