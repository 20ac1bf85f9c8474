package kernel

import (
	"fmt"
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// TestStatusWordTimes pins the status word's switch_time and runtime to
// what ghOSt's kernel writes there, and when:
//
//   - switch_time is written when the task is picked to switch in
//     (ghost_prepare_switch: ghost_sw_set_time, with GHOST_SW_TASK_ONCPU),
//     for tasks and for agents (pick_next_ghost_agent calls it too);
//   - runtime is sum_exec_runtime, written by __update_curr_ghost(rq,
//     true) only: when the task is put back (put_prev_task_ghost), when a
//     running task is dequeued (a block, or sched_setaffinity's
//     DEQUEUE_SAVE on the running task), and when a message about the
//     running task is produced; never by the tick (task_tick_ghost passes
//     update_sw = false), so it is stale while the task runs.
//
// Reference: google/ghost-kernel kernel/sched/ghost.c ghost_prepare_switch,
// __update_curr_ghost, _put_prev_task_ghost, _dequeue_task_ghost,
// _task_tick_ghost; docs/GHOST-SEMANTICS.md §2.
func TestStatusWordTimes(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{})
	q, _ := s.e.CreateQueue(64)
	q.SetDefault()
	s.agents("ag", func(a *sagent) {
		if a.CPU() == 1 {
			a.idle()
			return
		}
		newFIFO().global(a, q, SetOf(1))
	})
	tick := s.k.tickPeriod
	type snap struct {
		at      sim.Time
		sw      StatusWord
		runtime sim.Time // A.Runtime() then
	}
	var snaps []snap
	var A *Task
	look := func() { snaps = append(snaps, snap{s.k.Now(), A.g.sw, A.Runtime()}) }
	A = s.ghost("A", 0, func(th *Thread) {
		th.Run(3 * tick) // several ticks while it runs
		th.Sleep(sim.Us(20))
		th.Run(sim.Us(5))
	})
	// Z, a CFS task outside the enclave, narrows A's mask while A runs:
	// A stays allowed on cpu1, is forced off, and its runtime is written
	// at the system call.
	var affAt sim.Time
	var affSW StatusWord
	var affRuntime sim.Time
	s.at(tick+tick/2, "", func() { look() })
	s.at(2*tick, "CFS task Z narrows A's affinity", func() {
		spawn(t, s.k, TaskSpec{Name: "Z", Class: ClassCFS, Affinity: SetOf(2), CPU: 2, NUMAHome: -1, Program: func(th *Thread) {
			th.SetAffinityOf(A, SetOf(1))
			affAt, affSW, affRuntime = s.k.Now(), A.g.sw, A.Runtime()
		}})
	})
	// cpu1's agent wakes once more, so that its switch_time is not 0.
	s.at(4*tick, "cpu1's agent is woken", func() { s.k.wakeAgentOn(1, -1) })
	s.run(5 * tick)
	s.wantDead(ClassGhost, A)

	// A's switches in and out, from the trace.
	var ins, outs []sim.Time
	for _, r := range s.switches {
		if r.CPU == 1 && r.Next == A.ID() {
			ins = append(ins, r.At)
		}
		if r.CPU == 1 && r.Prev == A.ID() {
			outs = append(outs, r.At)
		}
	}
	if len(ins) < 3 || len(outs) < 3 {
		t.Fatalf("A switched in at %v and out at %v; want three of each (the affinity change forces it off, then it sleeps)", ins, outs)
	}
	// Mid-run, after a tick: switch_time is the first switch-in, runtime
	// still the 0 of TASK_NEW although A has run for over a tick.
	mid := snaps[0]
	if mid.sw.SwitchTime != ins[0] || mid.sw.Runtime != 0 || mid.runtime <= 0 {
		t.Errorf("at %v (A running since %v, ran %v): switch_time %v, runtime %v; want %v and 0 (ticks do not write it)",
			mid.at, ins[0], mid.runtime, mid.sw.SwitchTime, mid.sw.Runtime, ins[0])
	}
	// sched_setaffinity on the running A writes its runtime at once.
	if affAt == 0 || affSW.Runtime != affRuntime || affRuntime <= mid.runtime {
		t.Errorf("after SetAffinityOf at %v: runtime %v, want A's runtime then, %v", affAt, affSW.Runtime, affRuntime)
	}
	// At the end: switch_time is the last switch-in, runtime the whole
	// CPU time, written at the last switch-out.
	sw := A.g.sw
	if sw.SwitchTime != ins[len(ins)-1] {
		t.Errorf("final switch_time %v, want the last switch-in %v (switch-ins %v)", sw.SwitchTime, ins[len(ins)-1], ins)
	}
	if sw.Runtime != A.Runtime() {
		t.Errorf("final runtime %v, want A's CPU time %v", sw.Runtime, A.Runtime())
	}

	// The agent's status word: switch_time of its last switch-in on cpu1,
	// runtime as of its last switch-out.
	ag := s.e.Agent(1)
	var agIn, agOut sim.Time = -1, -1
	for _, r := range s.switches {
		if r.CPU == 1 && r.Next == ag.ID() {
			agIn = r.At
		}
		if r.CPU == 1 && r.Prev == ag.ID() {
			agOut = r.At
		}
	}
	asw := s.e.AgentStatusWord(1)
	if agIn <= 0 || asw.SwitchTime != agIn {
		t.Errorf("agent of cpu1: switch_time %v, want its last switch-in %v", asw.SwitchTime, agIn)
	}
	if agOut < 0 || s.k.Current(1) == ag || asw.Runtime != ag.Runtime() {
		t.Errorf("agent of cpu1 (last out at %v): runtime %v, want %v", agOut, asw.Runtime, ag.Runtime())
	}
}

// TestStatusWordLifecycleFlags pins the status word's lifecycle flags to
// what ghOSt's kernel sets, as the agent sees them when it reads the word
// while handling each message:
//
//   - INUSE from TASK_NEW on (the word is set up before the message is
//     produced); CANFREE, IS_AGENT and MSG_GATED clear on a task's word;
//   - CANFREE when TASK_DEAD is visible (set before the message);
//   - CANFREE and MSG_GATED when TASK_DEPARTED is visible (the task left
//     ghOSt: a class change from outside, here);
//   - an agent's word: INUSE and IS_AGENT; CANFREE once its agent thread
//     has exited.
//
// Reference: google/ghost-kernel kernel/sched/ghost.c ghost_sw_set_flag
// uses in _ghost_task_new (INUSE), task_dead_ghost (CANFREE), the
// departed path of switched_from_ghost (CANFREE | TASK_MSG_GATED),
// ghost_prep_agent (TASK_IS_AGENT); docs/GHOST-SEMANTICS.md §1.2, §2.2.
func TestStatusWordLifecycleFlags(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{})
	q, _ := s.e.CreateQueue(64)
	q.SetDefault()
	type seen struct {
		msg   MsgType
		flags uint32
		ok    bool
	}
	got := map[Gtid][]seen{}
	f := newFIFO()
	f.onMsg = func(a *sagent, m Message) {
		if !m.Type.IsTaskMsg() {
			return
		}
		sw, ok := a.StatusWord(m.Gtid)
		got[m.Gtid] = append(got[m.Gtid], seen{m.Type, sw.Flags, ok})
	}
	procs := s.agents("ag", func(a *sagent) {
		if a.CPU() == 1 {
			a.idle()
			return
		}
		f.global(a, q, SetOf(1))
	})
	us := sim.Microsecond
	A := s.ghost("A", 0, func(th *Thread) { th.Run(5 * us) })
	B := s.ghost("B", 0, func(th *Thread) { th.Sleep(100 * us); th.Run(5 * us) })
	s.at(50*us, "CFS task Z moves the sleeping B to CFS", func() {
		spawn(t, s.k, TaskSpec{Name: "Z", Class: ClassCFS, Affinity: SetOf(2), CPU: 2, NUMAHome: -1, Program: func(th *Thread) {
			th.SetClassOf(B, ClassCFS)
		}})
	})
	var agentWord StatusWord
	s.at(300*us, "read cpu0's agent word, then kill the agent process", func() {
		agentWord = s.e.AgentStatusWord(0)
		procs.Kill(false, nil)
	})
	s.run(400 * us)

	const lifecycle = SWInUse | SWCanFree | SWTaskIsAgent | SWMsgGated
	// The word is read as the agent handles the message, so it holds what
	// the kernel wrote up to then: A's BLOCKED and DEAD are posted
	// together as it exits, so CANFREE is already set at its BLOCKED.
	for _, x := range []struct {
		task  *Task
		types []MsgType
		want  map[MsgType]uint32
	}{
		{A, []MsgType{MsgTaskNew, MsgTaskBlocked, MsgTaskDead}, map[MsgType]uint32{
			MsgTaskNew: SWInUse, MsgTaskBlocked: SWInUse | SWCanFree, MsgTaskDead: SWInUse | SWCanFree}},
		{B, []MsgType{MsgTaskNew, MsgTaskBlocked, MsgTaskDeparted}, map[MsgType]uint32{
			MsgTaskNew: SWInUse, MsgTaskBlocked: SWInUse, MsgTaskDeparted: SWInUse | SWCanFree | SWMsgGated}},
	} {
		var types []MsgType
		for _, sn := range got[x.task.gtid()] {
			types = append(types, sn.msg)
			if !sn.ok {
				t.Errorf("%s at %v: the agent cannot read its status word", x.task.Name(), sn.msg)
				continue
			}
			if w, ok := x.want[sn.msg]; ok && sn.flags&lifecycle != w {
				t.Errorf("%s at %v: lifecycle flags %#x, want %#x", x.task.Name(), sn.msg, sn.flags&lifecycle, w)
			}
		}
		if fmt.Sprint(types) != fmt.Sprint(x.types) {
			t.Errorf("%s: the agent handled %v, want %v", x.task.Name(), types, x.types)
		}
	}
	if agentWord.Flags&lifecycle != SWInUse|SWTaskIsAgent {
		t.Errorf("cpu0's agent word: lifecycle flags %#x, want INUSE|IS_AGENT %#x", agentWord.Flags&lifecycle, SWInUse|SWTaskIsAgent)
	}
	for _, ag := range procs.Agents() {
		if ag.g.sw.Flags&(SWInUse|SWTaskIsAgent|SWCanFree) != SWInUse|SWTaskIsAgent|SWCanFree {
			t.Errorf("agent %s after its process was killed: flags %#x, want INUSE|IS_AGENT|CANFREE", ag.Name(), ag.g.sw.Flags)
		}
	}
}
