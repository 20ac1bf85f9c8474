package kernel

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// FuzzGhostAgent drives a random, hostile agent against a handful of
// ghOSt tasks and some CFS tasks, with the invariant checker after every
// event (newTestKernel): the agent threads issue random Opens (random
// gtids, barriers, run and commit flags, CPUs), commits, sync commits,
// greedy submits, aborts, local yields with random barriers, pings,
// associations, queue creation, and now and then panic (a crash); the
// test itself kills, hangs or restarts the agent process, destroys the
// enclave, closes queues, wakes tasks and moves CFS tasks into the
// enclave at random times. Then faults are switched off — the enclave is
// destroyed (everything goes to CFS) or a well-behaved agent process
// takes over after discovery — and the simulation runs until quiet: every
// task must have finished. No task may be lost.
//
// The input is the stream of random choices (a PCG seeded from it, then
// its bytes). Run longer with
//
//	go test -fuzz FuzzGhostAgent ./sim/kernel
func FuzzGhostAgent(f *testing.F) {
	for _, seed := range []string{"", "a", "crash", "hang-watchdog", "destroy", "sync groups", "\x00\x01\x02\x03", "upgrade please"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		runGhostFuzz(t, data)
	})
}

// fuzzRand is the fuzzer's source of choices: the input's bytes first,
// then a PCG seeded from them.
type fuzzRand struct {
	data []byte
	pos  int
	r    *rand.Rand
}

func newFuzzRand(data []byte) *fuzzRand {
	var h uint64 = 14695981039346656037
	for _, b := range data {
		h = (h ^ uint64(b)) * 1099511628211
	}
	return &fuzzRand{data: data, r: rand.New(rand.NewPCG(h, uint64(len(data))))}
}

// n returns a choice in [0, n).
func (r *fuzzRand) n(n int) int {
	if n <= 1 {
		return 0
	}
	if r.pos < len(r.data) {
		b := r.data[r.pos]
		r.pos++
		return int(b) % n
	}
	return r.r.IntN(n)
}

func (r *fuzzRand) chance(pct int) bool { return r.n(100) < pct }

func (r *fuzzRand) dur(max sim.Time) sim.Time { return sim.Time(r.r.Int64N(int64(max)) + 1) }

// fuzzWorld is one fuzz run's simulation.
type fuzzWorld struct {
	t     *testing.T
	k     *Kernel
	e     *Enclave
	r     *fuzzRand
	hid   sim.HandlerID
	acts  []func()
	tasks []*Task // workload tasks (ghOSt and CFS)
	procs []*AgentProcess
	qs    []*Queue
	ncpu  int
	log   []string
	// faultsOff stops the hostile agents and the test's faults.
	faultsOff bool
}

func (w *fuzzWorld) at(when sim.Time, what string, f func()) {
	w.acts = append(w.acts, func() {
		if what != "" {
			w.logf("%s", what)
		}
		f()
	})
	w.k.Engine().Schedule(when, w.hid, sim.Event{A: int32(len(w.acts) - 1)})
}

// logf records an event for the failure report, keeping the last 300.
func (w *fuzzWorld) logf(format string, args ...any) {
	if len(w.log) >= 600 {
		w.log = append(w.log[:0], w.log[300:]...)
	}
	w.log = append(w.log, fmt.Sprintf("%v %s", w.k.Now(), fmt.Sprintf(format, args...)))
}

func runGhostFuzz(t *testing.T, data []byte) {
	k := newTestKernel(t, "xeon48")
	r := newFuzzRand(data)
	w := &fuzzWorld{t: t, k: k, r: r}
	w.hid = k.Engine().Register(sim.HandlerFunc(func(now sim.Time, ev sim.Event) { w.acts[ev.A]() }))
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("panic: %v\nevents:\n%s", p, strings.Join(w.log, "\n"))
		}
	}()

	// The enclave: 2-4 CPUs of socket 0, random tunables.
	w.ncpu = 2 + r.n(3)
	cfg := EnclaveConfig{
		DeliverTicks:   r.chance(30),
		CommitAtTick:   r.chance(30),
		WakeOnWakerCPU: r.chance(30),
	}
	if r.chance(40) {
		cfg.RunnableTimeout = sim.Ms(int64(1 + r.n(3)))
	}
	e, err := k.CreateEnclave(RangeSet(0, w.ncpu), cfg)
	if err != nil {
		t.Fatal(err)
	}
	w.e = e
	for i := 0; i < 1+r.n(3); i++ {
		var wake []int
		for j := 0; j < r.n(3); j++ {
			wake = append(wake, r.n(w.ncpu))
		}
		q, err := e.CreateQueue(8<<r.n(6), wake...)
		if err != nil {
			t.Fatal(err)
		}
		w.qs = append(w.qs, q)
	}
	if r.chance(85) {
		w.qs[r.n(len(w.qs))].SetDefault()
	}
	w.startHostile()

	// Workload: 3-6 ghOSt tasks and 1-3 CFS tasks, each a random program.
	nGhost, nCFS := 3+r.n(4), 1+r.n(3)
	for i := 0; i < nGhost+nCFS; i++ {
		spec := TaskSpec{Name: fmt.Sprintf("g%d", i), Class: ClassGhost, Enclave: e, CPU: r.n(w.ncpu), NUMAHome: -1}
		if i >= nGhost {
			spec = TaskSpec{Name: fmt.Sprintf("c%d", i), Class: ClassCFS, CPU: -1, NUMAHome: -1}
			if r.chance(50) {
				spec.Affinity = SetOf(r.n(w.ncpu))
			}
			if r.chance(30) {
				// A MicroQuanta thread, above CFS and ghOSt, with a short
				// period so that its blackouts come often.
				spec.Class = ClassMicroQuanta
				spec.MQPeriod = sim.Time(100+r.n(900)) * sim.Microsecond
				spec.MQRuntime = spec.MQPeriod * sim.Time(10+r.n(90)) / 100
			}
		}
		spec.Program = w.program(uint64(i))
		w.tasks = append(w.tasks, spawn(t, k, spec))
	}

	// Faults at random times during the hostile phase (1-5ms).
	hostile := sim.Ms(int64(1 + r.n(5)))
	for i := 0; i < r.n(8); i++ {
		w.fault(r.dur(hostile))
	}
	// An external waker keeps Block from waiting forever.
	var waker func()
	waker = func() {
		for _, x := range w.tasks {
			if x.State() == TaskBlocked {
				k.Wake(x)
			}
		}
		// Until faults are off, hostile actions may still spawn tasks.
		if !w.done() || !w.faultsOff {
			w.at(k.Now()+sim.Us(50), "", waker)
		}
	}
	w.at(sim.Us(50), "", waker)
	// Pokes wake a random enclave CPU's agent now and then, as a message
	// for its queue would, so that hostile agents asleep in LocalYield
	// keep acting.
	var poke func()
	poke = func() {
		if !w.faultsOff && !e.Dying() {
			k.wakeAgentOn(r.n(w.ncpu), -1)
			w.at(k.Now()+r.dur(sim.Us(5)), "", poke)
		}
	}
	w.at(r.dur(sim.Us(5)), "", poke)

	// Faults off: destroy the enclave or hand it to a well-behaved agent.
	w.at(hostile, "faults off", func() {
		w.faultsOff = true
		if e.Dying() {
			return
		}
		if r.chance(50) {
			w.logf("destroy the enclave")
			k.DestroyEnclave(e)
			return
		}
		for _, p := range w.procs {
			p.Kill(false, nil)
		}
		w.startRecovery()
	})
	for step := sim.Time(0); step < 500*sim.Millisecond && !w.done(); step += sim.Ms(5) {
		k.Engine().Run(hostile + step)
	}
	if err := k.Err(); err != nil {
		t.Fatalf("a thread program panicked: %v", err)
	}
	st := k.Stats()
	t.Logf("%d events to %v; %d tasks; msgs %d, txns %v, crashes %d, watchdog %d, enclave dying %v",
		k.Engine().Executed(), k.Now(), len(w.tasks), st.GhostMsgs, st.TxnCounts(), st.AgentCrashes, st.WatchdogDestroys, w.e.Dying())
	if !w.done() {
		var stuck []string
		for _, x := range w.tasks {
			if x.State() != TaskDead {
				s := fmt.Sprintf("%v: %v in %v on cpu%d", x, x.State(), x.Class(), x.CPU())
				if x.g != nil && x.class == ClassGhost {
					s += fmt.Sprintf(" sw=%s queue=%v", swFlags(x.g.sw), x.g.dstQ != nil)
				}
				stuck = append(stuck, s)
			}
		}
		t.Fatalf("tasks lost after faults were switched off:\n%s\nevents:\n%s", strings.Join(stuck, "\n"), strings.Join(w.log, "\n"))
	}
}

func (w *fuzzWorld) done() bool {
	for _, x := range w.tasks {
		if x.State() != TaskDead {
			return false
		}
	}
	return true
}

// program is a random thread program: computing, sleeping, yielding,
// blocking, waking others, changing affinity, nice and (rarely) class.
func (w *fuzzWorld) program(seed uint64) func(th *Thread) {
	pr := rand.New(rand.NewPCG(seed, uint64(w.r.n(1<<16))))
	steps := 4 + pr.IntN(16)
	n := w.k.NumCPUs()
	return func(th *Thread) {
		for s := 0; s < steps; s++ {
			switch pr.IntN(12) {
			case 0, 1, 2, 3:
				th.Run(sim.Time(pr.Int64N(int64(50*sim.Microsecond))) + sim.Ns(100))
			case 4, 5:
				th.Sleep(sim.Time(pr.Int64N(int64(50 * sim.Microsecond))))
			case 6:
				th.Yield()
			case 7:
				th.Block()
			case 8:
				if len(w.tasks) > 0 {
					th.Wake(w.tasks[pr.IntN(len(w.tasks))])
				}
			case 9:
				th.SetAffinity(randomSet(pr, n))
			case 10:
				th.SetNice(pr.IntN(40) - 20)
			case 11:
				if pr.IntN(4) == 0 {
					th.SetClass(ClassCFS)
				}
			}
		}
	}
}

// fault schedules one random fault at time when.
func (w *fuzzWorld) fault(when sim.Time) {
	k, r := w.k, w.r
	switch r.n(9) {
	case 0:
		w.at(when, "crash the agent process", func() {
			if p := w.live(); p != nil {
				p.Kill(true, fmt.Errorf("injected crash"))
			}
		})
	case 1:
		w.at(when, "hang the agent process", func() {
			if p := w.live(); p != nil {
				p.Hang()
			}
		})
	case 2:
		w.at(when, "destroy the enclave", func() { k.DestroyEnclave(w.e) })
	case 3:
		w.at(when, "start a new hostile agent process", func() {
			if !w.faultsOff {
				w.startHostile()
			}
		})
	case 4:
		w.at(when, "close a queue", func() { w.qs[r.n(len(w.qs))].Close() })
	case 5:
		w.at(when, "set a default queue", func() { w.qs[r.n(len(w.qs))].SetDefault() })
	case 6:
		w.at(when, "wake a task", func() { k.Wake(w.tasks[r.n(len(w.tasks))]) })
	case 7:
		w.at(when, "spawn a ghOSt task", func() {
			if !w.e.Dying() {
				x := spawn(w.t, k, TaskSpec{Name: fmt.Sprintf("n%d", len(w.tasks)), Class: ClassGhost, Enclave: w.e, CPU: -1, NUMAHome: -1, Program: w.program(uint64(100 + len(w.tasks)))})
				w.tasks = append(w.tasks, x)
			}
		})
	case 8:
		w.at(when, "a CFS task enters the enclave", func() {
			x := w.tasks[r.n(len(w.tasks))]
			if !w.e.Dying() && x.Class() == ClassCFS && x.State() != TaskDead {
				_ = k.EnterEnclave(x, w.e)
			}
		})
	}
}

// live returns the agent process attached now, if any.
func (w *fuzzWorld) live() *AgentProcess {
	for _, p := range w.procs {
		if p.Alive() {
			return p
		}
	}
	return nil
}

// startHostile starts a hostile agent process if every CPU is free.
func (w *fuzzWorld) startHostile() {
	p, err := w.e.StartAgents(fmt.Sprintf("hostile%d", len(w.procs)), w.hostile)
	if err != nil {
		w.logf("StartAgents: %v", err)
		return
	}
	w.procs = append(w.procs, p)
}

// hostile is the body of a random agent thread.
func (w *fuzzWorld) hostile(a *AgentThread) {
	r, k := w.r, w.k
	gtid := func() Gtid {
		switch r.n(8) {
		case 0:
			return Gtid(r.n(4) - 3) // -3..0
		case 1:
			return Gtid(1 + r.n(len(k.tasks)+3))
		default:
			return w.tasks[r.n(len(w.tasks))].Gtid()
		}
	}
	barrier := func(g Gtid) uint32 {
		if r.chance(70) {
			if x := k.TaskByGtid(g); x != nil && x.g != nil {
				return x.g.sw.Barrier
			}
		}
		return uint32(r.n(8))
	}
	cpu := func() int {
		if r.chance(90) {
			return r.n(w.ncpu)
		}
		return r.n(w.ncpu+3) - 1
	}
	mask := func() CPUSet {
		var s CPUSet
		for c := 0; c < w.ncpu+1; c++ {
			if r.chance(50) {
				s.Add(c)
			}
		}
		return s
	}
	queue := func() *Queue {
		if r.chance(5) {
			return nil
		}
		return w.qs[r.n(len(w.qs))]
	}
	for !a.Finished() && !w.faultsOff {
		op := r.n(21)
		w.logf("cpu%d agent op %d", a.CPU(), op)
		switch op {
		case 0, 1, 20:
			a.Consume(w.qs[r.n(len(w.qs))])
		case 2:
			a.Poll(w.qs[r.n(len(w.qs))], a.Now()+r.dur(sim.Us(20)))
		case 3:
			a.StatusWord(gtid())
		case 4:
			a.AgentStatusWord(cpu())
		case 5, 6, 7:
			g := gtid()
			tx := Txn{Gtid: g, TaskBarrier: barrier(g), AgentBarrier: a.Barrier()}
			if r.chance(30) {
				tx.AgentBarrier = uint32(r.n(16))
			}
			if r.chance(30) {
				tx.RunFlags = RunFlags(r.n(1 << 13))
			}
			if r.chance(50) {
				tx.CommitFlags = CommitFlags(r.n(32))
			}
			_ = a.Open(cpu(), tx)
		case 8, 9:
			a.Commit(mask())
		case 10:
			a.Submit(mask())
		case 11:
			a.SyncCommit(mask())
		case 12:
			a.Abort(cpu())
		case 13:
			a.TxnState(cpu())
		case 14:
			b := a.Barrier()
			if r.chance(30) {
				b = uint32(r.n(16))
			}
			f := RunFlags(r.n(2)) * RunRTLAOnIdle
			w.logf("cpu%d LocalYield(%d, %v) barrier %d", a.CPU(), b, f, a.Barrier())
			_ = a.LocalYield(b, f)
		case 15, 16:
			_ = a.Ping(cpu())
		case 17:
			g := gtid()
			if r.chance(20) {
				g = a.Task().Gtid()
			}
			_, _ = a.Associate(queue(), g, barrier(g))
		case 18:
			a.Run(r.dur(sim.Us(10)))
		case 19:
			sub := r.n(6)
			w.logf("cpu%d agent op 19.%d", a.CPU(), sub)
			switch sub {
			case 0:
				if r.chance(10) {
					panic("hostile agent crashes")
				}
			case 1:
				if q, err := a.CreateQueue(8<<r.n(4), r.n(w.ncpu)); err == nil {
					w.qs = append(w.qs, q)
				}
			case 2:
				a.Discover()
			case 3:
				a.Sleep(r.dur(sim.Us(20)))
			default:
				a.Yield()
			}
		}
	}
	// Faults off: sleep until killed.
	for !a.Finished() {
		_ = a.LocalYield(a.Barrier(), 0)
	}
}

// startRecovery starts a well-behaved agent process on a fresh polling
// queue: its first CPU's agent is global; it discovers every task and
// schedules them FIFO on the other CPUs, re-reading status words every
// 100us so that no task it missed a message for waits forever.
func (w *fuzzWorld) startRecovery() {
	q, err := w.e.CreateQueue(MaxQueueElems)
	if err != nil {
		w.t.Fatal(err)
	}
	q.SetDefault()
	first := w.e.CPUs().First()
	p, err := w.e.StartAgents("recovery", func(a *AgentThread) {
		if a.CPU() != first {
			for !a.Finished() {
				_ = a.LocalYield(a.Barrier(), 0)
			}
			return
		}
		w.recover(a, q, w.e.CPUs().AndNot(SetOf(first)))
	})
	if err != nil {
		w.t.Fatalf("recovery agents: %v", err)
	}
	w.procs = append(w.procs, p)
}

func (w *fuzzWorld) recover(a *AgentThread, q *Queue, cpus CPUSet) {
	seq := map[Gtid]uint32{}
	queued := map[Gtid]bool{}
	var rq []Gtid
	running := map[int]Gtid{}
	push := func(g Gtid) {
		if !queued[g] {
			queued[g] = true
			rq = append(rq, g)
		}
	}
	// rescan associates every task with q and queues the runnable,
	// off-CPU ones not known to run.
	rescan := func() {
		for _, sw := range a.Discover() {
			if _, err := a.Associate(q, sw.Gtid, sw.Barrier); err != nil {
				continue // a message raced: it will arrive, or the next scan
			}
			seq[sw.Gtid] = sw.Barrier
			busy := false
			for _, g := range running {
				busy = busy || g == sw.Gtid
			}
			if sw.Runnable() && !sw.OnCPU() && !busy {
				push(sw.Gtid)
			}
		}
	}
	rescan()
	next := a.Now() + sim.Us(100)
	for !a.Finished() {
		if a.AgentStatusWord(a.CPU()).BoostPrio() {
			// CFS wants this CPU: yield it until it would go idle.
			_ = a.LocalYield(a.Barrier(), RunRTLAOnIdle)
		}
		for c := cpus.First(); c >= 0 && len(rq) > 0; c = cpus.Next(c + 1) {
			if running[c] != 0 {
				continue
			}
			g := rq[0]
			rq = rq[1:]
			delete(queued, g)
			if err := a.Open(c, Txn{Gtid: g, TaskBarrier: seq[g], CommitFlags: CommitAtTxnCommit}); err != nil {
				push(g)
				continue
			}
			a.Commit(SetOf(c))
			switch a.TxnState(c).State {
			case TxnComplete:
				running[c] = g
			case TxnTargetStale, TxnTargetOnCPU, TxnCPUUnavail, TxnAgentStale:
				push(g) // retried after the next message or scan
			}
		}
		until := sim.Never
		if len(rq) > 0 {
			until = a.Now() + sim.Us(10)
		}
		if next < until {
			until = next
		}
		a.Poll(q, until)
		for {
			m, ok := a.Consume(q)
			if !ok {
				break
			}
			if !m.Type.IsTaskMsg() {
				continue
			}
			seq[m.Gtid] = m.Seqnum
			for c, g := range running {
				if g == m.Gtid {
					delete(running, c)
				}
			}
			switch m.Type {
			case MsgTaskNew:
				if m.Runnable {
					push(m.Gtid)
				}
			case MsgTaskWakeup, MsgTaskPreempt, MsgTaskYield:
				push(m.Gtid)
			case MsgTaskAffinityChanged, MsgTaskPriorityChanged:
				// The task was forced off its CPU and stays runnable.
				if sw, ok := a.StatusWord(m.Gtid); ok && sw.Runnable() {
					push(m.Gtid)
				}
			}
		}
		if a.Now() >= next {
			next = a.Now() + sim.Us(100)
			running = map[int]Gtid{}
			for c := cpus.First(); c >= 0; c = cpus.Next(c + 1) {
				if cur := w.k.Current(c); cur != nil && cur.class == ClassGhost {
					running[c] = cur.Gtid()
				}
			}
			rescan()
		}
	}
}
