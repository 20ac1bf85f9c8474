package main

import (
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// snapSweep is a short two-seed sweep of the Snap workload in loaded mode
// (antagonists, throttled MicroQuanta workers), as JSON lines.
var snapSweep = []string{"-workload", "snap", "-set", `workload.snap.mode="loaded"`,
	"-set", "run.warmup_ms=5", "-duration", "20ms", "-sweep", "run.seed=1,2", "-json", "-q"}

// TestSnapDeterminism: the Snap workload under MicroQuanta and under the
// snap policy gives the same JSON lines whatever -j and GOMAXPROCS are
// (docs/DESIGN.md §10), and the two seeds differ.
func TestSnapDeterminism(t *testing.T) {
	for _, policy := range []string{"", "snap"} {
		t.Run("policy="+policy, func(t *testing.T) {
			sweep := func(args ...string) []string {
				t.Helper()
				a := append([]string(nil), snapSweep...)
				if policy != "" {
					a = append(a, "-policy", policy)
				}
				code, out, stderr := ghostsim(t, append(a, args...)...)
				if code != exitOK {
					t.Fatalf("exit %d\n%s", code, stderr)
				}
				var lines []string
				for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
					lines = append(lines, deterministic(t, decodeLine(t, l+"\n")))
				}
				return lines
			}
			want := sweep("-j", "1")
			if len(want) != 2 || want[0] == want[1] {
				t.Fatalf("want two different seeds' results, got %d lines", len(want))
			}
			if diff := cmp.Diff(want, sweep("-j", "2")); diff != "" {
				t.Errorf("-j 2 differs from -j 1 (-want +got):\n%s", diff)
			}
			prev := runtime.GOMAXPROCS(1)
			defer runtime.GOMAXPROCS(prev)
			if diff := cmp.Diff(want, sweep("-j", "2")); diff != "" {
				t.Errorf("GOMAXPROCS=1 differs (-want +got):\n%s", diff)
			}
		})
	}
}
