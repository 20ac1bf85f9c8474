package experiment_test

import (
	"testing"

	"github.com/ghostsim/ghostsim/experiment"
)

// TestFig5Shape checks the features of the paper's Fig 5 that the model
// reproduces, on both machines: the steep ramp as CPUs are added, and the
// decline once CPUs of the remote socket are scheduled. Two features do
// not emerge and are reported as known gaps by ghostsim repro fig5: the
// drop when the agent's SMT sibling gets a thread, and skylake112's peak
// above 2 M txns/s (the model peaks near 1.91 M). The loop runs in lock
// step: the agent commits a round to every idle CPU, then polls while the
// threads run and yield, so the sibling's thread runs while the agent
// waits and slows none of its work (only the sibling's switch to idle
// overlaps the agent's draining); and a commit to the sibling is cheaper
// (8 ns line transfers instead of 50), so the curve rises there.
func TestFig5Shape(t *testing.T) {
	if testing.Short() {
		t.Skip("a dozen simulations per machine")
	}
	for _, tt := range []struct {
		machine string
		cores   int // per socket
	}{{"skylake112", 28}, {"haswell72", 18}} {
		t.Run(tt.machine, func(t *testing.T) {
			spec, _, err := experiment.Load([]string{tt.machine}, []string{"workload.scalability.step=1"})
			if err != nil {
				t.Fatal(err)
			}
			info, _ := experiment.FindWorkload("scalability")
			all, err := info.Sweep(spec, "")
			if err != nil {
				t.Fatal(err)
			}
			want := map[int]bool{2: true, 10: true, tt.cores: true, tt.cores + 1: true, 2 * tt.cores: true, 3 * tt.cores: true, 4 * tt.cores: true}
			var pts []experiment.Point
			for _, p := range all {
				if want[int(p.Values["cpus"])] {
					pts = append(pts, p)
				}
			}
			rs, err := experiment.RunSweep(pts, 2, nil)
			if err != nil {
				t.Fatal(err)
			}
			tp := map[int]float64{}
			for _, r := range rs {
				tp[int(r.Metrics["cpus"])] = r.Metrics["txns_per_s"]
			}
			t.Logf("txns/s by CPUs: %v", tp)
			if tp[10] < 1.5*tp[2] {
				t.Errorf("no steep ramp: %.0f at 2 CPUs, %.0f at 10", tp[2], tp[10])
			}
			socket0 := tp[2*tt.cores]
			if tp[4*tt.cores] >= 0.97*socket0 {
				t.Errorf("no decline with the remote socket: %.0f at %d CPUs, %.0f at %d", socket0, 2*tt.cores, tp[4*tt.cores], 4*tt.cores)
			}
			if tp[3*tt.cores] >= socket0 {
				t.Errorf("adding remote CPUs should cost throughput: %.0f at %d, %.0f at %d", socket0, 2*tt.cores, tp[3*tt.cores], 3*tt.cores)
			}
		})
	}
}
