package fifocentral

import (
	"github.com/ghostsim/ghostsim/sim/agent"
)

// Run is every agent thread's loop (agent.CentralLoop): the global agent
// drains the channel and schedules; the others yield until pinged into
// the global role.
func (s *scheduler) Run(a *agent.Agent) {
	s.loop.Run(a, &handler{agent.NewQueueing(a, "fifo-central", s, &s.cpus), s}, s)
}

// NextWake: without a slice only a message can make a new decision
// possible, so the global agent polls until one arrives; with a slice,
// also until the earliest running task's slice expires while tasks wait.
func (s *scheduler) NextWake(agent.Time) agent.Time {
	if s.rq.Len() == 0 {
		return agent.Never
	}
	return s.cpus.Expiry(s.slice, nil)
}

// Schedule is GlobalSchedule: give each available CPU the head of the
// runqueue, then commit every assignment in one group commit, inline on
// the global agent's CPU.
func (s *scheduler) Schedule(a *agent.Agent) int {
	if s.rq.Len() == 0 {
		return 0
	}
	now := a.Now()
	s.round.Start()
	s.yielding = s.yielding[:0]
	var take func(*task) bool // the fast path's: false when its program ran the task
	if s.bpf != nil {
		take = func(t *task) bool { return s.revoke(a, t) }
	}
	set := s.loop.Targets() // not the global agent's CPU
	for cpu := set.First(); cpu >= 0 && s.rq.Len() > 0; cpu = set.Next(cpu + 1) {
		if cur := s.cpus.Of(cpu); cur != nil && (s.slice == 0 || now-s.cpus.Since(cpu) < s.slice) {
			continue
		}
		if !a.StatusWord(cpu).CPUAvail() {
			continue
		}
		// The first task that can run now: one still getting off its CPU,
		// or with a message in flight, sits out this round.
		next, ok := s.rq.PopRunnable(a, &s.yielding, take)
		if !ok {
			break
		}
		s.round.Run(a, cpu, next)
	}
	n := s.round.Commit(a, "fifo-central", func(t *task, cpu int, ok bool) {
		if !ok {
			t.prioBoost = true
			s.enqueue(a, t)
			return
		}
		if prev := s.cpus.Assign(cpu, t, now); prev != nil {
			s.enqueue(a, prev) // its slice ran out: to the back
		}
		t.last = cpu
		t.prioBoost, t.preempted = false, false
	})
	for i := len(s.yielding) - 1; i >= 0; i-- {
		t := s.yielding[i]
		t.prioBoost = true
		s.enqueue(a, t)
	}
	s.publishWaiting(a)
	return n
}
