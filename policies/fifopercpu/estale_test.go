package fifopercpu_test

import (
	"testing"

	"github.com/ghostsim/ghostsim/ghosttest"
	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/agent"
	"github.com/ghostsim/ghostsim/sim/kernel"
)

// TestPlacementRetriesAfterEstale: a task's affinity changes after its
// TASK_NEW is posted and before the agent places it, so the agent's
// ASSOC_QUEUE at TASK_NEW's seqnum fails ESTALE (AFFINITY_CHANGED bumped
// the task's barrier). The task is runnable and gets no wakeup: the agent
// must place it when the newer message arrives, or it never runs.
func TestPlacementRetriesAfterEstale(t *testing.T) {
	us := sim.Microsecond
	for _, delay := range []sim.Time{0, 300 * sim.Nanosecond, us, 2 * us} {
		k := ghosttest.NewKernel(t, "fifo-percpu", ghosttest.KernelConfig{CPUs: "0-2"})
		var a *kernel.Task
		k.At(10*us, "spawn A and, from CPU 5, change its affinity", func() {
			a = k.Spawn("A", func(th *kernel.Thread) { th.Run(10 * us) })
			k.SpawnCFS("X", 5, func(th *kernel.Thread) {
				th.Run(delay)
				th.SetAffinityOf(a, kernel.SetOf(0, 1, 2))
			})
		})
		k.Run(500 * us)
		if a.State() != kernel.TaskDead {
			t.Errorf("affinity change %v after the spawn: A is %v at 500us, want dead", delay, a.State())
		}
	}
}

// TestDiscoveredBlockedTaskRuns: after an in-place upgrade the new agent
// discovers a blocked task (TASK_NEW not runnable, at the status word's
// barrier) and places it at its wakeup, at the wakeup's seqnum: the
// dispatcher advances the task's seqnum only after the handler, as
// upstream's DispatchMessage does, so the handler must use the message's
// (upstream's TaskRunnable passes msg.seqnum() to Migrate).
func TestDiscoveredBlockedTaskRuns(t *testing.T) {
	us := sim.Microsecond
	k := ghosttest.NewKernel(t, "fifo-percpu", ghosttest.KernelConfig{CPUs: "0-2"})
	a := k.Spawn("A", func(th *kernel.Thread) { th.Run(10 * us); th.Block(); th.Run(10 * us) })
	var ctl *kernel.Ctl
	k.At(50*us, "upgrade: the new process opens the enclave, the old one exits", func() {
		var err error
		if ctl, err = k.Enclave.OpenCtl(); err != nil {
			t.Fatal(err)
		}
		k.Agents.Kill(false, nil)
	})
	k.At(60*us, "the new agent process starts", func() {
		p, err := agent.Launch(k.Kernel, k.Enclave, "fifo-percpu", agent.DefaultParams())
		if err != nil {
			t.Fatal(err)
		}
		k.Agents = p
		ctl.Close()
	})
	k.At(100*us, "wake A", func() { k.Wake(a) })
	k.Run(500 * us)
	if a.State() != kernel.TaskDead {
		t.Errorf("A is %v at 500us, want dead\n%s", a.State(), k.Trace)
	}
}
