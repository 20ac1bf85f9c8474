package synthetic

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/kernel"
	"github.com/ghostsim/ghostsim/workloads"
)

// Workload runs the configured groups.
type Workload struct {
	groups []*group
	e      *sim.Engine
	k      *kernel.Kernel
	// reqs is the latency bookkeeping of the requests groups, one class
	// per group (its index in reqGroups) and "all".
	reqs      *workloads.Requests
	reqGroups []*group
}

// group is one thread group at run time.
type group struct {
	spec  GroupSpec
	index int
	w     *Workload
	gen   sim.HandlerID

	arrivals *rand.Rand
	service  func() sim.Time
	meanGap  float64 // ps

	// Requests waiting for a thread (FIFO) and threads waiting for one.
	queue sim.Deque[request]
	free  sim.Deque[*worker]

	class    int   // requests: the group's class in w.reqs
	periods  int64 // periodic runs completed in the window
	overruns int64
}

type request struct {
	ticket workloads.Ticket
	work   sim.Time
}

type worker struct {
	task *kernel.Task
	req  request
	has  bool
}

// New builds the workload from validated group specs.
func New(groups []GroupSpec) *Workload {
	w := &Workload{}
	var names []string
	for i, g := range groups {
		gr := &group{spec: g, index: i, w: w, class: -1}
		if g.Program == "requests" {
			gr.class = len(w.reqGroups)
			w.reqGroups = append(w.reqGroups, gr)
			names = append(names, g.Name)
		}
		w.groups = append(w.groups, gr)
	}
	w.reqs = workloads.NewRequests(names, "all")
	return w
}

// Start spawns every group's threads and starts the request generators.
func (w *Workload) Start(env *workloads.Env) error {
	w.e, w.k = env.Engine, env.Kernel
	for _, g := range w.groups {
		if err := g.start(env); err != nil {
			return fmt.Errorf("group %q: %w", g.spec.Name, err)
		}
	}
	return nil
}

func (g *group) start(env *workloads.Env) error {
	k := env.Kernel
	aff, err := kernel.ParseCPUList(g.spec.CPUs, k.NumCPUs())
	if err != nil {
		return err
	}
	class, _ := kernel.ParseClass(g.spec.class())
	var enclave *kernel.Enclave
	if class == kernel.ClassGhost {
		enclave = env.Ghost
		if g.spec.Enclave != "" {
			if enclave = env.Enclaves[g.spec.Enclave]; enclave == nil {
				return fmt.Errorf("no ghOSt enclave named %q runs (an [[enclave]] with that name and a policy)", g.spec.Enclave)
			}
		}
		if enclave == nil {
			return fmt.Errorf("class \"ghost\" needs a ghOSt policy: give -policy (see ghostsim -list)")
		}
		aff = aff.And(enclave.CPUs())
		if g.spec.CPUs == "" {
			aff = enclave.CPUs()
		}
		if aff.Empty() {
			return fmt.Errorf("cpus %q has no CPU of the enclave (%v)", g.spec.CPUs, enclave.CPUs())
		}
	}
	gid := k.NewGroup(g.spec.Name)
	prog, err := g.program()
	if err != nil {
		return err
	}
	for i := 0; i < g.spec.Threads; i++ {
		wk := &worker{}
		t, err := k.Spawn(kernel.TaskSpec{
			Name:        fmt.Sprintf("%s/%d", g.spec.Name, i),
			Group:       gid,
			Class:       class,
			Nice:        g.spec.Nice,
			Affinity:    aff,
			NUMAHome:    g.spec.numaHome(),
			FootprintKB: g.spec.FootprintKB,
			MemShare:    g.spec.MemShare,
			Enclave:     enclave,
			CPU:         -1,
			Program:     func(th *kernel.Thread) { prog(th, wk) },
			MQRuntime:   sim.FromNs(g.spec.MQRuntimeUs * 1000),
			MQPeriod:    sim.FromNs(g.spec.MQPeriodUs * 1000),
		})
		if err != nil {
			return err
		}
		wk.task = t
	}
	if g.spec.Program == "requests" {
		g.setupRequests(env.Engine)
	}
	return nil
}

// program returns the thread body for the group's program.
func (g *group) program() (func(*kernel.Thread, *worker), error) {
	switch g.spec.Program {
	case "hog":
		return func(th *kernel.Thread, _ *worker) {
			for {
				th.Run(sim.Ms(1))
			}
		}, nil
	case "yield":
		run := sim.FromNs(g.spec.RunUs * 1000)
		return func(th *kernel.Thread, _ *worker) {
			for {
				if run > 0 {
					th.Run(run)
				}
				th.Yield()
			}
		}, nil
	case "periodic":
		period := sim.FromNs(g.spec.PeriodUs * 1000)
		run := sim.FromNs(g.spec.RunUs * 1000)
		return func(th *kernel.Thread, _ *worker) {
			next := th.Now()
			for {
				th.Run(run)
				g.periods++
				next += period
				if now := th.Now(); now < next {
					th.Sleep(next - now)
				} else {
					g.overruns++
					next = now
				}
			}
		}, nil
	case "requests":
		return func(th *kernel.Thread, wk *worker) {
			for {
				if !wk.has {
					// Idle: offer this thread to the generator and wait.
					g.free.PushBack(wk)
					for !wk.has {
						th.Block()
					}
				}
				th.Run(wk.req.work)
				g.complete(th.Now(), wk.req)
				wk.has = false
				if r, ok := g.queue.PopFront(); ok {
					wk.req, wk.has = r, true
				}
			}
		}, nil
	}
	return nil, fmt.Errorf("unknown program %q", g.spec.Program)
}

// setupRequests prepares the generator: arrival and service streams of
// their own, named after the group, and the first arrival.
func (g *group) setupRequests(e *sim.Engine) {
	name := "synthetic/" + g.spec.Name
	g.arrivals = e.Rand(name + "/arrivals")
	g.meanGap = float64(sim.Second) / g.spec.Arrival.RatePerS
	g.service = serviceSampler(g.spec.Service, e.Rand(name+"/service"))
	g.gen = e.Register(g)
	e.After(g.nextGap(), g.gen, sim.Event{})
}

func (g *group) nextGap() sim.Time {
	if g.spec.Arrival.Dist == "constant" {
		return sim.Time(math.Round(g.meanGap))
	}
	return sim.Time(math.Round(g.arrivals.ExpFloat64() * g.meanGap))
}

// serviceSampler returns a sampler of service times (work at full speed).
func serviceSampler(d DistSpec, r *rand.Rand) func() sim.Time {
	us := func(x float64) sim.Time { return sim.FromNs(x * 1000) }
	switch d.Dist {
	case "constant":
		v := us(d.MeanUs)
		return func() sim.Time { return v }
	case "bimodal":
		short, long := us(d.ShortUs), us(d.LongUs)
		return func() sim.Time {
			if r.Float64() < d.PLong {
				return long
			}
			return short
		}
	case "lognormal":
		// Mean of a lognormal is exp(mu + sigma²/2): pick mu for mean_us.
		ln := distuv.LogNormal{Mu: math.Log(d.MeanUs) - d.Sigma*d.Sigma/2, Sigma: d.Sigma, Src: r}
		return func() sim.Time { return us(ln.Rand()) }
	default: // exponential
		ex := distuv.Exponential{Rate: 1 / d.MeanUs, Src: r}
		return func() sim.Time { return us(ex.Rand()) }
	}
}

// HandleEvent is an arrival: hand the request to a free thread, or queue
// it, and schedule the next arrival.
func (g *group) HandleEvent(now sim.Time, _ sim.Event) {
	r := request{ticket: g.w.reqs.Arrive(now, g.class), work: g.service()}
	if wk, ok := g.free.PopFront(); ok {
		wk.req, wk.has = r, true
		g.w.k.Wake(wk.task)
	} else {
		g.queue.PushBack(r)
	}
	g.w.e.After(g.nextGap(), g.gen, sim.Event{})
}

func (g *group) complete(now sim.Time, r request) {
	g.w.reqs.Complete(now, r.ticket)
}

// ResetStats starts the measured window: throughput counts requests
// completed from now on, latencies those that arrive from now on
// (workloads.Requests).
func (w *Workload) ResetStats(now sim.Time) {
	w.reqs.ResetStats(now)
	for _, g := range w.groups {
		g.periods, g.overruns = 0, 0
	}
}

// Report gives latency per group and overall, requests per second, and
// the request accounting (cumulative from time 0, so that generated =
// completed + in flight holds exactly).
func (w *Workload) Report(now sim.Time, r *workloads.Report) {
	window := (now - w.reqs.Start()).Seconds()
	for _, g := range w.groups {
		switch g.spec.Program {
		case "requests":
			r.Metrics[g.spec.Name+".requests_generated"] = float64(w.reqs.Generated(g.class))
			r.Metrics[g.spec.Name+".requests_completed"] = float64(w.reqs.Completed(g.class))
			if window > 0 {
				r.Throughput[g.spec.Name+".requests_per_s"] = float64(w.reqs.CompletedInWindow(g.class)) / window
			}
		case "periodic":
			r.Metrics[g.spec.Name+".periods"] = float64(g.periods)
			r.Metrics[g.spec.Name+".overruns"] = float64(g.overruns)
		}
	}
	if len(w.reqGroups) == 0 {
		return
	}
	w.reqs.Report(now, r)
	r.Metrics["requests_generated"] = float64(w.reqs.Generated(-1))
	r.Metrics["requests_completed"] = float64(w.reqs.Completed(-1))
	r.Metrics["requests_in_flight"] = float64(w.reqs.InFlight(-1))
	if window > 0 {
		r.Throughput["requests_per_s"] = float64(w.reqs.CompletedInWindow(-1)) / window
	}
}
