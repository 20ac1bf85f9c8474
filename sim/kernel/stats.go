package kernel

import (
	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/hw"
)

// Stats are the kernel's counters.
type Stats struct {
	ContextSwitches int64
	// MigrationsBy counts tasks that resumed on a CPU other than their
	// last, by distance class.
	MigrationsBy   [hw.NumDistances]int64
	IPIs           int64
	Ticks          int64
	Wakeups        int64
	Yields         int64
	IOWaits        int64 // blocking I/O waits (Thread.IOWait)
	Spawned        int64
	Exited         int64
	LoadBalances   int64 // load_balance passes that moved something
	ActiveBalances int64
	ProgramPanics  int64
	IRQTime        sim.Time // kernel work charged to no task: interrupt handlers and switches to the idle task

	// MQThrottles counts MicroQuanta threads throttled for the rest of
	// their period (blackouts).
	MQThrottles int64

	// GhostBPFCalls counts runs of ghOSt pick-next-task programs;
	// GhostBPFRuns the tasks they latched, GhostBPFRunErrors their failed
	// RunGtid calls (ghost_bpf.go).
	GhostBPFCalls, GhostBPFRuns, GhostBPFRunErrors int64

	// ghOSt.
	GhostMsgs           int64 // messages posted to queues
	GhostMsgsConsumed   int64 // messages read by agents
	GhostMsgsDropped    int64 // productions with no queue to post to (gated, none, closed)
	GhostQueueOverflows int64 // messages dropped because a ring was full
	// GhostQueueLockWait is the producers' time spent getting queues'
	// spinlocks: waiting for another CPU's hold, and the lock line.
	GhostQueueLockWait sim.Time
	GhostTxns          [numTxnCounters]int64
	// GhostAffinityOverrides counts ghOSt tasks switched in on a CPU
	// outside their affinity: the commit path does not check the mask
	// (_ghost_commit_txn, ghost_move_task), so an agent that ignores it
	// runs the task elsewhere.
	GhostAffinityOverrides int64
	AgentCrashes           int64
	WatchdogDestroys       int64
	// EnclaveDestroys counts enclaves destroyed, whatever the cause
	// (Enclave.Destroyed says which).
	EnclaveDestroys int64
}

func (s *Stats) migrate(d hw.Distance) { s.MigrationsBy[d]++ }

// MigrationsByName returns migrations keyed by distance-class name
// ("smt", "ccx", "socket", "remote").
func (s *Stats) MigrationsByName() map[string]int64 {
	out := make(map[string]int64)
	for d := hw.Distance(1); d < hw.NumDistances; d++ {
		out[d.String()] = s.MigrationsBy[d]
	}
	return out
}

type groupStats struct {
	name    string
	cpuTime sim.Time
}

// NewGroup registers an accounting group and returns its index for
// TaskSpec.Group. Names label CPU shares in results.
func (k *Kernel) NewGroup(name string) int {
	k.groups = append(k.groups, groupStats{name: name})
	return len(k.groups) - 1
}

// GroupNames returns the accounting groups' names, by index.
func (k *Kernel) GroupNames() []string {
	out := make([]string, len(k.groups))
	for i, g := range k.groups {
		out[i] = g.name
	}
	return out
}

func (k *Kernel) groupTime(g int, d sim.Time) { k.groups[g].cpuTime += d }

// Stats returns the kernel's counters.
func (k *Kernel) Stats() *Stats { return &k.stats }

// pollClock integrates how many agents spin in a poll over time.
type pollClock struct {
	n     int
	since sim.Time
	total sim.Time
}

func (p *pollClock) add(now sim.Time, d int) {
	p.total += sim.Time(p.n) * (now - p.since)
	p.since = now
	p.n += d
}

// AgentPollTime returns the time agent threads have spent up to now
// spinning in a poll of an empty queue (Channel.Poll): the idle part of
// their CPU time, so a global agent's busy share is its CPU time minus
// this.
func (k *Kernel) AgentPollTime() sim.Time {
	p := k.poll
	p.add(k.eng.Now(), 0)
	return p.total
}

// GroupCPUTime returns the CPU time consumed by tasks of group g, up to
// now (the running tasks' current stretches included).
func (k *Kernel) GroupCPUTime(g int) sim.Time {
	if g < 0 || g >= len(k.groups) {
		return 0
	}
	total := k.groups[g].cpuTime
	now := k.eng.Now()
	for i := range k.cpus {
		if t := k.cpus[i].curr; t != nil && t.group == g && !k.cpus[i].switching {
			total += now - t.se.execStart
		}
	}
	return total
}

// BusyTime returns how long CPU cpu has been busy (not idle) up to now.
func (k *Kernel) BusyTime(cpu int) sim.Time { return k.cpus[cpu].busy.Total(k.eng.Now()) }

// Err returns the first panic raised by a thread program, if any.
func (k *Kernel) Err() error { return k.firstPanic }

// Probe receives measurement points that traces do not carry in
// structured form; nil callbacks are skipped. Microbenchmarks use it.
type Probe struct {
	// Post is called when a message is posted to a queue, by CPU cpu
	// (-1: none), before the producer's work is done.
	Post func(at sim.Time, cpu int, m Message)
	// IPI is called when an IPI arrives at cpu, before its handler runs.
	IPI func(at sim.Time, cpu int)
}

// SetProbe installs p.
func (k *Kernel) SetProbe(p Probe) { k.probe = p }
