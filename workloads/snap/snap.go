package snap

import (
	"fmt"
	"math/rand/v2"

	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/kernel"
	"github.com/ghostsim/ghostsim/workloads"
)

// Latency classes, by message size.
const (
	class64B = iota
	class64kB
)

var classNames = []string{"64B", "64kB"}

// Event kinds of the workload's handler.
const (
	evArrive uint16 = iota // stream A's next arrival event
	evCheck                // the engine's queue-age check
	evNotify               // a spinning worker sees new work (a memory write)
)

// item is one unit of engine work: a message's receive (rx) or its
// reply's send (tx).
type item struct {
	ticket workloads.Ticket
	stream int32
	tx     bool
	at     sim.Time // when it was queued
}

// worker states.
const (
	busy = iota
	spinning
	sleeping
)

type worker struct {
	task  *kernel.Task
	state int
}

type server struct {
	task  *kernel.Task
	queue sim.Deque[workloads.Ticket]
}

// Workload is the Snap workload of the ghOSt paper's §4.3 (Fig 7).
type Workload struct {
	spec Spec
	e    *sim.Engine
	k    *kernel.Kernel
	h    sim.HandlerID
	reqs *workloads.Requests

	queue   sim.Deque[item]
	workers []*worker
	servers []*server
	check   sim.Timer
	notify  bool // an evNotify is pending

	arrivals, bursts []*rand.Rand // per stream
	meanGap          []sim.Time   // per stream: mean gap between arrival events

	extraWakes, engineItems int64
	throttles0              int64 // the kernel's MicroQuanta throttles at the window's start
}

// New builds the workload from a validated spec.
func New(spec Spec) *Workload {
	return &Workload{spec: spec, reqs: workloads.NewRequests(classNames, "all")}
}

func us(v float64) sim.Time { return sim.FromNs(v * 1000) }

func (w *Workload) streams() int { return w.spec.Streams64B + w.spec.Streams64kB }

func (w *Workload) classOf(stream int) int {
	if stream < w.spec.Streams64B {
		return class64B
	}
	return class64kB
}

// engineCost is the engine CPU of one direction of a stream's message.
func (w *Workload) engineCost(stream int) sim.Time {
	if w.classOf(stream) == class64B {
		return us(w.spec.Cost64BUs)
	}
	return us(w.spec.Cost64kBUs + float64(w.spec.Packets64kB)*w.spec.PacketUs)
}

func (w *Workload) serverCost(stream int) sim.Time {
	if w.classOf(stream) == class64B {
		return us(w.spec.Server64BUs)
	}
	return us(w.spec.Server64kBUs)
}

// Start spawns the servers, daemons, Snap workers and (loaded) the
// antagonists, and starts the streams.
func (w *Workload) Start(env *workloads.Env) error {
	w.e, w.k = env.Engine, env.Kernel
	k := w.k
	s := &w.spec
	aff, err := kernel.ParseCPUList(s.CPUs, k.NumCPUs())
	if err != nil {
		return err
	}
	ghost := env.Ghost != nil
	if ghost && aff.And(env.Ghost.CPUs()) != aff {
		return fmt.Errorf("workload.snap.cpus %q must lie in the enclave (%v): set [enclave] cpus to the same list", s.CPUs, env.Ghost.CPUs())
	}
	w.h = w.e.Register(w)
	gServers := k.NewGroup("servers")
	for i := range w.streams() {
		sv := &server{}
		sv.task, err = k.Spawn(kernel.TaskSpec{Name: fmt.Sprintf("server/%d", i), Group: gServers, Class: kernel.ClassCFS,
			Affinity: aff, NUMAHome: -1, CPU: -1, Program: func(th *kernel.Thread) { w.serve(th, sv, i) }})
		if err != nil {
			return err
		}
		w.servers = append(w.servers, sv)
	}
	gDaemons := k.NewGroup("daemons")
	rd := w.e.Rand("snap/daemons")
	for i := range s.Daemons {
		r := rand.New(rand.NewPCG(rd.Uint64(), uint64(i)))
		if _, err := k.Spawn(kernel.TaskSpec{Name: fmt.Sprintf("daemon/%d", i), Group: gDaemons, Class: kernel.ClassCFS,
			Affinity: aff, NUMAHome: -1, CPU: -1, Program: func(th *kernel.Thread) { w.daemon(th, r) }}); err != nil {
			return err
		}
	}
	gWorkers := k.NewGroup("snap")
	wclass := kernel.ClassMicroQuanta
	var enc *kernel.Enclave
	if ghost {
		wclass, enc = kernel.ClassGhost, env.Ghost
	}
	for i := range s.Workers {
		wk := &worker{state: busy}
		poller := i == 0
		wk.task, err = k.Spawn(kernel.TaskSpec{Name: fmt.Sprintf("snap/%d", i), Group: gWorkers, Class: wclass, Enclave: enc,
			Nice: s.WorkerNice, Affinity: aff, NUMAHome: -1, CPU: -1, Program: func(th *kernel.Thread) { w.work(th, wk, poller) }})
		if err != nil {
			return err
		}
		w.workers = append(w.workers, wk)
	}
	if s.Mode == "loaded" {
		gAnt := k.NewGroup("antagonists")
		aclass := kernel.ClassCFS
		if ghost {
			aclass = kernel.ClassGhost
		}
		for i := range s.Antagonists {
			if _, err := k.Spawn(kernel.TaskSpec{Name: fmt.Sprintf("antagonist/%d", i), Group: gAnt, Class: aclass, Enclave: enc,
				Nice: s.AntagonistNice, Affinity: aff, NUMAHome: -1, CPU: -1, Program: hog}); err != nil {
				return err
			}
		}
	}
	meanBurst := 1 + s.BurstFraction*(float64(s.BurstMin+s.BurstMax)/2-1)
	for i := range w.streams() {
		w.arrivals = append(w.arrivals, w.e.Rand(fmt.Sprintf("snap/arrivals/%d", i)))
		w.bursts = append(w.bursts, w.e.Rand(fmt.Sprintf("snap/bursts/%d", i)))
		w.meanGap = append(w.meanGap, sim.Time(float64(sim.Second)*meanBurst/s.RatePerS))
		w.e.After(sim.ExpTime(w.arrivals[i], w.meanGap[i]), w.h, sim.Event{Kind: evArrive, A: int32(i)})
	}
	return nil
}

func hog(th *kernel.Thread) {
	for {
		th.Run(sim.Millisecond)
	}
}

// HandleEvent runs the NIC (arrivals), the queue-age check and the
// notification of spinning workers.
func (w *Workload) HandleEvent(now sim.Time, ev sim.Event) {
	switch ev.Kind {
	case evArrive:
		i := int(ev.A)
		n := 1
		if r := w.bursts[i]; r.Float64() < w.spec.BurstFraction {
			n = w.spec.BurstMin + r.IntN(w.spec.BurstMax-w.spec.BurstMin+1)
		}
		for range n {
			t := w.reqs.Arrive(now, w.classOf(i))
			w.enqueue(item{ticket: t, stream: int32(i)})
		}
		w.e.After(sim.ExpTime(w.arrivals[i], w.meanGap[i]), w.h, ev)
	case evNotify:
		w.notify = false
		for _, wk := range w.workers {
			if wk.state == spinning {
				w.k.Wake(wk.task)
				break
			}
		}
	case evCheck:
		if w.check.Fired(ev) {
			w.checkAge(now)
		}
	}
}

// enqueue queues engine work and lets a spinning worker see it (a memory
// write: an event, not a system call); the age check is armed for it.
func (w *Workload) enqueue(it item) {
	now := w.e.Now()
	it.at = now
	w.queue.PushBack(it)
	if !w.notify {
		w.notify = true
		w.e.After(0, w.h, sim.Event{Kind: evNotify})
	}
	if _, armed := w.check.Armed(); !armed {
		w.check.Arm(w.e, now+us(w.spec.WakeAfterUs), w.h, sim.Event{Kind: evCheck})
	}
}

// checkAge wakes a sleeping worker when the oldest queued item has waited
// wake_after_us (Snap's spreading mode wakes another engine thread when
// work queues up), and re-arms for the oldest item.
func (w *Workload) checkAge(now sim.Time) {
	front, ok := w.queue.Front()
	if !ok {
		return
	}
	after := us(w.spec.WakeAfterUs)
	if now-front.at >= after {
		for _, wk := range w.workers {
			if wk.state == sleeping {
				wk.state = busy
				w.extraWakes++
				w.k.Wake(wk.task)
				break
			}
		}
		w.check.Arm(w.e, now+after, w.h, sim.Event{Kind: evCheck})
		return
	}
	w.check.Arm(w.e, front.at+after, w.h, sim.Event{Kind: evCheck})
}

// work is a Snap engine worker: take queued items while there are any;
// then the poller spins until new work, an extra worker spins for
// idle_sleep_us and sleeps if none came.
func (w *Workload) work(th *kernel.Thread, wk *worker, poller bool) {
	if !poller {
		wk.state = sleeping
		for wk.state == sleeping {
			th.Block()
		}
	}
	for {
		for {
			it, ok := w.queue.PopFront()
			if !ok {
				break
			}
			wk.state = busy
			th.Run(w.engineCost(int(it.stream)))
			w.engineItems++
			if it.tx {
				w.reqs.Complete(th.Now(), it.ticket)
				continue
			}
			sv := w.servers[it.stream]
			sv.queue.PushBack(it.ticket)
			th.Wake(sv.task)
		}
		wk.state = spinning
		if poller {
			th.SpinWait(sim.Never)
			continue
		}
		th.SpinWait(us(w.spec.IdleSleepUs))
		if w.queue.Len() == 0 {
			wk.state = sleeping
			for wk.state == sleeping {
				th.Block()
			}
		}
	}
}

// serve is a CFS server thread: answer each message of its stream, and
// hand the reply to Snap.
func (w *Workload) serve(th *kernel.Thread, sv *server, stream int) {
	for {
		t, ok := sv.queue.PopFront()
		if !ok {
			th.Block()
			continue
		}
		th.Run(w.serverCost(stream))
		w.enqueue(item{ticket: t, stream: int32(stream), tx: true})
	}
}

// daemon is a periodic CFS daemon: sleep a random period, run a random
// while.
func (w *Workload) daemon(th *kernel.Thread, r *rand.Rand) {
	s := &w.spec
	for {
		th.Sleep(us(s.DaemonPeriodMinUs + r.Float64()*(s.DaemonPeriodMaxUs-s.DaemonPeriodMinUs)))
		th.Run(us(s.DaemonRunMinUs + r.Float64()*(s.DaemonRunMaxUs-s.DaemonRunMinUs)))
	}
}

// ResetStats starts the measured window: messages arriving from now on
// count.
func (w *Workload) ResetStats(now sim.Time) {
	w.reqs.ResetStats(now)
	w.extraWakes, w.engineItems = 0, 0
	w.throttles0 = w.k.Stats().MQThrottles
}

// Report gives round-trip latency per message size (64B, 64kB, all),
// throughput, and the engine's counters.
func (w *Workload) Report(now sim.Time, r *workloads.Report) {
	window := now - w.reqs.Start()
	w.reqs.Report(now, r)
	if window > 0 {
		sec := window.Seconds()
		r.Throughput["requests_per_s"] = float64(w.reqs.CompletedOfWindow(-1)) / sec
		for c, n := range classNames {
			r.Throughput[n+"_per_s"] = float64(w.reqs.CompletedOfWindow(c)) / sec
		}
	}
	r.Metrics["requests_generated"] = float64(w.reqs.Generated(-1))
	r.Metrics["requests_completed"] = float64(w.reqs.Completed(-1))
	r.Metrics["requests_in_flight"] = float64(w.reqs.InFlight(-1))
	r.Metrics["snap.extra_worker_wakes"] = float64(w.extraWakes)
	r.Metrics["snap.engine_items"] = float64(w.engineItems)
	r.Metrics["snap.mq_throttles"] = float64(w.k.Stats().MQThrottles - w.throttles0)
}
