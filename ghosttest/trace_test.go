package ghosttest_test

import (
	"strings"
	"testing"

	"github.com/ghostsim/ghostsim/ghosttest"
	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/kernel"
)

// TestTrace records fifo-central on two ghOSt tasks, one of which blocks
// and is woken, and compares the trace with testdata/trace.txt; every
// kind of line a policy's scenario shows is there.
func TestTrace(t *testing.T) {
	k := ghosttest.NewKernel(t, "fifo-central", ghosttest.KernelConfig{CPUs: "0-2"})
	us := sim.Microsecond
	a := k.Spawn("A", func(th *kernel.Thread) { th.Run(10 * us); th.Block(); th.Run(5 * us) })
	b := k.Spawn("B", func(th *kernel.Thread) { th.Run(20 * us) })
	k.At(30*us, "wake A", func() { k.Wake(a) })
	k.Run(100 * us)
	k.RequireDone(a, b)
	text := k.Trace.String()
	for _, want := range []string{" post q0 MSG_TASK_NEW gtid=", " commit gtid=", " switch idle -> A", "cpu-  --- wake A", " MSG_TASK_WAKEUP "} {
		if !strings.Contains(text, want) {
			t.Errorf("trace has no %q:\n%s", want, text)
		}
	}
	k.Trace.Compare(t, "testdata/trace.txt", `
fifo-central on cpu0-2 (the global agent on cpu0): A runs 10us, blocks, is
woken at 30us and runs 5us more; B runs 20us.`)
}
