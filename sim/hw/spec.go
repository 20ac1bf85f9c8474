package hw

import (
	"errors"
	"fmt"
	"math"

	"github.com/ghostsim/ghostsim/sim"
)

// Spec is a machine: the [machine] and [costs] sections of a machine file.
// It is configuration, decoded from TOML and never mutated; New turns it
// into a Machine.
type Spec struct {
	Machine TopologySpec `toml:"machine"`
	Costs   CostSpec     `toml:"costs"`
}

// TopologySpec is the [machine] section: the shape of the machine and its
// clock.
type TopologySpec struct {
	Name        string `toml:"name"`
	Description string `toml:"description"`

	// CPUs is the number of logical CPUs, as lscpu reports it. It must equal
	// Sockets × CoresPerSocket × SMT; it is stated anyway so that a file
	// reads like the machine's lscpu and a wrong shape is caught.
	CPUs int `toml:"cpus"`

	// Sockets is the number of sockets; each socket is one NUMA node.
	Sockets int `toml:"sockets"`

	// CoresPerSocket is the number of physical cores per socket.
	CoresPerSocket int `toml:"cores_per_socket"`

	// CoresPerCCX is the number of physical cores sharing one L3 (AMD's
	// core complex; on Intel the whole socket, so equal to CoresPerSocket).
	// It must divide CoresPerSocket. 0 means CoresPerSocket.
	CoresPerCCX int `toml:"cores_per_ccx"`

	// SMT is the number of hardware threads per core (≥ 1).
	SMT int `toml:"smt"`

	// GHz is the nominal core clock, the frequency at which costs given in
	// cycles are converted to time. It must be a whole number of MHz.
	GHz float64 `toml:"ghz"`

	// Numbering is the order in which firmware (ACPI MADT) numbers the
	// logical CPUs: NumberingLinux (the default when empty),
	// NumberingSiblingAdjacent or NumberingSocketInterleaved.
	Numbering string `toml:"numbering"`
}

// CPU numberings accepted in TopologySpec.Numbering. Every layout numbers
// the cores of a socket (and so its CCXs) in order; they differ in where
// sockets and SMT siblings go.
const (
	// NumberingLinux numbers all first threads of socket 0, then those of
	// socket 1, ..., then all second threads in the same order: on a
	// 2 × 28 × 2 machine node0 = 0–27,56–83 and the sibling of c is c+56.
	// Both the Intel and the AMD machines of docs/HARDWARE.md §8 use it.
	NumberingLinux = "linux"

	// NumberingSiblingAdjacent numbers the threads of a core
	// consecutively: 0 and 1 are siblings, then 2 and 3, and so on, socket
	// by socket.
	NumberingSiblingAdjacent = "sibling-adjacent"

	// NumberingSocketInterleaved deals first threads to sockets in turn
	// (on two sockets node0 = even CPUs, node1 = odd), then the second
	// threads in the same order ([INTERLEAVE] in docs/HARDWARE.md §8).
	NumberingSocketInterleaved = "socket-interleaved"
)

// Cost is one scheduling overhead or latency, written in TOML as an inline
// table with exactly one of cycles or ns, and the source of the number:
//
//	syscall = {cycles = 144, src = "[GH] Table 3 row 10"}
//	dram_local = {ns = 85, src = "[CSIT-SKX] MLC 81.3 ns"}
//
// Cycles scale with the machine's clock (work done by the core); ns are
// fixed (bus, interconnect and memory latencies). Fractions are allowed
// and rounded to the picosecond once, in New.
type Cost struct {
	Cycles *float64 `toml:"cycles"`
	Ns     *float64 `toml:"ns"`
	Src    string   `toml:"src"`
}

// CostCycles returns a Cost of n cycles, for specs built in Go.
func CostCycles(n float64, src string) Cost { return Cost{Cycles: &n, Src: src} }

// CostNs returns a Cost of n nanoseconds, for specs built in Go.
func CostNs(n float64, src string) Cost { return Cost{Ns: &n, Src: src} }

// IsSet reports whether any key of c was given.
func (c Cost) IsSet() bool { return c.Cycles != nil || c.Ns != nil || c.Src != "" }

// time converts c at ghz. Preconditions: c has passed validation.
func (c Cost) time(ghz float64) sim.Time {
	switch {
	case c.Cycles != nil:
		return sim.Cycles(*c.Cycles, ghz)
	case c.Ns != nil:
		return sim.FromNs(*c.Ns)
	}
	return 0
}

// DistCost is a cost that depends on the distance between two CPUs, a TOML
// sub-table with one Cost per distance class (the keys are the names of
// Distance.String):
//
//	[costs.line_transfer]
//	smt    = {ns = 8, src = "[NV] 7.5–7.6 ns"}
//	ccx    = {ns = 50, src = "[CSIT-SKX] 53.7 ns"}
//	remote = {ns = 130, src = "[NV] median 134 ns"}
//
// The cost between a CPU and itself is always 0. An entry may be left out
// when no pair of CPUs of the machine is at that distance (smt on a machine
// without SMT, socket where the L3 spans the socket, remote on one socket).
type DistCost struct {
	SMT    Cost `toml:"smt"`
	CCX    Cost `toml:"ccx"`
	Socket Cost `toml:"socket"`
	Remote Cost `toml:"remote"`
}

// at returns the entry for d, or nil for SameCPU.
func (dc *DistCost) at(d Distance) *Cost {
	switch d {
	case SMTSibling:
		return &dc.SMT
	case SameCCX:
		return &dc.CCX
	case SameSocket:
		return &dc.Socket
	case RemoteSocket:
		return &dc.Remote
	}
	return nil
}

// Factor is a dimensionless rate in (0, 1] with its source:
//
//	smt_compute_rate = {value = 0.6, src = "[L415] 1.15×, [AWS] 1.26× per core"}
type Factor struct {
	Value *float64 `toml:"value"`
	Src   string   `toml:"src"`
}

// NewFactor returns a Factor, for specs built in Go.
func NewFactor(v float64, src string) Factor { return Factor{Value: &v, Src: src} }

// IsSet reports whether any key of f was given.
func (f Factor) IsSet() bool { return f.Value != nil || f.Src != "" }

// Count is a whole number (≥ 1) with its source:
//
//	ipi_cluster_size = {value = 16, src = "[L415] x2apic_cluster.c"}
type Count struct {
	Value *int   `toml:"value"`
	Src   string `toml:"src"`
}

// NewCount returns a Count, for specs built in Go.
func NewCount(n int, src string) Count { return Count{Value: &n, Src: src} }

// IsSet reports whether any key of c was given.
func (c Count) IsSet() bool { return c.Value != nil || c.Src != "" }

// CostSpec is the [costs] section. Every entry carries its source. With
// ZeroOverheads false every entry is required (except distance classes and
// SMT factors the topology cannot use); with ZeroOverheads true entries may
// be left out, and those given are still checked.
//
// To add an entry: add a field here with its TOML key, the resolved field
// to Costs (or a rate to Machine), and one line to bindCosts (or
// bindFactors); validation, conversion and ZeroOverheads then cover it.
// TestBindingsCoverCostSpec fails if a field is left out of the bindings.
type CostSpec struct {
	// ZeroOverheads sets every field of Costs to zero and every execution
	// rate to FullRate, for queueing-theory oracles (see New).
	ZeroOverheads bool `toml:"zero_overheads"`

	Syscall          Cost `toml:"syscall"`            // entry + exit of a syscall
	ContextSwitchMin Cost `toml:"context_switch_min"` // minimal thread switch (pthread ping-pong)
	ContextSwitchCFS Cost `toml:"context_switch_cfs"` // CFS pick + switch
	Clone            Cost `toml:"clone"`              // the parent's clone(CLONE_VM|CLONE_THREAD) beyond the syscall: copy_process + wake_up_new_task

	IPISend        Cost     `toml:"ipi_send"`         // sender busy per ICR write
	IPIReceive     Cost     `toml:"ipi_receive"`      // target: entry, handler, exit
	IPIFlight      DistCost `toml:"ipi_flight"`       // send issued → handler entered
	IPIClusterSize Count    `toml:"ipi_cluster_size"` // logical CPUs per x2APIC cluster

	LineTransfer        DistCost `toml:"line_transfer"`          // one cache line, owner → reader
	LineRemoteHomeExtra Cost     `toml:"line_remote_home_extra"` // see Costs.LineRemoteHomeExtra

	DRAMLocal  Cost `toml:"dram_local"`  // load from the local node
	DRAMRemote Cost `toml:"dram_remote"` // load from the other socket's node

	Tick Cost `toml:"tick"` // timer-tick handler

	SMTComputeRate Factor `toml:"smt_compute_rate"` // each thread's rate when both siblings compute
	SMTSpinRate    Factor `toml:"smt_spin_rate"`    // rate beside a PAUSE-spinning sibling

	RefillPerKB DistCost `toml:"refill_per_kb"` // cache refill per KB of footprint after a move

	// ghOSt kernel work.
	GhostMsgProduce Cost `toml:"ghost_msg_produce"` // kernel writes one message into a queue (+ barrier, wake check)
	GhostMsgConsume Cost `toml:"ghost_msg_consume"` // agent reads and dispatches one message (line transfer extra)
	GhostTxnCommit  Cost `toml:"ghost_txn_commit"`  // kernel validates and latches one transaction (rq locks extra)
	GhostIoctl      Cost `toml:"ghost_ioctl"`       // fixed work of a commit ioctl beyond the syscall (cpumask copy, loop)
	GhostAgentWake  Cost `toml:"ghost_agent_wake"`  // ghost_wake_agent_on beyond an ordinary wakeup (barrier, blocked_in_run)

	// ghOSt's BPF fast path (paper §3.2): a pick-next-task program.
	BPFPNTCall   Cost `toml:"bpf_pnt_call"`   // one invocation: context fill, rq unlock/relock, program entry and exit
	BPFMapAccess Cost `toml:"bpf_map_access"` // one map load or store from a program (helper call; line transfer extra)

	// Protection of VMs from cross-hyperthread attacks (L1TF, MDS).
	VMExit         Cost `toml:"vm_exit"`          // one VM exit and re-entry (VMRUN/VMRESUME round trip through the host)
	L1DFlush       Cost `toml:"l1d_flush"`        // L1D flush on VM entry (MSR_IA32_FLUSH_CMD) and the refill after it
	CPUBufferClear Cost `toml:"cpu_buffer_clear"` // VERW clearing CPU buffers before VM entry (MDS)
}

// costBinding ties one Cost of a CostSpec to its dotted key and to the
// field of Costs that receives its resolved value.
type costBinding struct {
	key  string // under "costs.", e.g. "syscall" or "ipi_flight.remote"
	in   *Cost
	out  *sim.Time
	dist Distance // the class a distance entry serves; SameCPU for scalars
}

// bindCosts lists every Cost of cs with its key and destination in out.
// This list is the one place an entry is registered.
func bindCosts(cs *CostSpec, out *Costs) []costBinding {
	b := []costBinding{
		{key: "syscall", in: &cs.Syscall, out: &out.Syscall},
		{key: "context_switch_min", in: &cs.ContextSwitchMin, out: &out.ContextSwitchMin},
		{key: "context_switch_cfs", in: &cs.ContextSwitchCFS, out: &out.ContextSwitchCFS},
		{key: "clone", in: &cs.Clone, out: &out.Clone},
		{key: "ipi_send", in: &cs.IPISend, out: &out.IPISend},
		{key: "ipi_receive", in: &cs.IPIReceive, out: &out.IPIReceive},
		{key: "line_remote_home_extra", in: &cs.LineRemoteHomeExtra, out: &out.LineRemoteHomeExtra},
		{key: "dram_local", in: &cs.DRAMLocal, out: &out.DRAMLocal},
		{key: "dram_remote", in: &cs.DRAMRemote, out: &out.DRAMRemote},
		{key: "tick", in: &cs.Tick, out: &out.Tick},
		{key: "ghost_msg_produce", in: &cs.GhostMsgProduce, out: &out.GhostMsgProduce},
		{key: "ghost_msg_consume", in: &cs.GhostMsgConsume, out: &out.GhostMsgConsume},
		{key: "ghost_txn_commit", in: &cs.GhostTxnCommit, out: &out.GhostTxnCommit},
		{key: "ghost_ioctl", in: &cs.GhostIoctl, out: &out.GhostIoctl},
		{key: "ghost_agent_wake", in: &cs.GhostAgentWake, out: &out.GhostAgentWake},
		{key: "bpf_pnt_call", in: &cs.BPFPNTCall, out: &out.BPFPNTCall},
		{key: "bpf_map_access", in: &cs.BPFMapAccess, out: &out.BPFMapAccess},
		{key: "vm_exit", in: &cs.VMExit, out: &out.VMExit},
		{key: "l1d_flush", in: &cs.L1DFlush, out: &out.L1DFlush},
		{key: "cpu_buffer_clear", in: &cs.CPUBufferClear, out: &out.CPUBufferClear},
	}
	b = bindDist(b, "ipi_flight", &cs.IPIFlight, &out.IPIFlight)
	b = bindDist(b, "line_transfer", &cs.LineTransfer, &out.LineTransfer)
	b = bindDist(b, "refill_per_kb", &cs.RefillPerKB, &out.RefillPerKB)
	return b
}

func bindDist(b []costBinding, key string, in *DistCost, out *[NumDistances]sim.Time) []costBinding {
	for d := SMTSibling; d < NumDistances; d++ {
		b = append(b, costBinding{key: key + "." + d.String(), in: in.at(d), out: &out[d], dist: d})
	}
	return b
}

// factorBinding ties one Factor to its key and to the SiblingActivity whose
// rate it sets.
type factorBinding struct {
	key  string
	in   *Factor
	sets SiblingActivity
}

func bindFactors(cs *CostSpec) []factorBinding {
	return []factorBinding{
		{key: "smt_compute_rate", in: &cs.SMTComputeRate, sets: SiblingComputing},
		{key: "smt_spin_rate", in: &cs.SMTSpinRate, sets: SiblingSpinning},
	}
}

// Limits that keep every product in the model inside 64 bits.
const (
	maxCPUs      = 1 << 16
	maxCostValue = 1e9 // ns or cycles: one second at 1 GHz
	maxGHz       = 1000
)

// Validate checks s and returns every problem found, joined with
// errors.Join; each is a *sim.KeyError naming the dotted key
// ("machine.ghz", "costs.ipi_flight.remote.ns"). It returns nil if s is
// valid.
func (s Spec) Validate() error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, sim.KeyErrorf(key, format, args...))
	}
	reach, topoOK := s.Machine.validate(add)
	// Without a valid topology, which distance classes (and SMT factors)
	// are needed is unknown: check the form of those given, and do not
	// report the others missing on top of the topology error.
	reach[SameCPU] = true
	s.Costs.validate(add, reach, topoOK && s.Machine.SMT > 1)
	return errors.Join(errs...)
}

// validate checks the topology and reports which distance classes occur
// between two different CPUs of the machine; ok is false if the shape
// itself is invalid.
func (t *TopologySpec) validate(add func(key, format string, args ...any)) (reach [NumDistances]bool, ok bool) {
	ok = true
	bad := func(key, format string, args ...any) {
		add(key, format, args...)
		ok = false
	}
	switch g := t.GHz; {
	case math.IsNaN(g) || math.IsInf(g, 0):
		bad("machine.ghz", "must be a finite number, got %v", g)
	case g == 0:
		bad("machine.ghz", "missing: the nominal clock in GHz must be > 0")
	case g < 0:
		bad("machine.ghz", "must be > 0, got %v", g)
	case g > maxGHz:
		bad("machine.ghz", "must be at most %d, got %v", maxGHz, g)
	case math.Abs(g*1000-math.Round(g*1000)) > 1e-6 || math.Round(g*1000) < 1:
		bad("machine.ghz", "must be a whole number of MHz (like 2.25), got %v", g)
	}
	for _, f := range []struct {
		key string
		v   int
	}{
		{"machine.sockets", t.Sockets},
		{"machine.cores_per_socket", t.CoresPerSocket},
		{"machine.smt", t.SMT},
	} {
		if f.v < 1 {
			bad(f.key, "must be ≥ 1, got %d", f.v)
		} else if f.v > maxCPUs {
			bad(f.key, "must be at most %d, got %d", maxCPUs, f.v)
		}
	}
	ccx := t.CoresPerCCX
	switch {
	case ccx < 0:
		bad("machine.cores_per_ccx", "must be ≥ 1 (or 0 for the whole socket), got %d", ccx)
	case ccx > 0 && t.CoresPerSocket >= 1 && t.CoresPerSocket%ccx != 0:
		bad("machine.cores_per_ccx", "cores_per_ccx = %d does not divide cores_per_socket = %d", ccx, t.CoresPerSocket)
	}
	if ccx == 0 {
		ccx = t.CoresPerSocket
	}
	switch t.Numbering {
	case "", NumberingLinux, NumberingSiblingAdjacent, NumberingSocketInterleaved:
	default:
		bad("machine.numbering", "unknown numbering %q (want %q, %q or %q)",
			t.Numbering, NumberingLinux, NumberingSiblingAdjacent, NumberingSocketInterleaved)
	}
	if !ok {
		return reach, false
	}
	prod := int64(t.Sockets) * int64(t.CoresPerSocket) * int64(t.SMT)
	if prod > maxCPUs {
		add("machine.cpus", "sockets × cores_per_socket × smt = %d × %d × %d = %d is more than %d",
			t.Sockets, t.CoresPerSocket, t.SMT, prod, maxCPUs)
		return reach, false
	}
	if int64(t.CPUs) != prod {
		add("machine.cpus", "cpus = %d is not sockets × cores_per_socket × smt = %d × %d × %d = %d",
			t.CPUs, t.Sockets, t.CoresPerSocket, t.SMT, prod)
		return reach, false
	}
	reach[SameCPU] = true
	reach[SMTSibling] = t.SMT > 1
	reach[SameCCX] = ccx > 1
	reach[SameSocket] = t.CoresPerSocket/ccx > 1
	reach[RemoteSocket] = t.Sockets > 1
	return reach, true
}

// validate checks the costs. reach says which distance classes the
// machine has (absent entries for the others are fine); smt whether the
// SMT factors are used.
func (cs *CostSpec) validate(add func(key, format string, args ...any), reach [NumDistances]bool, smt bool) {
	required := !cs.ZeroOverheads
	var scratch Costs
	for _, b := range bindCosts(cs, &scratch) {
		b.in.validate("costs."+b.key, required && reach[b.dist], add)
	}
	for _, f := range bindFactors(cs) {
		key := "costs." + f.key
		if !f.in.IsSet() {
			if required && smt {
				add(key, "missing: give {value = X, src = \"...\"}")
			}
			continue
		}
		switch v := f.in.Value; {
		case v == nil:
			add(key+".value", "missing")
		case !(*v > 0 && *v <= 1):
			add(key+".value", "must be in (0, 1], got %v", *v)
		}
		if f.in.Src == "" {
			add(key+".src", "missing: every factor names its source")
		}
	}
	if c := cs.IPIClusterSize; !c.IsSet() {
		if required {
			add("costs.ipi_cluster_size", "missing: give {value = N, src = \"...\"}")
		}
	} else {
		switch {
		case c.Value == nil:
			add("costs.ipi_cluster_size.value", "missing")
		case *c.Value < 1 || *c.Value > maxCPUs:
			add("costs.ipi_cluster_size.value", "must be in [1, %d], got %d", maxCPUs, *c.Value)
		}
		if c.Src == "" {
			add("costs.ipi_cluster_size.src", "missing: every count names its source")
		}
	}
	// The NUMA factor divides by dram_local and assumes remote ≥ local. Both
	// are in ns by nature; compare them only when both are.
	if !required {
		return
	}
	if l := cs.DRAMLocal; l.valid() && l.value() == 0 {
		add("costs.dram_local."+l.unit(), "must be > 0 (the NUMA slowdown divides by it)")
	}
	l, r := cs.DRAMLocal, cs.DRAMRemote
	if l.valid() && r.valid() && l.unit() == r.unit() && r.value() < l.value() {
		add("costs.dram_remote."+r.unit(), "must be ≥ dram_local (%v %s), got %v", l.value(), l.unit(), r.value())
	}
}

// validate checks one Cost at key; required says whether it may be absent.
func (c Cost) validate(key string, required bool, add func(key, format string, args ...any)) {
	if !c.IsSet() {
		if required {
			add(key, "missing: give {cycles = N, src = \"...\"} or {ns = N, src = \"...\"}")
		}
		return
	}
	switch {
	case c.Cycles != nil && c.Ns != nil:
		add(key, "give cycles or ns, not both")
	case c.Cycles == nil && c.Ns == nil:
		add(key, "missing a value: give cycles = N or ns = N")
	default:
		v, unit := c.value(), c.unit()
		switch {
		case math.IsNaN(v) || math.IsInf(v, 0):
			add(key+"."+unit, "must be a finite number, got %v", v)
		case v < 0:
			add(key+"."+unit, "must be ≥ 0, got %v", v)
		case v > maxCostValue:
			add(key+"."+unit, "must be at most %v, got %v", maxCostValue, v)
		}
	}
	if c.Src == "" {
		add(key+".src", "missing: every cost names its source")
	}
}

// valid reports whether c has exactly one finite, non-negative value.
func (c Cost) valid() bool {
	if (c.Cycles == nil) == (c.Ns == nil) {
		return false
	}
	v := c.value()
	return v >= 0 && v <= maxCostValue
}

func (c Cost) value() float64 {
	if c.Cycles != nil {
		return *c.Cycles
	}
	if c.Ns != nil {
		return *c.Ns
	}
	return 0
}

func (c Cost) unit() string {
	if c.Cycles != nil {
		return "cycles"
	}
	return "ns"
}

// String formats c as it would be written in TOML, for messages.
func (c Cost) String() string {
	switch {
	case c.Cycles != nil && c.Ns == nil:
		return fmt.Sprintf("{cycles = %v, src = %q}", *c.Cycles, c.Src)
	case c.Ns != nil && c.Cycles == nil:
		return fmt.Sprintf("{ns = %v, src = %q}", *c.Ns, c.Src)
	}
	return fmt.Sprintf("{invalid, src = %q}", c.Src)
}
