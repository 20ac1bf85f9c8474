package fifocentral

import (
	"github.com/ghostsim/ghostsim/sim/agent"
)

// Run is every agent thread's loop: the global agent drains the channel
// and schedules; the others yield until pinged into the global role.
func (s *scheduler) Run(a *agent.Agent) {
	h := &handler{s: s, a: a} // a pointer: passing it as a TaskHandler does not allocate
	for !a.Finished() {
		barrier := a.Barrier()
		if !s.global.Is(a) {
			a.LocalYield(barrier, 0)
			continue
		}
		if !s.discovered {
			// Tasks already in the enclave (an in-place upgrade): adopt them.
			s.discovered = true
			s.d.DiscoverTasks(a, s.ch, h)
		}
		if a.BoostedPriority() && s.global.Handoff(a) {
			continue
		}
		for {
			m, ok := s.ch.Consume(a)
			if !ok {
				break
			}
			s.d.Dispatch(m, h)
		}
		s.schedule(a)
		// Busy-poll the channel. Without a slice, only a message can make
		// a new decision possible, so the spin ends on one; with a slice,
		// also when the earliest running task's slice expires.
		s.ch.Poll(a, s.nextExpiry())
	}
}

// nextExpiry is when the earliest running task's slice runs out, or Never.
func (s *scheduler) nextExpiry() agent.Time {
	if s.slice == 0 || s.rq.Len() == 0 {
		return agent.Never
	}
	at := agent.Never
	for cpu, t := range s.current {
		if t != nil && s.since[cpu]+s.slice < at {
			at = s.since[cpu] + s.slice
		}
	}
	return at
}

// schedule is GlobalSchedule: give each available CPU the head of the
// runqueue, then commit every assignment in one group commit, inline on
// the global agent's CPU.
func (s *scheduler) schedule(a *agent.Agent) {
	if s.rq.Len() == 0 {
		return
	}
	now := a.Now()
	s.reqs, s.assigned, s.yielding = s.reqs[:0], s.assigned[:0], s.yielding[:0]
	set := s.enc.CPUs()
	for cpu := set.First(); cpu >= 0 && s.rq.Len() > 0; cpu = set.Next(cpu + 1) {
		if cpu == s.global.CPU() {
			continue // the global agent's CPU never gets a task
		}
		if cur := s.current[cpu]; cur != nil && (s.slice == 0 || now-s.since[cpu] < s.slice) {
			continue
		}
		if !a.StatusWord(cpu).CPUAvail() {
			continue
		}
		next := s.pop(a)
		if next == nil {
			break
		}
		req := a.RunRequest(cpu)
		req.Open(agent.RunRequestOptions{Target: next.Gtid, TargetBarrier: next.Seqnum, CommitFlags: agent.CommitAtTxnCommit})
		next.cpu = cpu
		s.reqs = append(s.reqs, req)
		s.assigned = append(s.assigned, next)
	}
	if len(s.reqs) > 0 {
		a.CommitRunRequests(s.reqs)
	}
	for i, req := range s.reqs {
		t := s.assigned[i]
		cpu := req.CPU()
		if req.State() == agent.TxnComplete {
			if prev := s.current[cpu]; prev != nil && prev != t {
				prev.cpu = -1
				s.enqueue(a, prev) // its slice ran out: to the back
			}
			s.current[cpu] = t
			s.since[cpu] = now
			t.prioBoost, t.preempted = false, false
			continue
		}
		if st := req.Last().State; !agent.RoutineFailure(st) {
			panic("fifo-central: commit failed with " + st.String())
		}
		t.cpu = -1
		t.prioBoost = true
		s.enqueue(a, t)
	}
	for i := len(s.yielding) - 1; i >= 0; i-- {
		t := s.yielding[i]
		t.prioBoost = true
		s.enqueue(a, t)
	}
}

// pop takes the first task that can run now: one still getting off its
// CPU, or with a message in flight (seqnum behind its barrier), sits out
// this round.
func (s *scheduler) pop(a *agent.Agent) *task {
	for {
		t, ok := s.rq.PopFront()
		if !ok {
			return nil
		}
		a.ChargeCycles(s.p.ContainerOpCycles)
		t.queued = false
		sw, ok := a.TaskStatusWord(t.Gtid)
		if !ok {
			continue
		}
		if sw.OnCPU() || sw.Barrier != t.Seqnum {
			s.yielding = append(s.yielding, t)
			continue
		}
		return t
	}
}
