package kernel

import (
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

func TestGhostFifoPerCPURunsTasks(t *testing.T) {
	k := newTestKernel(t, "skylake112")
	e, err := k.CreateEnclave(RangeSet(0, 4), EnclaveConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var log []string
	p := startFIFOPerCPU(t, k, e, &log)
	defer func() {
		if crashed, err := p.Crashed(); crashed {
			t.Errorf("agent crashed: %v", err.(*sim.PanicError).Stack)
		}
	}()
	done := 0
	for i := 0; i < 6; i++ {
		spawn(t, k, TaskSpec{Name: "g", Class: ClassGhost, Enclave: e, CPU: -1, NUMAHome: -1, Program: func(th *Thread) {
			for j := 0; j < 3; j++ {
				th.Run(100 * sim.Microsecond)
				th.Sleep(50 * sim.Microsecond)
			}
			done++
		}})
	}
	k.Engine().Run(20 * sim.Millisecond)
	if done != 6 {
		t.Fatalf("%d of 6 ghOSt tasks finished; log:\n%s", done, joinLines(log))
	}
	t.Logf("messages %d, txns %v, switches %d", k.Stats().GhostMsgs, k.Stats().TxnCounts(), k.Stats().ContextSwitches)
}
