package search

import (
	"github.com/ghostsim/ghostsim/sim/agent"
)

// The BPF fast path (Params.BPF; paper §3.2, §5). The global agent keeps
// one ring of ready threads per CCX in a map it shares with a
// pick-next-task program (agent.Ring): a thread that enters the heap is
// also published in the ring of its CCX (its last CPU's; a thread that
// never ran goes round-robin over the CCXs its mask allows). A CPU about
// to idle with nothing committed runs the program, which pops its own
// CCX's ring, then the ring of the neighbouring CCX (index XOR 1: on Rome
// the other CCX of the CCD), and runs the first thread it can with
// SEND_TASK_ON_CPU. The agent hears TASK_ON_CPU and takes the thread out
// of its heap and the CPU out of its idle set. Before it commits a
// thread itself, the agent revokes its ring entry; if the program got
// there first, the agent leaves the thread alone (TASK_ON_CPU, or the
// message that made the entry stale, follows). A message about a
// published thread revokes its entry. Only a thread whose status word
// shows it off its CPU with no message in flight is published, so the
// program's run_gtid can fail only with ESTALE (a message follows) or
// ENOENT (the thread is gone): no thread is lost.

// ringSlots is each CCX ring's capacity: more than the threads a CCX's
// CPUs can take in one agent loop (an estimate; a full ring leaves the
// thread to the agent alone).
const ringSlots = 64

// ringStride is the words between rings: a ring's head and tail start a
// cache line of their own.
const ringStride = (ringSlots + 2 + 7) / 8 * 8

type bpfPath struct {
	rings []*agent.Ring  // by CCX
	sets  []agent.CPUSet // the enclave's CPUs of each CCX
	prog  pntProg
	next  int // round-robin CCX for threads that never ran
	// counters
	cRuns, cPublished, cLost int
}

// pntProg is the pick-next-task program.
type pntProg struct {
	topo  *agent.Topology
	rings []*agent.Ring
}

func (p *pntProg) PickNextTask(x *agent.PNTContext) {
	ccx := p.topo.CPU(x.CPU()).CCX
	for _, r := range [2]int{ccx, ccx ^ 1} {
		if r >= len(p.rings) || p.rings[r] == nil {
			continue
		}
		for {
			g, barrier, ok := p.rings[r].Pop(x)
			if !ok {
				break
			}
			if x.RunGtid(g, barrier, agent.RunSendTaskOnCPU) == nil {
				return
			}
		}
	}
}

// newBPFPath makes the map, one ring per CCX of the enclave, and attaches
// the program.
func newBPFPath(s *scheduler) (*bpfPath, error) {
	n := s.topo.CPU(s.topo.NumCPUs()-1).CCX + 1
	m, err := s.enc.CreateMap(n * ringStride)
	if err != nil {
		return nil, err
	}
	b := &bpfPath{rings: make([]*agent.Ring, n), sets: make([]agent.CPUSet, n)}
	cpus := s.enc.CPUs()
	for c := cpus.First(); c >= 0; c = cpus.Next(c + 1) {
		x := s.topo.CPU(c).CCX
		if b.rings[x] == nil {
			b.rings[x] = agent.NewRing(m, x*ringStride, ringSlots)
		}
		b.sets[x].Add(c)
	}
	b.prog = pntProg{topo: s.topo, rings: b.rings}
	if err := s.enc.AttachPNT(&b.prog); err != nil {
		return nil, err
	}
	b.cRuns = s.stats.Counter("bpf_runs")
	b.cPublished = s.stats.Counter("bpf_published")
	b.cLost = s.stats.Counter("bpf_revoke_lost")
	return b, nil
}

// publish puts a queued thread in its CCX's ring if it can run now.
func (s *scheduler) publish(a *agent.Agent, t *thread) {
	b := s.bpf
	if b == nil || t.pubRing >= 0 {
		return
	}
	if a.Readiness(&t.Task) != agent.Ready {
		return // the agent places it when it can run (see Schedule)
	}
	r := -1
	if t.last >= 0 {
		r = s.topo.CPU(t.last).CCX
		if s.p.NUMA && t.restricted && !t.mask.Has(t.last) {
			r = -1
		}
	}
	if r < 0 {
		allowed := s.enc.CPUs()
		if s.p.NUMA && t.restricted {
			allowed = allowed.And(t.mask)
		}
		for i := 0; i < len(b.rings); i++ {
			x := (b.next + i) % len(b.rings)
			if b.rings[x] != nil && !allowed.And(b.sets[x]).Empty() {
				r = x
				b.next = x + 1
				break
			}
		}
	}
	if r < 0 || b.rings[r] == nil {
		return
	}
	seq, ok := b.rings[r].Push(a, t.Gtid, t.Seqnum)
	if !ok {
		return
	}
	t.pubRing, t.pubSeq, t.pubBarrier = r, seq, t.Seqnum
	s.stats.Add(b.cPublished, 1)
}

// revoke takes t's entry back; false means the program took it first.
func (s *scheduler) revoke(a *agent.Agent, t *thread) bool {
	if t.pubRing < 0 {
		return true
	}
	ok := s.bpf.rings[t.pubRing].Revoke(a, t.pubSeq, t.Gtid, t.pubBarrier)
	t.pubRing = -1
	if !ok {
		s.stats.Add(s.bpf.cLost, 1)
	}
	return ok
}

// TaskOnCPU: the program ran t on m.CPU (agent commits do not ask for
// TASK_ON_CPU): it leaves the heap and the CPU is busy.
func (h *handler) TaskOnCPU(t *thread, m agent.Message) {
	t.Expect("search", "TASK_ON_CPU", agent.Queued)
	s := h.s
	t.pubRing = -1
	s.rq.Remove(h.a, t)
	s.cpus.Assign(m.CPU, t, h.a.Now())
	t.last = m.CPU
	if s.bpf != nil {
		s.stats.Add(s.bpf.cRuns, 1)
	}
}
