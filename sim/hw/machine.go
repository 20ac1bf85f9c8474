package hw

import (
	"math"
	"math/bits"

	"github.com/ghostsim/ghostsim/sim"
)

// Costs are a machine's costs resolved to time: cycles converted at the
// machine's clock with sim.Cycles, ns with sim.FromNs, and everything zero
// when the spec sets zero_overheads. Arrays are indexed by Distance; their
// SameCPU entry is always 0.
type Costs struct {
	Syscall          sim.Time // syscall entry + exit, charged to the caller's CPU
	ContextSwitchMin sim.Time // minimal thread switch (pthread ping-pong)
	ContextSwitchCFS sim.Time // CFS context switch, pick_next included
	Clone            sim.Time // a thread's clone beyond the syscall, charged to the parent's CPU
	IPISend          sim.Time // sender's CPU busy per ICR write
	IPIReceive       sim.Time // target's CPU busy: interrupt entry, handler, exit
	Tick             sim.Time // timer-tick handler on the ticking CPU

	// IPIFlight is the delay from the ICR write to the target entering its
	// handler, by distance between sender and target.
	IPIFlight [NumDistances]sim.Time

	// IPIClusterSize is how many logical CPUs one multicast ICR write
	// reaches (an x2APIC logical cluster); see Machine.IPICluster. It is a
	// count, not an overhead: zero_overheads keeps it. 1 when the spec
	// leaves it out.
	IPIClusterSize int

	// LineTransfer is the time for a CPU to get a cache line that another
	// CPU holds modified, by distance between the two.
	LineTransfer [NumDistances]sim.Time

	// LineRemoteHomeExtra is added to a transfer that leaves the L3 (distance
	// SameSocket or RemoteSocket) when the line's home memory is not on the
	// owner's socket; see Machine.LineTransfer.
	LineRemoteHomeExtra sim.Time

	DRAMLocal  sim.Time // load latency from the CPU's own NUMA node
	DRAMRemote sim.Time // load latency from the other socket's node

	// RefillPerKB is the time a thread loses refilling its caches, per KB
	// of hot data, after moving between CPUs at each distance.
	RefillPerKB [NumDistances]sim.Time

	// GhostMsgProduce is the kernel's work to post one ghOSt message on
	// the producing CPU; GhostMsgConsume the agent's work to read and
	// dispatch one (the ring's line transfer from the producer comes on
	// top); GhostTxnCommit the kernel's work to validate and latch one
	// transaction (remote run-queue line transfers come on top).
	GhostMsgProduce sim.Time
	GhostMsgConsume sim.Time
	GhostTxnCommit  sim.Time
	// GhostIoctl is a commit ioctl's fixed work beyond the syscall.
	GhostIoctl sim.Time
	// GhostAgentWake is ghOSt's extra work to wake an agent sleeping in
	// its ioctl (ghost_wake_agent_on: barrier, blocked_in_run), on the
	// waking CPU.
	GhostAgentWake sim.Time
	// BPFPNTCall is one run of a ghOSt pick-next-task BPF program on the
	// picking CPU beyond what the program does (ghost_bpf_pnt: context,
	// run-queue unlock and relock, entry and exit); BPFMapAccess is one
	// map load or store from a program (the line's transfer comes on
	// top). Paper §3.2.
	BPFPNTCall   sim.Time
	BPFMapAccess sim.Time
	// VMExit is one VM exit and re-entry, charged to the vCPU on its CPU
	// (a tick or a reschedule interrupts the guest). L1DFlush and
	// CPUBufferClear are the L1TF and MDS mitigations on a VM entry after
	// the CPU last ran another VM.
	VMExit         sim.Time
	L1DFlush       sim.Time
	CPUBufferClear sim.Time
}

// Machine is the runtime model of a machine: its topology, its resolved
// costs and its execution rates. It is immutable after New and safe to
// share. Slices it returns are its own: callers must not modify them.
type Machine struct {
	name           string
	ghz            float64
	mhz            uint64
	sockets        int
	coresPerSocket int
	ccxPerSocket   int
	smt            int

	cpus       []CPUInfo
	siblings   [][]int
	socketCPUs [][]int
	ccxCPUs    [][]int

	ipiCluster     []int
	numIPIClusters int

	costs Costs

	// smtRate is the rate of a thread by the busiest activity of its
	// siblings.
	smtRate [numSiblingActivities]Rate

	// rho is dram_remote / dram_local in units of 1/FullRate (≥ FullRate).
	rho uint64
}

// New validates spec and builds its Machine.
//
// zero_overheads is applied here and nowhere else: every field of Costs
// becomes 0 (IPIClusterSize, a count, excepted) and every rate becomes
// FullRate, SMT and NUMA slowdowns included. Those are not scheduling
// overheads, but a queueing-theory oracle (M/M/c with c CPUs of one
// speed) holds only if a thread's service time does not depend on what its
// sibling does or where its memory lives.
func New(spec Spec) (*Machine, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	t := &spec.Machine
	ccx := t.CoresPerCCX
	if ccx == 0 {
		ccx = t.CoresPerSocket
	}
	m := &Machine{
		name:           t.Name,
		ghz:            t.GHz,
		mhz:            uint64(math.Round(t.GHz * 1000)),
		sockets:        t.Sockets,
		coresPerSocket: t.CoresPerSocket,
		ccxPerSocket:   t.CoresPerSocket / ccx,
		smt:            t.SMT,
	}
	m.buildTopology(t, ccx)
	m.resolveCosts(&spec.Costs)
	if spec.Costs.ZeroOverheads {
		m.costs = Costs{IPIClusterSize: m.costs.IPIClusterSize}
		for i := range m.smtRate {
			m.smtRate[i] = FullRate
		}
		m.rho = uint64(FullRate)
	}
	m.buildIPIClusters()
	return m, nil
}

func (m *Machine) buildTopology(t *TopologySpec, coresPerCCX int) {
	n := t.CPUs
	m.cpus = make([]CPUInfo, n)
	for s := 0; s < t.Sockets; s++ {
		for c := 0; c < t.CoresPerSocket; c++ {
			for th := 0; th < t.SMT; th++ {
				m.cpus[cpuID(t, s, c, th)] = CPUInfo{
					Socket: s,
					CCX:    s*m.ccxPerSocket + c/coresPerCCX,
					Core:   s*t.CoresPerSocket + c,
					Thread: th,
				}
			}
		}
	}
	m.socketCPUs = groupBy(n, m.sockets, func(cpu int) int { return m.cpus[cpu].Socket })
	m.ccxCPUs = groupBy(n, m.NumCCXs(), func(cpu int) int { return m.cpus[cpu].CCX })
	cores := groupBy(n, m.NumCores(), func(cpu int) int { return m.cpus[cpu].Core })
	backing := make([]int, 0, n*(t.SMT-1))
	m.siblings = make([][]int, n)
	for cpu := range m.cpus {
		start := len(backing)
		for _, o := range cores[m.cpus[cpu].Core] {
			if o != cpu {
				backing = append(backing, o)
			}
		}
		m.siblings[cpu] = backing[start:len(backing):len(backing)]
	}
}

func (m *Machine) resolveCosts(cs *CostSpec) {
	for _, b := range bindCosts(cs, &m.costs) {
		*b.out = b.in.time(m.ghz)
	}
	m.costs.IPIClusterSize = 1
	if v := cs.IPIClusterSize.Value; v != nil {
		m.costs.IPIClusterSize = *v
	}
	m.smtRate[SiblingIdle] = FullRate
	for _, f := range bindFactors(cs) {
		m.smtRate[f.sets] = FullRate
		if v := f.in.Value; v != nil {
			m.smtRate[f.sets] = max(Rate(math.Round(*v*float64(FullRate))), 1)
		}
	}
	m.rho = uint64(FullRate)
	if l, r := m.costs.DRAMLocal, m.costs.DRAMRemote; l > 0 && r > l {
		// rho = round(r × FullRate / l), capped at maxRho.
		hi, lo := bits.Mul64(uint64(r), uint64(FullRate))
		lo, carry := bits.Add64(lo, uint64(l)/2, 0)
		hi += carry
		m.rho = maxRho
		if hi < uint64(l) {
			q, _ := bits.Div64(hi, lo, uint64(l))
			m.rho = min(q, maxRho)
		}
	}
}

// buildIPIClusters assigns CPUs to x2APIC logical clusters. Linux's
// cluster is APIC ID >> 4, and firmware numbers a socket's cores in order
// with the thread in the low bit, so a cluster holds IPIClusterSize
// consecutive (core, thread) positions of one socket: 8 cores × 2 threads.
// Real APIC IDs skip fused-off cores, so real clusters may hold fewer
// CPUs; this is an approximation [X].
func (m *Machine) buildIPIClusters() {
	size := m.costs.IPIClusterSize
	perSocket := (m.coresPerSocket*m.smt + size - 1) / size
	m.numIPIClusters = m.sockets * perSocket
	m.ipiCluster = make([]int, len(m.cpus))
	for cpu, c := range m.cpus {
		pos := (c.Core-c.Socket*m.coresPerSocket)*m.smt + c.Thread
		m.ipiCluster[cpu] = c.Socket*perSocket + pos/size
	}
}

// Name returns the machine's name from the spec ("skylake112").
func (m *Machine) Name() string { return m.name }

// NumCPUs returns the number of logical CPUs; CPU ids are 0..NumCPUs()-1.
func (m *Machine) NumCPUs() int { return len(m.cpus) }

// NumSockets returns the number of sockets (= NUMA nodes).
func (m *Machine) NumSockets() int { return m.sockets }

// NumCCXs returns the number of L3 groups in the machine.
func (m *Machine) NumCCXs() int { return m.sockets * m.ccxPerSocket }

// NumCores returns the number of physical cores in the machine.
func (m *Machine) NumCores() int { return m.sockets * m.coresPerSocket }

// SMT returns the number of hardware threads per core.
func (m *Machine) SMT() int { return m.smt }

// CPU returns where cpu sits. It panics if cpu is out of range.
func (m *Machine) CPU(cpu int) CPUInfo { return m.cpus[cpu] }

// Siblings returns the other hardware threads of cpu's core, in ascending
// order (empty without SMT). The slice is the Machine's: do not modify it.
func (m *Machine) Siblings(cpu int) []int { return m.siblings[cpu] }

// CPUsOfSocket returns the CPUs of socket s in ascending order. The slice
// is the Machine's: do not modify it.
func (m *Machine) CPUsOfSocket(s int) []int { return m.socketCPUs[s] }

// CPUsOfCCX returns the CPUs sharing L3 group c, in ascending order. The
// slice is the Machine's: do not modify it.
func (m *Machine) CPUsOfCCX(c int) []int { return m.ccxCPUs[c] }

// Distance returns the distance class between CPUs a and b.
func (m *Machine) Distance(a, b int) Distance {
	ca, cb := &m.cpus[a], &m.cpus[b]
	switch {
	case a == b:
		return SameCPU
	case ca.Core == cb.Core:
		return SMTSibling
	case ca.CCX == cb.CCX:
		return SameCCX
	case ca.Socket == cb.Socket:
		return SameSocket
	}
	return RemoteSocket
}

// Costs returns the resolved costs. The struct is the Machine's: do not
// modify it.
func (m *Machine) Costs() *Costs { return &m.costs }

// GHz returns the nominal clock.
func (m *Machine) GHz() float64 { return m.ghz }

// CyclesToTime returns how long cycles take at the machine's clock,
// rounded to the nearest picosecond (half away from zero). It uses only
// integers (the clock is a whole number of MHz), so for integral cycle
// counts it agrees with sim.Cycles at the machine's clock.
func (m *Machine) CyclesToTime(cycles int64) sim.Time {
	neg := cycles < 0
	u := uint64(cycles)
	if neg {
		u = -u
	}
	// ps = cycles × 10^6 / MHz.
	hi, lo := bits.Mul64(u, 1_000_000)
	lo, carry := bits.Add64(lo, m.mhz/2, 0)
	hi += carry
	if hi >= m.mhz {
		if neg {
			return math.MinInt64
		}
		return sim.Never
	}
	q, _ := bits.Div64(hi, lo, m.mhz)
	if q > math.MaxInt64 {
		q = math.MaxInt64
	}
	if neg {
		return -sim.Time(q)
	}
	return sim.Time(q)
}

// IPIFlight returns the delay from an IPI's send on CPU from to its
// handler's entry on CPU to.
func (m *Machine) IPIFlight(from, to int) sim.Time {
	return m.costs.IPIFlight[m.Distance(from, to)]
}

// IPICluster returns the x2APIC logical cluster of cpu, in
// 0..NumIPIClusters()-1: one multicast IPI send (one ICR write, costing
// IPISend) reaches every target in one cluster ([L415] x2apic_cluster.c).
func (m *Machine) IPICluster(cpu int) int { return m.ipiCluster[cpu] }

// NumIPIClusters returns the number of x2APIC logical clusters.
func (m *Machine) NumIPIClusters() int { return m.numIPIClusters }

// LineTransfer returns the time for CPU to to get a cache line that CPU
// from holds modified. home is the socket whose memory the line belongs to,
// or -1 if unknown. When the transfer leaves the L3 (SameSocket or
// RemoteSocket) and the line is homed away from from's socket, the
// directory lookup at the far home adds LineRemoteHomeExtra (MLC's homing
// split on Skylake-SP, the socket asymmetry on Rome; docs/HARDWARE.md §2).
// Transfers within an L3 are served by it and pay no extra.
func (m *Machine) LineTransfer(from, to, home int) sim.Time {
	d := m.Distance(from, to)
	t := m.costs.LineTransfer[d]
	if d >= SameSocket && home >= 0 && home != m.cpus[from].Socket {
		t += m.costs.LineRemoteHomeExtra
	}
	return t
}

// RefillPenalty returns the time a thread loses refilling its caches when
// it resumes on CPU to after last running on CPU from, for footprintKB KB
// of hot data: RefillPerKB by distance × footprint. It is 0 when from < 0
// (never ran), from == to, or footprintKB ≤ 0, and saturates at
// sim.Never.
//
// The penalty is charged in full whatever the time since the thread last
// ran: the model does not track eviction by other threads.
func (m *Machine) RefillPenalty(from, to int, footprintKB int) sim.Time {
	if from < 0 || from == to || footprintKB <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(m.costs.RefillPerKB[m.Distance(from, to)]), uint64(footprintKB))
	if hi != 0 || lo >= uint64(sim.Never) {
		return sim.Never
	}
	return sim.Time(lo)
}
