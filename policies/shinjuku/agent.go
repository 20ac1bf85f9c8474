package shinjuku

import (
	"github.com/ghostsim/ghostsim/sim/agent"
)

// Run is every agent thread's loop (agent.CentralLoop): the global agent
// drains the channel and schedules; the others yield until pinged into
// the global role (hot handoff, when CFS wants the global agent's CPU).
func (s *scheduler) Run(a *agent.Agent) {
	s.loop.Run(a, &handler{agent.NewQueueing(a, "ghost-shinjuku", s, &s.cpus), s}, s)
}

// NextWake is when the agent must look again without a message: the
// earliest slice expiry of a running task that a queued task of its class
// could replace, or soon (agent.Retry) if a task was skipped; Never
// otherwise.
func (s *scheduler) NextWake(now agent.Time) agent.Time {
	if len(s.skipped) > 0 {
		return now + agent.Retry
	}
	best := s.waiting()
	if best < 0 || best == classBatch {
		return agent.Never
	}
	return s.cpus.Expiry(s.slice, func(t *task) bool { return t.class == best })
}

// Passes of a scheduling round, in the order upstream's GlobalSchedule
// fills CPUs: idle CPUs first, then preemptions.
const (
	passIdle     = iota // CPUs without a task
	passPriority        // CPUs running a task of a lower class than one waiting (Shenango)
	passSlice           // CPUs whose task used up its slice while one of its class waits
	numPasses
)

// Schedule is GlobalSchedule: hand CPUs to the heads of the runqueues,
// then commit every assignment in one group commit, inline on the global
// agent's CPU. A task displaced by an assignment goes to the back of its
// class's queue.
func (s *scheduler) Schedule(a *agent.Agent) int {
	s.skipped = s.skipped[:0]
	if s.waiting() < 0 {
		return 0
	}
	now := a.Now()
	s.round.Start()
	set := s.loop.Targets() // not the global agent's CPU
	for pass := 0; pass < numPasses; pass++ {
		for cpu := set.First(); cpu >= 0; cpu = set.Next(cpu + 1) {
			best := s.waiting()
			if best < 0 {
				break
			}
			if s.round.Has(cpu) {
				continue
			}
			cur := s.cpus.Of(cpu)
			maxClass := numClasses - 1
			switch pass {
			case passIdle:
				if cur != nil {
					continue
				}
			case passPriority:
				if cur == nil || cur.class <= best {
					continue
				}
				maxClass = cur.class - 1
			case passSlice:
				if cur == nil || cur.class != best || cur.class == classBatch ||
					s.slice == 0 || now-s.cpus.Since(cpu) < s.slice {
					continue
				}
				maxClass = cur.class
			}
			if !a.StatusWord(cpu).CPUAvail() {
				continue // a higher class (CFS) runs there
			}
			next := s.pop(a, maxClass)
			if next == nil {
				continue
			}
			s.round.Run(a, cpu, next)
		}
	}
	n := s.round.Commit(a, "ghost-shinjuku", func(t *task, cpu int, ok bool) {
		if !ok {
			s.enqueue(a, t, true)
			return
		}
		if prev := s.cpus.Assign(cpu, t, now); prev != nil {
			// Preempted: to the back. Its TASK_PREEMPT, when it
			// comes, finds it queued and leaves it there.
			s.enqueue(a, prev, false)
		}
	})
	for i := len(s.skipped) - 1; i >= 0; i-- {
		t := s.skipped[i]
		s.rq[t.class].Requeue(a, t) // they keep their place
	}
	return n
}

// pop takes the first task of the best class up to maxClass that can run
// now. One still getting off its CPU, or with a message in flight, sits
// out this round.
func (s *scheduler) pop(a *agent.Agent, maxClass int) *task {
	for c := 0; c <= maxClass; c++ {
		if t, ok := s.rq[c].PopRunnable(a, &s.skipped, nil); ok {
			return t
		}
	}
	return nil
}
