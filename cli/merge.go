package cli

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"github.com/ghostsim/ghostsim/configs"
	"github.com/ghostsim/ghostsim/experiment"
	"github.com/ghostsim/ghostsim/experiment/repro"
	"github.com/ghostsim/ghostsim/results"
)

// Sharding a sweep over machines (docs/SCALE-OUT.md): -shard I/N runs the
// points whose index ≡ I (mod N); without -shard, a Kubernetes Indexed
// Job's JOB_COMPLETION_INDEX (with -shards N, the Job's completions) or a
// Slurm job array's SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT choose
// the shard. `ghostsim merge` puts the shards' JSON lines back together.

// version names this build in a sweep's results (results.Sweep.Version);
// a release build may set it with -ldflags "-X github.com/ghostsim/ghostsim/cli.version=v1.2.3".
var version string

// getenv reads the environment; a variable so that a test can see what a
// batch system sets without touching the process's environment.
var getenv = os.Getenv

// ghostsimVersion is version, else the module version or VCS revision the
// Go toolchain recorded, else "devel".
func ghostsimVersion() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if dirty {
		rev += "+dirty"
	}
	return rev
}

// shard is the part of a sweep one process runs: the points whose index
// is I modulo N. N == 0 is the whole sweep.
type shard struct {
	I, N int
	// from says where it came from, for the line on stderr.
	from string
	env  bool // from a batch system's environment variables
}

// has reports whether point i is the shard's.
func (s shard) has(i int) bool { return s.N == 0 || i%s.N == s.I }

// file is the name -out gives the shard's JSON lines.
func (s shard) file() string { return fmt.Sprintf("shard-%d-of-%d.jsonl", s.I, s.N) }

// resolveShard returns the shard to run from -shard and -shards, or from
// the environment variables of a Kubernetes Indexed Job or a Slurm job
// array when -shard is absent. Errors are usage errors.
func resolveShard(flagShard string, flagShards int) (shard, error) {
	if flagShards < 0 {
		return shard{}, fmt.Errorf("-shards %d: want at least 1", flagShards)
	}
	if flagShard != "" {
		is, ns, ok := strings.Cut(flagShard, "/")
		i, err1 := strconv.Atoi(is)
		n, err2 := strconv.Atoi(ns)
		if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
			return shard{}, fmt.Errorf("-shard %q: want I/N with 0 ≤ I < N, such as 0/4", flagShard)
		}
		if flagShards != 0 && flagShards != n {
			return shard{}, fmt.Errorf("-shard %s and -shards %d disagree", flagShard, flagShards)
		}
		return shard{I: i, N: n, from: "-shard " + flagShard}, nil
	}
	if v := getenv("JOB_COMPLETION_INDEX"); v != "" {
		i, err := strconv.Atoi(v)
		if err != nil || i < 0 {
			return shard{}, fmt.Errorf("JOB_COMPLETION_INDEX=%q (Kubernetes Indexed Job): want a non-negative integer", v)
		}
		if flagShards == 0 {
			return shard{}, fmt.Errorf("JOB_COMPLETION_INDEX=%d is set (a Kubernetes Indexed Job) but not the number of shards: add -shards N, N the Job's completions", i)
		}
		if i >= flagShards {
			return shard{}, fmt.Errorf("JOB_COMPLETION_INDEX=%d (Kubernetes Indexed Job) is not below -shards %d: make -shards the Job's completions", i, flagShards)
		}
		return shard{I: i, N: flagShards, env: true,
			from: fmt.Sprintf("JOB_COMPLETION_INDEX=%d (Kubernetes Indexed Job) and -shards %d", i, flagShards)}, nil
	}
	if v := getenv("SLURM_ARRAY_TASK_ID"); v != "" {
		id, err := strconv.Atoi(v)
		if err != nil || id < 0 {
			return shard{}, fmt.Errorf("SLURM_ARRAY_TASK_ID=%q (Slurm job array): want a non-negative integer", v)
		}
		n := flagShards
		if c := getenv("SLURM_ARRAY_TASK_COUNT"); c != "" {
			cn, err := strconv.Atoi(c)
			if err != nil || cn < 1 {
				return shard{}, fmt.Errorf("SLURM_ARRAY_TASK_COUNT=%q (Slurm job array): want a positive integer", c)
			}
			if n != 0 && n != cn {
				return shard{}, fmt.Errorf("-shards %d and SLURM_ARRAY_TASK_COUNT=%d disagree", n, cn)
			}
			n = cn
		}
		if n == 0 {
			return shard{}, fmt.Errorf("SLURM_ARRAY_TASK_ID=%d is set (a Slurm job array) but not SLURM_ARRAY_TASK_COUNT: add -shards N, N the array's size", id)
		}
		lo, step := 0, 1
		if v := getenv("SLURM_ARRAY_TASK_MIN"); v != "" {
			lo, err = strconv.Atoi(v)
			if err != nil {
				return shard{}, fmt.Errorf("SLURM_ARRAY_TASK_MIN=%q (Slurm job array): want an integer", v)
			}
		}
		if v := getenv("SLURM_ARRAY_TASK_STEP"); v != "" {
			step, err = strconv.Atoi(v)
			if err != nil || step < 1 {
				return shard{}, fmt.Errorf("SLURM_ARRAY_TASK_STEP=%q (Slurm job array): want a positive integer", v)
			}
		}
		i := (id - lo) / step
		if id < lo || (id-lo)%step != 0 || i >= n {
			return shard{}, fmt.Errorf("SLURM_ARRAY_TASK_ID=%d is not one of %d tasks from SLURM_ARRAY_TASK_MIN=%d in steps of %d: submit with --array=0-%d", id, n, lo, step, n-1)
		}
		return shard{I: i, N: n, env: true,
			from: fmt.Sprintf("SLURM_ARRAY_TASK_ID=%d of SLURM_ARRAY_TASK_COUNT=%d (Slurm job array)", id, n)}, nil
	}
	if flagShards != 0 {
		return shard{}, fmt.Errorf("-shards %d: give -shard I/N, or run as a Kubernetes Indexed Job (JOB_COMPLETION_INDEX) or a Slurm job array", flagShards)
	}
	return shard{}, nil
}

// sweepHash identifies a sweep by its points: what each runs (workload,
// policy, the canonical config's SHA-256) and its point values, in order.
func sweepHash(points []experiment.Point) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%d points\n", len(points))
	for _, p := range points {
		canon, err := configs.Canonical(p.Spec)
		if err != nil {
			return "", fmt.Errorf("hashing the config: %w", err)
		}
		vals, err := json.Marshal(p.Values)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\t%s\t%x\t%s\n", p.Workload, p.Policy, sha256.Sum256(canon), vals)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// mergeLine is one JSON line of a shard file.
type mergeLine struct {
	raw  []byte
	r    *results.Result
	file string
	line int
}

func (l mergeLine) at() string { return fmt.Sprintf("%s:%d", l.file, l.line) }

// runMerge is `ghostsim merge OUT_DIR SHARD_FILES...`: it checks that the
// shard files hold every point of one sweep exactly once, all with the
// same sweep hash and ghostsim version, and writes OUT_DIR/results.jsonl,
// sweep.csv and the figure as the unsharded run would have. Exit 2 for
// bad input, each problem one line on stderr.
func runMerge(args []string, stdout, stderr io.Writer) int {
	return runMergeParts(args, repro.Parts(), stdout, stderr)
}

// runMergeParts is runMerge with the repro parts given (a test passes its
// own).
func runMergeParts(args []string, parts []repro.Part, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ghostsim merge", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var pf plotFlags
	pf.declare(fs)
	quiet := fs.Bool("q", false, "quiet: no line saying what was written")
	jobs := fs.Int("j", runtime.GOMAXPROCS(0), "run up to `N` simulations at once (a repro part's batches after the first)")
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "ghostsim merge: "+format+"\n", a...)
		return exitUsage
	}
	var pos []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stdout, `usage: ghostsim merge [-plot METRIC:CLASS] [-format LIST] [-j N] [-q] OUT_DIR SHARD_FILE...

Merges the JSON lines of a sweep run in shards (-shard I/N, or a Kubernetes
Indexed Job or Slurm job array; see docs/SCALE-OUT.md) into OUT_DIR's
results.jsonl, sweep.csv and figure, the files an unsharded -out run writes.
It checks that the files hold every point of one sweep exactly once, all with
the same sweep config hash and ghostsim version. Exit status: 0 merged, 2 bad
input (each problem one line on stderr).

The shards of a repro part (ghostsim repro -shard I/N NAME) merge the same
way: merge checks them, runs what depends on them (Fig 6's knee refinement)
with -j N, and prints and writes into OUT_DIR what 'ghostsim repro -out
OUT_DIR NAME' does. Exit status: 0 every claim passes, 1 a claim fails or a
run fails, 2 bad input.

Flags:
`)
				fs.SetOutput(stdout)
				fs.PrintDefaults()
				return exitOK
			}
			return bad("%v (see 'ghostsim merge -h')", err)
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(pos) < 2 {
		return bad("want OUT_DIR and at least one shard file (see 'ghostsim merge -h')")
	}
	if err := pf.parse(); err != nil {
		return bad("%v", err)
	}
	dir, files := pos[0], pos[1:]
	seen := map[string]string{}
	for _, f := range files {
		if prev, dup := seen[filepath.Clean(f)]; dup {
			if prev != f {
				return bad("%s is given twice (as %s and %s): give each shard file once", f, prev, f)
			}
			return bad("%s is given twice: give each shard file once", f)
		}
		seen[filepath.Clean(f)] = f
	}
	if isReproShard(files) {
		if pf.plotArg != "" {
			return bad("-plot chooses a sweep's figure; a repro part draws its own")
		}
		env := repro.Env{Jobs: *jobs}
		if !*quiet && isTerminal(stderr) {
			env.Progress = func(label string) func(done, total int) {
				return countProgress(true, stderr, label, "simulations")
			}
		}
		return mergeRepro(parts, dir, files, env, pf.formats, *quiet, stdout, stderr)
	}
	var lines []mergeLine
	for _, f := range files {
		ls, err := readShard(f)
		if err != nil {
			return bad("%v", err)
		}
		lines = append(lines, ls...)
	}
	if len(lines) == 0 {
		return bad("the shard files hold no results")
	}
	ref := lines[0]
	rs := ref.r.Sweep
	byIndex := make([]*mergeLine, rs.Points)
	for k := range lines {
		l := &lines[k]
		s := l.r.Sweep
		switch {
		case s.ConfigSHA256 != rs.ConfigSHA256 || s.Points != rs.Points || !slices.Equal(s.Axes, rs.Axes):
			return bad("%s: config mismatch: sweep config hash %.12s (%d points) differs from %.12s (%d points) at %s: the shards come from different sweeps",
				l.at(), s.ConfigSHA256, s.Points, rs.ConfigSHA256, rs.Points, ref.at())
		case s.Version != rs.Version:
			return bad("%s: version mismatch: ghostsim %s ran it, ghostsim %s ran %s: run every shard with the same build", l.at(), s.Version, rs.Version, ref.at())
		case s.Index < 0 || s.Index >= s.Points:
			return bad("%s: point index %d is outside the sweep's %d points", l.at(), s.Index, s.Points)
		case byIndex[s.Index] != nil:
			return bad("duplicate point %d of %d: at %s and %s", s.Index, s.Points, byIndex[s.Index].at(), l.at())
		}
		byIndex[s.Index] = l
	}
	var missing []string
	for i, l := range byIndex {
		if l == nil {
			missing = append(missing, strconv.Itoa(i))
		}
	}
	if len(missing) > 0 {
		list := missing
		if len(list) > 20 {
			list = append(list[:20:20], "...")
		}
		return bad("missing %d of %d points: %s (is a shard's file missing or cut short?)", len(missing), rs.Points, strings.Join(list, ", "))
	}

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return bad("%v", err)
	}
	var jl bytes.Buffer
	out := make([]*results.Result, len(byIndex))
	for i, l := range byIndex {
		jl.Write(l.raw)
		jl.WriteByte('\n')
		out[i] = l.r
	}
	if err := os.WriteFile(filepath.Join(dir, sweepJSONL), jl.Bytes(), 0o644); err != nil {
		fmt.Fprintf(stderr, "ghostsim merge: %v\n", err)
		return exitFailure
	}
	cols := newSweepColumns(out, rs.Axes)
	c, err := cols.csv(out)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, sweepCSV), c, 0o644)
	}
	if err != nil {
		fmt.Fprintf(stderr, "ghostsim merge: %v\n", err)
		return exitFailure
	}
	plotted, why, err := plotSweep(dir, out, cols, pf)
	if err != nil {
		fmt.Fprintf(stderr, "ghostsim merge: %v\n", err)
		return exitFailure
	}
	if !*quiet {
		fmt.Fprintf(stderr, "ghostsim merge: %d points from %d files; wrote %s, %s%s\n", len(out), len(files),
			joinPath(dir, sweepJSONL), joinPath(dir, sweepCSV), figureNote(dir, plotted, why, pf.formats))
	}
	return exitOK
}

// readShard reads a shard file's JSON lines (an empty file is a shard
// without points). Each must be a sweep point: a result with "sweep".
func readShard(path string) ([]mergeLine, error) {
	var out []mergeLine
	err := eachLine(path, func(at string, n int, line []byte) error {
		rs, err := results.DecodeAll(line)
		if err != nil {
			return fmt.Errorf("%s: %v", at, err)
		}
		if len(rs) != 1 {
			return fmt.Errorf("%s: want one result per line, got %d", at, len(rs))
		}
		if rs[0].Sweep == nil {
			return fmt.Errorf(`%s: not a sweep point (no "sweep" field): merge takes the JSON lines of a sweep run with -json or -shard`, at)
		}
		out = append(out, mergeLine{raw: append([]byte(nil), line...), r: rs[0], file: path, line: n})
		return nil
	})
	return out, err
}

// eachLine calls fn with each non-blank line of the file at path (spaces
// trimmed; the slice is reused after fn returns), its number n and
// "path:n" for messages, and stops at fn's first error. A file larger
// than results.MaxFileBytes is refused, as results.ReadFile refuses one,
// rather than read in part.
func eachLine(path string, fn func(at string, n int, line []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	lim := &io.LimitedReader{R: f, N: results.MaxFileBytes + 1}
	sc := bufio.NewScanner(lim)
	sc.Buffer(nil, 16<<20)
	for n := 1; sc.Scan(); n++ {
		if lim.N <= 0 {
			break
		}
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if err := fn(fmt.Sprintf("%s:%d", path, n), n, line); err != nil {
			return err
		}
	}
	if lim.N <= 0 {
		return fmt.Errorf("%s: larger than %d bytes (%d MiB), the limit for a results file", path, results.MaxFileBytes, results.MaxFileBytes>>20)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	return nil
}
