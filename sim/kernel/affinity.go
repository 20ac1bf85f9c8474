package kernel

import "github.com/ghostsim/ghostsim/sim"

// This file is sched_setaffinity (Linux 4.15 core.c __set_cpus_allowed_ptr
// and do_set_cpus_allowed) with ghOSt's set_cpus_allowed_ghost: one
// implementation for a task changing its own mask and for one task
// changing another's.

// setAffinity sets t's allowed CPUs to set on behalf of c's current task
// (t nil: that task itself). It returns the CPU time c spends beyond the
// system call (the target run queue's lock line, an IPI) and whether c's
// current task goes on running.
//
// By t's state, as __set_cpus_allowed_ptr does it:
//   - blocked: only the mask changes; the wakeup picks an allowed CPU;
//   - runnable: if its run queue's CPU is not allowed, it moves to the
//     first allowed CPU (cpumask_any_and, move_queued_task);
//   - running: if its CPU is not allowed, it is pushed to that CPU as
//     the migration stopper would (stop_one_cpu → migration_cpu_stop): at
//     once when it is the caller, otherwise when its CPU reschedules on
//     the caller's IPI.
//
// A ghOSt task also gets TASK_AFFINITY_CHANGED, unless its TASK_NEW is
// still pending (set_cpus_allowed_ghost; docs/GHOST-SEMANTICS.md §1.2); if
// running it is forced off its CPU (force_offcpu: TASK_PREEMPT, §1.4.5)
// whether or not that CPU stays allowed; a latched task that must move is
// un-latched with TASK_PREEMPT(was_latched) (invalidate_cached_tasks on a
// non-ghost move_queued_task, §1.4.6). It moves only to a CPU of its
// enclave: with none allowed there, it stays put and the agent decides
// (ghOSt's commit path does not check the mask either).
func (k *Kernel) setAffinity(c *cpuState, t *Task, set CPUSet) (sim.Time, bool) {
	if t == nil {
		t = c.curr
	}
	aff := set.And(RangeSet(0, len(k.cpus)))
	if aff.Empty() || t.state == TaskDead || t.class == ClassAgent || (t.g != nil && t.g.isAgent) {
		return 0, true // EINVAL, ESRCH, or an agent (pinned)
	}
	t.affinity = aff
	if t.migrateTo >= 0 && !aff.Has(t.migrateTo) {
		t.migrateTo = -1
	}
	ghost := t.class == ClassGhost && t.g != nil
	if ghost && !t.g.newPending {
		k.produceTaskMsg(t, Message{Type: MsgTaskAffinityChanged}, c.id)
	}
	var cost sim.Time
	if t.cpu >= 0 && t.cpu != c.id {
		cost += k.m.LineTransfer(c.id, t.cpu, -1) // task_rq_lock on the target's run queue
	}
	switch t.state {
	case TaskRunnable:
		if aff.Has(t.cpu) {
			return cost, true
		}
		if dst := k.affinityDest(t); dst >= 0 {
			cost += k.moveQueued(t, dst, c.id)
		}
		return cost, true
	case TaskRunning:
		tc := &k.cpus[t.cpu]
		move := !aff.Has(t.cpu)
		if move {
			t.migrateTo = k.affinityDest(t)
		}
		if ghost {
			// set_cpus_allowed_common dequeues the running task
			// (DEQUEUE_SAVE): _dequeue_task_ghost's update_curr writes
			// its runtime into the status word now.
			k.updateCurr(tc, k.eng.Now())
			t.g.sw.Runtime = t.runtime
			t.g.swLine.write(c.id)
			tc.g.mustResched = true // force_offcpu
		} else if !move {
			return cost, true
		}
		if tc == c {
			k.schedule(c)
			return cost, false
		}
		cost += k.reschedFrom(tc.id, c.id)
		return cost, true
	}
	return cost, true
}

// affinityDest is where a task whose CPU is no longer allowed goes: the
// first allowed CPU (cpumask_any_and(cpu_valid_mask, new_mask)), for a
// ghOSt task the first allowed CPU of its enclave; -1 when a ghOSt task
// has none (it stays where it is).
func (k *Kernel) affinityDest(t *Task) int {
	if t.class == ClassGhost && t.g != nil {
		return t.g.enclave.cpus.And(t.affinity).First()
	}
	return t.affinity.First()
}

// moveQueued is move_queued_task: runnable, not running t moves to dst's
// run queue on behalf of CPU from, and may preempt there. A latched ghOSt
// task loses its latch with TASK_PREEMPT(was_latched). It returns from's
// CPU time for an IPI.
func (k *Kernel) moveQueued(t *Task, dst, from int) sim.Time {
	src := &k.cpus[t.cpu]
	if t.class == ClassGhost && src.g.latched == t {
		src.g.latched = nil
		k.preemptLatched(src, t, from)
	}
	k.deactivate(t)
	k.migrateVruntime(t, src.id, dst)
	k.activate(t, dst, false, false)
	return k.checkPreempt(dst, t, from)
}
