package kernel

import (
	"slices"

	"github.com/ghostsim/ghostsim/sim"
)

// This file is CFS (kernel/sched/fair.c, Linux 4.15): weighted virtual
// runtime, the run queue ordered by it, slices, tick and wakeup
// preemption, and placement of waking and new tasks. Wakeup CPU selection
// is in cfs_wakeup.go and load balancing in cfs_balance.go.
//
// Virtual runtime is kept in picoseconds of nice-0 time.

// schedEntity is a task's CFS state (struct sched_entity).
type schedEntity struct {
	vruntime    int64
	execStart   sim.Time // when accounting last caught up (exec_start)
	sumExec     sim.Time // sum_exec_runtime
	prevSumExec sim.Time // sum_exec at the last pick (prev_sum_exec_runtime)
	onRQ        bool     // counted in the run queue's load (on_rq)
	seq         uint64   // enqueue order, breaks vruntime ties
}

// cfsRQ is one CPU's CFS run queue (struct cfs_rq). The running task is
// not in queue, as in Linux's rbtree.
type cfsRQ struct {
	queue       []*Task // runnable, not running; ascending (vruntime, seq)
	curr        *Task
	minVruntime int64
	load        int64 // weights of every entity on the rq, the running one included
	nr          int   // entities on the rq, the running one included
	skip        *Task // yield buddy: passed over once by pickNext
	seq         uint64
}

// calcDelta scales delta (ps of real time) to nice-0 virtual time for
// weight w (calc_delta_fair).
func calcDelta(delta int64, w int64) int64 {
	if w == nice0Load {
		return delta
	}
	return delta * nice0Load / w
}

func (rq *cfsRQ) insert(t *Task) {
	rq.seq++
	t.se.seq = rq.seq
	i, _ := slices.BinarySearchFunc(rq.queue, t, func(a, b *Task) int {
		if a.se.vruntime != b.se.vruntime {
			if a.se.vruntime < b.se.vruntime {
				return -1
			}
			return 1
		}
		if a.se.seq < b.se.seq {
			return -1
		}
		return 1
	})
	rq.queue = slices.Insert(rq.queue, i, t)
}

func (rq *cfsRQ) remove(t *Task) {
	if i := slices.Index(rq.queue, t); i >= 0 {
		rq.queue = slices.Delete(rq.queue, i, i+1)
	}
}

// updateMinVruntime advances min_vruntime monotonically toward the
// smallest vruntime on the rq (update_min_vruntime).
func (rq *cfsRQ) updateMinVruntime() {
	v := rq.minVruntime
	have := false
	if c := rq.curr; c != nil && c.se.onRQ {
		v, have = c.se.vruntime, true
	}
	if len(rq.queue) > 0 {
		l := rq.queue[0].se.vruntime
		if !have || l < v {
			v = l
		}
		have = true
	}
	if have && v > rq.minVruntime {
		rq.minVruntime = v
	}
}

// cfs holds the scaled tunables.
type cfs struct {
	latency     int64 // sysctl_sched_latency × factor, ps
	minGran     int64
	wakeupGran  int64
	nrLatency   int // sched_nr_latency = latency / min_granularity
	migrateCost sim.Time
}

func newCFS(p Params, ncpus int) cfs {
	// SCHED_TUNABLESCALING_LOG: factor = 1 + ilog2(min(ncpus, 8))
	// (fair.c:163–177).
	n := ncpus
	if n > 8 {
		n = 8
	}
	factor := int64(1)
	for n > 1 {
		factor++
		n >>= 1
	}
	c := cfs{
		latency:     int64(sim.Ns(p.SchedLatencyNs)) * factor,
		minGran:     int64(sim.Ns(p.MinGranularityNs)) * factor,
		wakeupGran:  int64(sim.Ns(p.WakeupGranularityNs)) * factor,
		migrateCost: sim.Ns(p.MigrationCostNs),
	}
	c.nrLatency = int((c.latency + c.minGran - 1) / c.minGran)
	return c
}

// period is __sched_period: the latency target stretched once more than
// nrLatency tasks share the CPU.
func (c *cfs) period(nr int) int64 {
	if nr > c.nrLatency {
		return int64(nr) * c.minGran
	}
	return c.latency
}

// slice is sched_slice: t's share of the period by weight. When t is not
// on the rq it is counted as if it were (as for a task being placed).
func (c *cfs) slice(rq *cfsRQ, t *Task) int64 {
	nr, load := rq.nr, rq.load
	if !t.se.onRQ {
		nr++
		load += t.weight
	}
	if load == 0 {
		return c.period(nr)
	}
	return c.period(nr) * t.weight / load
}

// updateCurr charges the running task for the time since its last
// accounting point (update_curr).
func (k *Kernel) updateCurr(cpu *cpuState, now sim.Time) {
	t := cpu.curr
	if t == nil {
		return
	}
	delta := now - t.se.execStart
	if delta <= 0 {
		return
	}
	t.se.execStart = now
	t.se.sumExec += delta
	t.runtime += delta
	k.groupTime(t.group, delta)
	if t.class == ClassCFS {
		t.se.vruntime += calcDelta(int64(delta), t.weight)
		cpu.cfs.updateMinVruntime()
	} else if t.class == ClassMicroQuanta {
		k.mqCharge(t, delta)
	}
}

// cfsEnqueue puts t on cpu's CFS rq (enqueue_task_fair). wakeup places a
// waking sleeper; isNew places a new task (START_DEBIT).
func (k *Kernel) cfsEnqueue(cpu *cpuState, t *Task, wakeup, isNew bool) {
	rq := &cpu.cfs
	if isNew {
		// place_entity(initial): a new task starts one virtual slice after
		// min_vruntime so that forking cannot starve the others.
		t.se.vruntime = rq.minVruntime + calcDelta(k.cfs.slice(rq, t), t.weight)
	} else if wakeup {
		// place_entity(!initial) with GENTLE_FAIR_SLEEPERS: a sleeper gets
		// at most half a latency of credit.
		v := rq.minVruntime - k.cfs.latency/2
		if t.se.vruntime < v {
			t.se.vruntime = v
		}
	}
	t.se.onRQ = true
	rq.load += t.weight
	rq.nr++
	if rq.curr != t {
		rq.insert(t)
	}
	rq.updateMinVruntime()
}

// cfsDequeue takes t off cpu's CFS rq (dequeue_task_fair).
func (k *Kernel) cfsDequeue(cpu *cpuState, t *Task) {
	rq := &cpu.cfs
	if rq.curr == t {
		k.updateCurr(cpu, k.eng.Now())
	} else {
		rq.remove(t)
	}
	if rq.skip == t {
		rq.skip = nil
	}
	t.se.onRQ = false
	rq.load -= t.weight
	rq.nr--
	rq.updateMinVruntime()
}

// cfsPick chooses the next CFS task (pick_next_task_fair): the leftmost,
// unless it is the yield buddy and another task is close enough.
func (k *Kernel) cfsPick(cpu *cpuState, now sim.Time) *Task {
	rq := &cpu.cfs
	if len(rq.queue) == 0 {
		return nil
	}
	t := rq.queue[0]
	if t == rq.skip && len(rq.queue) > 1 {
		// pick_next_entity: skip the buddy if the second is not more than
		// a wakeup granularity ahead of it (wakeup_preempt_entity < 1).
		second := rq.queue[1]
		if second.se.vruntime-t.se.vruntime <= calcDelta(k.cfs.wakeupGran, second.weight) {
			t = second
		}
	}
	rq.skip = nil
	rq.remove(t)
	rq.curr = t
	t.se.execStart = now
	t.se.prevSumExec = t.se.sumExec
	return t
}

// cfsPutPrev returns the previous task to the tree if it is still
// runnable (put_prev_entity).
func (k *Kernel) cfsPutPrev(cpu *cpuState, t *Task) {
	rq := &cpu.cfs
	if t.se.onRQ {
		rq.insert(t)
	}
	if rq.curr == t {
		rq.curr = nil
	}
}

// cfsTick runs check_preempt_tick for the running task.
func (k *Kernel) cfsTick(cpu *cpuState) {
	rq := &cpu.cfs
	t := rq.curr
	if t == nil || rq.nr < 2 {
		return
	}
	ideal := k.cfs.slice(rq, t)
	ran := int64(t.se.sumExec - t.se.prevSumExec)
	if ran > ideal {
		k.resched(cpu.id)
		return
	}
	if ran < k.cfs.minGran || len(rq.queue) == 0 {
		return
	}
	if d := t.se.vruntime - rq.queue[0].se.vruntime; d > ideal {
		k.resched(cpu.id)
	}
}

// cfsWakeupPreempts reports whether waking task p should preempt the
// running CFS task curr (check_preempt_wakeup / wakeup_preempt_entity).
func (k *Kernel) cfsWakeupPreempts(curr, p *Task) bool {
	vdiff := curr.se.vruntime - p.se.vruntime
	if vdiff <= 0 {
		return false
	}
	return vdiff > calcDelta(k.cfs.wakeupGran, p.weight)
}

// cfsYield marks the running task as the skip buddy (yield_task_fair).
func (k *Kernel) cfsYield(cpu *cpuState) {
	rq := &cpu.cfs
	if rq.nr <= 1 {
		return
	}
	k.updateCurr(cpu, k.eng.Now())
	rq.skip = rq.curr
}

// cfsReweight changes t's nice while it is on cpu's rq (reweight_entity).
func (k *Kernel) cfsReweight(cpu *cpuState, t *Task, nice int) {
	if t.se.onRQ {
		if cpu.cfs.curr == t {
			k.updateCurr(cpu, k.eng.Now())
		}
		cpu.cfs.load -= t.weight
		t.setNice(nice)
		cpu.cfs.load += t.weight
		return
	}
	t.setNice(nice)
}
