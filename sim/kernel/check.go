package kernel

import (
	"fmt"
)

// CheckInvariants returns the first violated invariant, if any:
//   - a CPU runs at most one task, and the task it runs is in state
//     running with its cpu field pointing back;
//   - a task is current on at most one CPU and queued on at most one run
//     queue, never both;
//   - a running task is current somewhere; a runnable task is on exactly
//     one run queue, of its class, on its CPU; a blocked or dead task is on
//     none and has no CPU;
//   - each CFS run queue is sorted by (vruntime, seq), and its load and
//     count match its entities;
//   - a task of any class but ghOSt runs only on a CPU of its affinity,
//     unless a push to one is under way (ghOSt's commit path ignores the
//     mask: Stats.GhostAffinityOverrides);
//   - MicroQuanta (checkMQ): a CPU's ready count matches its queue; a
//     thread not throttled has budget left; a throttled one has its
//     replenishment armed, and if running is being rescheduled;
//   - VM isolation (checkVMIsolation): with core_sched or SetVMIsolation,
//     the two siblings of a core never execute vCPUs of two VMs at once
//     (plain CFS is exempt: it provides no isolation);
//   - ghOSt: a queued ghOSt task is runnable, of the ghOSt class, in the
//     enclave of its CPU; a latched task is queued on the CPU it is
//     latched to; a CPU's agent is an agent of that CPU's enclave and not
//     dead; only CPUs with an agent run ghOSt tasks; every live task of an
//     enclave is of the ghOSt class; task barriers never go backwards.
//
// It walks every CPU and task: tests run it after every event
// (Config.Check).
func (k *Kernel) CheckInvariants() error {
	current := make([]int, len(k.tasks)) // CPU+1 running the task
	queued := make([]int, len(k.tasks))  // CPU+1 queuing it
	queueOn := func(q []*Task, cpu int, class Class) error {
		for _, t := range q {
			if t.class != class {
				return fmt.Errorf("task %v of class %v queued in the %v queue of cpu%d", t, t.class, class, cpu)
			}
			if queued[t.id] != 0 {
				return fmt.Errorf("task %v queued on cpu%d and cpu%d", t, queued[t.id]-1, cpu)
			}
			queued[t.id] = cpu + 1
		}
		return nil
	}
	for i := range k.cpus {
		c := &k.cpus[i]
		if t := c.curr; t != nil {
			if current[t.id] != 0 {
				return fmt.Errorf("task %v current on cpu%d and cpu%d", t, current[t.id]-1, i)
			}
			current[t.id] = i + 1
			if t.state != TaskRunning || t.cpu != i {
				return fmt.Errorf("cpu%d runs %v, whose state is %v on cpu %d", i, t, t.state, t.cpu)
			}
			// A push to an allowed CPU may be on its way (the migration
			// stopper's IPI), as the caller of sched_setaffinity waits for.
			if t.class != ClassGhost && !t.affinity.Has(i) && !c.switching && t.migrateTo < 0 {
				return fmt.Errorf("cpu%d runs %v (%v) outside its affinity %v", i, t, t.class, t.affinity)
			}
		}
		for _, q := range []struct {
			q     []*Task
			class Class
		}{{c.agentQ, ClassAgent}, {c.rtQ, ClassRT}, {c.mq.q, ClassMicroQuanta}, {c.cfs.queue, ClassCFS}, {c.ghostQ, ClassGhost}} {
			if err := queueOn(q.q, i, q.class); err != nil {
				return err
			}
		}
		var load int64
		nr := 0
		for j, t := range c.cfs.queue {
			if !t.se.onRQ {
				return fmt.Errorf("cpu%d CFS queue holds %v, which is not on_rq", i, t)
			}
			load += t.weight
			nr++
			if j > 0 {
				p := c.cfs.queue[j-1]
				if p.se.vruntime > t.se.vruntime || (p.se.vruntime == t.se.vruntime && p.se.seq > t.se.seq) {
					return fmt.Errorf("cpu%d CFS queue out of order at %v", i, t)
				}
			}
		}
		if cur := c.cfs.curr; cur != nil && cur.se.onRQ {
			if cur != c.curr {
				return fmt.Errorf("cpu%d CFS curr %v is not the CPU's current task", i, cur)
			}
			load += cur.weight
			nr++
		}
		if load != c.cfs.load || nr != c.cfs.nr {
			return fmt.Errorf("cpu%d CFS load %d nr %d, entities sum to %d and %d", i, c.cfs.load, c.cfs.nr, load, nr)
		}
	}
	if err := k.checkGhost(); err != nil {
		return err
	}
	if err := k.checkVMIsolation(); err != nil {
		return err
	}
	if err := k.checkGap(); err != nil {
		return err
	}
	if err := k.checkMQ(); err != nil {
		return err
	}
	for _, t := range k.tasks {
		cur, q := current[t.id], queued[t.id]
		switch t.state {
		case TaskRunning:
			if cur == 0 || q != 0 {
				return fmt.Errorf("running task %v: current on cpu %d, queued on cpu %d", t, cur-1, q-1)
			}
		case TaskRunnable:
			if cur != 0 || q == 0 || q-1 != t.cpu {
				return fmt.Errorf("runnable task %v (cpu %d): current on cpu %d, queued on cpu %d", t, t.cpu, cur-1, q-1)
			}
		case TaskBlocked, TaskDead:
			if cur != 0 || q != 0 || t.cpu != -1 {
				return fmt.Errorf("%v task %v: cpu %d, current on cpu %d, queued on cpu %d", t.state, t, t.cpu, cur-1, q-1)
			}
		}
	}
	return nil
}

func (k *Kernel) checkGhost() error {
	for i := range k.cpus {
		c := &k.cpus[i]
		for _, t := range c.ghostQ {
			if t.state != TaskRunnable || t.g == nil || t.g.enclave != c.g.enclave || t.cpu != i {
				return fmt.Errorf("cpu%d ghOSt queue holds %v (%v, cpu %d)", i, t, t.state, t.cpu)
			}
		}
		if l := c.g.latched; l != nil {
			found := false
			for _, t := range c.ghostQ {
				found = found || t == l
			}
			if !found {
				return fmt.Errorf("cpu%d latches %v, which is not queued there (%v on cpu %d)", i, l, l.state, l.cpu)
			}
		}
		if a := c.g.agent; a != nil {
			if a.state == TaskDead || a.g == nil || !a.g.isAgent || a.g.agentCPU != i || a.g.enclave != c.g.enclave {
				return fmt.Errorf("cpu%d has agent %v, which is not a live agent of this CPU", i, a)
			}
		}
		if cur := c.curr; cur != nil && cur.class == ClassGhost && c.g.agent == nil && !c.needResched && c.g.enclave != nil {
			return fmt.Errorf("cpu%d runs ghOSt task %v without an agent", i, cur)
		}
	}
	for _, e := range k.enclaves {
		for _, t := range e.tasks {
			if t.class != ClassGhost || t.g == nil || t.g.enclave != e {
				return fmt.Errorf("enclave %d lists %v of class %v", e.id, t, t.class)
			}
		}
	}
	if len(k.barriers) < len(k.tasks) {
		k.barriers = append(k.barriers, make([]uint32, len(k.tasks)-len(k.barriers))...)
	}
	for _, t := range k.tasks {
		if t.g == nil || t.g.isAgent {
			continue
		}
		if b := t.g.sw.Barrier; b < k.barriers[t.id] {
			return fmt.Errorf("task %v barrier went back from %d to %d", t, k.barriers[t.id], b)
		} else {
			k.barriers[t.id] = b
		}
	}
	return nil
}
