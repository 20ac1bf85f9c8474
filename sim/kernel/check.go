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
//     count match its entities.
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
		}
		for _, q := range []struct {
			q     []*Task
			class Class
		}{{c.agentQ, ClassAgent}, {c.rtQ, ClassRT}, {c.cfs.queue, ClassCFS}, {c.ghostQ, ClassGhost}} {
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
