package kernel

// This file is CFS's wakeup CPU selection (select_task_rq_fair with
// wake_affine and select_idle_sibling, Linux 4.15), which try_to_wake_up
// (sched.go) calls: a waking CFS task looks for an idle CPU only within
// the last level cache of its target, and is otherwise left for load
// balancing.

// migrateVruntime carries a CFS task's vruntime from one run queue's
// min_vruntime to another's (migrate_task_rq_fair + enqueue).
func (k *Kernel) migrateVruntime(t *Task, from, to int) {
	if t.class != ClassCFS || from < 0 || from == to {
		return
	}
	t.se.vruntime += k.cpus[to].cfs.minVruntime - k.cpus[from].cfs.minVruntime
}

// idleCPU reports whether c runs nothing and has nothing queued
// (idle_cpu).
func (k *Kernel) idleCPU(cpu int) bool {
	c := &k.cpus[cpu]
	return c.curr == nil && !c.switching && c.nrRunning() == 0
}

// selectTaskRQ picks the CPU a waking task goes to (select_task_rq).
func (k *Kernel) selectTaskRQ(t *Task, waker int) int {
	prev := t.lastCPU
	if prev < 0 || !t.affinity.Has(prev) {
		prev = t.affinity.First()
	}
	if t.class == ClassMicroQuanta {
		return k.mqSelectCPU(t, prev, waker)
	}
	if t.class != ClassCFS {
		return prev
	}
	target := prev
	if waker >= 0 && waker != prev && t.affinity.Has(waker) {
		if sd := k.affineDomain(waker, prev); sd != nil {
			target = k.wakeAffine(sd, t, waker, prev)
		}
	}
	return k.selectIdleSibling(t, prev, target)
}

// affineDomain returns the lowest domain of CPU waker that spans prev and
// allows affine wakeups, or nil.
func (k *Kernel) affineDomain(waker, prev int) *schedDomain {
	for i := range k.domains[waker] {
		sd := &k.domains[waker][i]
		if sd.span.Has(prev) {
			if sd.wakeAffine {
				return sd
			}
			return nil
		}
	}
	return nil
}

// wakeAffine chooses between the waker's CPU and the task's previous one
// (wake_affine: WA_IDLE, then WA_WEIGHT with WA_BIAS).
func (k *Kernel) wakeAffine(sd *schedDomain, t *Task, this, prev int) int {
	if k.idleCPU(this) && k.shareCache(this, prev) {
		if k.idleCPU(prev) {
			return prev
		}
		return this
	}
	thisLoad := k.cpuLoad(this) + t.weight
	prevLoad := k.cpuLoad(prev)
	thisEff := thisLoad * 100
	prevEff := prevLoad * int64(100+(sd.imbalancePct-100)/2)
	if thisEff <= prevEff {
		return this
	}
	return prev
}

// shareCache reports whether a and b share a last-level cache
// (cpus_share_cache).
func (k *Kernel) shareCache(a, b int) bool {
	return k.m.CPU(a).CCX == k.m.CPU(b).CCX
}

// selectIdleSibling looks for an idle CPU near target within its LLC:
// target, then prev if it shares the cache, then a wholly idle core,
// then any idle CPU, then an idle SMT sibling (select_idle_sibling).
func (k *Kernel) selectIdleSibling(t *Task, prev, target int) int {
	if k.idleCPU(target) {
		return target
	}
	if prev != target && k.shareCache(prev, target) && k.idleCPU(prev) {
		return prev
	}
	llc := k.llcSpan(target).And(t.affinity)
	n := len(k.cpus)
	// select_idle_core: a core all of whose threads are idle.
	for i := 0; i < n; i++ {
		cpu := (target + i) % n
		if !llc.Has(cpu) || k.m.CPU(cpu).Thread != 0 {
			continue
		}
		if k.idleCPU(cpu) && k.siblingsIdle(cpu) {
			return cpu
		}
	}
	// select_idle_cpu: any idle CPU, scanning from target.
	for i := 1; i < n; i++ {
		cpu := (target + i) % n
		if llc.Has(cpu) && k.idleCPU(cpu) {
			return cpu
		}
	}
	return target
}

func (k *Kernel) siblingsIdle(cpu int) bool {
	for _, s := range k.m.Siblings(cpu) {
		if !k.idleCPU(s) {
			return false
		}
	}
	return true
}

// llcSpan returns the CPUs sharing cpu's last-level cache.
func (k *Kernel) llcSpan(cpu int) CPUSet { return k.llc[k.m.CPU(cpu).CCX] }

// cpuLoad is the weighted load of a CPU's CFS run queue. Linux uses PELT
// averages (runnable_load_avg); the model uses the instantaneous sum of
// weights, which is what those averages converge to for tasks that stay
// runnable.
func (k *Kernel) cpuLoad(cpu int) int64 { return k.cpus[cpu].cfs.load + k.ghostAddedLoad(cpu) }

// ghostAddedLoad is the load a CPU's ghOSt activity adds for CFS: a
// running or latched ghOSt task, or an agent that is not sleeping,
// counts as one nice-0 task (sysctl_ghost_cfs_load_added, 1024;
// ghost_core.c ghost_cfs_added_load), so CFS balancing sees the CPU busy.
func (k *Kernel) ghostAddedLoad(cpu int) int64 {
	c := &k.cpus[cpu]
	if c.g.enclave == nil {
		return 0
	}
	if cur := c.curr; (cur != nil && (cur.class == ClassGhost || cur == c.g.agent)) || c.g.latched != nil {
		return nice0Load
	}
	return 0
}

// selectForkCPU places a new task (select_task_rq with SD_BALANCE_FORK):
// the least-loaded allowed CPU of the widest fork-balancing domain of the
// spawning CPU from (CPU 0 for the workload's launcher); ties go to the
// lowest id.
func (k *Kernel) selectForkCPU(t *Task, from int) int {
	span := RangeSet(0, len(k.cpus))
	if ds := k.domains[from]; len(ds) > 0 {
		for i := len(ds) - 1; i >= 0; i-- {
			if ds[i].balanceFork {
				span = ds[i].span
				break
			}
		}
	}
	cand := span.And(t.affinity)
	if cand.Empty() {
		cand = t.affinity
	}
	best, bestLoad := -1, int64(0)
	for cpu := cand.First(); cpu >= 0; cpu = cand.Next(cpu + 1) {
		load := int64(k.cpus[cpu].nrRunning())
		if best < 0 || load < bestLoad {
			best, bestLoad = cpu, load
		}
	}
	return best
}
