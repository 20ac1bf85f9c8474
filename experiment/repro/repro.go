// Package repro reproduces the paper's tables and figures: for each one,
// the systems it compares, the loads or settings it runs them at, how its
// data is derived from the runs, and the claims of docs/PAPER-CLAIMS.md it
// checks. Each part is one file (table3.go, fig5.go, ...) and is registered
// by name in Parts.
//
// A part computes; it writes nothing. Its Result holds the text to print,
// the data files (CSV) to write, the checked claims and the data its
// figures are drawn from; the command (package cli) prints, writes and
// plots them.
package repro

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"time"

	"github.com/ghostsim/ghostsim/configs"
	"github.com/ghostsim/ghostsim/experiment"
	"github.com/ghostsim/ghostsim/results"
)

// Claim is one claim of docs/PAPER-CLAIMS.md with what the run measured.
type Claim struct {
	What, Measured string
	OK             bool
}

// File is a data file a part produces, named relative to the output
// directory.
type File struct {
	Name string
	Data []byte
}

// Result is what a part produced.
type Result struct {
	// Text is printed before the files are written: the part's table,
	// "" for a part that only draws figures.
	Text   string
	Files  []File
	Claims []Claim
	// Data is what the part's figures are drawn from: *Fig5Data,
	// *Fig6Data, *Fig7Data, *Fig8Data; nil for a table.
	Data any
	// Runs counts the simulations the part ran.
	Runs int
	// ConfigSHA256 identifies every run of the part: the SHA-256 of each
	// run's workload, policy and config_sha256, one line per run in the
	// order they ran. Two builds that hash the same ran the same configs.
	ConfigSHA256 string
}

// Failed counts the claims that fail.
func (r *Result) Failed() int {
	n := 0
	for _, c := range r.Claims {
		if !c.OK {
			n++
		}
	}
	return n
}

// Env is what a part needs from its caller.
type Env struct {
	// Jobs is how many simulations run at once; the results do not
	// depend on it.
	Jobs int
	// Progress, when set, returns a callback for one batch of runs
	// labelled label (such as "fig6"), called after each run with the
	// number done of total.
	Progress func(label string) func(done, total int)
	// Sweep, when set, runs each batch of the part's simulations in place
	// of experiment.RunSweep and returns their results in point order:
	// batch counts the part's batches from 0 in the order they run (a
	// later batch may depend on an earlier one's results, as Fig 6's knee
	// refinement does). `ghostsim repro -shard` runs a share of batch 0
	// and stops the part; `ghostsim merge` hands the shards' results back
	// as batch 0 and runs the rest (docs/SCALE-OUT.md).
	Sweep func(label string, batch int, points []experiment.Point) ([]*results.Result, error)
}

// Part is one table or figure of the paper.
type Part struct {
	Name    string
	Summary string // one line for the usage text
	// Estimate is about how long the part takes with two jobs on the
	// 2-core machine docs/PERFORMANCE.md was measured on: what `repro all`
	// bases its estimate of the time left on.
	Estimate time.Duration
	Run      func(Env) (*Result, error)
	// Study marks a part that is no table or figure of the paper (it
	// checks no claim): `repro all` leaves it out.
	Study bool
}

// Parts returns every registered part, in the paper's order.
func Parts() []Part {
	return []Part{
		{"table3", "Table 3: ghOSt operation costs on skylake112", 100 * time.Millisecond, Table3, false},
		{"fig5", "Fig 5: global-agent scalability on skylake112 and haswell72", 6 * time.Second, Fig5, false},
		{"fig6", "Fig 6a–c: RocksDB on Shinjuku, ghOSt-Shinjuku (+Shenango) and CFS on xeon48", 215 * time.Second, Fig6, false},
		{"fig7", "Fig 7: Google Snap round trips (64 B, 64 kB) under MicroQuanta and the snap policy, quiet and loaded, on skylake112", 18 * time.Second, Fig7, false},
		{"fig8", "Fig 8: Google Search queries on rome256 under CFS and the search policy, with its ablations", 63 * time.Second, Fig8, false},
		{"table4", "Table 4: secure VM core scheduling on skylake112: CFS, in-kernel core scheduling, the securevm policy", 3 * time.Second, Table4, false},
		{"bpf-study", "a study, not in all: the BPF fast path on Search (rome256) as the agent loop grows (docs/BPF-STUDY.md)", bpfStudyEstimate, BPFStudy, true},
	}
}

// Find returns the part called name.
func Find(name string) (Part, bool) {
	for _, p := range Parts() {
		if p.Name == name {
			return p, true
		}
	}
	return Part{}, false
}

// Names returns the parts' names in order.
func Names() []string {
	var out []string
	for _, p := range Parts() {
		out = append(out, p.Name)
	}
	return out
}

// embedded names the shipped configs so that they load whatever the
// working directory holds (configs.EmbeddedPrefix): a part reproduces the
// paper's setup from any directory.
func embedded(names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = configs.EmbeddedPrefix + n
	}
	return out
}

// runner runs a part's simulations and hashes their configs.
type runner struct {
	env     Env
	h       hash.Hash
	runs    int
	batches int // sweep calls so far
}

func newRunner(env Env) *runner { return &runner{env: env, h: sha256.New()} }

// record adds r's config to the part's hash.
func (u *runner) record(r *results.Result) {
	fmt.Fprintf(u.h, "%s %s %s\n", r.Workload, r.Policy, r.ConfigSHA256)
	u.runs++
}

// sweep runs points, up to env.Jobs at once (or through env.Sweep, as the
// part's next batch), and returns their results in point order. Every
// simulation of a part goes through it.
func (u *runner) sweep(label string, points []experiment.Point) ([]*results.Result, error) {
	batch := u.batches
	u.batches++
	var rs []*results.Result
	var err error
	if u.env.Sweep != nil {
		rs, err = u.env.Sweep(label, batch, points)
		if err == nil && len(rs) != len(points) {
			err = fmt.Errorf("%s: batch %d gave %d results for %d points", label, batch, len(rs), len(points))
		}
	} else {
		var progress func(done, total int)
		if u.env.Progress != nil {
			progress = u.env.Progress(label)
		}
		rs, err = experiment.RunSweep(points, u.env.Jobs, progress)
	}
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		u.record(r)
	}
	return rs, nil
}

// finish fills res's Runs and ConfigSHA256.
func (u *runner) finish(res *Result) *Result {
	res.Runs = u.runs
	res.ConfigSHA256 = hex.EncodeToString(u.h.Sum(nil))
	return res
}
