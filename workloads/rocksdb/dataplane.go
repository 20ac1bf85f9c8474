package rocksdb

import (
	"fmt"

	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/kernel"
)

// This file models the original Shinjuku data plane (NSDI'19; the public
// code's dp/core/dispatcher.c and worker.c) with kernel threads that never
// leave their CPUs: a dispatcher pinned alone on dispatcher_cpu's physical
// core and one worker pinned on each worker CPU, all in the RT class so
// that nothing else ever runs there (the paper's Fig 6c: the batch app gets
// nothing). They spin like the real ones: an idle dispatcher or worker
// polls in SpinWait, which keeps its CPU busy and costs CPU time; shared
// memory is Go state, and a write becomes visible to the reader one
// cache-line transfer later (an engine event that ends the reader's
// SpinWait).
//
// The dispatcher loop follows do_dispatching: for each worker in order,
// handle its FINISHED or PREEMPTED (complete_cycles; a preempted request
// goes to the back of the FIFO), hand an idle worker the FIFO's head
// (dispatch_cycles; the worker sees the descriptor a line transfer later),
// or send a running worker's preemption once its request has run the
// slice since dispatch (ipi_send on the dispatcher, as dispatcher.c:
// unconditionally, once per dispatch); then take the generator's new
// requests into the FIFO (enqueue_cycles each). Each iteration's work is
// charged as one Compute on the dispatcher's CPU.
//
// A worker switches into the request's context (context_cycles), runs the
// GET and spins to the request's CPU time as the thread-pool systems do
// (the public worker counts iterations of an add loop, which an interrupt
// does not advance: the posted interrupt's cost is outside the spin here,
// and only the scheduler tick, about 0.1 % of a CPU, runs on the clock
// the spin reads), and stops at the end of the request or when the posted
// interrupt arrives: slice + ipi_send + ipi_flight after the dispatch
// (the dispatcher polls every few hundred ns, so its lag is left out).
// Taking the interrupt costs ipi_receive plus a context save
// (context_cycles) before the worker reports PREEMPTED. A request that ends
// while the interrupt is in flight is not interrupted, and the stray
// interrupt's cost is left out. The GET (≤ 10 µs beside a busy sibling)
// always fits in the first 30 µs slice, so only the spin is ever cut.
type dataplane struct {
	w       *Workload
	k       *kernel.Kernel
	h       sim.HandlerID
	cpu     int // the dispatcher's
	disp    *kernel.Task
	workers []*dpWorker

	// Requests the generator wrote and the dispatcher does not see yet,
	// with when it will; then those it sees (networker_pointers).
	pending sim.Deque[pendingReq]
	inbox   sim.Deque[*request]
	// tskq: the dispatcher's FIFO of requests and preempted contexts.
	tskq sim.Deque[*request]

	enqueue, dispatch, complete, context sim.Time
	ipiSend, ipiReceive                  sim.Time

	preemptions int64 // in the window
}

type pendingReq struct {
	r  *request
	at sim.Time
}

// Worker responses (worker_responses[i].flag).
const (
	respNone = iota
	respFinished
	respPreempted
)

// dpWorker is one worker: what the dispatcher knows of it, the descriptor
// it was sent, and its response.
type dpWorker struct {
	i    int
	cpu  int
	task *kernel.Task

	// Dispatcher side.
	req          *request // running (nil: idle, as far as the dispatcher knows)
	dispatchedAt sim.Time
	preemptSent  bool
	seen         int // response visible to the dispatcher

	// The descriptor: sent, then visible to the worker.
	sent, assigned *request

	// The response the worker wrote.
	resp int
}

// Engine events of the data plane.
const (
	evInbox  uint16 = iota // the dispatcher sees the generator's writes
	evAssign               // worker A sees its descriptor
	evResp                 // the dispatcher sees worker A's response
)

func newDataplane(w *Workload) (*dataplane, error) {
	m := w.m
	cyc := m.CyclesToTime
	ds := w.spec.Dataplane
	d := &dataplane{
		w: w, k: w.k, cpu: w.spec.DispatcherCPU,
		enqueue: cyc(ds.EnqueueCycles), dispatch: cyc(ds.DispatchCycles),
		complete: cyc(ds.CompleteCycles), context: cyc(ds.ContextCycles),
		ipiSend: m.Costs().IPISend, ipiReceive: m.Costs().IPIReceive,
	}
	d.h = w.e.Register(d)
	gid := w.k.NewGroup("dispatcher")
	t, err := w.k.Spawn(kernel.TaskSpec{
		Name: "shinjuku/dispatcher", Group: gid, Class: kernel.ClassRT,
		Affinity: kernel.SetOf(d.cpu), CPU: d.cpu, NUMAHome: -1, Program: d.dispatcher,
	})
	if err != nil {
		return nil, err
	}
	d.disp = t
	wg := w.k.NewGroup("rocksdb")
	for i, cpu := range w.workers.Slice() {
		wk := &dpWorker{i: i, cpu: cpu}
		t, err := w.k.Spawn(kernel.TaskSpec{
			Name: fmt.Sprintf("shinjuku/worker%d", i), Group: wg, Class: kernel.ClassRT,
			Affinity: kernel.SetOf(cpu), CPU: cpu, NUMAHome: -1,
			Program: func(th *kernel.Thread) { d.worker(th, wk) },
		})
		if err != nil {
			return nil, err
		}
		wk.task = t
		d.workers = append(d.workers, wk)
	}
	return d, nil
}

// submit is the generator's hand-off: a pointer written to the line the
// dispatcher polls.
func (d *dataplane) submit(now sim.Time, r *request) {
	at := now + d.w.m.LineTransfer(d.w.spec.GeneratorCPU, d.cpu, -1)
	d.pending.PushBack(pendingReq{r: r, at: at})
	d.w.e.Schedule(at, d.h, sim.Event{Kind: evInbox})
}

// HandleEvent makes a shared-memory write visible to its reader.
func (d *dataplane) HandleEvent(now sim.Time, ev sim.Event) {
	switch ev.Kind {
	case evInbox:
		for {
			p, ok := d.pending.Front()
			if !ok || p.at > now {
				break
			}
			d.pending.PopFront()
			d.inbox.PushBack(p.r)
		}
		d.k.Wake(d.disp)
	case evAssign:
		wk := d.workers[ev.A]
		wk.assigned, wk.sent = wk.sent, nil
		d.k.Wake(wk.task)
	case evResp:
		wk := d.workers[ev.A]
		wk.seen, wk.resp = wk.resp, respNone
		d.k.Wake(d.disp)
	}
}

// dispatcher is do_dispatching.
func (d *dataplane) dispatcher(th *kernel.Thread) {
	m := d.w.m
	for {
		now := th.Now()
		var busy sim.Time // work of this iteration so far
		for _, wk := range d.workers {
			if wk.seen != respNone {
				if wk.seen == respPreempted {
					d.tskq.PushBack(wk.req)
				}
				wk.req, wk.seen = nil, respNone
				busy += d.complete
			}
			if wk.req == nil {
				if r, ok := d.tskq.PopFront(); ok {
					busy += d.dispatch
					wk.req, wk.sent = r, r
					wk.dispatchedAt, wk.preemptSent = now+busy, false
					d.w.e.Schedule(now+busy+m.LineTransfer(d.cpu, wk.cpu, -1), d.h, sim.Event{Kind: evAssign, A: int32(wk.i)})
				}
				continue
			}
			if d.w.slice > 0 && !wk.preemptSent && now+busy-wk.dispatchedAt >= d.w.slice {
				wk.preemptSent = true
				busy += d.ipiSend
			}
		}
		for {
			r, ok := d.inbox.PopFront()
			if !ok {
				break
			}
			d.tskq.PushBack(r)
			busy += d.enqueue
		}
		if busy > 0 {
			th.Run(busy)
			continue
		}
		// Nothing to do: poll until a write arrives or a slice ends.
		until := sim.Never
		if d.w.slice > 0 {
			for _, wk := range d.workers {
				if wk.req != nil && !wk.preemptSent && wk.dispatchedAt+d.w.slice < until {
					until = wk.dispatchedAt + d.w.slice
				}
			}
		}
		if until == sim.Never {
			th.SpinWait(sim.Never)
		} else if until > now {
			th.SpinWait(until - now)
		}
	}
}

// worker is a Shinjuku worker: run each request it is handed until it
// ends or the preemption interrupt arrives.
func (d *dataplane) worker(th *kernel.Thread, wk *dpWorker) {
	w := d.w
	flight := w.m.IPIFlight(d.cpu, wk.cpu)
	for {
		for wk.assigned == nil {
			th.SpinWait(sim.Never)
		}
		r := wk.assigned
		wk.assigned = nil
		deadline := sim.Never
		if w.slice > 0 {
			deadline = wk.dispatchedAt + w.slice + d.ipiSend + flight
		}
		th.Run(d.context) // into the request's context
		c0 := th.CPUTime()
		if !r.gotten {
			th.Run(w.get)
			r.gotten = true
		}
		r.used += th.CPUTime() - c0
		if rem := r.target - r.used; rem > 0 {
			if left := deadline - th.Now(); left < rem {
				rem = max(left, 0)
			}
			if rem > 0 {
				c1 := th.CPUTime()
				th.Spin(rem)
				r.used += th.CPUTime() - c1
			}
		}
		if r.used >= r.target {
			w.complete(th.Now(), r)
			th.Run(d.context) // back to the worker loop
			d.respond(th.Now(), wk, respFinished)
			continue
		}
		// The posted interrupt: its handler saves the context and
		// returns to the worker loop.
		r.preempted = true
		if r.arrived >= w.start {
			d.preemptions++
		}
		th.Run(d.ipiReceive + d.context)
		d.respond(th.Now(), wk, respPreempted)
	}
}

// respond writes worker wk's response flag; the dispatcher sees it a line
// transfer later.
func (d *dataplane) respond(now sim.Time, wk *dpWorker, resp int) {
	wk.resp = resp
	at := now + d.w.m.LineTransfer(wk.cpu, d.cpu, -1)
	d.w.e.Schedule(at, d.h, sim.Event{Kind: evResp, A: int32(wk.i)})
}
