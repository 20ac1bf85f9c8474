package agent

// Global tracks which agent thread is the global agent of a centralized
// policy (one agent schedules every CPU; the others sleep in LocalYield),
// and moves the role when CFS wants the global agent's CPU: the "hot
// handoff" of docs/GHOST-SEMANTICS.md §6.5.
type Global struct {
	enc *Enclave
	cpu int
}

// NewGlobal makes cpu (-1: the enclave's first CPU) the global agent's.
func NewGlobal(enc *Enclave, cpu int) *Global {
	if cpu < 0 || !enc.CPUs().Has(cpu) {
		cpu = enc.CPUs().First()
	}
	return &Global{enc: enc, cpu: cpu}
}

// CPU returns the global agent's CPU.
func (g *Global) CPU() int { return g.cpu }

// Is reports whether a is the global agent.
func (g *Global) Is(a *Agent) bool { return a.CPU().ID == g.cpu }

// Handoff is PickNextGlobalCPU: when the global agent was boosted (CFS
// wants its CPU), pick a CPU of the enclave whose CPU_AVAIL is set —
// preferring an SMT sibling, then an L3 sibling, then the same NUMA node,
// then any — make it the global CPU and ping its agent, which preempts
// whatever ghOSt task runs there. The old agent sees it is no longer
// global on its next iteration and yields. It reports whether the role
// moved.
func (g *Global) Handoff(a *Agent) bool {
	me := a.CPU().ID
	topo := g.enc.Topology()
	var cands [4]CPUSet
	for _, s := range topo.Siblings(me) {
		cands[0].Add(s)
	}
	cands[1] = topo.L3Siblings(me)
	cands[2] = topo.NUMA(topo.CPU(me).Socket)
	cands[3] = g.enc.CPUs()
	for _, set := range cands {
		set = set.And(g.enc.CPUs())
		for c := set.First(); c >= 0; c = set.Next(c + 1) {
			if c == me {
				continue
			}
			if a.StatusWord(c).CPUAvail() {
				g.cpu = c
				a.Ping(c)
				return true
			}
		}
	}
	return false
}
