package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ghostsim/ghostsim/experiment"
	"github.com/ghostsim/ghostsim/experiment/repro"
	"github.com/ghostsim/ghostsim/results"
)

// Sharding a repro part (docs/SCALE-OUT.md): `ghostsim repro -shard I/N
// PART` runs the runs of the part's first batch whose index ≡ I (mod N)
// and writes them as PART-shard-I-of-N.jsonl; `ghostsim merge` hands the
// shards' results back to the part as that batch, runs the batches that
// depend on it (Fig 6's knee refinement) and writes what `repro PART`
// writes. A part's first batch is nearly all of its runs: every run of
// table3, fig5, fig7, fig8 and table4, and Fig 6's 90 sweep points.

// reproShardLine is one JSON line of a repro shard file: a run of the
// part's first batch and its place in it.
type reproShardLine struct {
	Repro  reproPlace      `json:"repro"`
	Result json.RawMessage `json:"result"`
}

// reproPlace places a run in its part's first batch. Every line of a
// part's shards carries the same Part, Runs, ConfigSHA256 and Version.
type reproPlace struct {
	Part  string `json:"part"`
	Index int    `json:"index"`
	Runs  int    `json:"runs"`
	// ConfigSHA256 hashes the batch's runs as a sweep's config hash does
	// (sweepHash: each run's workload, policy, canonical config and point).
	ConfigSHA256 string `json:"config_sha256"`
	Version      string `json:"version"`
}

// errShardDone stops a part once its shard of the first batch has run:
// the rest needs every shard's results.
var errShardDone = errors.New("the shard's runs are done")

// reproShardFile names a part's shard file.
func reproShardFile(part string, s shard) string { return part + "-" + s.file() }

// runReproShard runs shard s of part p's first batch and writes its lines
// to dir/PART-shard-I-of-N.jsonl.
func runReproShard(p repro.Part, env repro.Env, s shard, dir string, quiet bool, stderr io.Writer) int {
	var lines bytes.Buffer
	ran := false
	env.Sweep = func(label string, batch int, points []experiment.Point) ([]*results.Result, error) {
		hash, err := sweepHash(points)
		if err != nil {
			return nil, err
		}
		var mine []experiment.Point
		var index []int
		for i, pt := range points {
			if s.has(i) {
				mine, index = append(mine, pt), append(index, i)
			}
		}
		if s.env || !quiet {
			fmt.Fprintf(stderr, "ghostsim repro: shard %d/%d from %s: %d of %s's %d runs (those whose index ≡ %d mod %d); "+
				"what depends on them runs in ghostsim merge\n", s.I, s.N, s.from, len(mine), p.Name, len(points), s.I, s.N)
		}
		var progress func(done, total int)
		if env.Progress != nil {
			progress = env.Progress(label)
		}
		rs, err := experiment.RunSweep(mine, env.Jobs, progress)
		if err != nil {
			return nil, err
		}
		ver := ghostsimVersion()
		for k, r := range rs {
			raw, err := r.JSON()
			if err != nil {
				return nil, fmt.Errorf("encoding the result: %w", err)
			}
			b, err := json.Marshal(reproShardLine{
				Repro:  reproPlace{Part: p.Name, Index: index[k], Runs: len(points), ConfigSHA256: hash, Version: ver},
				Result: raw,
			})
			if err != nil {
				return nil, fmt.Errorf("encoding the result: %w", err)
			}
			lines.Write(b)
			lines.WriteByte('\n')
		}
		ran = true
		return nil, errShardDone
	}
	_, err := p.Run(env)
	if err != nil && !errors.Is(err, errShardDone) {
		fmt.Fprintf(stderr, "ghostsim repro %s: %v\n", p.Name, err)
		return exitFailure
	}
	if !ran {
		fmt.Fprintf(stderr, "ghostsim repro %s: -shard: the part runs no simulations to share out; run it whole\n", p.Name)
		return exitUsage
	}
	file := filepath.Join(dir, reproShardFile(p.Name, s))
	if err = os.MkdirAll(dir, 0o755); err == nil {
		err = os.WriteFile(file, lines.Bytes(), 0o644)
	}
	if err != nil {
		fmt.Fprintf(stderr, "ghostsim repro %s: -out: %v\n", p.Name, err)
		return exitFailure
	}
	if !quiet {
		fmt.Fprintf(stderr, "ghostsim repro: wrote %s; merge the shards with: ghostsim merge OUT_DIR %s\n",
			file, filepath.Join(dir, p.Name+"-"+fmt.Sprintf("shard-*-of-%d.jsonl", s.N)))
	}
	return exitOK
}

// isReproShard reports whether the first line of the first non-empty
// file is a repro shard's.
func isReproShard(files []string) bool {
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			return false // readShard reports it
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 {
				continue
			}
			f.Close()
			var probe map[string]json.RawMessage
			if json.Unmarshal(line, &probe) != nil {
				return false
			}
			_, ok := probe["repro"]
			return ok
		}
		f.Close()
	}
	return false
}

// reproLine is one line of a repro shard file, read.
type reproLine struct {
	place reproPlace
	r     *results.Result
	file  string
	line  int
}

func (l reproLine) at() string { return l.file + ":" + strconv.Itoa(l.line) }

// readReproShard reads a repro shard file's lines (an empty file is a
// shard without runs).
func readReproShard(path string) ([]reproLine, error) {
	var out []reproLine
	err := eachLine(path, func(at string, n int, line []byte) error {
		var l reproShardLine
		if err := json.Unmarshal(line, &l); err != nil {
			return fmt.Errorf("%s: not a repro shard's line: %v", at, err)
		}
		if l.Repro.Part == "" || len(l.Result) == 0 {
			return fmt.Errorf(`%s: not a repro shard's line (no "repro" and "result"): merge takes the files ghostsim repro -shard writes, or a sweep's shards`, at)
		}
		rs, err := results.DecodeAll(l.Result)
		if err != nil {
			return fmt.Errorf("%s: %v", at, err)
		}
		if len(rs) != 1 {
			return fmt.Errorf("%s: want one result per line, got %d", at, len(rs))
		}
		out = append(out, reproLine{place: l.Repro, r: rs[0], file: path, line: n})
		return nil
	})
	return out, err
}

// mergeInputError is a problem with merge's input, not with the runs: exit 2.
type mergeInputError struct{ msg string }

func (e *mergeInputError) Error() string { return e.msg }

func inputErrorf(format string, a ...any) error { return &mergeInputError{fmt.Sprintf(format, a...)} }

// checkReproShards checks that lines hold every run of one part's first
// batch exactly once, with one config hash and this build's version, and
// returns the part's name and the results in run order.
func checkReproShards(lines []reproLine) (string, []*results.Result, error) {
	if len(lines) == 0 {
		return "", nil, inputErrorf("the shard files hold no results")
	}
	ref := lines[0]
	rp := ref.place
	ver := ghostsimVersion()
	byIndex := make([]*reproLine, rp.Runs)
	for k := range lines {
		l := &lines[k]
		p := l.place
		switch {
		case p.Part != rp.Part:
			return "", nil, inputErrorf("%s: part mismatch: a shard of %s, %s holds %s's", l.at(), p.Part, ref.at(), rp.Part)
		case p.ConfigSHA256 != rp.ConfigSHA256 || p.Runs != rp.Runs:
			return "", nil, inputErrorf("%s: config mismatch: %s's config hash %.12s (%d runs) differs from %.12s (%d runs) at %s: the shards come from different runs",
				l.at(), p.Part, p.ConfigSHA256, p.Runs, rp.ConfigSHA256, rp.Runs, ref.at())
		case p.Version != rp.Version:
			return "", nil, inputErrorf("%s: version mismatch: ghostsim %s ran it, ghostsim %s ran %s: run every shard with the same build", l.at(), p.Version, rp.Version, ref.at())
		case p.Version != ver:
			return "", nil, inputErrorf("%s: version mismatch: ghostsim %s ran the shards, this is ghostsim %s: merge a repro part with the build that ran it (merge runs the part's later batches)", l.at(), p.Version, ver)
		case p.Index < 0 || p.Index >= p.Runs:
			return "", nil, inputErrorf("%s: run index %d is outside %s's %d runs", l.at(), p.Index, p.Part, p.Runs)
		case byIndex[p.Index] != nil:
			return "", nil, inputErrorf("duplicate run %d of %d: at %s and %s", p.Index, p.Runs, byIndex[p.Index].at(), l.at())
		}
		byIndex[p.Index] = l
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
		return "", nil, inputErrorf("missing %d of %s's %d runs: %s (is a shard's file missing or cut short?)", len(missing), rp.Part, rp.Runs, strings.Join(list, ", "))
	}
	out := make([]*results.Result, len(byIndex))
	for i, l := range byIndex {
		out[i] = l.r
	}
	return rp.Part, out, nil
}

// mergeRepro merges a repro part's shard files: it checks them, runs the
// part with their results as its first batch (and its later batches
// here), and prints and writes what `ghostsim repro PART` does. Exit 0
// when every claim passes, 1 when one fails or a run fails, 2 for bad
// input.
func mergeRepro(parts []repro.Part, dir string, files []string, env repro.Env, formats []string, quiet bool, stdout, stderr io.Writer) int {
	bad := func(err error) int {
		fmt.Fprintf(stderr, "ghostsim merge: %v\n", err)
		return exitUsage
	}
	var lines []reproLine
	for _, f := range files {
		ls, err := readReproShard(f)
		if err != nil {
			return bad(err)
		}
		lines = append(lines, ls...)
	}
	name, first, err := checkReproShards(lines)
	if err != nil {
		return bad(err)
	}
	var part *repro.Part
	for i := range parts {
		if parts[i].Name == name {
			part = &parts[i]
		}
	}
	if part == nil {
		return bad(fmt.Errorf("%s: part %q is not one this build reproduces", lines[0].at(), name))
	}
	hash := lines[0].place.ConfigSHA256
	local := 0
	env.Sweep = func(label string, batch int, points []experiment.Point) ([]*results.Result, error) {
		if batch == 0 {
			h, err := sweepHash(points)
			if err != nil {
				return nil, err
			}
			if h != hash || len(points) != len(first) {
				return nil, inputErrorf("config mismatch: the shards ran %s's %d runs with config hash %.12s, this build's are %d runs with %.12s",
					name, len(first), hash, len(points), h)
			}
			return first, nil
		}
		var progress func(done, total int)
		if env.Progress != nil {
			progress = env.Progress(label)
		}
		local += len(points)
		return experiment.RunSweep(points, env.Jobs, progress)
	}
	res, _, err := reproPart(*part, env, dir, formats, stdout)
	if err != nil {
		var ie *mergeInputError
		if errors.As(err, &ie) {
			return bad(err)
		}
		fmt.Fprintf(stderr, "ghostsim merge: %s: %v\n", name, err)
		return exitFailure
	}
	if !quiet {
		more := ""
		if local > 0 {
			more = fmt.Sprintf(", %d more run here (they depend on the shards' results)", local)
		}
		fmt.Fprintf(stderr, "ghostsim merge: %s: %d runs from %d files%s\n", name, len(first), len(files), more)
	}
	if printClaims(stdout, res.Claims) > 0 {
		return exitFailure
	}
	return exitOK
}
