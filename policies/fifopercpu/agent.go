package fifopercpu

import (
	"github.com/ghostsim/ghostsim/sim/agent"
)

// Run is each CPU's agent loop (agent.PerCPULoop, FifoAgent::AgentThread):
// read the barrier, drain this CPU's channel, then Schedule.
func (s *scheduler) Run(a *agent.Agent) {
	s.loop.Run(a, &handler{agent.NewQueueing(a, "fifo-percpu", s, &s.cpus), s}, s)
}

// Schedule is FifoScheduler::Schedule for a's CPU: commit the next task
// locally — the agent blocks inside the commit until it is woken — or
// yield.
func (s *scheduler) Schedule(a *agent.Agent, barrier uint32) {
	me := a.CPU().ID
	if a.BoostedPriority() {
		// CFS wants this CPU: give it back; RTLA_ON_IDLE brings the agent
		// back when the CPU would idle, if there is work.
		var f agent.RunFlags
		if s.rq[me].Len() > 0 {
			f = agent.RunRTLAOnIdle
		}
		a.LocalYield(barrier, f)
		return
	}
	next := s.cpus.Of(me)
	if next == nil {
		t, ok := s.rq[me].Pop(a)
		if !ok {
			a.LocalYield(barrier, 0)
			return
		}
		next = t
	}
	if a.RunLocal("fifo-percpu", &next.Task, barrier) {
		next.prioBoost = false
		s.cpus.Assign(me, next, a.Now())
		return
	}
	// Failed (stale, preempted, ...): back to the front.
	s.cpus.Clear(next)
	next.prioBoost = true
	s.enqueue(a, next)
}
