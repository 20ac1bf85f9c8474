package kernel

import (
	"fmt"
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// More scenarios for ABI elements the §9 checklist does not pin (see
// ghost_scenario_abi_test.go and the kernel README's table "Every ABI
// element"): CPU availability messages, the RTLA run flags,
// COMMIT_AT_SCHEDULE, SEND_TASK_ON_CPU, commit_at_tick and
// wake_on_waker_cpu.

// TestScenarioCPUAvailability: with deliver_cpu_availability, a CFS task
// taking an enclave CPU sends MSG_CPU_BUSY and its leaving sends
// MSG_CPU_AVAILABLE; the CPU's own agent running does not count; the agent
// status word's CPU_AVAIL follows both edges, and without the tunable it
// still does while no message is sent.
//
// Reference: docs/GHOST-SEMANTICS.md §1.3, §5.1, §6.3; ghost.c
// ghost_set_cpu_avail (via prepare_task_switch / pnt_prologue),
// cpu_deliver_msg_availability.
func TestScenarioCPUAvailability(t *testing.T) {
	for _, deliver := range []bool{false, true} {
		s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{DeliverCPUAvailability: deliver})
		q, _ := s.e.CreateQueue(64)
		q.SetDefault()
		var during, after bool
		s.agents("ag", func(a *sagent) {
			if a.CPU() != 0 {
				a.idle()
				return
			}
			a.Run(sim.Us(12))
			during = a.AgentStatusWord(1).CPUAvail()
			a.note("cpu1 CPU_AVAIL while C runs: %v", during)
			a.Run(sim.Us(10))
			after = a.AgentStatusWord(1).CPUAvail()
			a.note("cpu1 CPU_AVAIL after C: %v", after)
			a.drain(q)
			a.idle()
		})
		s.at(sim.Us(10), "CFS task C wakes on cpu1", func() { s.cfs("C", 1, func(th *Thread) { th.Run(sim.Us(5)) }) })
		s.run(sim.Us(100))
		busy, avail := s.countPosts(MsgCPUBusy), s.countPosts(MsgCPUAvailable)
		if during || !after {
			t.Errorf("deliver=%v: CPU_AVAIL during C %v, after %v; want false, true", deliver, during, after)
		}
		if !deliver {
			if busy+avail != 0 {
				t.Errorf("without deliver_cpu_availability: %d CPU_BUSY, %d CPU_AVAILABLE, want none", busy, avail)
			}
			continue
		}
		if busy != 1 || avail != 1 {
			t.Errorf("%d CPU_BUSY, %d CPU_AVAILABLE, want 1 each (for C)", busy, avail)
		}
		s.check("cpu-availability", `
deliver_cpu_availability on: CFS task C taking cpu1 sends MSG_CPU_BUSY(cpu1) and
its exit MSG_CPU_AVAILABLE(cpu1); the agents starting and running on their CPUs
send nothing. The agent status word's CPU_AVAIL is clear while C runs and set
again after (also without the tunable, when no message is sent).
Reference: docs/GHOST-SEMANTICS.md §1.3, §6.3; ghost.c ghost_set_cpu_avail,
cpu_deliver_msg_availability.`)
	}
}

// rtlaScenario commits ghOSt task A to cpu1 from cpu0's agent with run
// flags rf; A then does what ev says (CFS task C preempts it, it blocks,
// it yields) on a polling queue that wakes no agent. It returns the
// scenario and how many times cpu1's agent woke.
func rtlaScenario(t *testing.T, rf RunFlags, ev string) (*scenario, int) {
	s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{})
	q, _ := s.e.CreateQueue(64)
	q.SetDefault()
	var A *Task
	wakes := 0
	s.agents("ag", func(a *sagent) {
		if a.CPU() == 1 {
			for !a.Finished() {
				a.sleep()
				wakes++
				a.note("cpu1's agent runs")
			}
			return
		}
		a.pollFor(q, MsgTaskNew)
		a.note("commit A to cpu1 with run flags %#x", uint32(rf))
		a.commit(1, Txn{Gtid: A.Gtid(), TaskBarrier: a.seq(A.Gtid()), RunFlags: rf, CommitFlags: CommitAtTxnCommit})
		a.Run(sim.Us(40))
		a.drain(q)
		a.idle()
	})
	A = s.ghost("A", 1, func(th *Thread) {
		th.Run(sim.Us(5))
		switch ev {
		case "block":
			th.Block()
		case "yield":
			th.Yield()
		}
		th.Run(sim.Us(5))
	})
	if ev == "preempt" {
		s.at(sim.Us(4), "CFS task C wakes on cpu1", func() { s.cfs("C", 1, func(th *Thread) { th.Run(sim.Us(3)) }) })
	}
	s.run(sim.Us(100))
	return s, wakes
}

// TestScenarioRTLA: RTLA_ON_PREEMPT, RTLA_ON_BLOCKED and RTLA_ON_YIELD
// keep applying to the latched task after its pick: when it is preempted,
// blocks or yields, the CPU's own agent is scheduled although the message
// goes to a queue that wakes nobody; RTLA_ON_IDLE runs the agent instead of
// idle once the CPU has nothing else. Without the flag the agent sleeps on.
//
// Reference: docs/GHOST-SEMANTICS.md §3.3; ghost.c ghost_task_preempted,
// ghost_task_blocked, ghost_task_yield (rq->ghost.run_flags &
// RTLA_ON_*: schedule_agent), _pick_next_task_ghost (RTLA_ON_IDLE).
func TestScenarioRTLA(t *testing.T) {
	for _, c := range []struct {
		name, ev string
		rf       RunFlags
		doc      string
	}{
		{"rtla-on-preempt", "preempt", RunRTLAOnPreempt, `
A is committed to cpu1 with RTLA_ON_PREEMPT on a polling queue (it wakes no
agent). CFS task C preempts A: TASK_PREEMPT(A) is produced and cpu1's own agent
is scheduled (it runs before C, boosted), although no queue wakes it.
Reference: docs/GHOST-SEMANTICS.md §3.3, §6.3; ghost.c ghost_task_preempted.`},
		{"rtla-on-blocked", "block", RunRTLAOnBlocked, `
A is committed to cpu1 with RTLA_ON_BLOCKED on a polling queue (it wakes no
agent). A blocks: TASK_BLOCKED(A) is produced and cpu1's own agent is scheduled
although no queue wakes it.
Reference: docs/GHOST-SEMANTICS.md §3.3; ghost.c ghost_task_blocked.`},
		{"rtla-on-yield", "yield", RunRTLAOnYield, `
A is committed to cpu1 with RTLA_ON_YIELD on a polling queue (it wakes no
agent). A yields: TASK_YIELD(A) is produced and cpu1's own agent is scheduled
although no queue wakes it; A stays runnable, unscheduled.
Reference: docs/GHOST-SEMANTICS.md §3.3; ghost.c ghost_task_yield.`},
		{"rtla-on-idle", "block", RunRTLAOnIdle, `
A is committed to cpu1 with RTLA_ON_IDLE on a polling queue (it wakes no agent).
A blocks and cpu1 has nothing else to run: the agent runs instead of idle.
Reference: docs/GHOST-SEMANTICS.md §3.3, §6.5; ghost.c _pick_next_task_ghost.`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, n := rtlaScenario(t, 0, c.ev); n != 0 {
				t.Errorf("without the flag cpu1's agent woke %d times, want 0", n)
			}
			s, n := rtlaScenario(t, c.rf, c.ev)
			if n != 1 {
				t.Errorf("with the flag cpu1's agent woke %d times, want 1", n)
			}
			s.check(c.name, c.doc)
		})
	}
}

// TestScenarioCommitAtSchedule: a COMMIT_AT_SCHEDULE transaction for a
// remote CPU is not taken by the commit ioctl (no inline commit, no IPI):
// it stays READY while the ghOSt task running there runs on, and is
// committed by balance_ghost when that CPU next schedules, here when the
// task exits.
//
// Reference: docs/GHOST-SEMANTICS.md §3.4, §3.6; ghost.c
// ioctl_ghost_commit_txn, balance_ghost (ghost_commit_pending_txn).
func TestScenarioCommitAtSchedule(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{})
	q, _ := s.e.CreateQueue(64)
	q.SetDefault()
	var A, B *Task
	var after TxnState
	s.agents("ag", func(a *sagent) {
		if a.CPU() != 0 {
			a.idle()
			return
		}
		for n := 0; n < 2; {
			a.Poll(q, sim.Never)
			n += len(a.drain(q))
		}
		a.commit(1, Txn{Gtid: B.Gtid(), TaskBarrier: a.seq(B.Gtid()), CommitFlags: CommitAtTxnCommit})
		a.Run(sim.Us(5))
		a.note("B runs: commit A to cpu1 with COMMIT_AT_SCHEDULE")
		a.open(1, Txn{Gtid: A.Gtid(), TaskBarrier: a.seq(A.Gtid()), CommitFlags: CommitAtSchedule})
		a.Commit(SetOf(1))
		after = a.TxnState(1).State
		a.note("after the ioctl: %v", after)
		for n := 0; n < 2; {
			a.Poll(q, sim.Never)
			for _, m := range a.drain(q) {
				if m.Type == MsgTaskDead {
					n++
				}
			}
		}
		a.idle()
	})
	A = s.ghost("A", 1, func(th *Thread) { th.Run(sim.Us(5)) })
	B = s.ghost("B", 1, func(th *Thread) { th.Run(sim.Us(20)) })
	s.run(sim.Us(100))
	if after != TxnReady {
		t.Errorf("after the commit ioctl: %v, want READY (left to the target)", after)
	}
	s.wantDead(ClassGhost, A, B)
	if at, end := s.commitAt(1, A.Gtid(), 0), s.switchAt(1, B, 0)+sim.Us(20); at < end {
		t.Errorf("A committed at %v, before B's 20us ended at %v", at, end)
	}
	if n := s.countPosts(MsgTaskPreempt); n != 0 {
		t.Errorf("%d TASK_PREEMPT, want none (B was not displaced)", n)
	}
	s.check("commit-at-schedule", `
B runs on cpu1; the agent commits A to cpu1 with COMMIT_AT_SCHEDULE: the ioctl
leaves it READY (no inline commit, no IPI) and B runs on undisturbed. When B
exits, cpu1 schedules and commits A in balance_ghost; A runs.
Reference: docs/GHOST-SEMANTICS.md §3.4, §3.6; ghost.c ioctl_ghost_commit_txn,
balance_ghost.`)
}

// TestScenarioSendTaskOnCPU: an agent commit with SEND_TASK_ON_CPU sends
// one MSG_TASK_ON_CPU when the latched task switches in, carrying the
// switch's time; a commit without the flag sends none.
//
// Reference: docs/GHOST-SEMANTICS.md §1.2, §3.3; ghost.c
// prepare_task_switch (task_deliver_msg_on_cpu).
func TestScenarioSendTaskOnCPU(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{})
	q, _ := s.e.CreateQueue(64)
	q.SetDefault()
	s.postInfo = func(m Message) string {
		if m.Type == MsgTaskOnCPU {
			return fmt.Sprintf(" commit_time=%v cpu_seqnum=%d", m.CommitTime, m.CPUSeqnum)
		}
		return ""
	}
	var A, B *Task
	var onCPU Message
	s.agents("ag", func(a *sagent) {
		if a.CPU() != 0 {
			a.idle()
			return
		}
		for n := 0; n < 2; {
			a.Poll(q, sim.Never)
			n += len(a.drain(q))
		}
		a.note("commit A to cpu1 with SEND_TASK_ON_CPU")
		a.commit(1, Txn{Gtid: A.Gtid(), TaskBarrier: a.seq(A.Gtid()), RunFlags: RunSendTaskOnCPU, CommitFlags: CommitAtTxnCommit})
		onCPU = a.pollFor(q, MsgTaskOnCPU)
		a.pollFor(q, MsgTaskDead)
		a.note("commit B to cpu1 without the flag")
		a.commit(1, Txn{Gtid: B.Gtid(), TaskBarrier: a.seq(B.Gtid()), CommitFlags: CommitAtTxnCommit})
		a.pollFor(q, MsgTaskDead)
		a.idle()
	})
	A = s.ghost("A", 1, func(th *Thread) { th.Run(sim.Us(5)) })
	B = s.ghost("B", 1, func(th *Thread) { th.Run(sim.Us(5)) })
	s.run(sim.Us(100))
	if n := s.countPosts(MsgTaskOnCPU); n != 1 {
		t.Errorf("%d TASK_ON_CPU, want 1 (A's)", n)
	}
	if onCPU.Gtid != A.Gtid() || onCPU.CommitTime != s.switchAt(1, A, 0) {
		t.Errorf("TASK_ON_CPU gtid %d at %v, want A's at its switch %v", onCPU.Gtid, onCPU.CommitTime, s.switchAt(1, A, 0))
	}
	s.wantDead(ClassGhost, A, B)
	s.check("send-task-on-cpu", `
A is committed to cpu1 with SEND_TASK_ON_CPU: one MSG_TASK_ON_CPU(A) when A
switches in on cpu1. B, committed without the flag, sends none.
Reference: docs/GHOST-SEMANTICS.md §1.2, §3.3; ghost.c prepare_task_switch.`)
}

// TestScenarioCommitAtTick: with commit_at_tick, a greedy transaction that
// nobody commits (opened, never submitted) is taken by the target CPU at
// its next tick: the task it names is latched and preempts the ghOSt task
// running there.
//
// Reference: docs/GHOST-SEMANTICS.md §3.6, §5.1; ghost.c ghost_tick
// (commit_at_tick: ghost_commit_greedy_txn).
func TestScenarioCommitAtTick(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{CommitAtTick: true})
	q, _ := s.e.CreateQueue(64)
	q.SetDefault()
	var A, B *Task
	s.agents("ag", func(a *sagent) {
		if a.CPU() != 0 {
			a.idle()
			return
		}
		for n := 0; n < 2; {
			a.Poll(q, sim.Never)
			n += len(a.drain(q))
		}
		a.commit(1, Txn{Gtid: B.Gtid(), TaskBarrier: a.seq(B.Gtid()), CommitFlags: CommitAtTxnCommit})
		a.Run(sim.Us(20))
		a.note("B runs: open a greedy transaction for A on cpu1, and do not commit it")
		a.open(1, Txn{Gtid: A.Gtid(), TaskBarrier: a.seq(A.Gtid())})
		a.pollFor(q, MsgTaskPreempt)
		a.drain(q)
		a.idle()
	})
	A = s.ghost("A", 1, func(th *Thread) { th.Run(sim.Us(5)) })
	B = s.ghost("B", 1, func(th *Thread) { th.Run(sim.Ms(3)) })
	s.run(sim.Us(1500))
	at := s.commitAt(1, A.Gtid(), 0)
	if at < sim.Ms(1) || at >= sim.Ms(1)+sim.Us(10) {
		t.Errorf("A committed at %v, want at cpu1's first tick (1ms)", at)
	}
	s.check("commit-at-tick", `
commit_at_tick on: B runs on cpu1; the agent then opens a greedy transaction for
A on cpu1 and never submits it. At cpu1's tick (HZ 1000) the tick commits it: A is
latched, B is preempted (TASK_PREEMPT) and A runs.
Reference: docs/GHOST-SEMANTICS.md §3.6, §5.1; ghost.c ghost_tick.`)
}

// TestScenarioWakeOnWakerCPU: with wake_on_waker_cpu a blocked ghOSt task
// woken by a task on another enclave CPU is queued on the waker's CPU, and
// TASK_WAKEUP says so (wake_up_cpu = waker_cpu); without it, it stays on
// its last CPU.
//
// Reference: docs/GHOST-SEMANTICS.md §1.2, §6.2; ghost.c
// select_task_rq_ghost, task_deliver_msg_wakeup.
func TestScenarioWakeOnWakerCPU(t *testing.T) {
	for _, on := range []bool{false, true} {
		s := newScenario(t, "skylake112", SetOf(0, 1, 2), EnclaveConfig{WakeOnWakerCPU: on})
		q, _ := s.e.CreateQueue(64)
		q.SetDefault()
		s.postInfo = func(m Message) string {
			if m.Type == MsgTaskWakeup {
				return fmt.Sprintf(" last_ran_cpu=%d wake_up_cpu=%d waker_cpu=%d", m.LastRanCPU, m.WakeUpCPU, m.WakerCPU)
			}
			return ""
		}
		var A *Task
		var wake Message
		s.agents("ag", func(a *sagent) {
			if a.CPU() != 0 {
				a.idle()
				return
			}
			m := a.pollFor(q, MsgTaskNew)
			a.commit(1, Txn{Gtid: A.Gtid(), TaskBarrier: m.Seqnum, CommitFlags: CommitAtTxnCommit})
			wake = a.pollFor(q, MsgTaskWakeup)
			a.note("commit A to its wake_up_cpu %d", wake.WakeUpCPU)
			a.commit(wake.WakeUpCPU, Txn{Gtid: A.Gtid(), TaskBarrier: wake.Seqnum, CommitFlags: CommitAtTxnCommit})
			a.pollFor(q, MsgTaskDead)
			a.idle()
		})
		A = s.ghost("A", 1, func(th *Thread) {
			th.Run(sim.Us(5))
			th.Block()
			th.Run(sim.Us(5))
		})
		s.cfs("W", 2, func(th *Thread) {
			th.Sleep(sim.Us(30))
			th.Wake(A)
		})
		s.run(sim.Us(100))
		want := 1
		if on {
			want = 2
		}
		if wake.WakeUpCPU != want || wake.WakerCPU != 2 || wake.LastRanCPU != 1 {
			t.Errorf("wake_on_waker_cpu=%v: WAKEUP last_ran %d wake_up %d waker %d, want 1 %d 2", on, wake.LastRanCPU, wake.WakeUpCPU, wake.WakerCPU, want)
		}
		s.wantDead(ClassGhost, A)
		if !on {
			continue
		}
		s.switchAt(2, A, sim.Us(30))
		s.check("wake-on-waker-cpu", `
wake_on_waker_cpu on: A runs on cpu1 and blocks; CFS task W on cpu2 (an enclave
CPU) wakes it. A is queued on cpu2, the waker's CPU: TASK_WAKEUP says
last_ran_cpu=1 wake_up_cpu=2 waker_cpu=2, and the agent runs A there. (Without
the tunable A stays on cpu1: wake_up_cpu=1.)
Reference: docs/GHOST-SEMANTICS.md §1.2, §6.2; ghost.c select_task_rq_ghost.`)
	}
}
