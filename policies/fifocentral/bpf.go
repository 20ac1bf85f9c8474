package fifocentral

import (
	"github.com/ghostsim/ghostsim/sim/agent"
)

// The per-CPU fast path (Params.BPF; paper §3.2, §5): the smallest use of
// the library's pick-next-task hook. Each CPU of the enclave has a ring of
// a few slots in a map the global agent shares with a program. What a
// round could not place (every CPU taken) stays in the FIFO and, if it can
// run now, is also published in the ring of the CPU it last ran on; that
// CPU, about to idle with nothing committed before the agent's next round,
// runs the program, which pops its own ring and runs the task with
// SEND_TASK_ON_CPU. Before the agent commits a task itself it revokes the
// entry; if the program got there first, the agent leaves the task to it
// and hears TASK_ON_CPU (or the message that made the entry stale).

// cpuRingSlots is each CPU's ring: tasks that last ran there and wait.
const cpuRingSlots = 4

// cpuRingStride: each ring starts a cache line (8 words) of its own.
const cpuRingStride = (cpuRingSlots + 2 + 7) / 8 * 8

type bpfPath struct {
	rings []*agent.Ring // by CPU; nil outside the enclave
	prog  cpuProg
}

// cpuProg is the program: run the oldest live entry of this CPU's ring.
type cpuProg struct{ rings []*agent.Ring }

func (p *cpuProg) PickNextTask(x *agent.PNTContext) {
	r := p.rings[x.CPU()]
	if r == nil {
		return
	}
	for {
		g, barrier, ok := r.Pop(x)
		if !ok {
			return
		}
		if x.RunGtid(g, barrier, agent.RunSendTaskOnCPU) == nil {
			return
		}
	}
}

func newBPFPath(s *scheduler) (*bpfPath, error) {
	n := s.enc.Topology().NumCPUs()
	m, err := s.enc.CreateMap(n * cpuRingStride)
	if err != nil {
		return nil, err
	}
	b := &bpfPath{rings: make([]*agent.Ring, n)}
	cpus := s.enc.CPUs()
	for c := cpus.First(); c >= 0; c = cpus.Next(c + 1) {
		b.rings[c] = agent.NewRing(m, c*cpuRingStride, cpuRingSlots)
	}
	b.prog = cpuProg{rings: b.rings}
	if err := s.enc.AttachPNT(&b.prog); err != nil {
		return nil, err
	}
	return b, nil
}

// publish offers a queued task to the program of the CPU it last ran on,
// if it can run now (off its CPU, no message in flight) and that CPU is
// not the global agent's.
func (s *scheduler) publish(a *agent.Agent, t *task) {
	if s.bpf == nil || t.pubCPU >= 0 || t.last < 0 || t.last == s.loop.Global.CPU() || s.bpf.rings[t.last] == nil {
		return
	}
	if a.Readiness(&t.Task) != agent.Ready {
		return
	}
	if seq, ok := s.bpf.rings[t.last].Push(a, t.Gtid, t.Seqnum); ok {
		t.pubCPU, t.pubSeq, t.pubBarrier = t.last, seq, t.Seqnum
	}
}

// publishWaiting publishes the tasks left at the head of the FIFO after a
// round, as many as the enclave has CPUs (the rings hold a few each).
func (s *scheduler) publishWaiting(a *agent.Agent) {
	if s.bpf == nil {
		return
	}
	n := min(s.rq.Len(), s.enc.CPUs().Len())
	for i := 0; i < n; i++ {
		a.ChargeCycles(s.p.ContainerOpCycles)
		s.publish(a, s.rq.At(i))
	}
}

// revoke takes t's entry back before the agent commits t; false means
// the program ran it first.
func (s *scheduler) revoke(a *agent.Agent, t *task) bool {
	if t.pubCPU < 0 {
		return true
	}
	ok := s.bpf.rings[t.pubCPU].Revoke(a, t.pubSeq, t.Gtid, t.pubBarrier)
	t.pubCPU = -1
	return ok
}

// TaskOnCPU: the program ran t on m.CPU (the agent's own commits do not
// ask for TASK_ON_CPU): it leaves the FIFO and owns the CPU.
func (h handler) TaskOnCPU(t *task, m agent.Message) {
	t.Expect("fifo-central", "TASK_ON_CPU", agent.Queued)
	t.pubCPU = -1
	h.s.rq.Remove(h.Agent, t)
	h.s.cpus.Assign(m.CPU, t, h.Agent.Now()) // a task it displaced has left: its message follows
	t.last = m.CPU
}
