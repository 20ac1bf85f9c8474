package kernel

import (
	"fmt"

	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/hw"
)

// Event kinds of the kernel's handler. A is a CPU id unless noted.
const (
	evResched    uint16 = iota // run schedule() on CPU A if it still needs it
	evSwitchDone               // CPU A finished switching to its current task
	evOpDone                   // the current task of CPU A finished its operation's work
	evIRQDone                  // CPU A returns from interrupt handling
	evTick                     // scheduler tick on CPU A
	evIPI                      // an IPI of kind B arrives at CPU A
	evSleepDone                // task A's sleep ends
	evIdleWake                 // idle CPU A notices need_resched (monitor/mwait wakeup)
	evSpinEnd                  // spinning agent task A notices a message or its poll limit
	evIODone                   // task A's I/O (IOWait) completes
	evMQBudget                 // the running MicroQuanta task of CPU A used its budget
	evMQRefill                 // MicroQuanta task A's blackout ends
	evDestroy                  // the workqueue tears enclave A down (marked dying)
)

// IPI kinds (Event.B of evIPI).
const (
	ipiResched int32 = iota // smp_send_reschedule
)

// Kernel is the model of the Linux kernel with the ghOSt class on one
// machine: tasks, per-CPU run queues, the class walk, context switches,
// IPIs and ticks. It runs inside an engine and is driven by its events;
// workloads use it through Spawn, Wake and the Thread API.
type Kernel struct {
	eng   *sim.Engine
	m     *hw.Machine
	costs *hw.Costs
	p     Params
	cfs   cfs
	id    sim.HandlerID

	cpus   []cpuState
	tasks  []*Task
	groups []groupStats

	tickPeriod sim.Time
	stats      Stats
	poll       pollClock       // agents polling their queues
	domains    [][]schedDomain // per CPU, innermost first

	// onSwitch, when set, receives every context switch (traces).
	onSwitch func(SwitchRecord)
	// probe receives measurement points (microbenchmarks).
	probe Probe
	// check runs CheckInvariants after every event and panics on a
	// violation (tests set it through Config.Check).
	check bool

	llc []CPUSet // CPUs of each CCX (LLC)

	enclaves    []*Enclave
	agentsGroup int      // accounting group of agent threads, -1 until the first
	barriers    []uint32 // for the invariant checker: last task barrier seen
	// traceEv is the trace recorder (trace.go), nil: none.
	traceEv func(TraceEvent)
	// nohzNextBalance is when a busy CPU may next kick idle balancing.
	nohzNextBalance sim.Time
	firstPanic      error
	// spawnCost is the CPU time the last spawn's waker spent beyond the
	// clone (an IPI, the new run queue's lock line).
	spawnCost sim.Time
	// launching is set while Kernel.Spawn runs (see lockProduce).
	launching bool
	// cs is core scheduling's and the VM model's per-CPU state
	// (coresched_*.go), made on first use.
	cs *coreSched
}

// cpuState is one CPU: its run queues and what it is doing.
type cpuState struct {
	id   int
	curr *Task // nil when idle

	switching   bool // in a context switch to curr
	switchTimer sim.Timer
	opTimer     sim.Timer

	inIRQ    bool
	irqEnd   sim.Time
	irqTimer sim.Timer

	needResched   bool
	reschedQueued bool
	idleWakeArmed bool

	tickOn    bool
	tickTimer sim.Timer

	activity hw.SiblingActivity
	busy     sim.Busy

	agentQ []*Task // agent class: runnable agents (not blocked in an ioctl), FIFO
	rtQ    []*Task // RT class: FIFO
	mq     mqRQ    // MicroQuanta class (mq_class.go)
	cfs    cfsRQ
	ghostQ []*Task // ghOSt class: runnable ghOSt tasks on this CPU (rq->ghost.tasks); one may be latched

	idleSince sim.Time
	avgIdle   sim.Time // rq->avg_idle
	nextBal   sim.Time // earliest next_balance over domains (rq->next_balance)

	g ghostCPU
	// inSchedule is set while schedule() runs; kernel work charged
	// meanwhile (schedWork) lengthens the context switch.
	inSchedule bool
	schedWork  sim.Time
}

// Config is what New needs besides the machine.
type Config struct {
	Params Params
	// Check runs the invariant checker after every event (tests).
	Check bool
}

// New builds a kernel on machine m, driven by engine e. All CPUs start
// idle.
func New(e *sim.Engine, m *hw.Machine, cfg Config) (*Kernel, error) {
	if err := cfg.Params.Validate(); err != nil {
		return nil, err
	}
	if m.NumCPUs() > MaxCPUs {
		return nil, fmt.Errorf("kernel: machine has %d CPUs, more than the %d supported", m.NumCPUs(), MaxCPUs)
	}
	k := &Kernel{
		eng:        e,
		m:          m,
		costs:      m.Costs(),
		p:          cfg.Params,
		cfs:        newCFS(cfg.Params, m.NumCPUs()),
		cpus:       make([]cpuState, m.NumCPUs()),
		tickPeriod: sim.Second / sim.Time(cfg.Params.HZ),
		check:      cfg.Check,

		agentsGroup: -1,
	}
	k.id = e.Register(k)
	for i := range k.cpus {
		k.cpus[i].id = i
		k.cpus[i].avgIdle = 2 * k.cfs.migrateCost
	}
	k.buildDomains()
	if cfg.Check {
		prev := e.AfterEvent
		e.AfterEvent = func(now sim.Time) {
			if prev != nil {
				prev(now)
			}
			if err := k.CheckInvariants(); err != nil {
				panic(fmt.Sprintf("kernel invariant violated at %v: %v", now, err))
			}
		}
	}
	return k, nil
}

// Params returns the kernel's tunables.
func (k *Kernel) Params() Params { return k.p }

// Engine returns the engine the kernel runs in.
func (k *Kernel) Engine() *sim.Engine { return k.eng }

// Machine returns the machine model.
func (k *Kernel) Machine() *hw.Machine { return k.m }

// NumCPUs returns the number of CPUs.
func (k *Kernel) NumCPUs() int { return len(k.cpus) }

// Now returns the current simulated time.
func (k *Kernel) Now() sim.Time { return k.eng.Now() }

// Task returns the task with id, or nil.
func (k *Kernel) Task(id int) *Task {
	if id < 0 || id >= len(k.tasks) {
		return nil
	}
	return k.tasks[id]
}

// Tasks returns every task ever spawned, by id. The slice is the kernel's.
func (k *Kernel) Tasks() []*Task { return k.tasks }

// Current returns the task CPU cpu runs, or nil when it is idle.
func (k *Kernel) Current(cpu int) *Task { return k.cpus[cpu].curr }

// OnSwitch registers f to receive every context switch.
func (k *Kernel) OnSwitch(f func(SwitchRecord)) { k.onSwitch = f }

// Spawn creates a task and makes it runnable (clone + wake_up_new_task).
// The program starts running when the task is first switched in. It is
// the workload's launcher spawning, at no CPU cost, as if from CPU 0;
// Thread.Spawn is a thread creating a thread.
func (k *Kernel) Spawn(spec TaskSpec) (*Task, error) {
	k.launching = true
	defer func() { k.launching = false }()
	return k.spawn(spec, nil, 0)
}

// spawn creates a task for Spawn (parent nil) or for parent's clone on
// CPU from. A child of a ghOSt task is a ghOSt task of its parent's
// enclave whatever spec says (docs/GHOST-SEMANTICS.md §5.3), and a child
// without an affinity of its own inherits its parent's.
func (k *Kernel) spawn(spec TaskSpec, parent *Task, from int) (*Task, error) {
	if parent != nil {
		if parent.class == ClassGhost && parent.g != nil && !parent.g.isAgent {
			spec.Class, spec.Enclave = ClassGhost, parent.g.enclave
		}
		if spec.Affinity.Empty() {
			spec.Affinity = parent.affinity
		}
	}
	if spec.Nice < -20 || spec.Nice > 19 {
		return nil, fmt.Errorf("kernel: spawn %q: nice %d outside -20..19", spec.Name, spec.Nice)
	}
	if spec.Class >= numClasses || spec.Class == ClassIdle || spec.Class == ClassStop {
		return nil, fmt.Errorf("kernel: spawn %q: cannot spawn into class %v", spec.Name, spec.Class)
	}
	if spec.Class == ClassGhost && (spec.Enclave == nil || spec.Enclave.dying) {
		return nil, fmt.Errorf("kernel: spawn %q: a ghOSt task needs a live enclave", spec.Name)
	}
	if spec.Program == nil {
		return nil, fmt.Errorf("kernel: spawn %q: no program", spec.Name)
	}
	var mq *mqEntity
	if spec.Class == ClassMicroQuanta || spec.MQRuntime != 0 || spec.MQPeriod != 0 {
		var err error
		if mq, err = k.newMQEntity(spec); err != nil {
			return nil, err
		}
	}
	if spec.MemShare < 0 || spec.MemShare > 1 {
		return nil, fmt.Errorf("kernel: spawn %q: memory share %v outside 0..1", spec.Name, spec.MemShare)
	}
	all := RangeSet(0, len(k.cpus))
	aff := spec.Affinity.And(all)
	if spec.Affinity.Empty() {
		aff = all
	}
	if aff.Empty() {
		return nil, fmt.Errorf("kernel: spawn %q: affinity %v has no CPU of this machine", spec.Name, spec.Affinity)
	}
	if spec.CPU >= len(k.cpus) || (spec.CPU >= 0 && !aff.Has(spec.CPU)) {
		return nil, fmt.Errorf("kernel: spawn %q: start CPU %d not allowed", spec.Name, spec.CPU)
	}
	for spec.Group >= len(k.groups) {
		k.groups = append(k.groups, groupStats{})
	}
	t := &Task{
		id:          len(k.tasks),
		name:        spec.Name,
		group:       spec.Group,
		state:       TaskBlocked,
		class:       spec.Class,
		affinity:    aff,
		numaHome:    spec.NUMAHome,
		footprintKB: spec.FootprintKB,
		memShare:    hw.RateOf(spec.MemShare),
		vm:          spec.VM,
		cpu:         -1,
		lastCPU:     -1,
		migrateTo:   -1,
		mq:          mq,
	}
	if t.name == "" {
		t.name = fmt.Sprintf("task%d", t.id)
	}
	t.setNice(spec.Nice)
	th := &Thread{k: k, t: t}
	prog := spec.Program
	t.co = sim.NewCoroutine(k.eng, t.name, func(yield func(op)) {
		th.yield = yield
		prog(th)
	})
	k.tasks = append(k.tasks, t)
	k.stats.Spawned++

	if spec.deferStart {
		return t, nil
	}
	cpu := spec.CPU
	if spec.Class == ClassGhost {
		e := spec.Enclave
		if cpu < 0 && parent != nil && aff.Has(from) {
			cpu = from // select_task_rq_ghost keeps a child on its parent's CPU
		}
		if cpu < 0 || !e.cpus.Has(cpu) {
			cpu = e.cpus.And(aff).First()
			if cpu < 0 {
				return nil, fmt.Errorf("kernel: spawn %q: affinity %v has no CPU of enclave %d", spec.Name, aff, e.id)
			}
		}
		k.activate(t, cpu, false, true)
		// TASK_NEW(runnable), from the CPU running wake_up_new_task: a
		// child's first wakeup sends it instead of TASK_WAKEUP.
		producer := -1
		if parent != nil {
			producer = from
		}
		k.enterGhost(t, e, producer)
		return t, nil
	}
	if cpu < 0 {
		cpu = k.selectForkCPU(t, from)
	}
	k.activate(t, cpu, false, true)
	if parent == nil {
		from = -1
	}
	k.spawnCost = k.checkPreempt(cpu, t, from)
	if from >= 0 && from != cpu {
		k.spawnCost += k.m.LineTransfer(from, cpu, -1) // the new task's run-queue lock
	}
	return t, nil
}

// Wake makes a blocked task runnable, as a wakeup from outside any CPU's
// task (an interrupt or the workload's driver) would; it costs no CPU
// time. A task that is not blocked keeps the wakeup for its next Block.
func (k *Kernel) Wake(t *Task) { k.wake(t, -1) }

// HandleEvent dispatches the kernel's events.
func (k *Kernel) HandleEvent(now sim.Time, ev sim.Event) {
	switch ev.Kind {
	case evResched:
		cpu := &k.cpus[ev.A]
		cpu.reschedQueued = false
		if cpu.needResched && !cpu.switching && !cpu.inIRQ {
			k.schedule(cpu)
		}
	case evSwitchDone:
		cpu := &k.cpus[ev.A]
		if cpu.switchTimer.Fired(ev) {
			k.finishSwitch(cpu)
		}
	case evOpDone:
		cpu := &k.cpus[ev.A]
		if cpu.opTimer.Fired(ev) {
			k.completeOp(cpu)
		}
	case evIRQDone:
		cpu := &k.cpus[ev.A]
		if cpu.irqTimer.Fired(ev) {
			k.exitIRQ(cpu)
		}
	case evTick:
		cpu := &k.cpus[ev.A]
		if cpu.tickTimer.Fired(ev) {
			k.tick(cpu)
		}
	case evIPI:
		k.handleIPI(&k.cpus[ev.A], ev.B)
	case evSleepDone:
		t := k.tasks[ev.A]
		if t.sleepTimer.Fired(ev) {
			k.wake(t, -1)
		}
	case evIODone:
		t := k.tasks[ev.A]
		if t.sleepTimer.Fired(ev) {
			t.ioWait = false
			pending := t.wakePending // a Wake during the read, for the next Block
			k.wake(t, -1)
			t.wakePending = pending
		}
	case evSpinEnd:
		t := k.tasks[ev.A]
		if t.g != nil && t.g.agentTask != nil && t.g.spinEnd.Fired(ev) {
			k.finishSpin(t)
		}
	case evMQBudget:
		cpu := &k.cpus[ev.A]
		if cpu.mq.budgetTimer.Fired(ev) {
			k.mqBudgetEnd(cpu)
		}
	case evMQRefill:
		t := k.tasks[ev.A]
		if t.mq != nil && t.mq.replenish.Fired(ev) {
			k.mqReplenish(t)
		}
	case evIdleWake:
		cpu := &k.cpus[ev.A]
		cpu.idleWakeArmed = false
		// An interrupt handler in progress reschedules on its exit.
		if cpu.needResched && cpu.curr == nil && !cpu.switching && !cpu.inIRQ {
			k.schedule(cpu)
		}
	case evDestroy:
		k.teardown(k.enclaves[ev.A])
	default:
		panic(fmt.Sprintf("kernel: unknown event kind %d", ev.Kind))
	}
}

// at schedules a kernel event at time at.
func (k *Kernel) at(at sim.Time, kind uint16, a, b int32) {
	k.eng.Schedule(at, k.id, sim.Event{Kind: kind, A: a, B: b})
}

// syscallWork is the work of a system call's entry and exit, in
// full-rate picoseconds.
func (k *Kernel) syscallWork() int64 { return int64(k.costs.Syscall) }
