package kernel

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ghostsim/ghostsim/sim"
)

// traceRun runs a small per-CPU FIFO enclave whose tasks block, wake and
// exit, beside an enclave with no queue (its task's TASK_NEW is dropped),
// and destroys the first; attach runs before anything happens.
func traceRun(t *testing.T, attach func(k *Kernel)) {
	t.Helper()
	k := newTestKernel(t, "skylake112")
	attach(k)
	e, err := k.CreateEnclave(RangeSet(0, 4), EnclaveConfig{})
	if err != nil {
		t.Fatal(err)
	}
	startFIFOPerCPU(t, k, e, nil)
	// A second enclave without queues: its task's TASK_NEW is dropped.
	e2, err := k.CreateEnclave(RangeSet(4, 6), EnclaveConfig{})
	if err != nil {
		t.Fatal(err)
	}
	spawn(t, k, TaskSpec{Name: "lost", Class: ClassGhost, Enclave: e2, CPU: 4, NUMAHome: -1, Program: hog})
	for i := 0; i < 6; i++ {
		spawn(t, k, TaskSpec{Name: fmt.Sprint("g", i), Class: ClassGhost, Enclave: e, CPU: -1, NUMAHome: -1, Program: func(th *Thread) {
			for j := 0; j < 20; j++ {
				th.Run(sim.Us(5))
				th.Sleep(sim.Us(5))
			}
		}})
	}
	k.Engine().Run(sim.Us(200))
	k.DestroyEnclave(e)
	k.Engine().Run(sim.Us(400))
}

// TestTraceEventsRenderAsTraceLines: the typed events, rendered with
// String, are the lines SetTrace's recorders get (same order, same text),
// and their switches are OnSwitch's records.
func TestTraceEventsRenderAsTraceLines(t *testing.T) {
	var lines []string
	var switches []SwitchRecord
	traceRun(t, func(k *Kernel) {
		k.SetTrace(func(at sim.Time, cpu int, format string, args []any) {
			lines = append(lines, fmt.Sprintf("%v cpu%d %s", at, cpu, fmt.Sprintf(format, args...)))
		})
		k.OnSwitch(func(r SwitchRecord) { switches = append(switches, r) })
	})
	var evLines []string
	var evSwitches []SwitchRecord
	kinds := map[TraceKind]int{}
	traceRun(t, func(k *Kernel) {
		k.SetTraceEvents(func(e TraceEvent) {
			kinds[e.Kind]++
			if e.Kind == TraceSwitch {
				evSwitches = append(evSwitches, SwitchRecord{At: e.At, CPU: e.CPU, Prev: e.Prev, PrevState: e.PrevState, Next: e.Next})
				return
			}
			evLines = append(evLines, fmt.Sprintf("%v cpu%d %s", e.At, e.CPU, e))
		})
	})
	if diff := cmp.Diff(lines, evLines); diff != "" {
		t.Errorf("SetTraceEvents' String differs from SetTrace's lines (-SetTrace +events):\n%s", diff)
	}
	if diff := cmp.Diff(switches, evSwitches); diff != "" {
		t.Errorf("TraceSwitch events differ from OnSwitch's records (-OnSwitch +events):\n%s", diff)
	}
	for _, want := range []TraceKind{TraceMsgPosted, TraceMsgDropped, TraceTxnFinal, TraceSwitch} {
		if kinds[want] == 0 {
			t.Errorf("no event of kind %d in the run (%v)", want, kinds)
		}
	}
}

// TestTraceEventString pins each kind's text: the trace lines the goldens
// under testdata/ghost are made of.
func TestTraceEventString(t *testing.T) {
	m := Message{Type: MsgTaskWakeup, Gtid: 3, Seqnum: 7}
	for _, tc := range []struct {
		e    TraceEvent
		want string
	}{
		{TraceEvent{Kind: TraceMsgPosted, Msg: m}, MsgTaskWakeup.String() + " gtid=3 seq=7"},
		{TraceEvent{Kind: TraceMsgDropped, Msg: m, Reason: "gated"}, "drop " + MsgTaskWakeup.String() + " gtid=3 seq=7: gated"},
		{TraceEvent{Kind: TraceTxnFinal, Gtid: 3, Txn: TxnTargetStale}, "commit gtid=3 " + TxnTargetStale.String()},
		{TraceEvent{Kind: TraceWatchdog, Enclave: 1, Gtid: 3, Text: "g(2)", Timeout: sim.Ms(5)}, "watchdog: enclave 1 failed to run g(2) for over " + sim.Ms(5).String()},
		{TraceEvent{Kind: TraceEnclaveDestroy, Enclave: 2, Reason: DestroyOwnerExit.String()}, "enclave 2: last ctl fd closed, destroying the ephemeral enclave"},
		{TraceEvent{Kind: TraceBPF, Text: "run", Gtid: 4}, "bpf-pnt run gtid=4"},
		{TraceEvent{Kind: TraceBPF, Text: "run", Gtid: -1, Reason: "invalid argument"}, "bpf-pnt run gtid=-1: invalid argument"},
		{TraceEvent{Kind: TraceBPF, Text: "detached", Reason: "boom"}, "bpf-pnt detached: boom"},
		{TraceEvent{Kind: TraceSwitch, Prev: 2, PrevState: TaskRunnable, Next: -1}, "switch 2(" + TaskRunnable.String() + ") -> idle"},
	} {
		if got := tc.e.String(); got != tc.want {
			t.Errorf("kind %d: String() = %q, want %q", tc.e.Kind, got, tc.want)
		}
	}
}
