package search

import (
	"github.com/ghostsim/ghostsim/sim/agent"
)

// Run is every agent thread's loop (agent.CentralLoop): the global agent
// drains the channel (a gtid → thread lookup per message) and schedules;
// the others yield until pinged into the global role (hot handoff, when
// CFS wants the global agent's CPU). Every round that did work is timed
// into Stats.Loop.
func (s *scheduler) Run(a *agent.Agent) { s.loop.Run(a, &handler{s: s, a: a}, s) }

// NextWake is when the agent must look again without a message: soon
// (agent.Retry) if a thread sat out for a transient reason, at the
// earliest hold-back expiry, or Never (only a message can free a CPU or
// make a thread runnable).
func (s *scheduler) NextWake(now agent.Time) agent.Time {
	at := s.holdUntil
	if s.retry && now+agent.Retry < at {
		at = now + agent.Retry
	}
	return at
}

// Schedule is one scheduling round: walk the heap least runtime first,
// give each thread the idle CPU its heuristics pick (or skip it this
// round), then commit every assignment in one group commit, inline on the
// global agent's CPU (COMMIT_AT_TXN_COMMIT, as fifo-central's
// GlobalSchedule). It returns the number of transactions committed.
func (s *scheduler) Schedule(a *agent.Agent) int {
	s.retry, s.holdUntil = false, agent.Never
	if s.rq.Len() == 0 {
		return 0
	}
	// Idle CPUs: the enclave's, minus the global agent's and those with a
	// thread committed, confirmed with CPU_AVAIL (no CFS task wants them).
	cand := s.loop.Targets().AndNot(s.cpus.Busy())
	if cand.Empty() {
		return 0 // a thread's BLOCKED, PREEMPT or DEAD will free one
	}
	idle := a.AvailCPUs(cand)
	cfsHeld := idle != cand
	now := a.Now()
	s.round.Start()
	s.skipped = s.skipped[:0]
	for !idle.Empty() {
		t, ok := s.rq.Pop(a)
		if !ok {
			break
		}
		cpu, d, ok := s.place(a, t, idle, now)
		if !ok {
			s.skipped = append(s.skipped, t)
			continue
		}
		// Placement first, then the status word: a thread that sits out
		// for placement costs no status-word read.
		switch a.Readiness(&t.Task) {
		case agent.Gone:
			continue // its DEAD is on its way
		case agent.NotYet:
			// Still getting off its last CPU, or a message about it is
			// in flight: a commit would fail. Next round.
			s.retry = true
			s.skipped = append(s.skipped, t)
			continue
		}
		if !s.revoke(a, t) {
			continue // the BPF program took it: TASK_ON_CPU follows
		}
		s.round.Run(a, cpu, t)
		idle.Remove(cpu)
		t.dist = d
	}
	// Skipped threads go back where they were, revisited next round.
	for _, t := range s.skipped {
		s.requeue(a, t)
	}
	if cfsHeld && s.rq.Len() > 0 {
		s.retry = true // CFS may give its CPUs back without a message
	}
	return s.round.Commit(a, "search", func(t *thread, cpu int, ok bool) {
		if !ok {
			s.stats.Add(s.cFailed, 1)
			s.requeue(a, t)
			s.retry = true
			return
		}
		s.cpus.Assign(cpu, t, now)
		if t.dist < agent.NumDistances {
			s.stats.Add(s.cPlace[t.dist], 1)
		} else {
			s.stats.Add(s.cNew, 1)
		}
		t.last = cpu
	})
}

// place picks t's CPU among idle (§4.4): with NUMA, only CPUs of its
// cpumask; with CCX, the one nearest its last CPU (Topology.NearestIn),
// held back while its last CCX is busy and it has waited less than
// HoldUs; otherwise the lowest-numbered. ok is false when t sits out this
// round. d is the distance from t's last CPU (NumDistances: it never ran).
func (s *scheduler) place(a *agent.Agent, t *thread, idle agent.CPUSet, now agent.Time) (cpu int, d agent.Distance, ok bool) {
	allowed := idle
	if s.p.NUMA && t.restricted {
		allowed = allowed.And(t.mask)
		if allowed.Empty() {
			s.stats.Add(s.cNUMA, 1)
			return -1, 0, false
		}
	}
	if t.last < 0 || !s.p.CCX {
		cpu = allowed.First() // a find-first-set over the idle map
		a.ChargeCycles(cyclesPerCPUConsidered)
		d = agent.NumDistances
		if t.last >= 0 {
			d = s.topo.Distance(t.last, cpu)
		}
		return cpu, d, true
	}
	if s.hold > 0 && now-t.since < s.hold {
		l3 := s.topo.L3Siblings(t.last)
		if allowed.And(l3).Empty() && (!s.p.NUMA || !t.restricted || !t.mask.And(l3).Empty()) {
			// Its CCX is busy: keep it pending rather than migrate (§4.4,
			// "temporarily keep the thread pending for 100 µs"). A CCX
			// its mask excludes is not worth waiting for.
			if !t.held {
				t.held = true
				s.stats.Add(s.cHold, 1)
			}
			if at := t.since + s.hold; at < s.holdUntil {
				s.holdUntil = at
			}
			return -1, 0, false
		}
	}
	cpu, d, n := s.topo.NearestIn(t.last, allowed)
	a.ChargeCycles(cyclesPerCPUConsidered * int64(n))
	return cpu, d, true
}
