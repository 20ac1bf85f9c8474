package kernel

import (
	"github.com/ghostsim/ghostsim/sim"
)

// This file is CFS load balancing (Linux 4.15 fair.c and topology.c):
// scheduling domains over SMT, LLC, socket and NUMA levels; periodic
// balancing from the tick at each domain's interval (stretched by
// busy_factor on busy CPUs); NO_HZ idle balancing, where a busy CPU with
// waiting tasks kicks an idle CPU to balance on behalf of every idle CPU;
// newly-idle balancing when a CPU is about to go idle; and active
// balancing, which pushes a running task when passive pulls keep failing.
//
// Simplifications, each noted where it is made: load is the instantaneous
// sum of CFS weights (Linux: PELT averages of it), a group is overloaded
// when it has more CFS tasks than CPUs (Linux also consults utilisation),
// and balancing itself costs no CPU time.

// idleType is enum cpu_idle_type.
type idleType uint8

const (
	cpuIdle idleType = iota
	cpuNotIdle
	cpuNewlyIdle
)

// ipiNohzBalance asks an idle CPU to balance for all idle CPUs
// (nohz_balancer_kick).
const ipiNohzBalance int32 = 1

// smtCapacity is the capacity of one thread of an SMT core: smt_gain
// (1178) split between its threads ([L415] topology.c:1150,
// sched.h:1701–1706). A CPU without SMT siblings has SCHED_CAPACITY_SCALE.
const (
	capacityScale = 1024
	smtGain       = 1178
)

// schedDomain is one level of one CPU's domain hierarchy (struct
// sched_domain), with its groups (the child level's spans).
type schedDomain struct {
	name           string
	span           CPUSet
	groups         []CPUSet // groups[0] contains the CPU
	weight         int
	imbalancePct   int
	cacheNiceTries int
	wakeAffine     bool
	balanceFork    bool

	minInterval, maxInterval sim.Time
	interval                 sim.Time // balance_interval
	lastBalance              sim.Time
	nrBalanceFailed          int
}

// buildDomains builds every CPU's domains (build_sched_domains): SMT
// (the core), MC (the LLC), DIE (the socket) and NUMA (the machine),
// dropping levels whose span equals their child's (sd_degenerate).
func (k *Kernel) buildDomains() {
	n := len(k.cpus)
	m := k.m
	k.llc = make([]CPUSet, m.NumCCXs())
	for c := 0; c < m.NumCCXs(); c++ {
		k.llc[c] = SetOf(m.CPUsOfCCX(c)...)
	}
	type level struct {
		name       string
		span       func(cpu int) CPUSet
		pct, tries int
	}
	levels := []level{
		{"SMT", func(cpu int) CPUSet { return SetOf(m.Siblings(cpu)...).Or(SetOf(cpu)) }, k.p.ImbalancePctSMT, 0},
		{"MC", func(cpu int) CPUSet { return k.llcSpan(cpu) }, k.p.ImbalancePctMC, 1},
		{"DIE", func(cpu int) CPUSet { return SetOf(m.CPUsOfSocket(m.CPU(cpu).Socket)...) }, k.p.ImbalancePct, 1},
		{"NUMA", func(int) CPUSet { return RangeSet(0, n) }, k.p.ImbalancePct, 2},
	}
	numaFar := k.p.NUMADistance > k.p.NUMAWakeAffineMaxDistance
	k.domains = make([][]schedDomain, n)
	for cpu := 0; cpu < n; cpu++ {
		var ds []schedDomain
		child := func(c int) CPUSet { return SetOf(c) }
		for _, lv := range levels {
			span := lv.span(cpu)
			if span.Len() <= 1 || (len(ds) > 0 && span == ds[len(ds)-1].span) {
				continue
			}
			sd := schedDomain{
				name:           lv.name,
				span:           span,
				weight:         span.Len(),
				imbalancePct:   lv.pct,
				cacheNiceTries: lv.tries,
				wakeAffine:     true,
				balanceFork:    true,
			}
			if lv.name == "NUMA" && numaFar {
				// sd_init: beyond RECLAIM_DISTANCE a NUMA level loses
				// SD_BALANCE_EXEC, SD_BALANCE_FORK and SD_WAKE_AFFINE.
				sd.wakeAffine, sd.balanceFork = false, false
			}
			sd.minInterval = sim.Time(sd.weight) * sim.Millisecond
			sd.maxInterval = 2 * sd.minInterval
			sd.interval = sd.minInterval
			// The machine has been up for a while when an experiment
			// starts: every domain is due for balancing at time 0.
			sd.lastBalance = -sd.maxInterval
			// Groups: the child level's spans, the CPU's own first.
			own := child(cpu)
			sd.groups = append(sd.groups, own)
			covered := own
			for c := span.First(); c >= 0; c = span.Next(c + 1) {
				if covered.Has(c) {
					continue
				}
				g := child(c).And(span)
				sd.groups = append(sd.groups, g)
				covered = covered.Or(g)
			}
			ds = append(ds, sd)
			spanOf := lv.span
			child = func(c int) CPUSet { return spanOf(c) }
		}
		k.domains[cpu] = ds
	}
}

// cpuCapacity is capacity_of(cpu).
func (k *Kernel) cpuCapacity(cpu int) int64 {
	if k.m.SMT() > 1 {
		return smtGain / int64(k.m.SMT())
	}
	return capacityScale
}

// overloaded reports whether some CPU has more than one CFS task
// (rd->overload).
func (k *Kernel) overloaded() bool {
	for i := range k.cpus {
		if k.cpus[i].cfs.nr > 1 {
			return true
		}
	}
	return false
}

// triggerLoadBalance runs at each tick (trigger_load_balance): periodic
// balancing when due, and a NO_HZ kick when this CPU has tasks waiting
// and some CPU is idle.
func (k *Kernel) triggerLoadBalance(c *cpuState, now sim.Time) {
	if now >= c.nextBal {
		k.rebalanceDomains(c, cpuNotIdle, now)
	}
	if c.nrRunning() < 2 || now < k.nohzNextBalance {
		return
	}
	for cpu := 0; cpu < len(k.cpus); cpu++ {
		if cpu != c.id && k.idleCPU(cpu) {
			k.nohzNextBalance = now + k.tickPeriod
			k.sendIPI(c.id, cpu, ipiNohzBalance)
			return
		}
	}
}

// nohzIdleBalance runs on the kicked idle CPU: it balances every idle CPU
// whose next balance is due, itself last (nohz_idle_balance).
func (k *Kernel) nohzIdleBalance(ilb *cpuState) {
	now := k.eng.Now()
	next := sim.Never
	for cpu := 0; cpu < len(k.cpus); cpu++ {
		c := &k.cpus[cpu]
		if cpu == ilb.id || !k.idleCPU(cpu) {
			continue
		}
		if now >= c.nextBal {
			k.rebalanceDomains(c, cpuIdle, now)
		}
		if k.idleCPU(cpu) && c.nextBal < next {
			next = c.nextBal
		}
	}
	if k.idleCPU(ilb.id) && now >= ilb.nextBal {
		k.rebalanceDomains(ilb, cpuIdle, now)
	}
	if next != sim.Never && next > k.nohzNextBalance {
		k.nohzNextBalance = next
	}
}

// rebalanceDomains balances c over each of its domains whose interval has
// passed (rebalance_domains).
func (k *Kernel) rebalanceDomains(c *cpuState, idle idleType, now sim.Time) {
	maxInterval := sim.Time(len(k.cpus)) * sim.Second / 10 // max_load_balance_interval
	next := sim.Never
	for i := range k.domains[c.id] {
		sd := &k.domains[c.id][i]
		interval := sd.interval
		if idle == cpuNotIdle {
			interval *= sim.Time(k.p.BusyFactor)
		}
		interval = min(max(interval, k.tickPeriod), maxInterval)
		if now >= sd.lastBalance+interval {
			if k.loadBalance(c, sd, idle) {
				idle = cpuNotIdle
				if k.idleCPU(c.id) {
					idle = cpuIdle
				}
			}
			sd.lastBalance = now
		}
		if at := sd.lastBalance + interval; at < next {
			next = at
		}
	}
	c.nextBal = next
}

// newIdleBalance is idle_balance: a CPU about to go idle tries to pull a
// task, level by level, unless it has been idle only briefly on average
// or no CPU has a task waiting. It reports whether it pulled one.
func (k *Kernel) newIdleBalance(c *cpuState) bool {
	if c.avgIdle < k.cfs.migrateCost || !k.overloaded() {
		return false
	}
	for i := range k.domains[c.id] {
		if k.loadBalance(c, &k.domains[c.id][i], cpuNewlyIdle) {
			return true
		}
	}
	return false
}

// groupStats are one group's figures (struct sg_lb_stats).
type lbGroup struct {
	load, capacity, avgLoad int64
	nr, idleCPUs, weight    int
	overloaded, hasCapacity bool
}

func (k *Kernel) groupFigures(g CPUSet) lbGroup {
	var s lbGroup
	for cpu := g.First(); cpu >= 0; cpu = g.Next(cpu + 1) {
		c := &k.cpus[cpu]
		s.load += k.cpuLoad(cpu)
		s.nr += c.cfs.nr
		s.capacity += k.cpuCapacity(cpu)
		s.weight++
		if k.idleCPU(cpu) {
			s.idleCPUs++
		}
	}
	if s.capacity > 0 {
		s.avgLoad = s.load * capacityScale / s.capacity
	}
	// Simplification: Linux's group_is_overloaded and
	// group_has_capacity also compare PELT utilisation with capacity.
	s.overloaded = s.nr > s.weight
	s.hasCapacity = s.nr < s.weight
	return s
}

// shouldWeBalance: only the first idle CPU of the local group (or its
// first CPU when none is idle) balances a domain, except when newly idle.
func (k *Kernel) shouldWeBalance(c *cpuState, sd *schedDomain, idle idleType) bool {
	if idle == cpuNewlyIdle {
		return true
	}
	local := sd.groups[0]
	for cpu := local.First(); cpu >= 0; cpu = local.Next(cpu + 1) {
		if k.idleCPU(cpu) {
			return cpu == c.id
		}
	}
	return local.First() == c.id
}

// loadBalance is load_balance for CPU c over domain sd: find the busiest
// group and run queue, and pull tasks to c; after repeated failures, push
// the busiest CPU's running task (active balance). It reports whether a
// task moved to c.
func (k *Kernel) loadBalance(c *cpuState, sd *schedDomain, idle idleType) bool {
	if !k.shouldWeBalance(c, sd, idle) {
		return false
	}
	imbalance, busiestGroup, ok := k.findBusiestGroup(c, sd, idle)
	if !ok {
		k.balanced(sd)
		return false
	}
	src := k.findBusiestQueue(busiestGroup, imbalance, c.id)
	if src < 0 {
		k.balanced(sd)
		return false
	}
	moved := k.detachAttach(src, c, sd, idle, imbalance)
	if moved > 0 {
		k.stats.LoadBalances++
		sd.nrBalanceFailed = 0
		sd.interval = sd.minInterval
		return true
	}
	if idle != cpuNewlyIdle {
		sd.nrBalanceFailed++
	}
	if sd.nrBalanceFailed > sd.cacheNiceTries+2 {
		k.activeBalance(src, c)
		sd.nrBalanceFailed = sd.cacheNiceTries + 1
	}
	k.balanced(sd)
	return false
}

// balanced backs the domain's interval off (doubling up to its maximum).
func (k *Kernel) balanced(sd *schedDomain) {
	if sd.interval < sd.maxInterval {
		sd.interval *= 2
	}
}

// findBusiestGroup is find_busiest_group with calculate_imbalance: it
// returns how much load to move and from which group, or ok = false when
// the domain is balanced.
func (k *Kernel) findBusiestGroup(c *cpuState, sd *schedDomain, idle idleType) (int64, CPUSet, bool) {
	local := k.groupFigures(sd.groups[0])
	var busiest lbGroup
	var busiestSet CPUSet
	found := false
	totalLoad, totalCap := local.load, local.capacity
	for _, g := range sd.groups[1:] {
		s := k.groupFigures(g)
		totalLoad += s.load
		totalCap += s.capacity
		// update_sd_pick_busiest: overloaded beats not; then higher avg load.
		if s.nr == 0 {
			continue
		}
		if !found || (s.overloaded && !busiest.overloaded) ||
			(s.overloaded == busiest.overloaded && s.avgLoad > busiest.avgLoad) {
			busiest, busiestSet, found = s, g, true
		}
	}
	if !found || busiest.nr == 0 {
		return 0, busiestSet, false
	}
	avg := totalLoad * capacityScale / totalCap
	force := idle != cpuNotIdle && local.hasCapacity && busiest.overloaded
	if !force {
		if local.avgLoad >= busiest.avgLoad || local.avgLoad >= avg {
			return 0, busiestSet, false
		}
		if idle == cpuIdle {
			if !busiest.overloaded && local.idleCPUs <= busiest.idleCPUs+1 {
				return 0, busiestSet, false
			}
		} else if 100*busiest.avgLoad <= int64(sd.imbalancePct)*local.avgLoad {
			return 0, busiestSet, false
		}
	}
	// calculate_imbalance.
	loadPerTask := busiest.load / int64(busiest.nr)
	maxPull := busiest.avgLoad - avg
	if busiest.overloaded {
		above := int64(busiest.nr)*capacityScale - busiest.capacity
		if above > 0 && above < maxPull {
			maxPull = above
		}
	}
	imb := min(maxPull*busiest.capacity, (avg-local.avgLoad)*local.capacity) / capacityScale
	if imb < loadPerTask {
		// fix_small_imbalance, simplified: move one task when that does not
		// leave us busier than the source.
		if busiest.nr > 1 && busiest.load-loadPerTask >= local.load {
			imb = loadPerTask
		} else if !force {
			return 0, busiestSet, false
		} else {
			imb = loadPerTask
		}
	}
	return imb, busiestSet, true
}

// findBusiestQueue is find_busiest_queue: the CPU of group g with the
// highest load per capacity, skipping a CPU whose single task is bigger
// than the imbalance (moving it would only move the imbalance).
func (k *Kernel) findBusiestQueue(g CPUSet, imbalance int64, dst int) int {
	best := -1
	var bestLoad, bestCap int64
	for cpu := g.First(); cpu >= 0; cpu = g.Next(cpu + 1) {
		c := &k.cpus[cpu]
		wl := k.cpuLoad(cpu)
		if c.cfs.nr == 0 || cpu == dst {
			continue
		}
		if c.cfs.nr == 1 && wl > imbalance {
			continue
		}
		capa := k.cpuCapacity(cpu)
		if best < 0 || wl*bestCap > bestLoad*capa {
			best, bestLoad, bestCap = cpu, wl, capa
		}
	}
	return best
}

// detachAttach moves up to imbalance of load from src's queued CFS tasks
// to c (detach_tasks + attach_tasks) and returns how many moved.
func (k *Kernel) detachAttach(src int, c *cpuState, sd *schedDomain, idle idleType, imbalance int64) int {
	s := &k.cpus[src]
	now := k.eng.Now()
	moved := 0
	for i := len(s.cfs.queue) - 1; i >= 0 && moved < k.p.NrMigrate && imbalance > 0; i-- {
		t := s.cfs.queue[i]
		if !t.affinity.Has(c.id) {
			continue
		}
		// task_hot: ran on src less than migration_cost ago.
		hot := t.lastCPU == src && now-t.lastRan < k.cfs.migrateCost
		if hot && sd.nrBalanceFailed <= sd.cacheNiceTries {
			continue
		}
		if t.weight/2 > imbalance {
			continue
		}
		k.deactivate(t)
		k.migrateVruntime(t, src, c.id)
		k.activate(t, c.id, false, false)
		k.checkPreempt(c.id, t, -1)
		imbalance -= t.weight
		moved++
		if idle == cpuNewlyIdle {
			break
		}
	}
	return moved
}

// activeBalance asks CPU src to push its running CFS task to c (the
// stopper's active_load_balance_cpu_stop), if the task may run on c.
func (k *Kernel) activeBalance(src int, c *cpuState) {
	s := &k.cpus[src]
	t := s.curr
	if t == nil || t.class != ClassCFS || !t.affinity.Has(c.id) || t.migrateTo >= 0 {
		return
	}
	t.migrateTo = c.id
	k.stats.ActiveBalances++
	k.reschedFrom(src, c.id)
}
