package kernel

import "fmt"

// checkMQ is CheckInvariants' MicroQuanta part: every CPU's ready count
// matches the threads of its queue that have budget; a thread that is not
// throttled has budget left; a throttled live thread has its replenishment
// armed; a running thread with budget has its CPU's budget timer armed, and
// a throttled one is about to be switched out.
func (k *Kernel) checkMQ() error {
	now := k.eng.Now()
	for i := range k.cpus {
		c := &k.cpus[i]
		ready := 0
		for _, t := range c.mq.q {
			if t.mq == nil || !t.mq.queued {
				return fmt.Errorf("cpu%d MicroQuanta queue holds %v, not marked queued", i, t)
			}
			if !t.mq.throttled {
				ready++
			}
		}
		if ready != c.mq.nrReady {
			return fmt.Errorf("cpu%d MicroQuanta queue counts %d ready, holds %d", i, c.mq.nrReady, ready)
		}
		t := c.curr
		if t == nil || t.class != ClassMicroQuanta {
			continue
		}
		if t.mq.queued {
			return fmt.Errorf("cpu%d runs MicroQuanta %v, which is also queued", i, t)
		}
		at, armed := c.mq.budgetTimer.Armed()
		if !t.mq.throttled && !armed {
			return fmt.Errorf("cpu%d runs MicroQuanta %v (budget %v) with no budget timer", i, t, t.mq.budget)
		}
		if t.mq.throttled && !c.needResched && !(armed && at <= now) {
			return fmt.Errorf("cpu%d runs throttled MicroQuanta %v and is not rescheduling", i, t)
		}
	}
	for _, t := range k.tasks {
		e := t.mq
		if e == nil || t.state == TaskDead || t.class != ClassMicroQuanta {
			continue
		}
		if !e.throttled && e.budget <= 0 {
			return fmt.Errorf("MicroQuanta %v not throttled with budget %v", t, e.budget)
		}
		if _, armed := e.replenish.Armed(); e.throttled && !armed {
			return fmt.Errorf("MicroQuanta %v throttled with no replenishment armed", t)
		}
		if e.budget > e.runtime {
			return fmt.Errorf("MicroQuanta %v has budget %v above its runtime %v", t, e.budget, e.runtime)
		}
	}
	return nil
}
