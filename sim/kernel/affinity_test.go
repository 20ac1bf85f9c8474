package kernel

import (
	"fmt"
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// TestSetAffinityOfCFS: sched_setaffinity on another CFS task, by the
// target's state (Linux 4.15 core.c __set_cpus_allowed_ptr): a blocked
// task keeps its (empty) place and wakes onto an allowed CPU; a queued
// task on a CPU that is no longer allowed moves at once to the first
// allowed CPU (move_queued_task); a running one is pushed there when its
// CPU takes the caller's IPI (migration_cpu_stop); a running task whose
// CPU stays allowed is left alone; an empty mask changes nothing (EINVAL).
// The caller pays the system call, the target run queue's lock line and
// any IPI.
func TestSetAffinityOfCFS(t *testing.T) {
	type result struct {
		cost     sim.Time // the caller's time in SetAffinityOf
		cpuAfter int      // target's CPU right after the call
		ranOn    int      // where the target ran next
		movedIn  sim.Time // from the call until it was switched in there
		aff      CPUSet
	}
	const caller, home = 0, 2
	cases := []struct {
		name  string
		state TaskState // of the target at the call
		set   CPUSet
		want  func(k *Kernel) result
	}{
		{"blocked", TaskBlocked, SetOf(9), func(k *Kernel) result {
			return result{cost: k.costs.Syscall, cpuAfter: -1, ranOn: 9, aff: SetOf(9)}
		}},
		{"queued", TaskRunnable, SetOf(7, 9), func(k *Kernel) result {
			// The target moves to cpu7 (the first allowed), idle: it sees
			// need_resched when the line holding it arrives.
			return result{cost: k.costs.Syscall + k.m.LineTransfer(caller, home, -1), cpuAfter: 7, ranOn: 7,
				movedIn: k.costs.Syscall + k.m.LineTransfer(caller, 7, -1), aff: SetOf(7, 9)}
		}},
		{"running", TaskRunning, SetOf(9), func(k *Kernel) result {
			return result{cost: k.costs.Syscall + k.m.LineTransfer(caller, home, -1) + k.costs.IPISend, cpuAfter: home, ranOn: 9, aff: SetOf(9)}
		}},
		{"running-allowed", TaskRunning, SetOf(home, 9), func(k *Kernel) result {
			return result{cost: k.costs.Syscall + k.m.LineTransfer(caller, home, -1), cpuAfter: home, ranOn: home, aff: SetOf(home, 9)}
		}},
		{"empty-mask", TaskRunning, CPUSet{}, func(k *Kernel) result {
			return result{cost: k.costs.Syscall + 0, cpuAfter: home, ranOn: home, aff: SetOf(home)}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := newTestKernel(t, "skylake112")
			if tc.state == TaskRunnable {
				spawn(t, k, TaskSpec{Name: "hog", Class: ClassCFS, CPU: home, Affinity: SetOf(home), NUMAHome: -1, Program: hog})
			}
			target := spawn(t, k, TaskSpec{Name: "target", Class: ClassCFS, CPU: home, Affinity: SetOf(home), NUMAHome: -1, Program: func(th *Thread) {
				if tc.state == TaskBlocked {
					th.Block()
				}
				for {
					th.Run(sim.Ms(1))
				}
			}})
			var got result
			var calledAt sim.Time
			spawn(t, k, TaskSpec{Name: "caller", Class: ClassCFS, CPU: caller, Affinity: SetOf(caller), NUMAHome: -1, Program: func(th *Thread) {
				th.Run(sim.Us(100)) // the target is blocked, queued or running by now
				if target.State() != tc.state {
					t.Errorf("target is %v at the call, want %v", target.State(), tc.state)
				}
				calledAt = th.Now()
				th.SetAffinityOf(target, tc.set)
				got.cost = th.Now() - calledAt
				got.cpuAfter = target.CPU()
				got.aff = target.Affinity()
				if tc.state == TaskBlocked {
					th.Wake(target)
				}
			}})
			got.ranOn = -1
			k.OnSwitch(func(r SwitchRecord) {
				if r.Next == target.ID() && r.At > calledAt && calledAt > 0 && got.ranOn < 0 {
					got.ranOn, got.movedIn = r.CPU, r.At-calledAt
				}
			})
			k.Engine().Run(sim.Ms(2))
			want := tc.want(k)
			if tc.state != TaskRunnable {
				want.movedIn, got.movedIn = 0, 0 // checked by where it ran
			}
			if tc.name == "running-allowed" || tc.name == "empty-mask" {
				got.ranOn = target.CPU() // it never left
			}
			if got != want {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestSetAffinitySelfSharesThePath: a task restricting itself to another
// CPU moves there (the existing behaviour of Thread.SetAffinity, now
// through the same code as SetAffinityOf), and an agent cannot be moved.
func TestSetAffinitySelfSharesThePath(t *testing.T) {
	k := newTestKernel(t, "skylake112")
	var ranOn int
	spawn(t, k, TaskSpec{Name: "w", Class: ClassCFS, CPU: 0, NUMAHome: -1, Program: func(th *Thread) {
		th.SetAffinity(SetOf(5))
		th.Run(sim.Us(1))
		ranOn = th.Task().CPU()
	}})
	k.Engine().Run(sim.Ms(1))
	if ranOn != 5 {
		t.Errorf("ran on cpu%d after SetAffinity({5}), want cpu5", ranOn)
	}
}

// TestScenarioAffinityOfGhostTasks: sched_setaffinity on ghOSt tasks in
// each state. Blocked: TASK_AFFINITY_CHANGED only, and the later WAKEUP
// places it on an allowed CPU. Latched on a CPU that is no longer
// allowed: AFFINITY_CHANGED, then PREEMPT(was_latched) as the task is
// moved off (invalidate_cached_tasks on a non-ghost move_queued_task).
// Running: AFFINITY_CHANGED, and the task is forced off its CPU with
// PREEMPT (force_offcpu) — moved if its CPU is no longer allowed, kept
// there if it is.
//
// Reference: docs/GHOST-SEMANTICS.md §1.2 (TASK_AFFINITY_CHANGED), §1.4 (5)
// and (6); ghost.c set_cpus_allowed_ghost, invalidate_cached_tasks.
func TestScenarioAffinityOfGhostTasks(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1, 2), EnclaveConfig{})
	q0, _ := s.e.CreateQueue(64, 0)
	q0.SetDefault()
	s.postInfo = func(m Message) string {
		if m.Type == MsgTaskWakeup {
			return fmt.Sprintf(" wake_up_cpu=%d", m.WakeUpCPU)
		}
		return ""
	}
	var A, B *Task
	s.agents("ag", func(a *sagent) {
		switch a.CPU() {
		case 1:
			a.note("busy for 40us (the agent class keeps cpu1)")
			a.Run(sim.Us(40))
			a.idle()
			return
		case 2:
			a.idle()
			return
		}
		a.waitFor(q0, MsgTaskNew)
		a.drain(q0)
		commit := func(x *Task, cpu int, f RunFlags) {
			a.commit(cpu, Txn{Gtid: x.Gtid(), TaskBarrier: a.seq(x.Gtid()), RunFlags: f, CommitFlags: CommitAtTxnCommit})
		}
		a.note("run B on cpu2; it blocks")
		commit(B, 2, 0)
		a.waitFor(q0, MsgTaskBlocked)
		a.note("SetAffinityOf(B, {1}) while B is blocked")
		a.SetAffinityOf(B, SetOf(1))
		a.drain(q0)

		a.note("latch A on cpu1 (deferred by the running agent)")
		commit(A, 1, RunDeferLatchedAgt)
		a.note("SetAffinityOf(A, {0,2}) while A is latched on cpu1")
		a.SetAffinityOf(A, SetOf(0, 2))
		a.drain(q0)
		a.note("A is queued on cpu%d", A.CPU())

		a.note("run A on cpu2")
		commit(A, 2, 0)
		a.Run(sim.Us(3))
		a.note("SetAffinityOf(A, {0,2}) while A runs on cpu2 (still allowed)")
		a.SetAffinityOf(A, SetOf(0, 2))
		a.Run(sim.Us(2))
		a.drain(q0)
		a.note("A is queued on cpu%d", A.CPU())
		commit(A, 2, 0)
		a.Run(sim.Us(3))
		a.note("SetAffinityOf(A, {0,1}) while A runs on cpu2 (no longer allowed)")
		a.SetAffinityOf(A, SetOf(0, 1))
		a.Run(sim.Us(2))
		a.drain(q0)
		a.note("A is queued on cpu%d", A.CPU())
		a.s.at(a.Now()+sim.Us(1), "wake B", func() { s.k.Wake(B) })
		a.Run(sim.Us(2))
		a.drain(q0)
		a.note("B is queued on cpu%d", B.CPU())
		a.idle()
	})
	A = s.ghost("A", 0, func(th *Thread) { th.Run(sim.Ms(1)) })
	B = s.ghost("B", 0, func(th *Thread) {
		th.Block()
		th.Run(sim.Us(2))
	})
	s.run(sim.Us(100))
	if A.Affinity() != SetOf(0, 1) || B.Affinity() != SetOf(1) {
		t.Errorf("affinities A %v B %v, want {0,1} and {1}", A.Affinity(), B.Affinity())
	}
	s.check("affinity-of-ghost-tasks", `
sched_setaffinity on ghOSt tasks (SetAffinityOf by cpu0's agent). Blocked B:
TASK_AFFINITY_CHANGED only; its WAKEUP later queues it on allowed cpu1, not
on its last CPU (cpu2). A latched on cpu1, which the new mask excludes:
AFFINITY_CHANGED then PREEMPT(was_latched), and A is moved to cpu0. A running
on cpu2: AFFINITY_CHANGED and PREEMPT (forced off) — kept on cpu2 when it is
still allowed, moved to cpu0 when it is not.
Reference: docs/GHOST-SEMANTICS.md §1.2, §1.4 (5), (6); ghost.c
set_cpus_allowed_ghost, invalidate_cached_tasks; core.c __set_cpus_allowed_ptr.`)
}

// TestSetAffinityPendingTaskNew: a running task that just entered ghOSt
// has its TASK_NEW deferred; an affinity change before it passes through
// schedule produces no TASK_AFFINITY_CHANGED (the barrier does not move),
// and the task, forced off, announces itself with TASK_NEW.
//
// Reference: docs/GHOST-SEMANTICS.md §1.2 (TASK_AFFINITY_CHANGED "skipped if
// TASK_NEW is still pending"); ghost.c task_deliver_msg_affinity_changed.
func TestSetAffinityPendingTaskNew(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{})
	q0, _ := s.e.CreateQueue(64, 0)
	q0.SetDefault()
	var got []MsgType
	s.agents("ag", func(a *sagent) {
		if a.CPU() != 0 {
			a.idle()
			return
		}
		for !a.Finished() {
			for _, m := range a.wait(q0) {
				got = append(got, m.Type)
			}
		}
	})
	C := s.cfs("C", 1, func(th *Thread) { th.Run(sim.Ms(1)) })
	C.affinity = SetOf(0, 1)
	s.at(sim.Us(10), "C enters the enclave while running, then sets its own mask", func() {
		if err := s.k.EnterEnclave(C, s.e); err != nil {
			t.Fatal(err)
		}
		s.k.setAffinity(&s.k.cpus[1], C, SetOf(1))
		if b := C.g.sw.Barrier; b != 1 {
			t.Errorf("barrier %d after the call, want 1 (TASK_NEW only)", b)
		}
	})
	s.run(sim.Us(50))
	if len(got) == 0 || got[0] != MsgTaskNew {
		t.Fatalf("messages %v, want TASK_NEW first", got)
	}
	for _, m := range got {
		if m == MsgTaskAffinityChanged {
			t.Errorf("messages %v include TASK_AFFINITY_CHANGED", got)
		}
	}
}

// TestGhostAffinityOverride: the commit path does not check the target's
// mask, so an agent can run a ghOSt task outside it: the commit succeeds,
// the task runs there, and Stats.GhostAffinityOverrides counts it.
//
// Reference: ghost.c _ghost_commit_txn, ghost_move_task (no cpus_allowed
// check before move_queued_task).
func TestGhostAffinityOverride(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{})
	q0, _ := s.e.CreateQueue(64, 0)
	q0.SetDefault()
	var st TxnState
	s.agents("ag", func(a *sagent) {
		if a.CPU() != 0 {
			a.idle()
			return
		}
		m := a.waitFor(q0, MsgTaskNew)
		st = a.commit(1, Txn{Gtid: m.Gtid, TaskBarrier: m.Seqnum, CommitFlags: CommitAtTxnCommit})
		a.idle()
	})
	var ranOn int
	A := s.ghost("A", 0, func(th *Thread) { ranOn = th.Task().CPU() })
	A.affinity = SetOf(0)
	s.run(sim.Us(50))
	if st != TxnComplete || ranOn != 1 {
		t.Errorf("commit to cpu1 outside A's mask {0}: %v, A ran on cpu%d; want TXN_COMPLETE on cpu1", st, ranOn)
	}
	if n := s.k.Stats().GhostAffinityOverrides; n != 1 {
		t.Errorf("GhostAffinityOverrides = %d, want 1", n)
	}
}

// TestInvariantAffinity: CheckInvariants reports a task of a class other
// than ghOSt running outside its affinity.
func TestInvariantAffinity(t *testing.T) {
	k := newTestKernel(t, "skylake112")
	w := spawn(t, k, TaskSpec{Name: "w", Class: ClassCFS, CPU: 3, Affinity: SetOf(3), NUMAHome: -1, Program: hog})
	k.Engine().Run(sim.Us(10))
	if err := k.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	w.affinity = SetOf(4) // corrupt the mask behind the kernel's back
	if err := k.CheckInvariants(); err == nil || !contains(err.Error(), "outside its affinity") {
		t.Errorf("CheckInvariants = %v, want a task running outside its affinity", err)
	}
	w.affinity = SetOf(3)
}
