package search

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/hw"
	"github.com/ghostsim/ghostsim/sim/kernel"
	"github.com/ghostsim/ghostsim/workloads"
)

// Query types, also the latency classes of the result.
const (
	typeA = iota
	typeB
	typeC
	classAll
	numClasses
)

var classNames = [numClasses]string{"A", "B", "C", "all"}

// Workload is one run of the Search benchmark under CFS or a ghOSt policy.
type Workload struct {
	spec Spec

	e     *sim.Engine
	k     *kernel.Kernel
	m     *hw.Machine
	ghost *kernel.Enclave // nil: every Search thread is a CFS thread
	class kernel.Class
	clone kernel.TaskSpec // template of a B worker

	rngA, rngB, rngC, rngRoute, rngThink *rand.Rand
	aMu, aSigma                          float64 // lognormal of A's work, ln µs

	servers    []*server
	nextServer int
	socketPool []*pool // A workers bound to each socket
	anyPool    *pool   // A workers of sub-queries without a home
	cPool      *pool
	gen        sim.HandlerID
	bGroup     int

	freeQ  []*query
	freeSQ []*subquery

	// Measurements: the queries' latencies and counts (classes A, B, C
	// and all, a closed loop), counters from time 0.
	reqs     *workloads.Requests
	subDone  int64
	bSpawned int64
}

// query is one query of a client, done when its last sub-query is.
type query struct {
	typ    int
	client int
	ticket workloads.Ticket
	left   int
}

// subquery is one piece of a query's work, served by one worker.
type subquery struct {
	q    *query
	work sim.Time // A: total work; C: the burst; B: unused
	home int      // A: the socket holding its data, -1 for none
}

// server is a server thread with its queue of arrived queries.
type server struct {
	task  *kernel.Task
	queue sim.Deque[*query]
}

// pool is a set of long-lived workers: those idle (blocked, waiting to be
// handed a sub-query) and the sub-queries waiting for a worker.
type pool struct {
	idle    sim.Deque[*worker]
	pending sim.Deque[*subquery]
}

type worker struct {
	task *kernel.Task
	sq   *subquery
}

// New builds the workload from a validated spec.
func New(spec Spec) *Workload {
	w := &Workload{spec: spec, reqs: workloads.NewRequests(classNames[:classAll], classNames[classAll])}
	w.reqs.SetClients([]int64{int64(spec.A.Clients), int64(spec.B.Clients), int64(spec.C.Clients)})
	return w
}

// Start spawns the threads and starts every client's first query.
func (w *Workload) Start(env *workloads.Env) error {
	w.e, w.k, w.m, w.ghost = env.Engine, env.Kernel, env.Machine, env.Ghost
	w.class = kernel.ClassCFS
	if w.ghost != nil {
		w.class = kernel.ClassGhost
	}
	w.rngA = w.e.Rand("search/a")
	w.rngB = w.e.Rand("search/b")
	w.rngC = w.e.Rand("search/c")
	w.rngRoute = w.e.Rand("search/route")
	w.rngThink = w.e.Rand("search/think")
	// A lognormal with median m and coefficient of variation cv has
	// mu = ln m and sigma² = ln(1 + cv²).
	w.aMu = math.Log(w.spec.A.WorkMedianUs)
	w.aSigma = math.Sqrt(math.Log1p(w.spec.A.WorkCV * w.spec.A.WorkCV))

	all := kernel.RangeSet(0, w.k.NumCPUs())
	if w.ghost != nil {
		all = w.ghost.CPUs()
	}
	spawn := func(name string, group, nice int, aff kernel.CPUSet, home, kb int, mem float64, prog func(*kernel.Thread)) (*kernel.Task, error) {
		return w.k.Spawn(kernel.TaskSpec{
			Name: name, Group: group, Class: w.class, Nice: nice, Affinity: aff, CPU: -1,
			NUMAHome: home, FootprintKB: kb, MemShare: mem, Enclave: w.ghost, Program: prog,
		})
	}

	sg := w.k.NewGroup("server")
	for i := 0; i < w.spec.Servers; i++ {
		s := &server{}
		t, err := spawn(fmt.Sprintf("server/%d", i), sg, 0, all, -1, w.spec.ServerKB, w.spec.ServerMem, func(th *kernel.Thread) { w.serve(th, s) })
		if err != nil {
			return err
		}
		s.task = t
		w.servers = append(w.servers, s)
	}

	ag := w.k.NewGroup("A")
	startPool := func(p *pool, name string, n, home int, aff kernel.CPUSet, group int, kb int, mem float64, body func(*kernel.Thread, *worker)) error {
		for i := 0; i < n; i++ {
			wk := &worker{}
			t, err := spawn(fmt.Sprintf("%s/%d", name, i), group, 0, aff, home, kb, mem, func(th *kernel.Thread) { w.poolLoop(th, p, wk, body) })
			if err != nil {
				return err
			}
			wk.task = t
		}
		return nil
	}
	a := w.spec.A
	for s := 0; s < w.m.NumSockets(); s++ {
		p := &pool{}
		w.socketPool = append(w.socketPool, p)
		// The worker's cpumask is its data's socket, set before it enters
		// ghOSt (sched_setaffinity), so the agent reads it at TASK_NEW.
		aff := socketCPUs(w.m, s).And(all)
		if aff.Empty() {
			return fmt.Errorf("search: no CPU of socket %d is in the enclave (%v) for its A workers", s, all)
		}
		if err := startPool(p, fmt.Sprintf("a%d", s), a.WorkersPerSocket, s, aff, ag, a.FootprintKB, a.MemShare, w.serveA); err != nil {
			return err
		}
	}
	w.anyPool = &pool{}
	if err := startPool(w.anyPool, "a", a.UnboundWorkers, -1, all, ag, a.FootprintKB, a.MemShare, w.serveA); err != nil {
		return err
	}
	w.cPool = &pool{}
	if err := startPool(w.cPool, "c", w.spec.C.Workers, -1, all, w.k.NewGroup("C"), w.spec.C.FootprintKB, w.spec.C.MemShare, w.serveC); err != nil {
		return err
	}
	w.bGroup = w.k.NewGroup("B")
	w.clone = kernel.TaskSpec{
		Group: w.bGroup, Class: w.class, Affinity: all, CPU: -1, NUMAHome: -1,
		FootprintKB: w.spec.B.FootprintKB, MemShare: w.spec.B.MemShare, Enclave: w.ghost,
	}

	// Background threads of the same process (ghOSt threads under a ghOSt
	// policy), and the system's CFS daemons.
	phase := w.e.Rand("search/phase")
	periodic := func(ps PeriodSpec, name string, class kernel.Class, enc *kernel.Enclave) error {
		g := w.k.NewGroup(name)
		period, run := us(ps.PeriodUs), us(ps.RunUs)
		for i := 0; i < ps.Threads; i++ {
			nice := ps.NiceMin
			if ps.Threads > 1 {
				nice += i * (ps.NiceMax - ps.NiceMin) / (ps.Threads - 1)
			}
			first := sim.Time(phase.Int64N(int64(period)))
			_, err := w.k.Spawn(kernel.TaskSpec{
				Name: fmt.Sprintf("%s/%d", name, i), Group: g, Class: class, Nice: nice, Affinity: all, CPU: -1,
				NUMAHome: -1, FootprintKB: ps.FootprintKB, MemShare: ps.MemShare, Enclave: enc,
				Program: func(th *kernel.Thread) { periodicLoop(th, first, period, run) },
			})
			if err != nil {
				return err
			}
		}
		return nil
	}
	if err := periodic(w.spec.GC, "gc", w.class, w.ghost); err != nil {
		return err
	}
	if err := periodic(w.spec.Daemons, "daemons", kernel.ClassCFS, nil); err != nil {
		return err
	}

	// The query generator runs on another machine: an event handler, not a
	// thread of this one. Each client sends its first query at once.
	w.gen = w.e.Register(sim.HandlerFunc(w.issue))
	client := 0
	for typ, n := range [3]int{w.spec.A.Clients, w.spec.B.Clients, w.spec.C.Clients} {
		for i := 0; i < n; i++ {
			w.e.Schedule(0, w.gen, sim.Event{A: int32(client), B: int32(typ)})
			client++
		}
	}
	return nil
}

func us(x float64) sim.Time { return sim.FromNs(x * 1000) }

// socketCPUs returns the CPUs of socket s.
func socketCPUs(m *hw.Machine, s int) kernel.CPUSet {
	var set kernel.CPUSet
	for _, c := range m.CPUsOfSocket(s) {
		set.Add(c)
	}
	return set
}

// issue sends client ev.A's next query of type ev.B: it reaches a server
// thread's queue through the NIC, which wakes the server.
func (w *Workload) issue(now sim.Time, ev sim.Event) {
	q := w.newQuery()
	q.typ, q.client = int(ev.B), int(ev.A)
	q.ticket = w.reqs.Arrive(now, q.typ)
	s := w.servers[w.nextServer]
	w.nextServer = (w.nextServer + 1) % len(w.servers)
	s.queue.PushBack(q)
	w.k.Wake(s.task)
}

// serve is a server thread: parse each query, then hand its sub-queries
// to workers (A, C: a pool's idle worker, woken with a futex wake; B: a
// new thread for each).
func (w *Workload) serve(th *kernel.Thread, s *server) {
	for {
		q, ok := s.queue.PopFront()
		if !ok {
			th.Block()
			continue
		}
		th.Run(us(w.spec.ServerUs))
		switch q.typ {
		case typeA:
			q.left = w.spec.A.Fanout
			for range w.spec.A.Fanout {
				sq := w.newSub(q)
				sq.work = sim.FromNs(math.Exp(w.aMu+w.aSigma*w.rngA.NormFloat64()) * 1000)
				p := w.anyPool
				if w.rngRoute.Float64() < w.spec.A.BoundFraction {
					sq.home = w.rngRoute.IntN(len(w.socketPool))
					p = w.socketPool[sq.home]
				}
				w.hand(th, p, sq)
			}
		case typeB:
			q.left = w.spec.B.Fanout
			for range w.spec.B.Fanout {
				sq := w.newSub(q)
				spec := w.clone
				spec.Name = "b"
				spec.Program = func(th *kernel.Thread) { w.serveB(th, sq) }
				// clone from the server thread: under ghOSt the child is a
				// ghOSt thread of the enclave whose first message is
				// TASK_NEW; under CFS, fork balancing places it.
				if _, err := th.Spawn(spec); err != nil {
					panic(fmt.Sprintf("search: spawning a B worker: %v", err))
				}
				w.bSpawned++
			}
		case typeC:
			q.left = w.spec.C.Fanout
			for range w.spec.C.Fanout {
				sq := w.newSub(q)
				sq.work = us(w.spec.C.BurstMinUs + w.rngC.Float64()*(w.spec.C.BurstMaxUs-w.spec.C.BurstMinUs))
				w.hand(th, w.cPool, sq)
			}
		}
	}
}

// hand gives sq to an idle worker of p, or queues it for the next worker
// that finishes.
func (w *Workload) hand(th *kernel.Thread, p *pool, sq *subquery) {
	if wk, ok := p.idle.PopFront(); ok {
		wk.sq = sq
		th.Wake(wk.task)
		return
	}
	p.pending.PushBack(sq)
}

// poolLoop is a long-lived worker: take the oldest waiting sub-query, or
// mark itself idle and sleep until a server hands it one.
func (w *Workload) poolLoop(th *kernel.Thread, p *pool, wk *worker, body func(*kernel.Thread, *worker)) {
	for {
		if wk.sq == nil {
			if sq, ok := p.pending.PopFront(); ok {
				wk.sq = sq
			} else {
				p.idle.PushBack(wk)
				for wk.sq == nil {
					th.Block()
				}
			}
		}
		body(th, wk)
		sq := wk.sq
		wk.sq = nil
		w.finish(th.Now(), sq)
	}
}

// serveA runs an A sub-query: its work in bursts, each ended by a short
// blocking wait (a lock or a peer's reply) until the work is done. A burst
// is short (uniform in short_burst_min_us..max_us) with probability
// short_burst_fraction, else exponential with mean long_burst_mean_us.
func (w *Workload) serveA(th *kernel.Thread, wk *worker) {
	a := &w.spec.A
	left := wk.sq.work
	for left > 0 {
		var b sim.Time
		if w.rngA.Float64() < a.ShortFraction {
			b = us(a.ShortMinUs + w.rngA.Float64()*(a.ShortMaxUs-a.ShortMinUs))
		} else {
			b = sim.ExpTime(w.rngA, us(a.LongMeanUs))
		}
		b = min(max(b, 1), left)
		th.Run(b)
		left -= b
		if left > 0 && a.WaitMeanUs > 0 {
			th.Sleep(sim.ExpTime(w.rngA, us(a.WaitMeanUs)))
		}
	}
}

// serveC runs a C sub-query: one CPU burst.
func (w *Workload) serveC(th *kernel.Thread, wk *worker) { th.Run(wk.sq.work) }

// serveB is a short-lived B worker: some CPU, one SSD read, some CPU,
// and it exits.
func (w *Workload) serveB(th *kernel.Thread, sq *subquery) {
	b := &w.spec.B
	cpu := func() sim.Time { return us(b.CPUMinUs + w.rngB.Float64()*(b.CPUMaxUs-b.CPUMinUs)) }
	th.Run(cpu())
	// A lognormal read time with the given mean: mu = ln mean − σ²/2.
	read := math.Exp(math.Log(b.SSDMeanUs) - b.SSDSigma*b.SSDSigma/2 + b.SSDSigma*w.rngB.NormFloat64())
	th.IOWait(us(read))
	th.Run(cpu())
	w.finish(th.Now(), sq)
}

// periodicLoop runs run of work every period, starting at first.
func periodicLoop(th *kernel.Thread, first, period, run sim.Time) {
	next := first
	for {
		if now := th.Now(); now < next {
			th.Sleep(next - now)
		}
		th.Run(run)
		next += period
		if now := th.Now(); next < now {
			next = now // an overrun starts the next run at once
		}
	}
}

// finish records a finished sub-query; the query's last one completes it
// and its client sends the next after its think time.
func (w *Workload) finish(now sim.Time, sq *subquery) {
	q := sq.q
	w.subDone++
	w.freeSQ = append(w.freeSQ, sq)
	q.left--
	if q.left > 0 {
		return
	}
	w.reqs.Complete(now, q.ticket)
	next := now
	if w.spec.ThinkUs > 0 {
		next += sim.ExpTime(w.rngThink, us(w.spec.ThinkUs))
	}
	w.e.Schedule(next, w.gen, sim.Event{A: int32(q.client), B: int32(q.typ)})
	w.freeQ = append(w.freeQ, q)
}

func (w *Workload) newQuery() *query {
	if n := len(w.freeQ); n > 0 {
		q := w.freeQ[n-1]
		w.freeQ = w.freeQ[:n-1]
		*q = query{}
		return q
	}
	return &query{}
}

func (w *Workload) newSub(q *query) *subquery {
	var sq *subquery
	if n := len(w.freeSQ); n > 0 {
		sq = w.freeSQ[n-1]
		w.freeSQ = w.freeSQ[:n-1]
	} else {
		sq = &subquery{}
	}
	*sq = subquery{q: q, home: -1}
	return sq
}

// ResetStats starts the measured window: queries sent from now on count.
func (w *Workload) ResetStats(now sim.Time) {
	w.reqs.ResetStats(now)
}

// Report gives latency and throughput per query type, and the query
// accounting (cumulative from time 0).
func (w *Workload) Report(now sim.Time, r *workloads.Report) {
	window := now - w.reqs.Start()
	w.reqs.Report(now, r)
	if window > 0 {
		sec := window.Seconds()
		r.Throughput["requests_per_s"] = float64(w.reqs.CompletedOfWindow(-1)) / sec
		for c := typeA; c <= typeC; c++ {
			r.Throughput[classNames[c]+"_per_s"] = float64(w.reqs.CompletedOfWindow(c)) / sec
		}
	}
	r.Metrics["requests_generated"] = float64(w.reqs.Generated(-1))
	r.Metrics["requests_completed"] = float64(w.reqs.Completed(-1))
	r.Metrics["requests_in_flight"] = float64(w.reqs.InFlight(-1))
	r.Metrics["subqueries_completed"] = float64(w.subDone)
	r.Metrics["b_workers_spawned"] = float64(w.bSpawned)
}
