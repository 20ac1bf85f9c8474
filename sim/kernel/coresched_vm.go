package kernel

import (
	"fmt"

	"github.com/ghostsim/ghostsim/sim"
)

// This file is the host side of running VMs (paper §4.5): a vCPU is a
// task with a VM id (TaskSpec.VM), which is also its core-scheduling
// cookie. Entering a vCPU after a context switch, and every tick that
// interrupts one, costs a VM exit and re-entry ([costs] vm_exit); with
// [kernel] vm_flush, entering a VM other than the one the CPU last ran
// also flushes the L1D and clears the CPU buffers (l1tf=flush, mds=full:
// arch/x86/kvm/vmx/vmx.c vmx_l1d_flush, and VERW before VMLAUNCH).
//
// The isolation invariant — two different VMs never execute guest code
// on the two SMT siblings of one core at the same moment — is checked by
// checkVMIsolation when VM isolation is required: with [kernel]
// core_sched, or after SetVMIsolation(true) (a ghOSt policy that
// schedules whole cores). Plain CFS is exempt: it provides no isolation,
// and VMStats.SiblingViolations only counts how often it shares a core.

// coreSched is the per-CPU state of core scheduling and of the VM model.
type coreSched struct {
	lastVM     []int   // by CPU: the VM it last entered (0: none)
	forcedIdle []bool  // by CPU: idle although it has runnable CFS tasks of another cookie
	fiBase     []int64 // by CPU: the CFS min_vruntime when its core's forced idle began (min_vruntime_fi)
	coreFI     []bool  // by core (the lowest CPU id of the core): some CPU is forced idle
	isolate    bool    // SetVMIsolation
	stats      VMStats // counters
}

// VMStats are the VM model's and core scheduling's counters.
type VMStats struct {
	// VMExits counts VM exits with re-entry: one per switch into a vCPU
	// and one per tick that interrupts a vCPU.
	VMExits int64
	// Flushes counts VM entries that flushed the L1D and cleared the CPU
	// buffers (vm_flush, a CPU entering another VM than its last).
	Flushes int64
	// ForcedIdle counts picks that left a CPU idle although it had
	// runnable tasks, because its sibling runs another cookie.
	ForcedIdle int64
	// SiblingViolations counts vCPU entries into the guest while the SMT
	// sibling was executing a vCPU of another VM.
	SiblingViolations int64
}

func (k *Kernel) coreState() *coreSched {
	if k.cs == nil {
		n := len(k.cpus)
		k.cs = &coreSched{
			lastVM: make([]int, n), forcedIdle: make([]bool, n), fiBase: make([]int64, n),
			coreFI: make([]bool, n),
		}
	}
	return k.cs
}

// VM returns the VM id of a vCPU task, 0 for other tasks.
func (t *Task) VM() int { return t.vm }

// SetVMIsolation makes the invariant checker require that no two VMs run
// on the siblings of one core at once (core_sched sets it by itself).
func (k *Kernel) SetVMIsolation(on bool) { k.coreState().isolate = on }

// VMIsolation reports whether the checker requires VM isolation.
func (k *Kernel) VMIsolation() bool {
	return k.p.CoreSched || (k.cs != nil && k.cs.isolate)
}

// VMStats returns the VM model's counters.
func (k *Kernel) VMStats() VMStats {
	if k.cs == nil {
		return VMStats{}
	}
	return k.cs.stats
}

// inGuest reports whether CPU cpu executes guest code: its current task
// is a vCPU that is neither being switched in nor interrupted.
func (k *Kernel) inGuest(cpu int) bool {
	c := &k.cpus[cpu]
	t := c.curr
	return t != nil && t.vm > 0 && t.state == TaskRunning && !c.switching && !c.inIRQ
}

// vmEnter charges the entry into vCPU t on c after a context switch: a VM
// exit and entry, and with vm_flush an L1D flush and a buffer clear when
// c last ran another VM. It also counts an entry beside another VM.
func (k *Kernel) vmEnter(c *cpuState, t *Task, now sim.Time) {
	if t.vm <= 0 {
		return
	}
	cs := k.coreState()
	cs.stats.VMExits++
	work := k.costs.VMExit
	if k.p.VMFlush && cs.lastVM[c.id] != t.vm {
		cs.stats.Flushes++
		work += k.costs.L1DFlush + k.costs.CPUBufferClear
	}
	cs.lastVM[c.id] = t.vm
	for _, s := range k.m.Siblings(c.id) {
		if s != c.id && k.inGuest(s) && k.cpus[s].curr.vm != t.vm {
			cs.stats.SiblingViolations++
			break
		}
	}
	if work > 0 {
		k.addWork(t, now, int64(work))
	}
}

// vmTick is a tick's VM and core-scheduling work on c: a vCPU it
// interrupts pays a VM exit and entry; under core scheduling, a CFS task
// that has used its share while its core forces a sibling idle is
// preempted so that the sibling's tasks get their turn (task_tick_core,
// kernel/sched/core.c of Linux 5.14: __entity_slice_used with
// MIN_NR_TASKS_DURING_FORCEIDLE = 2).
func (k *Kernel) vmTick(c *cpuState) {
	t := c.curr
	if t == nil || c.switching {
		return
	}
	if t.vm > 0 {
		k.coreState().stats.VMExits++
		if k.costs.VMExit > 0 {
			k.addWork(t, k.eng.Now(), int64(k.costs.VMExit))
		}
	}
	if !k.p.CoreSched || t.class != ClassCFS || k.cs == nil || !k.cs.coreFI[k.coreOf(c.id)] {
		return
	}
	// __entity_slice_used: the slice t would get with 2 tasks on its rq.
	slice := k.cfs.period(2) * t.weight / (t.weight + nice0Load)
	if int64(t.se.sumExec-t.se.prevSumExec) >= slice {
		k.resched(c.id)
	}
}

// coreOf returns the lowest CPU id of cpu's core, which names the core.
func (k *Kernel) coreOf(cpu int) int {
	m := cpu
	for _, s := range k.m.Siblings(cpu) {
		m = min(m, s)
	}
	return m
}

// checkVMIsolation returns an error if two siblings execute vCPUs of
// different VMs while isolation is required.
func (k *Kernel) checkVMIsolation() error {
	if !k.VMIsolation() {
		return nil // plain CFS provides no isolation: exempt
	}
	for i := range k.cpus {
		if !k.inGuest(i) {
			continue
		}
		for _, s := range k.m.Siblings(i) {
			if s > i && k.inGuest(s) && k.cpus[s].curr.vm != k.cpus[i].curr.vm {
				return fmt.Errorf("VM isolation: cpu%d runs %v of VM %d while its sibling cpu%d runs %v of VM %d",
					i, k.cpus[i].curr, k.cpus[i].curr.vm, s, k.cpus[s].curr, k.cpus[s].curr.vm)
			}
		}
	}
	return nil
}
