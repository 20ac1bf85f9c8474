package configs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/google/go-cmp/cmp"

	"github.com/ghostsim/ghostsim/sim"
)

// testFS stands in for the embedded files, so tests do not depend on which
// machine files ship. Its path is absolute, so it survives t.Chdir.
var testFS = os.DirFS(absEmbed)

func td(name string) string { return filepath.Join("testdata", name) }

func group(name string, threads int, dist string, rate float64) testGroup {
	g := testGroup{Name: name, Threads: threads}
	g.Arrival.Dist = dist
	g.Arrival.RatePerS = rate
	return g
}

func TestLoadMerge(t *testing.T) {
	machine := func(s *testSpec) {
		s.Machine.Name = "small"
		s.Machine.Sockets = 2
		s.Machine.GHz = 2.0
		s.Machine.SMT = 2
		s.Costs.Extra = map[string]float64{"ipi_ns": 1000, "switch_ns": 500}
	}
	experiment := func(s *testSpec) {
		s.Run.DurationMs = 200
		s.Run.Seed = 42
		s.Enclave.CPUs = "0-3"
		s.Workload.Group = []testGroup{
			group("web", 8, "exp", 1000),
			group("batch", 2, "", 0),
			group("hog", 1, "", 0),
		}
	}
	override := func(s *testSpec) {
		s.Machine.GHz = 3.5
		s.Costs.Extra = map[string]float64{"ipi_ns": 1000, "switch_ns": 750, "tick_ns": 20}
		// Replaces the three groups; "threads" is not inherited from web.
		s.Workload.Group = []testGroup{group("only", 0, "", 0)}
	}
	tests := []struct {
		name  string
		files []string
		apply []func(*testSpec)
	}{
		{"defaults only", nil, nil},
		{"machine", []string{"merge/machine.toml"}, []func(*testSpec){machine}},
		{"machine then experiment keeps machine", []string{"merge/machine.toml", "merge/experiment.toml"},
			[]func(*testSpec){machine, experiment}},
		{"experiment then machine", []string{"merge/experiment.toml", "merge/machine.toml"},
			[]func(*testSpec){machine, experiment}},
		{"later file wins, arrays replaced, maps merged",
			[]string{"merge/machine.toml", "merge/experiment.toml", "merge/override.toml"},
			[]func(*testSpec){machine, experiment, override}},
		{"override alone on defaults", []string{"merge/override.toml"},
			[]func(*testSpec){func(s *testSpec) {
				s.Machine.GHz = 3.5
				s.Costs.Extra = map[string]float64{"switch_ns": 750, "tick_ns": 20}
				s.Workload.Group = []testGroup{group("only", 0, "", 0)}
			}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := defaultSpec()
			for _, f := range tt.apply {
				f(&want)
			}
			got := defaultSpec()
			var paths []string
			for _, f := range tt.files {
				paths = append(paths, td(f))
			}
			meta, err := load(testFS, &got, paths, nil)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("spec mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(paths, meta.Files()); diff != "" {
				t.Errorf("Files mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoadDoesNotMutateDefaults checks that maps and slices the defaults
// share with other values are copied, not written through.
func TestLoadDoesNotMutateDefaults(t *testing.T) {
	shared := map[string]float64{"ipi_ns": 1}
	groups := []testGroup{group("a", 1, "", 0), group("b", 2, "", 0)}
	s := defaultSpec()
	s.Costs.Extra = shared
	s.Workload.Group = groups
	_, err := load(testFS, &s, []string{td("merge/override.toml")}, []string{"workload.group[0].threads=9"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]float64{"ipi_ns": 1}, shared); diff != "" {
		t.Errorf("shared default map changed (-want +got):\n%s", diff)
	}
	s2 := defaultSpec()
	s2.Workload.Group = groups
	if _, err := load(testFS, &s2, nil, []string{"workload.group[1].threads=9"}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]testGroup{group("a", 1, "", 0), group("b", 2, "", 0)}, groups); diff != "" {
		t.Errorf("shared default slice changed (-want +got):\n%s", diff)
	}
	if s2.Workload.Group[1].Threads != 9 {
		t.Errorf("workload.group[1].threads = %d, want 9", s2.Workload.Group[1].Threads)
	}
}

func TestSet(t *testing.T) {
	tests := []struct {
		name    string
		files   []string
		sets    []string
		apply   func(*testSpec)
		wantErr string
	}{
		{name: "int", sets: []string{"run.duration_ms=50"},
			apply: func(s *testSpec) { s.Run.DurationMs = 50 }},
		{name: "float", sets: []string{"machine.ghz=2.5"},
			apply: func(s *testSpec) { s.Machine.GHz = 2.5 }},
		{name: "int into float", sets: []string{"machine.ghz=3"},
			apply: func(s *testSpec) { s.Machine.GHz = 3 }},
		{name: "bool", sets: []string{"costs.zero_overheads=true"},
			apply: func(s *testSpec) { s.Costs.ZeroOverheads = true }},
		{name: "quoted string", sets: []string{`enclave.cpus="0-7"`},
			apply: func(s *testSpec) { s.Enclave.CPUs = "0-7" }},
		{name: "bare string", sets: []string{"enclave.cpus=0-7"},
			apply: func(s *testSpec) { s.Enclave.CPUs = "0-7" }},
		{name: "number into string field", sets: []string{"enclave.cpus=3"},
			apply: func(s *testSpec) { s.Enclave.CPUs = "3" }},
		{name: "spaces around", sets: []string{" machine.name = rome "},
			apply: func(s *testSpec) { s.Machine.Name = "rome" }},
		{name: "map entry", sets: []string{"costs.extra.tick_ns=5"},
			apply: func(s *testSpec) { s.Costs.Extra = map[string]float64{"tick_ns": 5} }},
		{name: "later set wins", sets: []string{"run.seed=5", "run.seed=6"},
			apply: func(s *testSpec) { s.Run.Seed = 6 }},
		{name: "after files", files: []string{"merge/experiment.toml"}, sets: []string{"run.seed=9"},
			apply: func(s *testSpec) {
				s.Run.DurationMs = 200
				s.Run.Seed = 9
				s.Enclave.CPUs = "0-3"
				s.Workload.Group = []testGroup{group("web", 8, "exp", 1000), group("batch", 2, "", 0), group("hog", 1, "", 0)}
			}},
		{name: "array element key", files: []string{"merge/experiment.toml"},
			sets: []string{"workload.group[1].threads=4", "workload.group[0].arrival.rate_per_s=5"},
			apply: func(s *testSpec) {
				s.Run.DurationMs = 200
				s.Run.Seed = 42
				s.Enclave.CPUs = "0-3"
				s.Workload.Group = []testGroup{group("web", 8, "exp", 5), group("batch", 4, "", 0), group("hog", 1, "", 0)}
			}},
		{name: "whole array", files: []string{"merge/experiment.toml"},
			sets: []string{`workload.group=[{name="x", threads=2}]`},
			apply: func(s *testSpec) {
				s.Run.DurationMs = 200
				s.Run.Seed = 42
				s.Enclave.CPUs = "0-3"
				s.Workload.Group = []testGroup{group("x", 2, "", 0)}
			}},
		{name: "inline table", sets: []string{`machine={name="m", ghz=1.5}`},
			apply: func(s *testSpec) { s.Machine.Name = "m"; s.Machine.GHz = 1.5 }},

		{name: "unknown key", sets: []string{"run.duraton_ms=5"},
			wantErr: "-set #1: run.duraton_ms: unknown key; did you mean run.duration_ms?"},
		{name: "unknown table", sets: []string{"runn.seed=5"},
			wantErr: "-set #1: runn: unknown key; did you mean run?"},
		{name: "bad type in second set", sets: []string{"run.seed=3", "machine.ghz=fast"},
			wantErr: `-set #2: machine.ghz: expected float, got string "fast"`},
		{name: "string into int", sets: []string{"run.duration_ms=abc"},
			wantErr: `-set #1: run.duration_ms: expected integer, got string "abc"`},
		{name: "float into int", sets: []string{"run.duration_ms=1.5"},
			wantErr: `-set #1: run.duration_ms: expected integer, got float 1.5`},
		{name: "negative into unsigned", sets: []string{"run.seed=-1"},
			wantErr: `-set #1: run.seed: value -1 out of range for uint64 (must not be negative)`},
		{name: "overflow", sets: []string{"machine.cores=65536"},
			wantErr: `-set #1: machine.cores: value 65536 out of range for uint16`},
		{name: "bool into int", sets: []string{"machine.smt=true"},
			wantErr: `-set #1: machine.smt: expected integer, got boolean true`},
		{name: "no equals", sets: []string{"run.seed"},
			wantErr: `-set #1: expected key=value, got "run.seed"`},
		{name: "empty key", sets: []string{"=5"},
			wantErr: `-set #1: bad key: missing key name at end of ""`},
		{name: "index out of range", files: []string{"merge/experiment.toml"}, sets: []string{"workload.group[3].threads=1"},
			wantErr: "-set #1: workload.group[3]: index out of range: workload.group has 3 elements (-set can change an element, not add one)"},
		{name: "index into a non-array", sets: []string{"machine[0].name=x"},
			wantErr: "-set #1: machine[0]: machine is not an array"},
		{name: "unknown key in element", files: []string{"merge/experiment.toml"}, sets: []string{"workload.group[0].thread=1"},
			wantErr: "-set #1: workload.group[0].thread: unknown key; did you mean workload.group[0].threads?"},
		{name: "seed above int64", sets: []string{"run.seed=9223372036854775808"},
			apply: func(s *testSpec) { s.Run.Seed = 1 << 63 }},
		{name: "largest seed", sets: []string{"run.seed=18446744073709551615"},
			apply: func(s *testSpec) { s.Run.Seed = 1<<64 - 1 }},
		{name: "seed at 2^64", sets: []string{"run.seed=18446744073709551616"},
			wantErr: `-set #1: run.seed: value 18446744073709551616 out of range for uint64 (at most 18446744073709551615)`},
		{name: "big unsigned into a narrow field", sets: []string{"machine.cores=9223372036854775808"},
			wantErr: `-set #1: machine.cores: value 9223372036854775808 out of range for uint16`},
		{name: "unterminated quote", sets: []string{`machine.name="abc`},
			wantErr: `-set #1: machine.name: bad value "abc: it starts as a TOML string but is not valid TOML (unexpected EOF; expected '"'); quote the whole value for the shell, e.g. -set 'key="text"'`},
		{name: "unterminated single quote", sets: []string{`enclave.cpus='0-3`},
			wantErr: `-set #1: enclave.cpus: bad value '0-3: it starts as a TOML string but is not valid TOML (unexpected EOF; expected "'"); quote the whole value for the shell, e.g. -set 'key="text"'`},
		{name: "unterminated array", files: []string{"merge/experiment.toml"}, sets: []string{`workload.group=[{name="x"}`},
			wantErr: `-set #1: workload.group: bad value [{name="x"}: it starts as a TOML array but is not valid TOML (expected a comma (',') or array terminator (']'), but got end of file); quote the whole value for the shell, e.g. -set 'key="text"'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := defaultSpec()
			if tt.apply != nil {
				tt.apply(&want)
			}
			got := defaultSpec()
			var paths []string
			for _, f := range tt.files {
				paths = append(paths, td(f))
			}
			_, err := load(testFS, &got, paths, tt.sets)
			if tt.wantErr != "" {
				checkError(t, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("spec mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFileSizeLimit: a config file larger than MaxFileBytes, or one that
// never ends such as /dev/zero, is refused without reading it all.
func TestFileSizeLimit(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.toml")
	if err := os.WriteFile(big, bytes.Repeat([]byte("# padding\n"), MaxFileBytes/10+1), 0o644); err != nil {
		t.Fatal(err)
	}
	names := []string{big}
	if _, err := os.Stat("/dev/zero"); err == nil {
		names = append(names, "/dev/zero")
	}
	for _, name := range names {
		got := defaultSpec()
		_, err := load(testFS, &got, []string{name}, nil)
		checkError(t, err, name+": larger than 1048576 bytes (1 MiB), the limit for a config file")
	}
	// Exactly at the limit still loads.
	ok := filepath.Join(t.TempDir(), "ok.toml")
	if err := os.WriteFile(ok, bytes.Repeat([]byte("#"), MaxFileBytes), 0o644); err != nil {
		t.Fatal(err)
	}
	got := defaultSpec()
	if _, err := load(testFS, &got, []string{ok}, nil); err != nil {
		t.Errorf("a file of exactly MaxFileBytes: %v", err)
	}
}

// checkError checks that err is an *Error (or errors joined from them) with
// message want.
func checkError(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %q", want)
	}
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("error mismatch (-want +got):\n%s", diff)
	}
	var ce *Error
	if !errors.As(err, &ce) {
		t.Errorf("error %q (%T) is not a *configs.Error", err, err)
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if strings.HasPrefix(line, "toml:") || strings.Contains(line, "last key") {
			t.Errorf("error line %q leaks a raw toml message", line)
		}
	}
}

func TestEmbeddedNames(t *testing.T) {
	tests := []struct {
		name  string
		chdir string
		want  string // machine.name
		file  string // as Meta.Files reports it
	}{
		{name: "tiny", want: "tiny-embedded", file: "tiny.toml"},
		{name: "tiny.toml", want: "tiny-embedded", file: "tiny.toml"},
		{name: "tiny.toml", chdir: "testdata/diskwins", want: "tiny-on-disk", file: "tiny.toml"},
		{name: "./tiny.toml", chdir: "testdata/diskwins", want: "tiny-on-disk", file: "./tiny.toml"},
		{name: "tiny", chdir: "testdata/diskwins", want: "tiny-embedded", file: "tiny.toml"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" in "+tt.chdir, func(t *testing.T) {
			if tt.chdir != "" {
				t.Chdir(tt.chdir)
			}
			s := defaultSpec()
			meta, err := load(testFS, &s, []string{tt.name}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if s.Machine.Name != tt.want {
				t.Errorf("machine.name = %q, want %q", s.Machine.Name, tt.want)
			}
			if diff := cmp.Diff([]string{tt.file}, meta.Files()); diff != "" {
				t.Errorf("Files mismatch (-want +got):\n%s", diff)
			}
			if f, l := meta.Where("machine.name"); f != tt.file || l != 2 {
				t.Errorf("Where(machine.name) = %s:%d, want %s:2", f, l, tt.file)
			}
		})
	}
}

// absEmbed is testdata/embed as an absolute path, valid after t.Chdir.
var absEmbed = func() string {
	p, err := filepath.Abs("testdata/embed")
	if err != nil {
		panic(err)
	}
	return p
}()

func TestReadEmbeddedFake(t *testing.T) {
	if diff := cmp.Diff([]string{"other.toml", "tiny.toml"}, names(testFS)); diff != "" {
		t.Errorf("names mismatch (-want +got):\n%s", diff)
	}
	for _, n := range []string{"other", "other.toml"} {
		b, err := readEmbedded(testFS, n)
		if err != nil {
			t.Fatalf("readEmbedded(%q): %v", n, err)
		}
		if want := "[run]\nseed = 7\n"; string(b) != want {
			t.Errorf("readEmbedded(%q) = %q, want %q", n, b, want)
		}
	}
	for _, n := range []string{"missing", "../embed/tiny.toml", "", "embed/tiny"} {
		if _, err := readEmbedded(testFS, n); err == nil {
			t.Errorf("readEmbedded(%q) succeeded, want an error", n)
		}
	}
}

// TestRealEmbedded checks the files that ship: each parses as TOML and can be
// read by its bare name, with and without ".toml".
func TestRealEmbedded(t *testing.T) {
	ns := Names()
	if len(ns) == 0 {
		t.Fatal("no embedded configs")
	}
	if !sort.StringsAreSorted(ns) {
		t.Errorf("Names() = %q, not sorted", ns)
	}
	for _, n := range ns {
		a, err := ReadEmbedded(n)
		if err != nil {
			t.Fatalf("ReadEmbedded(%q): %v", n, err)
		}
		b, err := ReadEmbedded(strings.TrimSuffix(n, ".toml"))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("ReadEmbedded(%q) without .toml differs (err %v)", n, err)
		}
		var m map[string]any
		if _, err := toml.Decode(string(a), &m); err != nil {
			t.Errorf("%s: %v", n, syntaxError(n, string(a), err))
		}
	}
}

func TestBadConfigs(t *testing.T) {
	missing := "testdata/nope.toml: no such file, and no embedded config of that name (embedded: other.toml, tiny.toml)"
	tests := []struct {
		name    string
		files   []string
		sets    []string
		wantErr string
	}{
		{name: "unknown top-level keys", files: []string{"bad/unknown_top.toml"},
			wantErr: "testdata/bad/unknown_top.toml:2: name: unknown key\n" +
				"testdata/bad/unknown_top.toml:3: bogus: unknown key"},
		{name: "unknown table", files: []string{"bad/unknown_table.toml"},
			wantErr: "testdata/bad/unknown_table.toml:2: machin: unknown key; did you mean machine?"},
		{name: "unknown nested key", files: []string{"bad/unknown_nested.toml"},
			wantErr: "testdata/bad/unknown_nested.toml:4: machine.gzh: unknown key; did you mean machine.ghz?"},
		{name: "unknown key in array of tables", files: []string{"bad/unknown_in_group.toml"},
			wantErr: "testdata/bad/unknown_in_group.toml:7: workload.group[1].thread: unknown key; did you mean workload.group[1].threads?"},
		{name: "unknown key in inline table", files: []string{"bad/unknown_inline.toml"},
			wantErr: "testdata/bad/unknown_inline.toml:4: workload.group[0].arrival.rate: unknown key"},
		{name: "wrong type", files: []string{"bad/wrong_type.toml"},
			wantErr: `testdata/bad/wrong_type.toml:2: machine.sockets: expected integer, got string "two"`},
		{name: "float into int in array of tables", files: []string{"bad/float_into_int.toml"},
			wantErr: "testdata/bad/float_into_int.toml:7: workload.group[1].threads: expected integer, got float 2.5"},
		{name: "negative into unsigned", files: []string{"bad/negative_unsigned.toml"},
			wantErr: "testdata/bad/negative_unsigned.toml:3: run.seed: value -1 out of range for uint64 (must not be negative)"},
		{name: "overflow", files: []string{"bad/overflow.toml"},
			wantErr: "testdata/bad/overflow.toml:2: machine.cores: value 70000 out of range for uint16"},
		{name: "table expected", files: []string{"bad/table_expected.toml"},
			wantErr: "testdata/bad/table_expected.toml:2: machine: expected table, got integer 5"},
		{name: "syntax error", files: []string{"bad/syntax.toml"},
			wantErr: `testdata/bad/syntax.toml:3: machine.ghz: Invalid float value: "2.5.1"`},
		{name: "syntax error in array of tables", files: []string{"bad/syntax_in_group.toml"},
			wantErr: `testdata/bad/syntax_in_group.toml:6: workload.group[1].threads: Invalid float value: "1.2.3"`},
		{name: "duplicate key", files: []string{"bad/duplicate.toml"},
			wantErr: `testdata/bad/duplicate.toml:3: run.seed: Key 'run.seed' has already been defined.`},
		{name: "several errors in line order", files: []string{"bad/several.toml"},
			wantErr: "testdata/bad/several.toml:2: machine.smt: expected integer, got string \"two\"\n" +
				"testdata/bad/several.toml:3: machine.bogus: unknown key\n" +
				"testdata/bad/several.toml:6: run.duration_ms: expected integer, got float 1.5"},
		{name: "error in second file", files: []string{"merge/machine.toml", "bad/wrong_type.toml"},
			wantErr: `testdata/bad/wrong_type.toml:2: machine.sockets: expected integer, got string "two"`},
		{name: "missing file", files: []string{"merge/machine.toml", "nope.toml"}, wantErr: missing},
		{name: "directory", files: []string{"bad"},
			wantErr: "testdata/bad: is a directory, not a config file"},
		{name: "file error stops before -set", files: []string{"bad/overflow.toml"}, sets: []string{"nonsense"},
			wantErr: "testdata/bad/overflow.toml:2: machine.cores: value 70000 out of range for uint16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := defaultSpec()
			var paths []string
			for _, f := range tt.files {
				paths = append(paths, td(f))
			}
			_, err := load(testFS, &s, paths, tt.sets)
			checkError(t, err, tt.wantErr)
		})
	}
}

func TestMissingEmbeddedName(t *testing.T) {
	s := defaultSpec()
	_, err := load(testFS, &s, []string{"rome"}, nil)
	checkError(t, err, "rome: no such file, and no embedded config of that name (embedded: other.toml, tiny.toml)")
}

func TestLoadBadTarget(t *testing.T) {
	var s testSpec
	var n int
	for _, v := range []any{nil, s, &n, (*testSpec)(nil)} {
		if _, err := load(testFS, v, nil, nil); err == nil {
			t.Errorf("load(%T) succeeded, want an error", v)
		}
	}
}

// TestValidateWrap maps Validate's *sim.KeyError values to the file and line
// that set the key.
func TestValidateWrap(t *testing.T) {
	tests := []struct {
		name    string
		files   []string
		sets    []string
		defs    func(*testSpec)
		wantErr string
	}{
		{name: "negative value", files: []string{"bad/negative_ghz.toml"},
			wantErr: "testdata/bad/negative_ghz.toml:2: machine.ghz: must be > 0, got -1"},
		{name: "later file is blamed", files: []string{"bad/negative_ghz.toml", "merge/override.toml"},
			sets: []string{"machine.smt=3"},
			wantErr: "-set #1: machine.smt: must be >= 1 and divide cores (4), got 3\n" +
				"testdata/merge/override.toml:8: workload.group[0].threads: must be >= 1, got 0"},
		{name: "unset key in array element blames the element",
			files:   []string{"bad/zero_threads.toml"},
			wantErr: "testdata/bad/zero_threads.toml:5: workload.group[1].threads: must be >= 1, got 0"},
		{name: "invalid default", defs: func(s *testSpec) { s.Machine.SMT = 0 },
			files:   []string{"merge/experiment.toml"},
			wantErr: "(default): machine.smt: must be >= 1 and divide cores (4), got 0"},
		{name: "several", files: []string{"bad/negative_ghz.toml", "bad/zero_threads.toml"},
			sets: []string{"workload.group[0].threads=0"},
			wantErr: "testdata/bad/negative_ghz.toml:2: machine.ghz: must be > 0, got -1\n" +
				"-set #1: workload.group[0].threads: must be >= 1, got 0\n" +
				"testdata/bad/zero_threads.toml:5: workload.group[1].threads: must be >= 1, got 0"},
		{name: "array from -set", sets: []string{`workload.group=[{name="a"}]`},
			wantErr: "-set #1: workload.group[0].threads: must be >= 1, got 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := defaultSpec()
			if tt.defs != nil {
				tt.defs(&s)
			}
			var paths []string
			for _, f := range tt.files {
				paths = append(paths, td(f))
			}
			meta, err := load(testFS, &s, paths, tt.sets)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			checkError(t, meta.Wrap(s.Validate()), tt.wantErr)
		})
	}
}

func TestWrapPassThrough(t *testing.T) {
	meta := newMeta()
	meta.set["machine.ghz"] = location{"m.toml", 3}
	plain := errors.New("plain")
	if got := meta.Wrap(plain); got != plain {
		t.Errorf("Wrap(plain) = %v, want it unchanged", got)
	}
	if got := meta.Wrap(nil); got != nil {
		t.Errorf("Wrap(nil) = %v, want nil", got)
	}
	joined := errors.Join(plain, errors.New("other"))
	if got := meta.Wrap(joined); got != joined {
		t.Errorf("Wrap(join of plain errors) = %v, want it unchanged", got)
	}
	wrapped := fmt.Errorf("machine: %w", sim.KeyErrorf("machine.ghz", "must be > 0"))
	want := &Error{File: "m.toml", Line: 3, Key: "machine.ghz", Msg: "must be > 0"}
	if diff := cmp.Diff(want, meta.Wrap(wrapped)); diff != "" {
		t.Errorf("Wrap(wrapped KeyError) mismatch (-want +got):\n%s", diff)
	}
	var nilMeta *Meta
	if diff := cmp.Diff(&Error{File: DefaultFile, Key: "machine.ghz", Msg: "must be > 0"}, nilMeta.Wrap(wrapped)); diff != "" {
		t.Errorf("nil Meta Wrap mismatch (-want +got):\n%s", diff)
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{File: "rome256.toml", Line: 12, Key: "machine.ghz", Msg: "must be > 0"}, "rome256.toml:12: machine.ghz: must be > 0"},
		{Error{File: "rome256.toml", Key: "machine.ghz", Msg: "must be > 0"}, "rome256.toml: machine.ghz: must be > 0"},
		{Error{File: "rome256.toml", Line: 3, Msg: "bad"}, "rome256.toml:3: bad"},
		{Error{File: "x.toml", Msg: "no such file"}, "x.toml: no such file"},
		{Error{File: SetFile, Line: 2, Key: "run.seed", Msg: "bad"}, "-set #2: run.seed: bad"},
		{Error{File: DefaultFile, Key: "machine.smt", Msg: "bad"}, "(default): machine.smt: bad"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestWhere(t *testing.T) {
	type pos struct {
		File string
		Line int
	}
	tests := []struct {
		name  string
		files []string
		sets  []string
		want  map[string]pos
	}{
		{name: "headers", files: []string{"layouts/headers.toml"}, want: map[string]pos{
			"machine":                              {"layouts/headers.toml", 2},
			"machine.name":                         {"layouts/headers.toml", 3},
			"machine.ghz":                          {"layouts/headers.toml", 4},
			"run.duration_ms":                      {"layouts/headers.toml", 7},
			"workload":                             {"layouts/headers.toml", 9},
			"workload.group":                       {"layouts/headers.toml", 9},
			"workload.group[0]":                    {"layouts/headers.toml", 9},
			"workload.group[0].name":               {"layouts/headers.toml", 10},
			"workload.group[0].arrival":            {"layouts/headers.toml", 11},
			"workload.group[0].arrival.dist":       {"layouts/headers.toml", 12},
			"workload.group[0].arrival.rate_per_s": {"layouts/headers.toml", 13},
			"workload.group[1]":                    {"layouts/headers.toml", 15},
			"workload.group[1].name":               {"layouts/headers.toml", 16},
			"workload.group[1].threads":            {"layouts/headers.toml", 17},
			"workload.group[1].arrival":            {"layouts/headers.toml", 19},
			"workload.group[1].arrival.dist":       {"layouts/headers.toml", 20},
			"workload.group[2]":                    {"layouts/headers.toml", 22},
			"workload.group[2].name":               {"layouts/headers.toml", 23},
			"workload.group[2].threads":            {},
			"enclave.cpus":                         {},
		}},
		{name: "dotted and inline", files: []string{"layouts/dotted.toml"}, want: map[string]pos{
			"machine.name":                         {"layouts/dotted.toml", 2},
			"machine.ghz":                          {"layouts/dotted.toml", 3},
			"run.duration_ms":                      {"layouts/dotted.toml", 4},
			"enclave.cpus":                         {"layouts/dotted.toml", 5},
			"workload.group":                       {"layouts/dotted.toml", 9},
			"workload.group[0]":                    {"layouts/dotted.toml", 10},
			"workload.group[0].threads":            {"layouts/dotted.toml", 10},
			"workload.group[1]":                    {"layouts/dotted.toml", 12},
			"workload.group[1].name":               {"layouts/dotted.toml", 12},
			"workload.group[1].threads":            {"layouts/dotted.toml", 13},
			"workload.group[1].arrival.rate_per_s": {"layouts/dotted.toml", 13},
		}},
		{name: "mixed", files: []string{"layouts/mixed.toml"}, want: map[string]pos{
			"workload":                             {"layouts/mixed.toml", 1},
			"workload.group[0]":                    {"layouts/mixed.toml", 3},
			"workload.group[0].name":               {"layouts/mixed.toml", 4},
			"workload.group[0].arrival":            {"layouts/mixed.toml", 7},
			"workload.group[0].arrival.dist":       {"layouts/mixed.toml", 7},
			"workload.group[0].arrival.rate_per_s": {"layouts/mixed.toml", 8},
			"workload.group[1]":                    {"layouts/mixed.toml", 10},
			"workload.group[1].name":               {"layouts/mixed.toml", 11},
			"workload.group[1].arrival.dist":       {"layouts/mixed.toml", 12},
			"machine.name":                         {"layouts/mixed.toml", 14},
		}},
		{name: "merged files and sets",
			files: []string{"merge/machine.toml", "merge/experiment.toml", "merge/override.toml"},
			sets:  []string{"run.seed=3", "workload.group[0].threads=2"},
			want: map[string]pos{
				"machine.name":              {"merge/machine.toml", 3},
				"machine.ghz":               {"merge/override.toml", 2},
				"costs.extra.ipi_ns":        {"merge/machine.toml", 9},
				"costs.extra.switch_ns":     {"merge/override.toml", 5},
				"run.duration_ms":           {"merge/experiment.toml", 3},
				"run.seed":                  {SetFile, 1},
				"workload.group[0].name":    {"merge/override.toml", 9},
				"workload.group[0].threads": {SetFile, 2},
				"workload.group[1]":         {}, // replaced by override.toml's array
				"workload.group[2].name":    {},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := defaultSpec()
			var paths []string
			for _, f := range tt.files {
				paths = append(paths, td(f))
			}
			meta, err := load(testFS, &s, paths, tt.sets)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			got := make(map[string]pos)
			want := make(map[string]pos)
			for k, p := range tt.want {
				f, l := meta.Where(k)
				got[k] = pos{strings.TrimPrefix(f, "testdata/"), l}
				want[k] = p
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Where mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCanonical(t *testing.T) {
	resolve := func(files, sets []string) []byte {
		t.Helper()
		s := defaultSpec()
		var paths []string
		for _, f := range files {
			paths = append(paths, td(f))
		}
		if _, err := load(testFS, &s, paths, sets); err != nil {
			t.Fatalf("load: %v", err)
		}
		b, err := Canonical(&s)
		if err != nil {
			t.Fatalf("Canonical: %v", err)
		}
		return b
	}
	a := resolve([]string{"merge/machine.toml", "merge/experiment.toml", "merge/override.toml"}, nil)
	b := resolve([]string{"merge/same-as-override.toml"}, nil)
	c := resolve([]string{"merge/machine.toml"},
		[]string{"machine.ghz=3.5", "run.duration_ms=200", "run.seed=42", "enclave.cpus=0-3",
			"costs.extra.switch_ns=750", "costs.extra.tick_ns=20", `workload.group=[{name="only"}]`})
	if diff := cmp.Diff(string(a), string(b)); diff != "" {
		t.Errorf("Canonical differs for equal values (-files +single file):\n%s", diff)
	}
	if diff := cmp.Diff(string(a), string(c)); diff != "" {
		t.Errorf("Canonical differs for equal values (-files +sets):\n%s", diff)
	}
	d := resolve([]string{"merge/same-as-override.toml"}, []string{"run.seed=43"})
	if bytes.Equal(a, d) {
		t.Errorf("Canonical equal for different seeds:\n%s", a)
	}
	// The encoding loads back to the same values.
	var back testSpec
	if _, err := toml.Decode(string(a), &back); err != nil {
		t.Fatalf("canonical output does not parse: %v\n%s", err, a)
	}
	again, err := Canonical(&back)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(a), string(again)); diff != "" {
		t.Errorf("Canonical not stable through a round trip (-first +second):\n%s", diff)
	}
}
