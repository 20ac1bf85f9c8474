package hw

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/google/go-cmp/cmp"

	"github.com/ghostsim/ghostsim/sim"
)

// loadMachineFile decodes configs/NAME.toml strictly.
func loadMachineFile(t testing.TB, name string) Spec {
	t.Helper()
	var spec Spec
	md, err := toml.DecodeFile("../../configs/"+name+".toml", &spec)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	// A machine file may also carry the kernel's tunables for that
	// machine ([kernel]); package kernel checks those.
	for _, k := range md.Undecoded() {
		if k[0] != "kernel" {
			t.Fatalf("%s: undecoded key %v", name, k)
		}
	}
	return spec
}

func mustNew(t testing.TB, spec Spec) *Machine {
	t.Helper()
	m, err := New(spec)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

// span returns the integers lo..hi.
func span(lo, hi int) []int {
	var s []int
	for i := lo; i <= hi; i++ {
		s = append(s, i)
	}
	return s
}

type pair struct{ a, b int }

func TestMachineFiles(t *testing.T) {
	tests := []struct {
		name       string
		cpus       int
		ccxs       int
		ghz        float64
		sibOffset  int
		socket0    []int
		ccxOfCPU0  []int
		distances  map[pair]Distance
		ipiCluster int
	}{
		{
			name: "skylake112", cpus: 112, ccxs: 2, ghz: 2.0, sibOffset: 56,
			socket0:   slices.Concat(span(0, 27), span(56, 83)),
			ccxOfCPU0: slices.Concat(span(0, 27), span(56, 83)),
			distances: map[pair]Distance{
				{0, 0}: SameCPU, {0, 56}: SMTSibling, {83, 27}: SMTSibling,
				{0, 1}: SameCCX, {0, 27}: SameCCX, {0, 83}: SameCCX,
				{0, 28}: RemoteSocket, {0, 84}: RemoteSocket, {55, 111}: SMTSibling,
			},
			ipiCluster: 16,
		},
		{
			name: "haswell72", cpus: 72, ccxs: 2, ghz: 2.3, sibOffset: 36,
			socket0:   slices.Concat(span(0, 17), span(36, 53)),
			ccxOfCPU0: slices.Concat(span(0, 17), span(36, 53)),
			distances: map[pair]Distance{
				{0, 36}: SMTSibling, {0, 17}: SameCCX, {0, 18}: RemoteSocket, {17, 54}: RemoteSocket,
			},
			ipiCluster: 16,
		},
		{
			name: "xeon48", cpus: 48, ccxs: 2, ghz: 2.2, sibOffset: 24,
			socket0:   slices.Concat(span(0, 11), span(24, 35)),
			ccxOfCPU0: slices.Concat(span(0, 11), span(24, 35)),
			distances: map[pair]Distance{
				{0, 24}: SMTSibling, {0, 35}: SameCCX, {0, 12}: RemoteSocket, {11, 36}: RemoteSocket,
			},
			ipiCluster: 16,
		},
		{
			name: "rome256", cpus: 256, ccxs: 32, ghz: 2.25, sibOffset: 128,
			socket0:   slices.Concat(span(0, 63), span(128, 191)),
			ccxOfCPU0: slices.Concat(span(0, 3), span(128, 131)),
			distances: map[pair]Distance{
				{0, 128}: SMTSibling, {63, 191}: SMTSibling,
				{0, 3}: SameCCX, {0, 131}: SameCCX, {4, 7}: SameCCX,
				{0, 4}: SameSocket, {3, 4}: SameSocket, {0, 132}: SameSocket, {0, 191}: SameSocket,
				{0, 64}: RemoteSocket, {0, 192}: RemoteSocket, {127, 128}: RemoteSocket,
			},
			ipiCluster: 16,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := loadMachineFile(t, tt.name)
			checkSources(t, &spec.Costs)
			if spec.Costs.ZeroOverheads {
				t.Errorf("machine file sets zero_overheads")
			}
			m := mustNew(t, spec)
			if m.Name() != tt.name {
				t.Errorf("Name() = %q", m.Name())
			}
			if m.NumCPUs() != tt.cpus || m.NumSockets() != 2 || m.NumCCXs() != tt.ccxs || m.SMT() != 2 {
				t.Errorf("NumCPUs, NumSockets, NumCCXs, SMT = %d, %d, %d, %d; want %d, 2, %d, 2",
					m.NumCPUs(), m.NumSockets(), m.NumCCXs(), m.SMT(), tt.cpus, tt.ccxs)
			}
			if m.GHz() != tt.ghz {
				t.Errorf("GHz() = %v, want %v", m.GHz(), tt.ghz)
			}
			for c := 0; c < tt.cpus; c++ {
				want := c + tt.sibOffset
				if c >= tt.sibOffset {
					want = c - tt.sibOffset
				}
				if diff := cmp.Diff([]int{want}, m.Siblings(c)); diff != "" {
					t.Fatalf("Siblings(%d) (-want +got):\n%s", c, diff)
				}
			}
			if diff := cmp.Diff(tt.socket0, m.CPUsOfSocket(0)); diff != "" {
				t.Errorf("CPUsOfSocket(0) (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.ccxOfCPU0, m.CPUsOfCCX(m.CPU(0).CCX)); diff != "" {
				t.Errorf("CPUsOfCCX(CCX of cpu 0) (-want +got):\n%s", diff)
			}
			got := map[pair]Distance{}
			for p := range tt.distances {
				got[p] = m.Distance(p.a, p.b)
				if back := m.Distance(p.b, p.a); back != got[p] {
					t.Errorf("Distance not symmetric for %v: %v vs %v", p, got[p], back)
				}
			}
			if diff := cmp.Diff(tt.distances, got); diff != "" {
				t.Errorf("Distance (-want +got):\n%s", diff)
			}
			if n := m.Costs().IPIClusterSize; n != tt.ipiCluster {
				t.Errorf("IPIClusterSize = %d, want %d", n, tt.ipiCluster)
			}
			checkTopologyConsistent(t, m)
		})
	}
}

// checkSources fails for any entry given without a source.
func checkSources(t *testing.T, cs *CostSpec) {
	t.Helper()
	var scratch Costs
	for _, b := range bindCosts(cs, &scratch) {
		if b.in.IsSet() && b.in.Src == "" {
			t.Errorf("costs.%s has no src", b.key)
		}
	}
	for _, f := range bindFactors(cs) {
		if f.in.Src == "" {
			t.Errorf("costs.%s has no src", f.key)
		}
	}
	if cs.IPIClusterSize.Src == "" {
		t.Errorf("costs.ipi_cluster_size has no src")
	}
}

// checkTopologyConsistent cross-checks every query against CPU().
func checkTopologyConsistent(t *testing.T, m *Machine) {
	t.Helper()
	type place struct{ core, thread int }
	seen := map[place]int{}
	for c := 0; c < m.NumCPUs(); c++ {
		info := m.CPU(c)
		p := place{info.Core, info.Thread}
		if o, dup := seen[p]; dup {
			t.Fatalf("cpus %d and %d both core %d thread %d", o, c, info.Core, info.Thread)
		}
		seen[p] = c
		if !slices.Contains(m.CPUsOfSocket(info.Socket), c) || !slices.Contains(m.CPUsOfCCX(info.CCX), c) {
			t.Fatalf("cpu %d missing from its socket or CCX list", c)
		}
		for _, s := range m.Siblings(c) {
			if m.CPU(s).Core != info.Core || s == c {
				t.Fatalf("Siblings(%d) holds %d", c, s)
			}
		}
		if len(m.Siblings(c)) != m.SMT()-1 {
			t.Fatalf("Siblings(%d) = %v", c, m.Siblings(c))
		}
	}
	total := 0
	for s := 0; s < m.NumSockets(); s++ {
		total += len(m.CPUsOfSocket(s))
	}
	if total != m.NumCPUs() {
		t.Errorf("sockets hold %d CPUs, want %d", total, m.NumCPUs())
	}
}

func TestSkylakeTable3Inputs(t *testing.T) {
	m := mustNew(t, loadMachineFile(t, "skylake112"))
	c := m.Costs()
	got := map[string]sim.Time{
		"syscall":            c.Syscall,
		"context_switch_min": c.ContextSwitchMin,
		"context_switch_cfs": c.ContextSwitchCFS,
		"ipi_flight.remote":  c.IPIFlight[RemoteSocket],
		"line_transfer.smt":  c.LineTransfer[SMTSibling],
		"same_cpu":           c.LineTransfer[SameCPU] + c.IPIFlight[SameCPU] + c.RefillPerKB[SameCPU],
	}
	want := map[string]sim.Time{
		"syscall":            sim.Ns(72),
		"context_switch_min": sim.Ns(410),
		"context_switch_cfs": sim.Ns(599),
		"ipi_flight.remote":  sim.Ns(300),
		"line_transfer.smt":  sim.Ns(8),
		"same_cpu":           0,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("costs (-want +got):\n%s", diff)
	}
}

func TestLineTransferAndRefill(t *testing.T) {
	rome := mustNew(t, loadMachineFile(t, "rome256"))
	sky := mustNew(t, loadMachineFile(t, "skylake112"))
	tests := []struct {
		name string
		got  sim.Time
		want sim.Time
	}{
		{"rome same ccx, far home", rome.LineTransfer(0, 1, 1), sim.Ns(25)},
		{"rome other ccx, home here", rome.LineTransfer(0, 4, 0), sim.Ns(125)},
		{"rome other ccx, far home", rome.LineTransfer(0, 4, 1), sim.Ns(255)},
		{"rome other ccx, home unknown", rome.LineTransfer(0, 4, -1), sim.Ns(125)},
		{"rome remote, home at owner", rome.LineTransfer(0, 64, 0), sim.Ns(265)},
		{"rome remote, home at reader", rome.LineTransfer(0, 64, 1), sim.Ns(395)},
		{"skylake remote, home at owner", sky.LineTransfer(0, 28, 0), sim.Ns(130)},
		{"skylake remote, home at reader", sky.LineTransfer(0, 28, 1), sim.Ns(190)},
		{"skylake same socket, far home", sky.LineTransfer(0, 1, 1), sim.Ns(50)},
		{"skylake same cpu", sky.LineTransfer(3, 3, 1), 0},
		{"ipi flight skylake remote", sky.IPIFlight(0, 28), sim.Ns(300)},
		{"ipi flight rome socket", rome.IPIFlight(0, 4), sim.Ns(250)},
		{"refill never ran", rome.RefillPenalty(-1, 5, 100), 0},
		{"refill same cpu", rome.RefillPenalty(5, 5, 100), 0},
		{"refill smt", rome.RefillPenalty(0, 128, 100), 0},
		{"refill ccx", rome.RefillPenalty(0, 1, 10), sim.Ns(500)},
		{"refill other ccx", rome.RefillPenalty(0, 4, 10), sim.Ns(2500)},
		{"refill remote", rome.RefillPenalty(0, 64, 10), sim.Ns(5300)},
		{"refill no footprint", rome.RefillPenalty(0, 64, 0), 0},
		{"refill skylake socket", sky.RefillPenalty(0, 27, 1), sim.Ns(100)},
		{"refill saturates", rome.RefillPenalty(0, 64, math.MaxInt), sim.Never},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestIPIClusters(t *testing.T) {
	m := mustNew(t, loadMachineFile(t, "skylake112"))
	if n := m.NumIPIClusters(); n != 8 {
		t.Errorf("NumIPIClusters() = %d, want 8 (4 per socket: 56 CPUs / 16)", n)
	}
	got := map[int][]int{}
	for _, c := range []int{0, 7, 56, 63, 8, 64, 27, 83, 28, 84} {
		got[m.IPICluster(c)] = append(got[m.IPICluster(c)], c)
	}
	want := map[int][]int{0: {0, 7, 56, 63}, 1: {8, 64}, 3: {27, 83}, 4: {28, 84}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("IPICluster (-want +got):\n%s", diff)
	}
}

func TestNumberings(t *testing.T) {
	tests := []struct {
		numbering string
		socket0   []int
		siblings0 []int
		ccx0      []int
	}{
		{"", []int{0, 1, 2, 3, 8, 9, 10, 11}, []int{8}, []int{0, 1, 8, 9}},
		{NumberingLinux, []int{0, 1, 2, 3, 8, 9, 10, 11}, []int{8}, []int{0, 1, 8, 9}},
		{NumberingSiblingAdjacent, span(0, 7), []int{1}, []int{0, 1, 2, 3}},
		{NumberingSocketInterleaved, []int{0, 2, 4, 6, 8, 10, 12, 14}, []int{8}, []int{0, 2, 8, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.numbering, func(t *testing.T) {
			spec := smallSpec()
			spec.Machine.Numbering = tt.numbering
			m := mustNew(t, spec)
			got := [][]int{m.CPUsOfSocket(0), m.Siblings(0), m.CPUsOfCCX(0)}
			if diff := cmp.Diff([][]int{tt.socket0, tt.siblings0, tt.ccx0}, got); diff != "" {
				t.Errorf("socket 0, siblings of 0, ccx 0 (-want +got):\n%s", diff)
			}
			checkTopologyConsistent(t, m)
		})
	}
}

func TestReturnedSlicesAreCapped(t *testing.T) {
	m := mustNew(t, smallSpec())
	before := slices.Clone(m.Siblings(1))
	_ = append(m.Siblings(0), 99)
	_ = append(m.CPUsOfCCX(0), 99)
	if diff := cmp.Diff(before, m.Siblings(1)); diff != "" {
		t.Errorf("appending to Siblings(0) changed Siblings(1):\n%s", diff)
	}
	if m.CPUsOfCCX(1)[0] == 99 {
		t.Errorf("appending to CPUsOfCCX(0) changed CPUsOfCCX(1)")
	}
}

func TestDistanceNames(t *testing.T) {
	var got []string
	for d := SameCPU; d < NumDistances; d++ {
		b, _ := d.MarshalText()
		got = append(got, d.String()+"="+string(b))
	}
	want := []string{"same_cpu=same_cpu", "smt=smt", "ccx=ccx", "socket=socket", "remote=remote"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
}

func TestCyclesToTimeMatchesSimCycles(t *testing.T) {
	for _, ghz := range []float64{2.0, 2.3, 2.2, 2.25, 2.333, 3.4, 1} {
		spec := smallSpec()
		spec.Machine.GHz = ghz
		m := mustNew(t, spec)
		for n := int64(-1000); n <= 200_000; n++ {
			if got, want := m.CyclesToTime(n), sim.Cycles(float64(n), ghz); got != want {
				t.Fatalf("at %v GHz, CyclesToTime(%d) = %d, sim.Cycles = %d", ghz, n, got, want)
			}
		}
		if got := m.CyclesToTime(1 << 62); got != sim.Never {
			t.Errorf("CyclesToTime(2^62) = %v, want Never", got)
		}
	}
}

// smallSpec is a valid 2-socket × 4-core × SMT2 machine with 2-core CCXs
// and every cost set.
func smallSpec() Spec {
	c := func(n float64) Cost { return CostCycles(n, "test") }
	ns := func(n float64) Cost { return CostNs(n, "test") }
	dist := func(a, b, c, d float64) DistCost { return DistCost{ns(a), ns(b), ns(c), ns(d)} }
	return Spec{
		Machine: TopologySpec{
			Name: "small", CPUs: 16, Sockets: 2, CoresPerSocket: 4, CoresPerCCX: 2, SMT: 2, GHz: 2,
		},
		Costs: CostSpec{
			Syscall:             c(144),
			ContextSwitchMin:    c(820),
			ContextSwitchCFS:    c(1198),
			Clone:               c(6000),
			IPISend:             c(300),
			IPIReceive:          c(1200),
			IPIFlight:           dist(220, 220, 230, 300),
			IPIClusterSize:      NewCount(16, "test"),
			LineTransfer:        dist(8, 25, 125, 265),
			LineRemoteHomeExtra: ns(130),
			DRAMLocal:           ns(100),
			DRAMRemote:          ns(150),
			Tick:                c(2500),
			SMTComputeRate:      NewFactor(0.6, "test"),
			SMTSpinRate:         NewFactor(0.9, "test"),
			RefillPerKB:         dist(0, 50, 250, 530),
			GhostMsgProduce:     c(215),
			GhostMsgConsume:     c(215),
			GhostTxnCommit:      c(632),
			GhostIoctl:          c(160),
			GhostAgentWake:      c(200),
			BPFPNTCall:          c(120),
			BPFMapAccess:        c(40),
			VMExit:              c(2500),
			L1DFlush:            c(1000),
			CPUBufferClear:      c(300),
		},
	}
}

// errorKeys returns the keys of every *sim.KeyError joined in err, and a
// note for anything else.
func errorKeys(err error) []string {
	var keys []string
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		var ke *sim.KeyError
		if errors.As(e, &ke) {
			keys = append(keys, ke.Key)
		} else {
			keys = append(keys, "not a KeyError: "+e.Error())
		}
	}
	if err != nil {
		walk(err)
	}
	return keys
}

func TestValidateErrors(t *testing.T) {
	neg := -5.0
	one := 1.0
	tests := []struct {
		name   string
		edit   func(s *Spec)
		keys   []string
		substr string // in the error text, if set
	}{
		{"valid", func(s *Spec) {}, nil, ""},
		{"negative ghz", func(s *Spec) { s.Machine.GHz = -2 }, []string{"machine.ghz"}, "must be > 0"},
		{"zero ghz", func(s *Spec) { s.Machine.GHz = 0 }, []string{"machine.ghz"}, "missing"},
		{"fractional MHz", func(s *Spec) { s.Machine.GHz = 2.0001 }, []string{"machine.ghz"}, "whole number of MHz"},
		{"no sockets", func(s *Spec) { s.Machine.Sockets = 0 }, []string{"machine.sockets"}, ""},
		{"no cores", func(s *Spec) { s.Machine.CoresPerSocket = -1 }, []string{"machine.cores_per_socket"}, ""},
		{"smt 0", func(s *Spec) { s.Machine.SMT = 0 }, []string{"machine.smt"}, ""},
		{
			"smt not dividing cpus",
			func(s *Spec) {
				s.Machine.CPUs, s.Machine.CoresPerSocket, s.Machine.CoresPerCCX, s.Machine.SMT = 112, 28, 28, 3
			},
			[]string{"machine.cpus"},
			"machine.cpus: cpus = 112 is not sockets × cores_per_socket × smt = 2 × 28 × 3 = 168",
		},
		{"cores_per_ccx not dividing", func(s *Spec) { s.Machine.CoresPerCCX = 3 }, []string{"machine.cores_per_ccx"}, "does not divide"},
		{"cores_per_ccx negative", func(s *Spec) { s.Machine.CoresPerCCX = -1 }, []string{"machine.cores_per_ccx"}, ""},
		{"unknown numbering", func(s *Spec) { s.Machine.Numbering = "amd" }, []string{"machine.numbering"}, "unknown numbering"},
		{"cost with both", func(s *Spec) { s.Costs.Syscall.Ns = &one }, []string{"costs.syscall"}, "not both"},
		{"cost with neither", func(s *Spec) { s.Costs.Syscall = Cost{Src: "x"} }, []string{"costs.syscall"}, "missing a value"},
		{"cost absent", func(s *Spec) { s.Costs.Tick = Cost{} }, []string{"costs.tick"}, "missing"},
		{"negative ns", func(s *Spec) { s.Costs.IPIFlight.Remote.Ns = &neg }, []string{"costs.ipi_flight.remote.ns"}, ""},
		{"negative cycles", func(s *Spec) { s.Costs.Tick.Cycles = &neg }, []string{"costs.tick.cycles"}, ""},
		{"missing src", func(s *Spec) { s.Costs.LineTransfer.CCX.Src = "" }, []string{"costs.line_transfer.ccx.src"}, ""},
		{"absent reachable distance", func(s *Spec) { s.Costs.RefillPerKB.Socket = Cost{} }, []string{"costs.refill_per_kb.socket"}, ""},
		{"factor zero", func(s *Spec) { s.Costs.SMTComputeRate = NewFactor(0, "x") }, []string{"costs.smt_compute_rate.value"}, ""},
		{"factor above one", func(s *Spec) { s.Costs.SMTSpinRate = NewFactor(1.5, "x") }, []string{"costs.smt_spin_rate.value"}, ""},
		{"factor without src", func(s *Spec) { s.Costs.SMTSpinRate.Src = "" }, []string{"costs.smt_spin_rate.src"}, ""},
		{"factor absent", func(s *Spec) { s.Costs.SMTSpinRate = Factor{} }, []string{"costs.smt_spin_rate"}, ""},
		{"cluster size 0", func(s *Spec) { s.Costs.IPIClusterSize = NewCount(0, "x") }, []string{"costs.ipi_cluster_size.value"}, ""},
		{"cluster size absent", func(s *Spec) { s.Costs.IPIClusterSize = Count{} }, []string{"costs.ipi_cluster_size"}, ""},
		{"dram remote below local", func(s *Spec) { s.Costs.DRAMRemote = CostNs(50, "x") }, []string{"costs.dram_remote.ns"}, ""},
		{"dram local zero", func(s *Spec) { s.Costs.DRAMLocal = CostNs(0, "x") }, []string{"costs.dram_local.ns"}, ""},
		{
			"bad topology: distance entries not reported missing",
			func(s *Spec) { s.Machine.CPUs = 99; s.Costs.IPIFlight.Socket = Cost{}; s.Costs.SMTSpinRate = Factor{} },
			[]string{"machine.cpus"}, "",
		},
		{
			"several at once",
			func(s *Spec) { s.Machine.GHz = -1; s.Costs.Syscall.Src = ""; s.Costs.IPIFlight.SMT.Cycles = &one },
			[]string{"machine.ghz", "costs.syscall.src", "costs.ipi_flight.smt"},
			"",
		},
		{
			"no smt: smt entries and factors may be absent",
			func(s *Spec) {
				s.Machine.SMT, s.Machine.CPUs = 1, 8
				s.Costs.IPIFlight.SMT, s.Costs.LineTransfer.SMT, s.Costs.RefillPerKB.SMT = Cost{}, Cost{}, Cost{}
				s.Costs.SMTComputeRate, s.Costs.SMTSpinRate = Factor{}, Factor{}
			},
			nil, "",
		},
		{
			"one L3 per socket: socket entries may be absent",
			func(s *Spec) {
				s.Machine.CoresPerCCX = 0
				s.Costs.IPIFlight.Socket, s.Costs.LineTransfer.Socket, s.Costs.RefillPerKB.Socket = Cost{}, Cost{}, Cost{}
			},
			nil, "",
		},
		{
			"one socket: remote entries may be absent",
			func(s *Spec) {
				s.Machine.Sockets, s.Machine.CPUs = 1, 8
				s.Costs.IPIFlight.Remote, s.Costs.LineTransfer.Remote, s.Costs.RefillPerKB.Remote = Cost{}, Cost{}, Cost{}
			},
			nil, "",
		},
		{"zero overheads: costs may be absent", func(s *Spec) { s.Costs = CostSpec{ZeroOverheads: true} }, nil, ""},
		{
			"zero overheads: given costs are still checked",
			func(s *Spec) { s.Costs = CostSpec{ZeroOverheads: true, Tick: Cost{Ns: &neg, Src: "x"}} },
			[]string{"costs.tick.ns"}, "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := smallSpec()
			tt.edit(&spec)
			err := spec.Validate()
			if diff := cmp.Diff(tt.keys, errorKeys(err)); diff != "" {
				t.Fatalf("error keys (-want +got):\n%s\nerror: %v", diff, err)
			}
			if tt.substr != "" && !strings.Contains(err.Error(), tt.substr) {
				t.Errorf("error %q does not contain %q", err, tt.substr)
			}
			if _, nerr := New(spec); (nerr == nil) != (err == nil) {
				t.Errorf("New error %v, Validate error %v", nerr, err)
			}
		})
	}
}

func TestDecodeCostForms(t *testing.T) {
	const file = `
[machine]
cpus = 2
sockets = 1
cores_per_socket = 1
smt = 2
ghz = 2
[costs]
syscall = {cycles = 144, src = "a"}
tick = {ns = 7.5, src = "b"}
smt_compute_rate = {value = 0.6, src = "c"}
ipi_cluster_size = {value = 16, src = "d"}
[costs.line_transfer]
smt = {ns = 8, src = "e"}
`
	var spec Spec
	md, err := toml.Decode(file, &spec)
	if err != nil {
		t.Fatal(err)
	}
	if u := md.Undecoded(); len(u) > 0 {
		t.Fatalf("undecoded %v", u)
	}
	got := []string{
		spec.Costs.Syscall.String(), spec.Costs.Tick.String(), spec.Costs.LineTransfer.SMT.String(),
		fmt.Sprint(*spec.Costs.SMTComputeRate.Value, *spec.Costs.IPIClusterSize.Value),
	}
	want := []string{`{cycles = 144, src = "a"}`, `{ns = 7.5, src = "b"}`, `{ns = 8, src = "e"}`, "0.6 16"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
	spec.Costs.ZeroOverheads = true
	m := mustNew(t, spec)
	if m.Costs().Tick != 0 {
		t.Errorf("zero_overheads kept tick = %v", m.Costs().Tick)
	}
	spec.Costs.ZeroOverheads = false
	if keys := errorKeys(spec.Validate()); !slices.Contains(keys, "costs.context_switch_min") {
		t.Errorf("missing entries not reported: %v", keys)
	}
}

func TestZeroOverheads(t *testing.T) {
	for _, name := range []string{"skylake112", "rome256"} {
		t.Run(name, func(t *testing.T) {
			spec := loadMachineFile(t, name)
			spec.Costs.ZeroOverheads = true
			m := mustNew(t, spec)
			c := *m.Costs()
			if c.IPIClusterSize != 16 {
				t.Errorf("IPIClusterSize = %d, want 16 kept", c.IPIClusterSize)
			}
			c.IPIClusterSize = 0
			if diff := cmp.Diff(Costs{}, c); diff != "" {
				t.Errorf("costs not all zero (-want +got):\n%s", diff)
			}
			for a := SiblingIdle; a < numSiblingActivities; a++ {
				for _, remote := range []bool{false, true} {
					if r := m.ExecRate(a, FullRate, remote); r != FullRate {
						t.Errorf("ExecRate(%v, FullRate, %v) = %v, want FullRate", a, remote, r)
					}
				}
			}
			if p := m.RefillPenalty(0, m.NumCPUs()-1, 1000); p != 0 {
				t.Errorf("RefillPenalty = %v", p)
			}
			if lt := m.LineTransfer(0, m.NumCPUs()-1, 1); lt != 0 {
				t.Errorf("LineTransfer = %v", lt)
			}
		})
	}
}

// TestBindingsCoverCostSpec fails when a field is added to CostSpec or
// Costs without registering it in bindCosts or bindFactors, or registered
// under a key that is not its TOML tag.
func TestBindingsCoverCostSpec(t *testing.T) {
	var cs CostSpec
	var out Costs
	bound := map[any]string{} // spec field address → key
	for _, b := range bindCosts(&cs, &out) {
		bound[b.in] = b.key
	}
	for _, f := range bindFactors(&cs) {
		bound[f.in] = f.key
	}
	bound[&cs.IPIClusterSize] = "ipi_cluster_size" // resolved by hand in resolveCosts
	v := reflect.ValueOf(&cs).Elem()
	for i := 0; i < v.NumField(); i++ {
		field, tag := v.Field(i), v.Type().Field(i).Tag.Get("toml")
		name := v.Type().Field(i).Name
		var addrs []any
		switch p := field.Addr().Interface().(type) {
		case *bool:
			continue
		case *DistCost:
			for d := SMTSibling; d < NumDistances; d++ {
				addrs = append(addrs, p.at(d))
			}
		default:
			addrs = []any{p}
		}
		for _, a := range addrs {
			key, ok := bound[a]
			if !ok {
				t.Errorf("CostSpec.%s is not bound", name)
				continue
			}
			if first, _, _ := strings.Cut(key, "."); first != tag {
				t.Errorf("CostSpec.%s is bound as %q, but its TOML tag is %q", name, key, tag)
			}
		}
	}
	written := map[*sim.Time]bool{}
	for _, b := range bindCosts(&cs, &out) {
		written[b.out] = true
	}
	ov := reflect.ValueOf(&out).Elem()
	for i := 0; i < ov.NumField(); i++ {
		name := ov.Type().Field(i).Name
		switch p := ov.Field(i).Addr().Interface().(type) {
		case *sim.Time:
			if !written[p] {
				t.Errorf("Costs.%s is not written by any binding", name)
			}
		case *[NumDistances]sim.Time:
			for d := SMTSibling; d < NumDistances; d++ {
				if !written[&p[d]] {
					t.Errorf("Costs.%s[%v] is not written by any binding", name, d)
				}
			}
		case *int:
			if name != "IPIClusterSize" {
				t.Errorf("Costs.%s: unknown int field", name)
			}
		default:
			t.Errorf("Costs.%s: unknown field type %T", name, p)
		}
	}
}
