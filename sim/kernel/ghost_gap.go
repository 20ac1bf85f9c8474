package kernel

import (
	"fmt"

	"github.com/ghostsim/ghostsim/sim"
)

// This file measures scheduling gaps (paper §5: "some of the threads in
// our system run for only 5-30 µs before they block, leaving CPUs idle
// during these gaps"): the time a CPU of an enclave sits idle while a
// runnable task of the enclave that it could run waits.
//
// At each instant the gap is the number of idle enclave CPUs that could
// be matched to waiting tasks: a task waits while it is queued runnable
// (on some CPU's ghOSt run queue, latched or not), and it could run on the
// enclave CPUs of its affinity mask (all of them if the mask has none).
// The matching is computed greedily, tasks with the smallest masks first:
// exact when masks nest or are disjoint (all, one socket, one CCX...), an
// upper bound otherwise. The integral of that count over time is
// Kernel.SchedGapTime. A CPU is idle when it runs the idle task; a CPU
// running its agent, a task of another class, or switching is not.
//
// The clock is kept incrementally: hooks where a task enters or leaves a
// ghOSt run queue (activate, putPrev, ghostDequeue, pickGhost, the moves
// of a commit or of RunGtid) and where an enclave CPU switches to or from
// idle (ghostSwitched) advance it and mark it dirty; the count is
// recomputed once per instant, when time has moved on.

// gapClock integrates one enclave's scheduling gap.
type gapClock struct {
	started bool
	idle    CPUSet
	groups  []gapGroup // waiting tasks by mask, in order of first use
	order   []int      // group indexes, smallest mask first
	waiting int
	last    sim.Time
	cur     int // CPUs in a gap since last
	dirty   bool
	total   sim.Time
}

type gapGroup struct {
	mask CPUSet
	size int
	n    int
}

// gapStart initializes e's clock on first use: the enclave's idle CPUs.
func (k *Kernel) gapStart(e *Enclave) *gapClock {
	g := &e.bpf.gap
	if !g.started {
		g.started = true
		g.last = k.eng.Now()
		for cpu := e.cpus.First(); cpu >= 0; cpu = e.cpus.Next(cpu + 1) {
			if k.cpus[cpu].curr == nil {
				g.idle.Add(cpu)
			}
		}
	}
	return g
}

// advance brings the integral up to now.
func (k *Kernel) gapAdvance(e *Enclave, g *gapClock) {
	now := k.eng.Now()
	if now <= g.last {
		return
	}
	if g.dirty {
		g.dirty = false
		g.cur = g.count()
	}
	if e.dying {
		g.cur = 0
	}
	g.total += sim.Time(g.cur) * (now - g.last)
	g.last = now
}

// count is the greedy matching of idle CPUs to waiting tasks.
func (g *gapClock) count() int {
	if g.waiting == 0 || g.idle.Empty() {
		return 0
	}
	avail := g.idle
	n := 0
	for _, i := range g.order {
		gr := &g.groups[i]
		if gr.n == 0 {
			continue
		}
		can := avail.And(gr.mask)
		take := min(can.Len(), gr.n)
		n += take
		for cpu := can.First(); take > 0; cpu = can.Next(cpu + 1) {
			avail.Remove(cpu)
			take--
		}
		if avail.Empty() {
			break
		}
	}
	return n
}

// gapWaiting records that ghOSt task t starts (on) or stops waiting on a
// run queue.
func (k *Kernel) gapWaiting(t *Task, on bool) {
	if t.g == nil || t.g.enclave == nil {
		return
	}
	e := t.g.enclave
	g := k.gapStart(e)
	k.gapAdvance(e, g)
	if !on {
		if i := t.g.gapGroup - 1; i >= 0 {
			g.groups[i].n--
			g.waiting--
			t.g.gapGroup = 0
			g.dirty = true
		}
		return
	}
	if t.g.gapGroup != 0 {
		return
	}
	mask := t.affinity.And(e.cpus)
	if mask.Empty() {
		mask = e.cpus
	}
	i := -1
	for j := range g.groups {
		if g.groups[j].mask == mask {
			i = j
			break
		}
	}
	if i < 0 {
		i = len(g.groups)
		g.groups = append(g.groups, gapGroup{mask: mask, size: mask.Len()})
		// Insert into order by mask size (stable: first use breaks ties).
		at := len(g.order)
		for at > 0 && g.groups[g.order[at-1]].size > g.groups[i].size {
			at--
		}
		g.order = append(g.order, 0)
		copy(g.order[at+1:], g.order[at:])
		g.order[at] = i
	}
	g.groups[i].n++
	g.waiting++
	t.g.gapGroup = int32(i + 1)
	g.dirty = true
}

// gapIdle records that enclave CPU c switches to idle (or away from it).
func (k *Kernel) gapIdle(c *cpuState, idle bool) {
	e := c.g.enclave
	if e == nil {
		return
	}
	g := k.gapStart(e)
	if g.idle.Has(c.id) == idle {
		return
	}
	k.gapAdvance(e, g)
	if idle {
		g.idle.Add(c.id)
	} else {
		g.idle.Remove(c.id)
	}
	g.dirty = true
}

// SchedGapTime returns the scheduling-gap time of every enclave up to now,
// in CPU time: the integral over time of the number of idle enclave CPUs
// that a waiting runnable task of the enclave could run on (see the file
// comment).
func (k *Kernel) SchedGapTime() sim.Time {
	var total sim.Time
	for _, e := range k.enclaves {
		g := &e.bpf.gap
		if !g.started {
			continue
		}
		k.gapAdvance(e, g)
		total += g.total
	}
	return total
}

// checkGap is the pair assertion of the clock's counts: the tasks it
// counts waiting are those on the enclave CPUs' ghOSt run queues, and its
// idle CPUs those running the idle task.
func (k *Kernel) checkGap() error {
	for _, e := range k.enclaves {
		g := &e.bpf.gap
		if !g.started || e.dying {
			continue
		}
		n := 0
		for _, t := range e.tasks {
			if t.g != nil && t.g.gapGroup != 0 {
				n++
				if t.state != TaskRunnable {
					return fmt.Errorf("gap clock: %v (%v) counted waiting", t, t.state)
				}
			} else if t.state == TaskRunnable {
				return fmt.Errorf("gap clock: runnable %v on cpu%d not counted waiting", t, t.cpu)
			}
		}
		if n != g.waiting {
			return fmt.Errorf("gap clock of enclave %d: %d tasks waiting, counted %d", e.id, n, g.waiting)
		}
		for cpu := e.cpus.First(); cpu >= 0; cpu = e.cpus.Next(cpu + 1) {
			if idle := k.cpus[cpu].curr == nil; idle != g.idle.Has(cpu) {
				return fmt.Errorf("gap clock of enclave %d: cpu%d idle=%v, counted %v", e.id, cpu, idle, !idle)
			}
		}
	}
	return nil
}
