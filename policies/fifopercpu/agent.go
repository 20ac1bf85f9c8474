package fifopercpu

import (
	"github.com/ghostsim/ghostsim/sim/agent"
)

// Run is each CPU's agent loop (FifoAgent::AgentThread and
// FifoScheduler::Schedule): read the barrier, drain this CPU's channel,
// then commit the next task locally — the agent blocks inside Commit
// until it is woken — or yield.
func (s *scheduler) Run(a *agent.Agent) {
	me := a.CPU().ID
	ch := s.chans[me]
	// CPU messages for this CPU go to its own channel.
	for {
		if _, err := ch.AssociateTask(a, a.Gtid(), a.Barrier()); err == nil {
			break
		}
	}
	h := &handler{s: s, a: a} // a pointer: passing it as a TaskHandler does not allocate
	if me == s.ids[0] && !s.discovered {
		// Tasks already in the enclave (an in-place upgrade) report to the
		// default channel, this CPU's.
		s.discovered = true
		s.d.DiscoverTasks(a, ch, h)
	}
	for !a.Finished() {
		barrier := a.Barrier()
		for {
			m, ok := ch.Consume(a)
			if !ok {
				break
			}
			s.d.Dispatch(m, h)
		}
		s.schedule(a, barrier)
	}
}

func (s *scheduler) schedule(a *agent.Agent, barrier uint32) {
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
	req := a.RunRequest(me)
	req.Open(agent.RunRequestOptions{
		Target:        next.Gtid,
		TargetBarrier: next.Seqnum,
		AgentBarrier:  barrier,
		CommitFlags:   agent.CommitAtTxnCommit,
	})
	if req.Commit() {
		next.prioBoost = false
		s.cpus.Assign(me, next, a.Now())
		return
	}
	if st := req.Last().State; !agent.RoutineFailure(st) {
		panic("fifo-percpu: commit failed with " + st.String())
	}
	// Failed (stale, preempted, ...): back to the front.
	s.cpus.Clear(next)
	next.prioBoost = true
	s.enqueue(a, next)
}
