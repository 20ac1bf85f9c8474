package securevm

import (
	"github.com/ghostsim/ghostsim/sim/agent"
)

// handler binds message callbacks to the agent that drains them.
type handler struct {
	s *scheduler
	a *agent.Agent
}

// TaskNew: a new vCPU learns its VM (its thread's process) and home node
// (VMs alternate between nodes), and queues if runnable.
func (h *handler) TaskNew(v *vcpu, m agent.Message) {
	vm, ok := h.a.TaskVM(v.Gtid)
	if !ok {
		return
	}
	v.vm = vm
	v.ch = h.s.def
	v.node = 0
	if vm > 0 {
		v.node = (vm - 1) % h.s.nodes
	}
	h.s.live++
	if m.Runnable {
		h.s.enqueue(h.a, v)
	}
}

func (h *handler) TaskRunnable(v *vcpu, m agent.Message) {
	v.Expect("securevm", "TASK_WAKEUP", agent.Blocked)
	h.s.enqueue(h.a, v)
}

// TaskBlocked: a vCPU blocks on its CPU.
func (h *handler) TaskBlocked(v *vcpu, m agent.Message) {
	v.Expect("securevm", "TASK_BLOCKED", agent.OnCPU)
	h.s.offCPU(h.a, v)
	v.State = agent.Blocked
}

// TaskPreempted: a vCPU that this CPU's agent preempted to run stays the
// core's current one for the decision at hand; any other queues again.
func (h *handler) TaskPreempted(v *vcpu, m agent.Message) {
	v.Expect("securevm", "TASK_PREEMPT", agent.OnCPU)
	if v.cpu == h.a.CPU().ID && m.CPU == v.cpu && !m.WasLatched {
		h.s.account(v, h.a.Now())
		v.offByAgent = true
		return
	}
	h.s.offCPU(h.a, v)
	h.s.enqueue(h.a, v)
}

func (h *handler) TaskYield(v *vcpu, m agent.Message) {
	v.Expect("securevm", "TASK_YIELD", agent.OnCPU)
	h.s.offCPU(h.a, v)
	h.s.enqueue(h.a, v)
}

// TaskDead: a dying vCPU blocked first (its BLOCKED came before).
func (h *handler) TaskDead(v *vcpu, m agent.Message) {
	v.Expect("securevm", "TASK_DEAD", agent.Blocked)
	h.s.remove(h.a, v)
}

func (h *handler) TaskDeparted(v *vcpu, m agent.Message) { h.s.remove(h.a, v) }

// offCPU takes v off the CPU the policy has it on, accounting its run.
func (s *scheduler) offCPU(a *agent.Agent, v *vcpu) {
	if v.cpu < 0 {
		return
	}
	co := s.byCPU[v.cpu]
	for i := range co.cur {
		if co.cur[i] == v {
			s.account(v, a.Now())
			co.cur[i] = nil
		}
	}
	v.cpu = -1
}

func (s *scheduler) remove(a *agent.Agent, v *vcpu) {
	s.offCPU(a, v)
	if v.queued {
		s.dequeue(v)
	}
	if !v.dead {
		v.dead = true
		s.live--
	}
	v.State = agent.Blocked
}

// account charges v's run since it was last accounted.
func (s *scheduler) account(v *vcpu, now agent.Time) {
	if ran := now - v.start; ran > 0 {
		v.budget -= ran
		v.runtime += ran
	}
	v.start = now
}

// Run is each CPU's agent loop: claim the core (or yield to the sibling's
// active agent), settle the last sync group, drain the core's channel,
// decide for both CPUs, commit them as one sync group.
func (s *scheduler) Run(a *agent.Agent) {
	me := a.CPU().ID
	co := s.byCPU[me]
	for {
		if _, err := co.ch.AssociateTask(a, a.Gtid(), a.Barrier()); err == nil {
			break
		}
	}
	h := &handler{s: s, a: a}
	for i, x := range co.cpus {
		if x >= 0 {
			s.reqs[me][i] = a.RunRequest(x)
		}
	}
	for !a.Finished() {
		barrier := a.Barrier()
		if co.owner >= 0 && co.owner != me && co.phase == deciding {
			// The sibling's agent is active: become inactive.
			a.LocalYield(barrier, 0)
			continue
		}
		co.owner, co.phase = me, deciding
		start := a.Now()
		s.settle(a, co)
		n := 0
		for {
			m, ok := co.ch.Consume(a)
			if !ok {
				break
			}
			s.d.Dispatch(m, h)
			n++
		}
		s.decide(a, co, barrier)
		if a.Finished() {
			return
		}
		s.stats.Loop.Record(a.Now() - start)
		_ = n
		co.phase = committed
		ok := a.CommitSyncRequests(s.activeReqs(co, me))
		s.stats.Add(s.cSync, 1)
		if !ok {
			s.stats.Add(s.cSyncFail, 1)
		}
		if co.owner == me && co.phase == committed {
			// Nobody took over meanwhile: settle now, while it is ours.
			s.settle(a, co)
			co.owner = -1
		}
	}
}

// activeReqs returns agent me's run requests of the core's CPUs.
func (s *scheduler) activeReqs(co *core, me int) []*agent.RunRequest {
	if co.cpus[1] < 0 {
		return s.reqs[me][:1]
	}
	return s.reqs[me][:2]
}

// settle waits until the core's last sync group is final and applies its
// outcome: on success each CPU runs what the group gave it; on failure
// nothing changed and the vCPUs it would have run queue again.
func (s *scheduler) settle(a *agent.Agent, co *core) {
	if !co.pending {
		return
	}
	reqs := s.activeReqs(co, a.CPU().ID)
	okAll := true
	for _, r := range reqs {
		st := r.State()
		for st >= 0 { // READY or claimed: the group's ioctl is in flight
			a.Spin(200 * agent.Nanosecond)
			st = r.State()
		}
		if st != agent.TxnComplete {
			okAll = false
		}
	}
	co.pending = false
	now := a.Now()
	for i := range reqs {
		v := co.assign[i]
		co.assign[i] = nil
		if v == nil {
			if old := co.cur[i]; okAll && old != nil {
				if old.offByAgent {
					s.enqueue(a, old)
				} else {
					old.cpu = -1
				}
				co.cur[i] = nil
			}
			continue
		}
		v.inflight = false
		if v.dead {
			continue
		}
		if okAll {
			if old := co.cur[i]; old != nil && old != v {
				s.account(old, now)
				if old.offByAgent {
					s.enqueue(a, old) // its PREEMPT came already
				} else {
					old.cpu = -1 // its PREEMPT queues it
				}
			}
			v.offByAgent = false
			if co.cur[i] != v {
				v.start = now
			}
			co.cur[i] = v
			v.cpu = co.cpus[i]
			v.State = agent.OnCPU
		} else if co.cur[i] != v {
			s.enqueue(a, v)
		}
	}
}

// decide chooses what both CPUs of the core run and opens their
// transactions: keep the core's VM while its vCPU has budget and no
// queued vCPU has an earlier deadline (or, on slack, for a quantum);
// otherwise switch the core to the next vCPU by EDF, local node first.
func (s *scheduler) decide(a *agent.Agent, co *core, barrier uint32) {
	now := a.Now()
	var run *vcpu // the core's running vCPU that decides whether to keep
	for _, v := range co.cur {
		if v != nil {
			s.account(v, now)
			s.replenish(v, now)
			if run == nil || v.deadline < run.deadline {
				run = v
			}
		}
	}
	// Local runqueue first; spill to the other node's when the local one
	// has nothing, or only slack while the other has guaranteed time due.
	next := s.best(a, co.node, 0, now)
	spill := false
	if s.nodes > 1 && (next == nil || next.budget <= 0) {
		if r := s.best(a, 1-co.node%2, 0, now); r != nil && (next == nil || r.budget > 0) {
			next, spill = r, true
		}
	}
	keep := run != nil
	if keep && next != nil {
		switch {
		case run.budget > 0 && next.budget > 0 && next.deadline < run.deadline:
			keep = false // EDF preemption
		case run.budget <= 0 && next.budget > 0:
			keep = false // guaranteed time first
		case run.budget <= 0 && now-run.slackAt >= slackQuantum:
			keep = false // slack shared a quantum at a time
		}
	}
	vm := 0
	if keep {
		vm = run.vm
		s.stats.Add(s.cKeep, 1)
		co.assign = co.cur
	} else {
		for i, v := range co.cur {
			co.assign[i] = nil
			if v != nil {
				s.account(v, now)
			}
		}
		if next != nil && !s.adopt(a, co, next) {
			next = nil
		}
		if next != nil {
			if spill {
				s.stats.Add(s.cSpill, 1)
			}
			s.stats.Add(s.cSwitch, 1)
			if next.budget <= 0 {
				next.slackAt = now
			}
			vm = next.vm
			// It goes where the agent runs, so the local commit hands
			// this CPU over directly.
			i := 0
			if co.cpus[1] == a.CPU().ID {
				i = 1
			}
			co.assign[i] = next
		}
	}
	// An empty CPU of the core takes another vCPU of the same VM.
	for i, x := range co.cpus {
		if x < 0 || co.assign[i] != nil || vm == 0 {
			continue
		}
		v := s.best(a, co.node, vm, now)
		if v == nil && s.nodes > 1 {
			v = s.best(a, 1-co.node%2, vm, now)
		}
		if v != nil && s.adopt(a, co, v) {
			co.assign[i] = v
		}
	}
	co.idleCore = co.assign[0] == nil && co.assign[1] == nil
	// Open both transactions of the group.
	for i, x := range co.cpus {
		if x < 0 {
			continue
		}
		// A CPU with no vCPU runs the idle task. ALLOW_TASK_ONCPU lets
		// that commit succeed on a CPU already idle, where the idle task
		// is on the CPU (without it the kernel fails TARGET_ONCPU, and with
		// it the whole group), as ghost-userspace's sync-group agents open
		// every member (tests/api_test.cc SyncGroupScheduler, IdlingAgent).
		o := agent.RunRequestOptions{Target: agent.GtidIdle, CommitFlags: agent.AllowTaskOnCPU}
		if v := co.assign[i]; v != nil {
			o.Target, o.TargetBarrier = v.Gtid, v.Seqnum
			o.CommitFlags = 0
			if v == co.cur[i] {
				o.CommitFlags |= agent.AllowTaskOnCPU
			}
		}
		if x == a.CPU().ID {
			o.AgentBarrier = barrier
		} else {
			o.CommitFlags |= agent.ElideAgentBarrierInc
		}
		o.CommitFlags |= agent.CommitAtTxnCommit
		s.reqs[a.CPU().ID][i].Open(o)
	}
	co.pending = true
}

// adopt associates v's messages with the core's channel (Fig 9: a vCPU
// reports to the core it runs on). It fails if a message of v is still
// pending on its old channel (ESTALE); v stays queued then.
//
// v leaves the runqueue first (in flight), so that no other core's agent
// takes it while the association's system call runs.
func (s *scheduler) adopt(a *agent.Agent, co *core, v *vcpu) bool {
	s.dequeue(v)
	v.inflight = true
	if v.ch == co.ch {
		return true
	}
	if _, err := co.ch.AssociateTask(a, v.Gtid, v.Seqnum); err != nil {
		v.inflight = false
		s.enqueue(a, v)
		return false
	}
	v.ch = co.ch
	return true
}

// Compile-time check that the scheduler reports stats.
var _ agent.StatsReporter = (*scheduler)(nil)
