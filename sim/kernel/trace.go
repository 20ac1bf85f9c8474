package kernel

import (
	"fmt"

	"github.com/ghostsim/ghostsim/sim"
)

// This file is the kernel's trace plumbing: the typed events the kernel
// emits (messages, final transaction states, context switches, the
// watchdog, enclave destruction, the BPF hook), the recorder a test or
// tool registers, and the call sites' way to reach it at no cost when none
// is: every site checks traceEv for nil before it builds an event.

// TraceKind says what a TraceEvent records.
type TraceKind uint8

// Trace event kinds, with the TraceEvent fields each sets beyond At and
// CPU.
const (
	TraceMsgPosted      TraceKind = iota + 1 // a message reached a queue (Msg, Queue, Enclave: the queue's)
	TraceMsgDropped                          // produced (barrier bumped) but not delivered (Msg, Reason)
	TraceTxnFinal                            // a transaction reached its final state (Gtid, Txn)
	TraceSwitch                              // a context switch (Prev, PrevState, Next)
	TraceWatchdog                            // the watchdog fired (Enclave, Gtid and Text: the oldest task, Timeout)
	TraceEnclaveDestroy                      // an enclave dies (Enclave, Reason: the DestroyCause's name)
	TraceBPF                                 // the BPF hook did something (Text: "run" or "detached"; Gtid; Reason: the error)
)

// TraceEvent is one kernel event as the trace recorder receives it. Only
// the fields its Kind names are set.
type TraceEvent struct {
	At   sim.Time
	CPU  int // -1 when no CPU
	Kind TraceKind

	Msg     Message  // TraceMsgPosted, TraceMsgDropped
	Queue   int      // TraceMsgPosted: the queue's id within its enclave
	Gtid    Gtid     // TraceTxnFinal: the transaction's; TraceWatchdog: the oldest task; TraceBPF: the task run
	Txn     TxnState // TraceTxnFinal
	Reason  string   // TraceMsgDropped: why; TraceEnclaveDestroy: the cause; TraceBPF: the error ("" none)
	Enclave int      // TraceMsgPosted (the queue's), TraceWatchdog, TraceEnclaveDestroy
	Text    string   // TraceWatchdog: the oldest task as %v prints it; TraceBPF: "run" or "detached"
	Timeout sim.Time // TraceWatchdog: the enclave's runnable_timeout

	// TraceSwitch: task ids (-1 the idle task) and prev's state after the
	// switch.
	Prev, Next int
	PrevState  TaskState
}

// String renders the event as the kernel's trace lines have always read
// (SetTrace's text), so that goldens built from them do not move. A
// switch, which had no trace line, reads "switch PREV(STATE) -> NEXT" with
// task ids.
func (e TraceEvent) String() string {
	if e.Kind == TraceSwitch {
		prev := "idle"
		if e.Prev >= 0 {
			prev = fmt.Sprintf("%d(%v)", e.Prev, e.PrevState)
		}
		next := "idle"
		if e.Next >= 0 {
			next = fmt.Sprint(e.Next)
		}
		return "switch " + prev + " -> " + next
	}
	format, args := e.format()
	return fmt.Sprintf(format, args...)
}

// format returns the format and arguments of the event's trace line, as
// SetTrace's recorders have received them.
func (e TraceEvent) format() (string, []any) {
	switch e.Kind {
	case TraceMsgPosted:
		return "%v", []any{e.Msg}
	case TraceMsgDropped:
		return "drop %v: %s", []any{e.Msg, e.Reason}
	case TraceTxnFinal:
		return "commit gtid=%d %v", []any{e.Gtid, e.Txn}
	case TraceWatchdog:
		return "watchdog: enclave %d failed to run %v for over %v", []any{e.Enclave, e.Text, e.Timeout}
	case TraceEnclaveDestroy:
		if e.Reason == DestroyOwnerExit.String() {
			return "enclave %d: last ctl fd closed, destroying the ephemeral enclave", []any{e.Enclave}
		}
		return "enclave %d: destroyed (%s)", []any{e.Enclave, e.Reason}
	case TraceBPF:
		switch {
		case e.Text == "detached":
			return "bpf-pnt detached: %v", []any{e.Reason}
		case e.Reason != "":
			return "bpf-pnt run gtid=%d: %v", []any{e.Gtid, e.Reason}
		}
		return "bpf-pnt run gtid=%d", []any{e.Gtid}
	}
	return "trace event kind %d", []any{e.Kind}
}

// tracing reports whether a recorder is set; call sites check it before
// building an event, so that tracing that is off costs one nil check.
func (k *Kernel) tracing() bool { return k.traceEv != nil }

// emit hands e to the recorder, stamped with the current time. The caller
// has checked tracing.
func (k *Kernel) emit(e TraceEvent) {
	e.At = k.eng.Now()
	k.traceEv(e)
}

// SetTraceEvents registers f to receive the kernel's trace events (nil:
// none), replacing any recorder SetTrace registered. It receives context
// switches too (TraceSwitch), in the order of the other events, whether or
// not OnSwitch is set.
func (k *Kernel) SetTraceEvents(f func(TraceEvent)) { k.traceEv = f }

// SetTrace registers f to receive ghOSt trace lines: time, CPU (-1 for
// none) and a formatted description (messages, commits, watchdog), the
// format and arguments rendering as TraceEvent.String does. Context
// switches are not among them (OnSwitch has those). It replaces any
// recorder SetTraceEvents registered; nil unregisters it. It is kept for
// the recorders that predate SetTraceEvents, whose events carry their
// fields typed.
func (k *Kernel) SetTrace(f func(at sim.Time, cpu int, format string, args []any)) {
	if f == nil {
		k.traceEv = nil
		return
	}
	k.traceEv = func(e TraceEvent) {
		if e.Kind == TraceSwitch {
			return
		}
		format, args := e.format()
		f(e.At, e.CPU, format, args)
	}
}
