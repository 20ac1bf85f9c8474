package cli

import (
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// checkSweepDeterminism runs the two-point sweep args (with -json) at
// -j 1, at -j 2 and at -j 2 under GOMAXPROCS=1, and fails unless the three
// give the same JSON lines without host (docs/DESIGN.md §10) and the two
// points differ.
func checkSweepDeterminism(t *testing.T, args ...string) {
	t.Helper()
	sweep := func(more ...string) []string {
		t.Helper()
		code, out, stderr := ghostsim(t, append(append([]string(nil), args...), more...)...)
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
		t.Fatalf("want two different points' results, got %d lines", len(want))
	}
	if diff := cmp.Diff(want, sweep("-j", "2")); diff != "" {
		t.Errorf("-j 2 differs from -j 1 (-want +got):\n%s", diff)
	}
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	if diff := cmp.Diff(want, sweep("-j", "2")); diff != "" {
		t.Errorf("GOMAXPROCS=1 differs (-want +got):\n%s", diff)
	}
}

// TestSearchDeterminism: a short two-seed sweep of the Search workload
// under the search policy.
func TestSearchDeterminism(t *testing.T) {
	checkSweepDeterminism(t, "-workload", "search", "-policy", "search", "-set", "run.warmup_ms=5", "-duration", "15ms",
		"-set", "workload.search.a.clients=16", "-set", "workload.search.b.clients=8", "-set", "workload.search.c.clients=8",
		"-sweep", "run.seed=1,2", "-json", "-q")
}
