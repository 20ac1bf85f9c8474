package rocksdb

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/hw"
	"github.com/ghostsim/ghostsim/sim/kernel"
	"github.com/ghostsim/ghostsim/workloads"
)

// Workload is one run of one system.
type Workload struct {
	spec      Spec
	slice     sim.Time // preemption slice (ghOSt policy and data plane)
	globalCPU int      // policy.global_cpu (-1: the enclave's first)

	sys     system
	e       *sim.Engine
	k       *kernel.Kernel
	m       *hw.Machine
	workers kernel.CPUSet

	arrivals *rand.Rand
	service  *rand.Rand
	meanGap  float64  // ps
	get      sim.Time // the GET's work
	short    sim.Time // CPU time of a short request
	long     sim.Time // CPU time of a long request

	// The thread pool (ghOSt and CFS systems): idle workers and requests
	// waiting for one, both FIFO; the generator and the handler that shows
	// it a worker's idle mark.
	idle   sim.Deque[*worker]
	queue  sim.Deque[*request]
	gen    *kernel.Task
	notice sim.HandlerID

	dp *dataplane // shinjuku-dataplane only

	batchGroup int // -1 without a batch app
	spare      []*request

	// Measurements: the requests' latencies and counts (classes short
	// and long, and all), the window's figures from ResetStats.
	reqs        *workloads.Requests
	start       sim.Time
	preempted   int64 // requests of the window that lost their CPU at least once
	batchAtStrt sim.Time
}

// Latency classes, and "all".
const (
	classShort = iota
	classLong
)

var classNames = []string{"short", "long"}

// request is one RocksDB request.
type request struct {
	ticket  workloads.Ticket
	arrived sim.Time
	target  sim.Time // CPU time to serve it
	long    bool
	// Data plane: CPU time served so far, whether the GET is done,
	// whether it was ever preempted.
	used      sim.Time
	gotten    bool
	preempted bool
}

// worker is a pool thread of the ghOSt and CFS systems.
type worker struct {
	task *kernel.Task
	req  *request
}

// New builds the workload from a validated spec; sliceUs and globalCPU
// are [policy] time_slice_us and global_cpu.
func New(spec Spec, sliceUs float64, globalCPU int) *Workload {
	return &Workload{spec: spec, slice: sim.FromNs(sliceUs * 1000), globalCPU: globalCPU, batchGroup: -1,
		reqs: workloads.NewRequests(classNames, "all")}
}

// Start builds the chosen system (env.Policy) and its load generator.
func (w *Workload) Start(env *workloads.Env) error {
	sys, err := findSystem(env.Policy)
	if err != nil && env.Ghost != nil {
		// Any other ghOSt policy the experiment launched runs the thread
		// pool as ghost-shinjuku's does (a user's policy on Fig 6).
		sys, err = system{name: env.Policy, ghost: env.Policy, kind: kindGhost}, nil
	}
	if err != nil {
		return err
	}
	w.sys, w.e, w.k, w.m = sys, env.Engine, env.Kernel, env.Machine
	w.workers, err = kernel.ParseCPUList(w.spec.WorkerCPUs, w.k.NumCPUs())
	if err != nil {
		return err
	}
	us := func(x float64) sim.Time { return sim.FromNs(x * 1000) }
	w.get = us(w.spec.GetUs)
	w.short = us(w.spec.GetUs + w.spec.ShortUs)
	w.long = us(w.spec.GetUs + w.spec.LongUs)
	w.arrivals = w.e.Rand("rocksdb/arrivals")
	w.service = w.e.Rand("rocksdb/service")
	w.meanGap = float64(sim.Second) / w.spec.LoadRPS

	switch sys.kind {
	case kindGhost:
		err = w.startPool(env, kernel.ClassGhost)
	case kindCFS:
		err = w.startPool(env, kernel.ClassCFS)
	case kindDataplane:
		w.dp, err = newDataplane(w)
	}
	if err != nil {
		return err
	}
	if sys.batch || w.spec.Batch {
		if err := w.startBatch(env); err != nil {
			return err
		}
	}
	w.gen, err = w.k.Spawn(kernel.TaskSpec{
		Name: "loadgen", Group: w.k.NewGroup("loadgen"), Class: kernel.ClassCFS,
		Affinity: kernel.SetOf(w.spec.GeneratorCPU), CPU: w.spec.GeneratorCPU, NUMAHome: -1,
		Program: w.generate,
	})
	w.notice = w.e.Register(sim.HandlerFunc(func(sim.Time, sim.Event) { w.k.Wake(w.gen) }))
	return err
}

// startPool spawns the thread pool of the ghOSt and CFS systems.
func (w *Workload) startPool(env *workloads.Env, class kernel.Class) error {
	aff := w.workers
	if class == kernel.ClassGhost {
		if env.Ghost == nil {
			return fmt.Errorf("system %s needs its ghOSt policy running", w.sys.name)
		}
		global := w.globalCPU
		if global < 0 || !env.Ghost.CPUs().Has(global) {
			global = env.Ghost.CPUs().First()
		}
		want := w.workers
		want.Add(global)
		if env.Ghost.CPUs() != want {
			return fmt.Errorf("enclave.cpus is %v: for %s it must be workload.rocksdb.worker_cpus (%v) plus the global agent's CPU (policy.global_cpu, %d)",
				env.Ghost.CPUs(), w.sys.name, w.workers, global)
		}
		aff = env.Ghost.CPUs()
	}
	gid := w.k.NewGroup("rocksdb")
	for i := 0; i < w.spec.Workers; i++ {
		wk := &worker{}
		t, err := w.k.Spawn(kernel.TaskSpec{
			Name: fmt.Sprintf("rocksdb/%d", i), Group: gid, Class: class, Nice: w.sys.workerNice,
			Affinity: aff, CPU: -1, NUMAHome: -1, Enclave: env.Ghost,
			Program: func(th *kernel.Thread) { w.work(th, wk) },
		})
		if err != nil {
			return err
		}
		wk.task = t
	}
	return nil
}

// startBatch spawns the batch app: one always-runnable thread per worker
// CPU, at nice 19; ghOSt tasks under ghOSt, CFS otherwise.
func (w *Workload) startBatch(env *workloads.Env) error {
	w.batchGroup = w.k.NewGroup("batch")
	class, enc := kernel.ClassCFS, (*kernel.Enclave)(nil)
	if w.sys.kind == kindGhost {
		class, enc = kernel.ClassGhost, env.Ghost
	}
	for i, cpu := range w.workers.Slice() {
		_, err := w.k.Spawn(kernel.TaskSpec{
			Name: fmt.Sprintf("batch/%d", i), Group: w.batchGroup, Class: class, Nice: 19,
			Affinity: w.workers, CPU: cpu, NUMAHome: -1, Enclave: enc,
			Program: func(th *kernel.Thread) {
				for {
					th.Run(sim.Ms(1))
				}
			},
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// generate is the load generator: it busy-waits for each Poisson arrival
// and hands the request over. As ghost-userspace's LoadGenerator, it
// gives requests only to idle workers: a request that finds none waits,
// in arrival order, until the generator sees a worker's idle mark.
func (w *Workload) generate(th *kernel.Thread) {
	next := w.gap()
	for {
		for w.queue.Len() > 0 && w.idle.Len() > 0 {
			r, _ := w.queue.PopFront()
			wk, _ := w.idle.PopFront()
			wk.req = r
			th.Wake(wk.task) // futex wake (a TASK_WAKEUP under ghOSt)
		}
		if now := th.Now(); now < next {
			th.SpinWait(next - now)
			continue
		}
		r := w.newRequest(next)
		next += w.gap()
		if w.spec.GeneratorCycles > 0 {
			th.Compute(w.spec.GeneratorCycles)
		}
		if w.dp != nil {
			w.dp.submit(th.Now(), r)
			continue
		}
		w.queue.PushBack(r) // handed to an idle worker at the top of the loop
	}
}

func (w *Workload) gap() sim.Time {
	return sim.Time(math.Round(w.arrivals.ExpFloat64() * w.meanGap))
}

func (w *Workload) newRequest(at sim.Time) *request {
	var r *request
	if n := len(w.spare); n > 0 {
		r, w.spare = w.spare[n-1], w.spare[:n-1]
		*r = request{}
	} else {
		r = &request{}
	}
	r.arrived = at
	r.long = w.service.Float64() < w.spec.PLong
	r.target = w.short
	class := classShort
	if r.long {
		r.target, class = w.long, classLong
	}
	r.ticket = w.reqs.Arrive(at, class)
	return r
}

// work is a pool thread, as ghost-userspace's Worker with batch 1: mark
// itself idle, sleep until the generator hands it a request (futex wait
// and wake), serve it, and again. With requests waiting, the generator
// sees the idle mark once its cache line reaches the generator's CPU.
func (w *Workload) work(th *kernel.Thread, wk *worker) {
	for {
		w.idle.PushBack(wk)
		if w.queue.Len() > 0 {
			at := th.Now() + w.m.LineTransfer(th.Task().CPU(), w.spec.GeneratorCPU, -1)
			w.e.Schedule(at, w.notice, sim.Event{})
		}
		for wk.req == nil {
			th.Block()
		}
		r := wk.req
		t0, c0 := th.Now(), th.CPUTime()
		th.Run(w.get)
		if used := th.CPUTime() - c0; used < r.target {
			th.Spin(r.target - used)
		}
		// Time off the CPU is the only gap between wall and CPU time.
		r.preempted = th.Now()-t0 > th.CPUTime()-c0
		wk.req = nil
		w.complete(th.Now(), r)
	}
}

// complete records a finished request and recycles it.
func (w *Workload) complete(now sim.Time, r *request) {
	if _, counted := w.reqs.Complete(now, r.ticket); counted && r.preempted {
		w.preempted++
	}
	w.spare = append(w.spare, r)
}

// ResetStats starts the measured window: latencies and throughput count
// requests that arrive from now on.
func (w *Workload) ResetStats(now sim.Time) {
	w.start = now
	w.reqs.ResetStats(now)
	w.preempted = 0
	if w.batchGroup >= 0 {
		w.batchAtStrt = w.k.GroupCPUTime(w.batchGroup)
	}
	if w.dp != nil {
		w.dp.preemptions = 0
	}
}

// Report gives latency per class, throughput, the request accounting
// (cumulative from time 0: generated = completed + in flight), how many
// requests lost their CPU while being served, and the batch app's CPUs.
func (w *Workload) Report(now sim.Time, r *workloads.Report) {
	window := now - w.start
	w.reqs.Report(now, r)
	r.Metrics["requests_generated"] = float64(w.reqs.Generated(-1))
	r.Metrics["requests_completed"] = float64(w.reqs.Completed(-1))
	r.Metrics["requests_in_flight"] = float64(w.reqs.InFlight(-1))
	r.Metrics["requests_preempted"] = float64(w.preempted)
	r.Metrics["offered_rps"] = w.spec.LoadRPS
	if window > 0 {
		r.Throughput["requests_per_s"] = float64(w.reqs.CompletedOfWindow(-1)) / window.Seconds()
		if w.batchGroup >= 0 {
			r.Metrics["batch.cpus"] = float64(w.k.GroupCPUTime(w.batchGroup)-w.batchAtStrt) / float64(window)
		}
	}
	if w.dp != nil {
		r.Metrics["dataplane.preemptions"] = float64(w.dp.preemptions)
	}
}
