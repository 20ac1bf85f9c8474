package kernel

import (
	"errors"
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// slotProg is a minimal pick-next-task program: word cpu of its map holds
// gtid<<32 | task barrier of a task the agent wants cpu to run when it
// idles; the program claims the word (cmpxchg to 0, so the agent can
// revoke it with its own cmpxchg) and runs the task, with
// SEND_TASK_ON_CPU so the agent hears where it went.
type slotProg struct {
	m *BPFMap
}

func slotEntry(g Gtid, barrier uint32) uint64 { return uint64(g)<<32 | uint64(barrier) }

func (p *slotProg) PickNextTask(x *PNTContext) {
	cpu := x.CPU()
	v := x.Load(p.m, cpu)
	if v == 0 || !x.CompareAndSwap(p.m, cpu, v, 0) {
		return
	}
	x.RunGtid(Gtid(v>>32), uint32(v), RunSendTaskOnCPU) // a failure is traced; the entry is dropped
}

// TestScenarioBPFPickNextTask: a pick-next-task program fills an idle CPU
// from the shared map, and each race with the agent is resolved by the
// commit rules: (1) cpu1 idles after B blocks and the program runs A from
// the map, TASK_ON_CPU telling the agent; (2) C's entry is stale (its
// barrier moved with TASK_AFFINITY_CHANGED) and run_gtid fails ESTALE, cpu2
// idles; (3) C, committed to cpu2 by the agent and running, is also in
// cpu1's entry: EBUSY when A blocks; (4) the program runs D on cpu1, so the
// agent's commit of D to cpu2 fails TARGET_ONCPU, and its commit of E to
// cpu1 displaces D with TASK_PREEMPT, as any commit displaces a running
// task.
//
// Reference: paper §3.2; ghost.c ghost_bpf_pnt, ghost_run_gtid_on,
// validate_next_task, validate_next_offcpu; ghost-userspace
// third_party/bpf/biff.bpf.c biff_pnt (the errors it handles).
func TestScenarioBPFPickNextTask(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1, 2), EnclaveConfig{})
	q, _ := s.e.CreateQueue(256)
	q.SetDefault()
	m, err := s.e.CreateMap(8)
	if err != nil {
		t.Fatal(err)
	}
	var A, B, C, D, E *Task
	p := s.agents("ag", func(a *sagent) {
		if a.CPU() != 0 {
			a.idle()
			return
		}
		a.pollFor(q, MsgTaskNew)
		a.drain(q)
		a.note("(1) commit B to cpu1, publish A for cpu1")
		a.commit(1, Txn{Gtid: B.Gtid(), TaskBarrier: a.seq(B.Gtid()), CommitFlags: CommitAtTxnCommit})
		a.MapStore(m, 1, slotEntry(A.Gtid(), a.seq(A.Gtid())))
		a.pollFor(q, MsgTaskOnCPU)

		a.note("(2) publish C for cpu2 at barrier %d", a.seq(C.Gtid()))
		a.MapStore(m, 2, slotEntry(C.Gtid(), a.seq(C.Gtid())))
		s.at(a.Now(), "CFS task X on cpu2 changes C's mask, runs 2us and exits", func() {
			s.cfs("X", 2, func(th *Thread) { th.SetAffinityOf(C, SetOf(0, 1, 2)); th.Run(sim.Us(2)) })
		})
		mc := a.pollFor(q, MsgTaskAffinityChanged)
		a.Run(sim.Us(10))

		a.note("(3) commit C to cpu2, and publish it for cpu1 too")
		a.commit(2, Txn{Gtid: C.Gtid(), TaskBarrier: mc.Seqnum, CommitFlags: CommitAtTxnCommit})
		a.MapStore(m, 1, slotEntry(C.Gtid(), mc.Seqnum))
		a.pollFor(q, MsgTaskBlocked)

		a.note("(4) publish D for cpu1; a CFS task passes on cpu1")
		a.MapStore(m, 1, slotEntry(D.Gtid(), a.seq(D.Gtid())))
		s.at(a.Now(), "CFS task Y runs 2us on cpu1 and exits", func() {
			s.cfs("Y", 1, func(th *Thread) { th.Run(sim.Us(2)) })
		})
		a.pollFor(q, MsgTaskOnCPU)
		st := a.commit(2, Txn{Gtid: D.Gtid(), TaskBarrier: a.seq(D.Gtid()), CommitFlags: CommitAtTxnCommit})
		a.note("commit D to cpu2 -> %v", st)
		st = a.commit(1, Txn{Gtid: E.Gtid(), TaskBarrier: a.seq(E.Gtid()), CommitFlags: CommitAtTxnCommit})
		a.note("commit E to cpu1 -> %v", st)
		a.pollFor(q, MsgTaskPreempt)
		for !a.Finished() {
			a.Poll(q, sim.Never)
			a.drain(q)
		}
	})
	if err := s.e.AttachPNT(p, &slotProg{m: m}); err != nil {
		t.Fatal(err)
	}
	if err := s.e.AttachPNT(p, &slotProg{m: m}); !errors.Is(err, ErrBusy) {
		t.Errorf("second AttachPNT = %v, want EBUSY", err)
	}
	A = s.ghost("A", 1, func(th *Thread) { th.Run(sim.Us(30)); th.Block() })
	B = s.ghost("B", 1, func(th *Thread) { th.Run(sim.Us(5)); th.Block() })
	C = s.ghost("C", 2, func(th *Thread) { th.Run(sim.Us(100)) })
	D = s.ghost("D", 2, func(th *Thread) { th.Run(sim.Us(20)) })
	E = s.ghost("E", 2, func(th *Thread) { th.Run(sim.Us(20)) })
	s.run(300 * sim.Microsecond)
	s.check("bpf-pnt-races", `
BPF pick-next-task (§3.2): the program fills an idle CPU from the shared
map; ESTALE for an entry whose task barrier moved; EBUSY for a task the agent
committed elsewhere; an agent commit of a task the program ran fails
TARGET_ONCPU; an agent commit to the CPU preempts the task the program ran.
Reference: paper §3.2; ghost.c ghost_bpf_pnt, ghost_run_gtid_on;
ghost-userspace third_party/bpf/biff.bpf.c biff_pnt.`)
	st := s.k.Stats()
	if st.GhostBPFRuns != 2 || st.GhostBPFRunErrors != 2 {
		t.Errorf("BPF runs %d, errors %d; want 2 and 2", st.GhostBPFRuns, st.GhostBPFRunErrors)
	}
}

// panicProg is a program the verifier would reject: it loops past the
// bound on map accesses.
type panicProg struct{ m *BPFMap }

func (p *panicProg) PickNextTask(x *PNTContext) {
	for i := 0; ; i++ {
		x.Load(p.m, i%p.m.Len())
	}
}

// TestBPFProgramDetached: a program that goes past MaxPNTMapAccesses is
// detached with its error kept; the agent and its tasks go on.
func TestBPFProgramDetached(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{})
	q, _ := s.e.CreateQueue(64)
	q.SetDefault()
	m, _ := s.e.CreateMap(16)
	p := s.agents("ag", func(a *sagent) {
		if a.CPU() != 0 {
			a.idle()
			return
		}
		newFIFO().global(a, q, SetOf(1))
	})
	if err := s.e.AttachPNT(p, &panicProg{m: m}); err != nil {
		t.Fatal(err)
	}
	x := s.ghost("x", 1, func(th *Thread) { th.Run(sim.Us(5)) })
	s.run(100 * sim.Microsecond)
	if s.e.PNTAttached() || s.e.PNTError() == nil {
		t.Errorf("program still attached (%v), error %v", s.e.PNTAttached(), s.e.PNTError())
	}
	s.wantDead(ClassGhost, x)
}

// TestSchedGapTime: the gap clock counts an idle enclave CPU while a
// runnable task it could run waits, and nothing else: one task waits
// 20 µs with cpu1 idle (the agent holds it back), then runs; a second task
// restricted to cpu2 waits while only cpu1 is idle, which is no gap.
func TestSchedGapTime(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1, 2), EnclaveConfig{})
	q, _ := s.e.CreateQueue(64)
	q.SetDefault()
	var gapAtCommit sim.Time
	var x *Task
	s.agents("ag", func(a *sagent) {
		if a.CPU() != 0 {
			a.idle()
			return
		}
		a.pollFor(q, MsgTaskNew)
		a.Run(sim.Us(20))
		gapAtCommit = s.k.SchedGapTime()
		a.commit(1, Txn{Gtid: x.Gtid(), TaskBarrier: a.seq(x.Gtid()), CommitFlags: CommitAtTxnCommit})
		for !a.Finished() {
			a.Poll(q, sim.Never)
			a.drain(q)
		}
	})
	// y occupies cpu2 (a CFS hog pinned there), so cpu2 is not idle.
	s.cfs("hog", 2, func(th *Thread) { th.Run(sim.Us(200)) })
	x = s.ghost("x", 1, func(th *Thread) { th.Run(sim.Us(10)) })
	s.run(5 * sim.Microsecond)
	t0 := s.k.SchedGapTime()
	s.run(100 * sim.Microsecond)
	// From 5 µs to the commit, x waits with cpu1 idle: one CPU of gap.
	if d := gapAtCommit - t0; d < 15*sim.Microsecond || d > 21*sim.Microsecond {
		t.Errorf("gap while x waited = %v, want about 20us minus the start-up", d)
	}
	end := s.k.SchedGapTime()
	if extra := end - gapAtCommit; extra > 2*sim.Microsecond {
		t.Errorf("gap after the commit = %v, want only the commit-to-switch latency", extra)
	}
	// A task allowed only on the busy cpu2 waiting while cpu1 idles is
	// not a gap.
	y := spawn(t, s.k, TaskSpec{Name: "y", Class: ClassGhost, Enclave: s.e, Affinity: SetOf(2), CPU: 2, NUMAHome: -1, Program: func(th *Thread) {}})
	_ = y
	before := s.k.SchedGapTime()
	s.run(150 * sim.Microsecond)
	if d := s.k.SchedGapTime() - before; d != 0 {
		t.Errorf("gap with y waiting for busy cpu2 = %v, want 0", d)
	}
}
