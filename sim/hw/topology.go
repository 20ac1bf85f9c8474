package hw

import "strconv"

// Distance classifies how far apart two CPUs are, from the point of view of
// the caches and interconnect they share. Classes are ordered: a larger
// Distance shares less.
type Distance uint8

// Distance classes. Their String names are stable: results use them as
// JSON keys and machine files as TOML keys of distance-dependent costs.
const (
	SameCPU      Distance = iota // the same logical CPU
	SMTSibling                   // two threads of one physical core (share L1, L2)
	SameCCX                      // different cores sharing an L3 (a CCX; on Intel the socket)
	SameSocket                   // different L3s of one socket (AMD: across the I/O die)
	RemoteSocket                 // different sockets
	NumDistances                 // number of classes, for arrays indexed by Distance
)

var distanceNames = [NumDistances]string{"same_cpu", "smt", "ccx", "socket", "remote"}

// String returns "same_cpu", "smt", "ccx", "socket" or "remote".
func (d Distance) String() string {
	if d < NumDistances {
		return distanceNames[d]
	}
	return "Distance(" + strconv.Itoa(int(d)) + ")"
}

// MarshalText returns d.String(), so a map keyed by Distance marshals to a
// JSON object keyed by the class names.
func (d Distance) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// CPUInfo places one logical CPU in the machine. All indexes are global and
// dense: sockets 0..NumSockets()-1, CCXs 0..NumCCXs()-1 (numbered socket by
// socket), cores 0..NumCores()-1 (socket by socket, in firmware order).
type CPUInfo struct {
	Socket int // socket, which is also the NUMA node
	CCX    int // L3 group
	Core   int // physical core
	Thread int // hardware thread within the core, 0..smt-1
}

// cpuID returns the logical CPU number of thread th of core c (index within
// its socket) of socket s under the numbering of t. Preconditions: t is
// valid.
func cpuID(t *TopologySpec, s, c, th int) int {
	S, C, T := t.Sockets, t.CoresPerSocket, t.SMT
	switch t.Numbering {
	case NumberingSiblingAdjacent:
		return (s*C+c)*T + th
	case NumberingSocketInterleaved:
		return th*S*C + c*S + s
	default: // NumberingLinux
		return th*S*C + s*C + c
	}
}

// groupBy partitions CPUs 0..n-1 into groups by key, each group listed in
// ascending order. The groups share one backing array and are capped, so
// appending to one cannot overwrite another.
func groupBy(n, groups int, key func(cpu int) int) [][]int {
	count := make([]int, groups+1)
	for cpu := 0; cpu < n; cpu++ {
		count[key(cpu)+1]++
	}
	for g := 1; g <= groups; g++ {
		count[g] += count[g-1]
	}
	backing := make([]int, n)
	next := append([]int(nil), count[:groups]...)
	for cpu := 0; cpu < n; cpu++ {
		g := key(cpu)
		backing[next[g]] = cpu
		next[g]++
	}
	out := make([][]int, groups)
	for g := range out {
		out[g] = backing[count[g]:count[g+1]:count[g+1]]
	}
	return out
}
