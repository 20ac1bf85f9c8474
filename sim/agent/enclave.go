package agent

import (
	"fmt"

	"github.com/ghostsim/ghostsim/sim/hw"
	"github.com/ghostsim/ghostsim/sim/kernel"
)

// Enclave is the agent process's view of its enclave (LocalEnclave): its
// CPUs, topology, channels and the tunables a policy may set at setup.
type Enclave struct {
	e    *kernel.Enclave
	m    *hw.Machine
	topo *Topology
	// made are the channels this process created (closed when it dies).
	made []*kernel.Queue
	// pnt is the pick-next-task program to attach at launch (bpf.go).
	pnt PNTProgram
}

// CPUs returns the enclave's CPUs.
func (e *Enclave) CPUs() CPUSet { return e.e.CPUs() }

// Topology returns the machine's topology.
func (e *Enclave) Topology() *Topology { return e.topo }

// MakeChannel creates a message queue of elems slots (a power of two, at
// most 65536) whose messages wake the agents of wakeup (none: a polling
// channel).
func (e *Enclave) MakeChannel(elems int, wakeup ...int) (*Channel, error) {
	q, err := e.e.CreateQueue(elems, wakeup...)
	if err != nil {
		return nil, err
	}
	e.made = append(e.made, q)
	return &Channel{q: q}, nil
}

// Channel is a message queue (LocalChannel).
type Channel struct {
	q *kernel.Queue
}

// Consume pops the next message for agent a (Peek + Consume); ok is false
// when the channel is empty. It panics if the channel overflowed: as in
// ghost-userspace (Channel::Peek CHECK-fails on a non-zero overflow), a
// lost message is fatal to the agent, which can no longer know its
// tasks' states.
func (c *Channel) Consume(a *Agent) (Message, bool) {
	if n := c.q.Overflow(); n != 0 {
		panic(fmt.Sprintf("agent: channel overflow: %d messages lost, the ring of %d slots was full", n, c.q.Elems()))
	}
	return a.kt.Consume(c.q)
}

// Poll spins agent a on the channel until it has a message or until the
// given time (Never: no limit).
func (c *Channel) Poll(a *Agent, until Time) { a.kt.Poll(c.q, until) }

// Len returns the number of messages waiting (a read of the ring's
// indexes; free in the model, as the agent's next Consume pays for it).
func (c *Channel) Len() int { return c.q.Len() }

// AssociateTask routes task g's messages to this channel if barrier is
// current; ErrStale means messages the caller has not seen exist.
func (c *Channel) AssociateTask(a *Agent, g Gtid, barrier uint32) (int, error) {
	return a.kt.Associate(c.q, g, barrier)
}

// SetEnclaveDefault makes this channel the one new tasks report to.
func (c *Channel) SetEnclaveDefault() { c.q.SetDefault() }

// Cpu describes one CPU of the machine (lib/topology.h's Cpu).
type Cpu struct {
	ID     int
	Core   int // physical core, machine-wide
	CCX    int // last-level cache group, machine-wide
	Socket int // NUMA node
	SMTIdx int // thread index within the core
}

// Topology answers topology questions (lib/topology.h): SMT siblings,
// L3 (CCX) siblings, NUMA nodes. Unlike ghost-userspace's, it knows CCXs.
type Topology struct {
	m    *hw.Machine
	cpus []Cpu
	ccx  []CPUSet
	numa []CPUSet
	// place is precomputed for NearestIn (place.go).
	place placement
}

func newTopology(m *hw.Machine) *Topology {
	t := &Topology{m: m}
	t.ccx = make([]CPUSet, m.NumCCXs())
	t.numa = make([]CPUSet, m.NumSockets())
	for c := 0; c < m.NumCPUs(); c++ {
		info := m.CPU(c)
		t.cpus = append(t.cpus, Cpu{ID: c, Core: info.Core, CCX: info.CCX, Socket: info.Socket, SMTIdx: info.Thread})
		t.ccx[info.CCX].Add(c)
		t.numa[info.Socket].Add(c)
	}
	t.buildPlacement()
	return t
}

// NumCPUs returns the number of CPUs of the machine.
func (t *Topology) NumCPUs() int { return len(t.cpus) }

// CPU returns cpu's description.
func (t *Topology) CPU(cpu int) Cpu { return t.cpus[cpu] }

// Siblings returns cpu's SMT siblings (not cpu itself).
func (t *Topology) Siblings(cpu int) []int { return t.m.Siblings(cpu) }

// L3Siblings returns the CPUs sharing cpu's last-level cache (cpu
// included).
func (t *Topology) L3Siblings(cpu int) CPUSet { return t.ccx[t.cpus[cpu].CCX] }

// NUMA returns the CPUs of NUMA node n.
func (t *Topology) NUMA(n int) CPUSet { return t.numa[n] }

// NumNUMA returns the number of NUMA nodes.
func (t *Topology) NumNUMA() int { return len(t.numa) }

// SetDeliverTicks asks the kernel for MSG_CPU_TICK on every tick of a CPU
// running a ghOSt task or an agent (Enclave::SetDeliverTicks).
func (e *Enclave) SetDeliverTicks(on bool) { e.e.SetDeliverTicks(on) }
