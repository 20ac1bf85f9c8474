package agent

import "fmt"

// RunState is where a task is in a policy's view, as upstream's
// FifoTaskState (ghost-userspace schedulers/fifo): blocked, waiting in a
// runqueue, or on a CPU. A policy keeps one per task and checks it with
// Expect in every message handler, so that a message its state machine
// does not allow is a crash that names the bug, not a task silently lost.
type RunState uint8

// Run states.
const (
	Blocked RunState = iota // not runnable (the zero value: a new task that is blocked)
	Queued                  // runnable, waiting for a CPU (a runqueue or a round's scratch)
	OnCPU                   // committed to a CPU, or run there by a BPF program
)

var runStateNames = [...]string{"blocked", "queued", "on-cpu"}

func (r RunState) String() string {
	if int(r) < len(runStateNames) {
		return runStateNames[r]
	}
	return fmt.Sprintf("RunState(%d)", uint8(r))
}

// Expect panics — an agent crash, reported with policy's name and the
// message — unless r is one of ok. Call it as
// t.state.Expect("my-policy", "TASK_WAKEUP", t.Gtid, agent.Blocked).
func (r RunState) Expect(policy, msg string, g Gtid, ok ...RunState) {
	for _, s := range ok {
		if r == s {
			return
		}
	}
	panic(fmt.Sprintf("%s: %s for task %d in state %v", policy, msg, g, r))
}
