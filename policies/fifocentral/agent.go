package fifocentral

import (
	"github.com/ghostsim/ghostsim/sim/agent"
)

// Run is every agent thread's loop (agent.CentralLoop): the global agent
// drains the channel and schedules; the others yield until pinged into
// the global role.
func (s *scheduler) Run(a *agent.Agent) { s.loop.Run(a, &handler{s: s, a: a}, s) }

// NextWake: without a slice only a message can make a new decision
// possible, so the global agent polls until one arrives; with a slice,
// also until the earliest running task's slice expires.
func (s *scheduler) NextWake(agent.Time) agent.Time { return s.nextExpiry() }

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

// Schedule is GlobalSchedule: give each available CPU the head of the
// runqueue, then commit every assignment in one group commit, inline on
// the global agent's CPU.
func (s *scheduler) Schedule(a *agent.Agent) int {
	if s.rq.Len() == 0 {
		return 0
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
	a.CommitGroup("fifo-central", s.reqs, func(i int, ok bool) {
		t, cpu := s.assigned[i], s.reqs[i].CPU()
		if !ok {
			t.cpu = -1
			t.prioBoost = true
			s.enqueue(a, t)
			return
		}
		if prev := s.current[cpu]; prev != nil && prev != t {
			prev.cpu = -1
			s.enqueue(a, prev) // its slice ran out: to the back
		}
		s.current[cpu] = t
		s.since[cpu] = now
		t.last = cpu
		t.state = agent.OnCPU
		t.prioBoost, t.preempted = false, false
	})
	for i := len(s.yielding) - 1; i >= 0; i-- {
		t := s.yielding[i]
		t.prioBoost = true
		s.enqueue(a, t)
	}
	s.publishWaiting(a)
	return len(s.reqs)
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
		if !s.revoke(a, t) {
			continue // the fast path ran it: its TASK_ON_CPU follows
		}
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
