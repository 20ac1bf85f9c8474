package kernel

import (
	"fmt"
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// spawnVCPUs pins one hog vCPU of VM i+1 to each CPU of cpus.
func spawnVCPUs(t *testing.T, k *Kernel, cpus []int, vms []int) []*Task {
	var out []*Task
	for i, cpu := range cpus {
		out = append(out, spawn(t, k, TaskSpec{
			Name: fmt.Sprintf("vcpu%d", i), Class: ClassCFS, Group: i, Affinity: SetOf(cpu), CPU: cpu,
			NUMAHome: -1, VM: vms[i], Program: hog,
		}))
	}
	return out
}

// TestCoreSchedSharesCoreByCookie: two vCPUs of different VMs pinned to
// the two siblings of one core take turns on the core — each gets about
// half of the time — and never run at once (the checker runs after every
// event); two vCPUs of one VM run side by side. Reference: Linux 5.14
// kernel/sched/core.c pick_next_task (core-wide pick, forced idle) and
// task_tick_core.
func TestCoreSchedSharesCoreByCookie(t *testing.T) {
	k := newTestKernel(t, "skylake112", "kernel.core_sched=true")
	sib := k.Machine().Siblings(3)[0]
	diff := spawnVCPUs(t, k, []int{3, sib}, []int{1, 2})
	sib5 := k.Machine().Siblings(5)[0]
	same := spawnVCPUs(t, k, []int{5, sib5}, []int{7, 7})
	k.Engine().Run(sim.Second)
	for _, v := range diff {
		if f := v.Runtime().Seconds(); f < 0.45 || f > 0.55 {
			t.Errorf("%v of VM %d ran %.3f s of 1 s on a shared core, want about half", v, v.VM(), f)
		}
	}
	for _, v := range same {
		if f := v.Runtime().Seconds(); f < 0.99 {
			t.Errorf("%v of VM %d ran %.3f s of 1 s beside its own VM's vCPU, want all of it", v, v.VM(), f)
		}
	}
	st := k.VMStats()
	if st.SiblingViolations != 0 || st.ForcedIdle == 0 {
		t.Errorf("stats %+v: want forced idle and no violation", st)
	}
	if !k.VMIsolation() {
		t.Error("core_sched does not require VM isolation")
	}
}

// TestCFSSharesCoreAcrossVMs: without core scheduling the same two vCPUs
// run at once (slowed by SMT); the checker exempts CFS and the counter
// sees the sharing.
func TestCFSSharesCoreAcrossVMs(t *testing.T) {
	k := newTestKernel(t, "skylake112")
	sib := k.Machine().Siblings(3)[0]
	vs := spawnVCPUs(t, k, []int{3, sib}, []int{1, 2})
	k.Engine().Run(sim.Ms(100))
	for _, v := range vs {
		if f := v.Runtime().Seconds(); f < 0.099 {
			t.Errorf("%v ran %.4f s of 0.1 s, want all of it", v, f)
		}
	}
	if st := k.VMStats(); st.SiblingViolations == 0 {
		t.Errorf("stats %+v: want sibling violations counted under CFS", st)
	}
	if k.VMIsolation() {
		t.Error("plain CFS requires VM isolation")
	}
}

// TestVMFlushOnVMChange: with vm_flush, a CPU pays the L1D flush and the
// buffer clear when it enters another VM than the one it last ran, and a
// VM exit on every entry and tick.
func TestVMFlushOnVMChange(t *testing.T) {
	k := newTestKernel(t, "skylake112", "kernel.vm_flush=true")
	// Two VMs time-share CPU 4 (CFS slices of a few ms): a flush per switch.
	spawnVCPUs(t, k, []int{4, 4}, []int{1, 2})
	k.Engine().Run(sim.Ms(200))
	st := k.VMStats()
	switches := k.Stats().ContextSwitches
	if st.Flushes == 0 || st.Flushes > switches {
		t.Errorf("flushes %d with %d switches", st.Flushes, switches)
	}
	if st.VMExits < 200 { // at least a tick per ms
		t.Errorf("VM exits %d in 200 ms", st.VMExits)
	}
}
