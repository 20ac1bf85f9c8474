package agent

import (
	"sort"

	"github.com/ghostsim/ghostsim/sim/hw"
)

// Distance classifies how far apart two CPUs are by the caches they share
// (package hw's Distance): SameCPU, SMTSibling (L1 and L2), SameCCX (L3),
// SameSocket (another CCX of the socket), RemoteSocket.
type Distance = hw.Distance

// Distance classes, nearest first.
const (
	SameCPU      = hw.SameCPU
	SMTSibling   = hw.SMTSibling
	SameCCX      = hw.SameCCX
	SameSocket   = hw.SameSocket
	RemoteSocket = hw.RemoteSocket
	NumDistances = hw.NumDistances
)

// placement is what Topology precomputes for NearestIn, so that a search
// does not allocate.
type placement struct {
	smt []CPUSet // by CPU: its SMT siblings, itself excluded
	fan [][]int  // by CCX: the CCXs in fan-out order, itself first
}

func (t *Topology) buildPlacement() {
	n := len(t.cpus)
	t.place.smt = make([]CPUSet, n)
	for c := 0; c < n; c++ {
		for _, s := range t.m.Siblings(c) {
			t.place.smt[c].Add(s)
		}
	}
	nccx, nsock := len(t.ccx), len(t.numa)
	per := nccx / nsock // CCXs are numbered socket by socket (hw.CPUInfo)
	backing := make([]int, 0, nccx*nccx)
	t.place.fan = make([][]int, nccx)
	for c := 0; c < nccx; c++ {
		s, l := c/per, c%per
		start := len(backing)
		backing = append(backing, c)
		socks := make([]int, nsock)
		for i := range socks {
			socks[i] = i
		}
		// Sockets by distance from c's socket (its own first); ghostsim's
		// machines have no NUMA distance table, so by index distance.
		sort.SliceStable(socks, func(i, j int) bool { return absInt(socks[i]-s) < absInt(socks[j]-s) })
		for _, os := range socks {
			from := len(backing)
			for ol := 0; ol < per; ol++ {
				if os*per+ol != c {
					backing = append(backing, os*per+ol)
				}
			}
			// Within a socket, CCXs by the XOR of their index with c's:
			// CCXs numbered consecutively share ever larger blocks of
			// the I/O die (on Rome: 2 CCXs a CCD, 2 CCDs a quadrant), so
			// XOR distance visits the CCD's other CCX, then the
			// quadrant's, then the rest — a nearest-neighbour fan-out.
			grp := backing[from:]
			sort.Slice(grp, func(i, j int) bool { return grp[i]%per^l < grp[j]%per^l })
		}
		t.place.fan[c] = backing[start:len(backing):len(backing)]
	}
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Distance returns the distance class between CPUs a and b.
func (t *Topology) Distance(a, b int) Distance { return t.m.Distance(a, b) }

// NumCCX returns the number of CCXs (L3 groups) of the machine.
func (t *Topology) NumCCX() int { return len(t.ccx) }

// CCX returns the CPUs of CCX n.
func (t *Topology) CCX(n int) CPUSet { return t.ccx[n] }

// CCXFanout returns the CCXs in the order a nearest-neighbour search
// from CCX n visits them: n itself, the other CCXs of its socket by
// increasing XOR distance of their index within the socket (the other
// half of n's CCD first on Rome), then the other sockets' CCXs, nearest
// socket first, in the same XOR order. The slice is the Topology's: do
// not modify it.
func (t *Topology) CCXFanout(n int) []int { return t.place.fan[n] }

// NearestIn returns the CPU of set nearest to last by cache sharing, as
// the Search policy's placement does (paper §4.4): last itself, else its
// SMT sibling (same L1 and L2), else another CPU of its CCX (same L3),
// else a CPU of the nearest CCX in CCXFanout(last's CCX) order; within a
// group, the lowest-numbered CPU. It also returns the distance class of
// the CPU found, and considered, the number of CPUs in the groups it
// examined (what a CPU-by-CPU scan would test), for the caller to charge.
// cpu is -1 when set is empty. It does not allocate.
//
// Preconditions: 0 <= last < NumCPUs().
func (t *Topology) NearestIn(last int, set CPUSet) (cpu int, d Distance, considered int) {
	if set.Empty() {
		return -1, NumDistances, 0
	}
	considered = 1
	if set.Has(last) {
		return last, SameCPU, considered
	}
	sib := t.place.smt[last]
	considered += len(t.m.Siblings(last))
	if s := set.And(sib); !s.Empty() {
		return s.First(), SMTSibling, considered
	}
	fan := t.place.fan[t.cpus[last].CCX]
	for i, ccx := range fan {
		group := t.ccx[ccx]
		size := group.Len()
		if i == 0 {
			size -= 1 + len(t.m.Siblings(last)) // already looked at
		}
		considered += size
		if s := set.And(group); !s.Empty() {
			c := s.First()
			switch {
			case i == 0:
				return c, SameCCX, considered
			case t.cpus[c].Socket == t.cpus[last].Socket:
				return c, SameSocket, considered
			}
			return c, RemoteSocket, considered
		}
	}
	return -1, NumDistances, considered // set holds no CPU of this machine
}
