package kernel

import (
	"runtime"
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// TestThreadSpawnCFS: a CFS thread creating threads pays the syscall and
// the clone cost; a child without an affinity of its own inherits its
// parent's, one with pthread_attr_setaffinity_np keeps its own; fork
// balancing starts from the parent's CPU — on rome256, whose NUMA level
// has no SD_BALANCE_FORK (distance 32 > RECLAIM_DISTANCE), a child of a
// thread on socket 1 stays on socket 1.
func TestThreadSpawnCFS(t *testing.T) {
	k := newTestKernel(t, "rome256")
	parentCPU := 64 // socket 1
	var cost sim.Time
	var inherit, own *Task
	spawn(t, k, TaskSpec{Name: "parent", Class: ClassCFS, CPU: parentCPU, Affinity: RangeSet(64, 128), NUMAHome: -1, Program: func(th *Thread) {
		start := th.Now()
		var err error
		inherit, err = th.Spawn(TaskSpec{Name: "inherit", Class: ClassCFS, CPU: -1, NUMAHome: -1, Program: hog})
		if err != nil {
			t.Error(err)
		}
		cost = th.Now() - start
		own, err = th.Spawn(TaskSpec{Name: "own", Class: ClassCFS, CPU: -1, Affinity: SetOf(200), NUMAHome: -1, Program: hog})
		if err != nil {
			t.Error(err)
		}
		if _, err := th.Spawn(TaskSpec{Name: "bad", Class: ClassCFS, CPU: -1, Nice: 40, Program: hog}); err == nil {
			t.Error("Spawn with nice 40 succeeded")
		}
	}})
	k.Engine().Run(sim.Ms(1))
	c := k.Machine().Costs()
	// The child goes to an idle CPU of socket 1: an idle target is told by
	// its polled need_resched line, no IPI.
	want := c.Syscall + c.Clone + k.m.LineTransfer(parentCPU, inherit.LastCPU(), -1)
	if cost != want {
		t.Errorf("parent spent %v in Spawn, want syscall + clone + rq lock line = %v", cost, want)
	}
	if inherit.Affinity() != RangeSet(64, 128) {
		t.Errorf("child affinity %v, want the parent's 64-127", inherit.Affinity())
	}
	if s := k.m.CPU(inherit.LastCPU()).Socket; s != 1 {
		t.Errorf("child ran on cpu%d (socket %d), want socket 1", inherit.LastCPU(), s)
	}
	if own.Affinity() != SetOf(200) || own.LastCPU() != 200 {
		t.Errorf("child with its own mask: affinity %v, ran on cpu%d; want {200}", own.Affinity(), own.LastCPU())
	}
}

// TestScenarioSpawnGhostChild: a ghOSt task's child is a ghOSt task of
// the same enclave even when asked for CFS, queued on its parent's CPU,
// and its agent hears TASK_NEW(runnable), produced on the parent's CPU,
// instead of TASK_WAKEUP.
//
// Reference: docs/GHOST-SEMANTICS.md §5.3 ("Children of ghost tasks are ghost
// tasks"), §1.2 (TASK_NEW case (c)); ghost.c task_woken_ghost (new_task).
func TestScenarioSpawnGhostChild(t *testing.T) {
	s := newScenario(t, "skylake112", SetOf(0, 1), EnclaveConfig{})
	q0, _ := s.e.CreateQueue(64, 0)
	q0.SetDefault()
	s.agents("ag", func(a *sagent) {
		if a.CPU() != 0 {
			a.idle()
			return
		}
		newFIFO().local(a, q0)
	})
	var child *Task
	P := s.ghost("P", 0, func(th *Thread) {
		th.Run(sim.Us(2))
		var err error
		child, err = th.Spawn(TaskSpec{Name: "C", Class: ClassCFS, CPU: -1, NUMAHome: -1, Program: func(th *Thread) { th.Run(sim.Us(2)) }})
		if err != nil {
			t.Error(err)
		}
		th.Run(sim.Us(2))
	})
	P.affinity = SetOf(0, 1, 5)
	s.run(sim.Us(100))
	if child == nil {
		t.Fatal("no child")
	}
	if child.Class() != ClassGhost || child.g.enclave != s.e || child.Affinity() != SetOf(0, 1, 5) {
		t.Errorf("child: class %v, affinity %v; want ghost in the enclave with the parent's affinity", child.Class(), child.Affinity())
	}
	s.wantDead(ClassGhost, P, child)
	s.check("spawn-ghost-child", `
A ghOSt task P creates a thread C (asked for CFS): C is a ghOSt task of the
same enclave, queued on P's CPU, and its first message is TASK_NEW(runnable),
produced on P's CPU by wake_up_new_task, not TASK_WAKEUP.
Reference: docs/GHOST-SEMANTICS.md §5.3, §1.2 (TASK_NEW (c)); ghost.c
task_woken_ghost.`)
}

// TestDeadTaskReleasesCoroutine: an exited task gives its coroutine (and
// the goroutine behind it) back at once.
func TestDeadTaskReleasesCoroutine(t *testing.T) {
	k := newTestKernel(t, "skylake112")
	before := k.Engine().Live()
	spawn(t, k, TaskSpec{Name: "parent", Class: ClassCFS, CPU: 0, NUMAHome: -1, Program: func(th *Thread) {
		for i := 0; i < 100; i++ {
			if _, err := th.Spawn(TaskSpec{Name: "c", Class: ClassCFS, CPU: -1, NUMAHome: -1, Program: func(th *Thread) { th.Run(sim.Us(1)) }}); err != nil {
				t.Error(err)
			}
			th.Sleep(sim.Us(10))
		}
	}})
	k.Engine().Run(sim.Ms(5))
	if live := k.Engine().Live(); live != before {
		t.Errorf("%d coroutines live after every task exited, want %d", live, before)
	}
	for _, task := range k.Tasks() {
		if task.State() != TaskDead {
			t.Fatalf("%v is %v", task, task.State())
		}
		if task.co != nil {
			t.Fatalf("dead %v still holds its coroutine", task)
		}
	}
}

// BenchmarkSpawnExit measures a thread creating short-lived threads (each
// runs 1 µs and exits) on skylake112, CFS and ghOSt: allocations per
// thread, and the heap still held per dead thread after the run.
//
//	go test ./sim/kernel -run '^$' -bench SpawnExit -benchtime 100000x
func BenchmarkSpawnExit(b *testing.B) {
	for _, class := range []Class{ClassCFS, ClassGhost} {
		b.Run(class.String(), func(b *testing.B) {
			k := newTestKernel(b, "skylake112")
			k.check = false
			k.eng.AfterEvent = nil
			spec := TaskSpec{Name: "parent", Class: ClassCFS, CPU: 0, Affinity: SetOf(0), NUMAHome: -1}
			if class == ClassGhost {
				e, err := k.CreateEnclave(RangeSet(0, 8), EnclaveConfig{})
				if err != nil {
					b.Fatal(err)
				}
				q, _ := e.CreateQueue(MaxQueueElems)
				q.SetDefault()
				if _, err := e.StartAgents("fifo", func(a *AgentThread) {
					if a.CPU() != 0 {
						for !a.Finished() {
							a.LocalYield(a.Barrier(), 0)
						}
						return
					}
					newFIFO().global(&sagent{AgentThread: a}, q, RangeSet(1, 8))
				}); err != nil {
					b.Fatal(err)
				}
				spec = TaskSpec{Name: "parent", Class: ClassGhost, Enclave: e, CPU: 1, NUMAHome: -1}
			}
			n := b.N
			done := false
			spec.Program = func(th *Thread) {
				child := TaskSpec{Name: "child", Class: ClassCFS, CPU: -1, NUMAHome: -1, Affinity: RangeSet(1, 8),
					Program: func(th *Thread) { th.Run(sim.Us(1)) }}
				for i := 0; i < n; i++ {
					if _, err := th.Spawn(child); err != nil {
						b.Error(err)
						return
					}
					th.Sleep(sim.Us(20))
				}
				done = true
			}
			spawn(b, k, spec)
			var ms0, ms1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms0)
			b.ReportAllocs()
			b.ResetTimer()
			for !done {
				k.Engine().Run(k.Now() + sim.Ms(100))
			}
			b.StopTimer()
			k.Engine().Run(k.Now() + sim.Ms(1))
			runtime.GC()
			runtime.ReadMemStats(&ms1)
			if k.stats.Exited < int64(n) {
				b.Fatalf("%d exited of %d", k.stats.Exited, n)
			}
			b.ReportMetric(float64(int64(ms1.HeapAlloc)-int64(ms0.HeapAlloc))/float64(n), "heapB/thread")
			b.ReportMetric(float64(k.Engine().Live()), "live-coroutines")
			runtime.KeepAlive(k)
		})
	}
}
