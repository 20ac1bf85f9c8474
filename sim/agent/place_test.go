package agent

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ghostsim/ghostsim/configs"
	"github.com/ghostsim/ghostsim/sim/hw"
	"github.com/ghostsim/ghostsim/sim/kernel"
)

// smallRome returns the topology of a two-socket Rome-like machine with
// coresPerSocket cores per socket, 2 cores per CCX and SMT2, numbered as
// Linux numbers rome256 (sibling of c is c + cpus/2).
func smallRome(t *testing.T, coresPerSocket int) *Topology {
	t.Helper()
	spec := struct {
		hw.Spec
		Kernel kernel.Params `toml:"kernel"`
	}{Kernel: kernel.DefaultParams()}
	n := 2 * coresPerSocket * 2
	if _, err := configs.Load(&spec, []string{"rome256"}, []string{
		fmt.Sprintf("machine.cpus=%d", n), fmt.Sprintf("machine.cores_per_socket=%d", coresPerSocket),
		"machine.cores_per_ccx=2",
	}); err != nil {
		t.Fatal(err)
	}
	m, err := hw.New(spec.Spec)
	if err != nil {
		t.Fatal(err)
	}
	return newTopology(m)
}

// TestCCXFanout: on a socket of 4 CCXs (CCDs {0,1}, {2,3}), the fan-out
// from a CCX visits its CCD's other CCX, then the other CCD, then the other
// socket in the same order.
func TestCCXFanout(t *testing.T) {
	topo := smallRome(t, 8) // 32 CPUs, 8 CCXs
	want := map[int][]int{
		0: {0, 1, 2, 3, 4, 5, 6, 7},
		2: {2, 3, 0, 1, 6, 7, 4, 5},
		5: {5, 4, 7, 6, 1, 0, 3, 2},
	}
	for ccx, w := range want {
		if diff := cmp.Diff(w, topo.CCXFanout(ccx)); diff != "" {
			t.Errorf("CCXFanout(%d) (-want +got):\n%s", ccx, diff)
		}
	}
}

// TestNearestIn pins each step of the Search placement (paper §4.4): the
// last CPU, its SMT sibling, its CCX, the nearest CCX of the socket, the
// other socket. 32 CPUs: socket 0 is 0–7 and 16–23, CCX 0 is {0,1,16,17},
// CCX 1 is {2,3,18,19}; the sibling of c is c+16.
func TestNearestIn(t *testing.T) {
	topo := smallRome(t, 8)
	if got := topo.CCX(1); got != SetOf(2, 3, 18, 19) {
		t.Fatalf("CCX 1 = %v, want 2-3,18-19 (numbering changed?)", got)
	}
	all := SetOf()
	for c := 0; c < 32; c++ {
		all.Add(c)
	}
	minus := func(cpus ...int) CPUSet { return all.AndNot(SetOf(cpus...)) }
	tests := []struct {
		name       string
		last       int
		set        CPUSet
		cpu        int
		d          Distance
		considered int
	}{
		{"same cpu", 2, all, 2, SameCPU, 1},
		{"smt sibling", 2, minus(2), 18, SMTSibling, 2},
		{"ccx", 2, minus(2, 18), 3, SameCCX, 4},
		{"nearest ccx: the CCD's other one", 2, minus(2, 3, 18, 19), 0, SameSocket, 8},
		{"then the other CCD", 2, SetOf(4, 6, 7, 20), 6, SameSocket, 12},
		{"other socket, same fan-out", 2, SetOf(8, 30), 8, RemoteSocket, 24},
		{"empty", 2, CPUSet{}, -1, NumDistances, 0},
	}
	for _, tt := range tests {
		cpu, d, n := topo.NearestIn(tt.last, tt.set)
		if cpu != tt.cpu || d != tt.d || n != tt.considered {
			t.Errorf("%s: NearestIn(%d, %v) = %d, %v, %d; want %d, %v, %d", tt.name, tt.last, tt.set, cpu, d, n, tt.cpu, tt.d, tt.considered)
		}
		if cpu >= 0 && topo.Distance(tt.last, cpu) != d {
			t.Errorf("%s: distance %v, Topology.Distance says %v", tt.name, d, topo.Distance(tt.last, cpu))
		}
	}
	if n := testing.AllocsPerRun(100, func() { topo.NearestIn(2, SetOf(8, 30)) }); n != 0 {
		t.Errorf("NearestIn allocates %v times per call", n)
	}
}
