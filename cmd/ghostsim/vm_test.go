package main

import (
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// vmSweep is a short sweep of the vm workload (Table 4's 32 vCPUs on 25
// cores) over two lengths of the benchmark, as JSON lines.
var vmSweep = []string{"-config", "skylake112", "-config", "vm.toml", "-workload", "vm",
	"-sweep", "workload.vm.scale=0.0005,0.001", "-json", "-q"}

// TestVMDeterminism: the vm workload under each of Table 4's schedulers
// (CFS, in-kernel core scheduling, the securevm policy with its sync-group
// commits) gives the same JSON lines whatever -j and GOMAXPROCS are
// (docs/DESIGN.md §10), and the two lengths differ.
func TestVMDeterminism(t *testing.T) {
	for _, sys := range []struct {
		name string
		args []string
	}{
		{"cfs", nil},
		{"core_sched", []string{"-set", "kernel.core_sched=true", "-set", "kernel.vm_flush=true"}},
		{"securevm", []string{"-policy", "securevm", "-set", "kernel.vm_flush=true"}},
	} {
		t.Run(sys.name, func(t *testing.T) {
			sweep := func(args ...string) []string {
				t.Helper()
				a := append(append([]string(nil), vmSweep...), sys.args...)
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
				t.Fatalf("want two different lengths' results, got %d lines", len(want))
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
