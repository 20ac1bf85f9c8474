package kernel

import (
	"github.com/ghostsim/ghostsim/sim"
)

// This file is core scheduling's pick ([kernel] core_sched; Linux 5.14,
// CONFIG_SCHED_CORE, kernel/sched/core.c pick_next_task with
// sched_core_enabled). Every CFS task has a cookie, its VM id (0 for
// untagged tasks); the two SMT siblings of a core only ever run CFS tasks
// of one cookie at a time, the idle task matching every cookie.
//
// The pick is core-wide: the highest-priority CFS candidate of the whole
// core — this CPU's leftmost task, each sibling's running task and each
// sibling's leftmost — sets the core's cookie. This CPU then runs its
// best task of that cookie (sched_core_find), or is forced idle if it has
// none. A sibling running another cookie is sent a reschedule, and until
// it has left that cookie this CPU stays forced idle: where Linux lets
// the picking CPU go on and interrupts the sibling (the window that
// core-wide kernel entry would close), the model waits, so that two
// cookies never execute on one core at once. A forced-idle sibling is
// kicked whenever the core's state changes so that it picks again.
//
// Priorities of tasks on different run queues compare their vruntimes
// relative to each run queue's min_vruntime when the core's forced idle
// began (cfs_prio_less with min_vruntime_fi): a task running while its
// sibling is forced idle moves ahead, and the tick preempts it once it
// has used its slice (vmTick, task_tick_core), so the forced-idle side
// gets its turn.
//
// Other classes (agents, RT, MicroQuanta, ghOSt) are outside core
// scheduling in the model: they are picked before CFS as usual and never
// force a sibling idle (Linux would give them cookie 0).
//
// Left out: sched_core_balance's cookie stealing by forced-idle CPUs and
// the cookie checks of load balancing and wakeup placement
// (sched_core_cookie_match); placement stays CFS's.

// corePick is pickNext's CFS step under core scheduling: the task c runs,
// or nil for idle (forced or not).
func (k *Kernel) corePick(c *cpuState, now sim.Time) *Task {
	cs := k.coreState()
	sibs := k.m.Siblings(c.id)
	// The core-wide winner.
	var win *Task
	var wkey int64
	consider := func(t *Task, cpu int) {
		if t == nil || t.class != ClassCFS {
			return
		}
		if key := t.se.vruntime - cs.fiBase[cpu]; win == nil || key < wkey {
			win, wkey = t, key
		}
	}
	if len(c.cfs.queue) > 0 {
		consider(c.cfs.queue[0], c.id)
	}
	for _, s := range sibs {
		sc := &k.cpus[s]
		if cur := sc.curr; cur != nil && cur.state == TaskRunning {
			consider(cur, s)
		}
		if len(sc.cfs.queue) > 0 {
			consider(sc.cfs.queue[0], s)
		}
	}
	var pick *Task
	if win != nil {
		for _, t := range c.cfs.queue {
			if t.vm == win.vm {
				pick = t
				break
			}
		}
	}
	if pick != nil {
		// A sibling running another cookie must leave it first.
		for _, s := range sibs {
			if cur := k.cpus[s].curr; cur != nil && cur.class == ClassCFS && cur.vm != pick.vm {
				k.reschedFrom(s, c.id)
				pick = nil
			}
		}
	}
	core := k.coreOf(c.id)
	if pick == nil {
		if c.cfs.nr > 0 {
			if !cs.forcedIdle[c.id] {
				cs.stats.ForcedIdle++
			}
			cs.forcedIdle[c.id] = true
			if !cs.coreFI[core] {
				// Forced idle begins: snapshot each run queue's
				// min_vruntime (min_vruntime_fi).
				cs.coreFI[core] = true
				cs.fiBase[c.id] = c.cfs.minVruntime
				for _, s := range sibs {
					cs.fiBase[s] = k.cpus[s].cfs.minVruntime
				}
			}
		} else {
			cs.forcedIdle[c.id] = false
		}
	} else {
		cs.forcedIdle[c.id] = false
		rq := &c.cfs
		if rq.skip == pick {
			rq.skip = nil
		}
		rq.remove(pick)
		rq.curr = pick
		pick.se.execStart = now
		pick.se.prevSumExec = pick.se.sumExec
	}
	fi := cs.forcedIdle[c.id]
	for _, s := range sibs {
		if cs.forcedIdle[s] {
			fi = true
			if sc := &k.cpus[s]; sc.curr == nil {
				k.reschedFrom(s, c.id) // the core changed: pick again
			}
		}
	}
	cs.coreFI[core] = fi
	return pick
}

// coreSchedOn reports whether core scheduling applies to CPU c's pick.
func (k *Kernel) coreSchedOn(c *cpuState) bool {
	return k.p.CoreSched && len(k.m.Siblings(c.id)) > 0
}
