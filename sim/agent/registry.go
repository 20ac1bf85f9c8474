package agent

import (
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/kernel"
)

// Params are a policy's parameters: the [policy] table of a config.
type Params struct {
	// GlobalCPU is where a centralized policy's global agent starts; -1
	// means the enclave's first CPU.
	GlobalCPU int `toml:"global_cpu"`
	// TimeSliceUs is the preemption slice of policies that have one, in
	// µs; 0 means none (run until block, yield or preemption).
	TimeSliceUs float64 `toml:"time_slice_us"`
	// QueueElems is the size of each channel, in 8-byte slots.
	QueueElems int `toml:"queue_elems"`
	// ContainerOpCycles is the policy's computation per runqueue
	// operation (push, pop, lookup), charged on the agent's CPU.
	ContainerOpCycles int64 `toml:"container_op_cycles"`

	// The search policy's placement heuristics (§4.4), each switchable
	// for ablations. NUMA: run a thread only on CPUs of its cpumask (the
	// socket holding its data). CCX: prefer the thread's last CPU's SMT
	// sibling, then its CCX, then the nearest CCXs. HoldUs: keep a thread
	// pending up to this long when its preferred CCX has no idle CPU,
	// rather than migrate it at once (0: never hold).
	NUMA   bool    `toml:"numa"`
	CCX    bool    `toml:"ccx"`
	HoldUs float64 `toml:"hold_us"`
	// BPF attaches the policy's pick-next-task program (paper §3.2, the
	// BPF fast path), for policies that have one (search, fifo-central):
	// an idling CPU runs a thread the agent left in the shared region
	// without waiting for the agent's next loop. Off by default.
	BPF bool `toml:"bpf"`
	// Options decodes the policy's own table, [policy.NAME] (NAME its
	// registered name), into v, a pointer to a struct with toml tags
	// holding the defaults: keys the table leaves out keep them; an
	// unknown key or a wrong type is a *sim.KeyError naming it
	// (policy.NAME.KEY), which the command locates at its file and line.
	// A constructor calls it once; nil when the run gives no such table.
	Options func(v any) error `toml:"-"`
}

// DefaultParams: the global agent on the enclave's first CPU, no slice,
// 65536-slot channels (ghost-userspace's default agent queue), the search
// heuristics on with the paper's 100 µs hold-back (§4.4), and 20
// cycles per runqueue operation — a deque push or pop and a hash lookup
// hitting L1 (a few 4-cycle loads; [AT-ROME] L1 latency), an estimate.
func DefaultParams() Params {
	return Params{GlobalCPU: -1, QueueElems: 65536, ContainerOpCycles: 20, NUMA: true, CCX: true, HoldUs: 100}
}

// Validate checks the parameters; keys are full config keys.
func (p *Params) Validate() error {
	var errs []error
	if p.TimeSliceUs < 0 {
		errs = append(errs, sim.KeyErrorf("policy.time_slice_us", "must be >= 0 (0 = no slice), got %v", p.TimeSliceUs))
	}
	if n := p.QueueElems; n <= 0 || n > kernel.MaxQueueElems || n&(n-1) != 0 {
		errs = append(errs, sim.KeyErrorf("policy.queue_elems", "must be a power of two up to %d, got %d", kernel.MaxQueueElems, n))
	}
	if !(p.HoldUs >= 0 && p.HoldUs <= 1e6) {
		errs = append(errs, sim.KeyErrorf("policy.hold_us", "must be in 0..1000000 (µs), got %v", p.HoldUs))
	}
	if p.ContainerOpCycles < 0 {
		errs = append(errs, sim.KeyErrorf("policy.container_op_cycles", "must be >= 0, got %d", p.ContainerOpCycles))
	}
	return errors.Join(errs...)
}

// KeyError is a configuration error naming its key (sim.KeyError): the
// command locates it at its file and line.
type KeyError = sim.KeyError

// KeyErrorf returns a *KeyError for key with a formatted message, for a
// constructor checking its [policy.NAME] options (policy.NAME.KEY).
func KeyErrorf(key, format string, args ...any) *KeyError { return sim.KeyErrorf(key, format, args...) }

// TimeSlice returns the slice as Time (0: none).
func (p *Params) TimeSlice() Time { return sim.FromNs(p.TimeSliceUs * 1000) }

// Setup is what a policy's constructor gets: its enclave and parameters.
// Channels made here exist before any agent runs.
type Setup struct {
	Enclave *Enclave
	Params  Params
}

// Policy is a constructed policy: Run is the body of every agent thread
// of the process, one per enclave CPU (a.CPU() tells which).
type Policy interface {
	Run(a *Agent)
}

// Constructor builds a policy for an enclave.
type Constructor func(s *Setup) (Policy, error)

// Info describes a registered policy.
type Info struct {
	Name    string
	Summary string
	New     Constructor
}

// registry holds the policies registered by their packages' init
// functions (the one piece of package-level state: written only at
// program start, read-only afterwards).
var registry = struct {
	sync.Mutex
	m map[string]Info
}{m: map[string]Info{}}

// Register adds a policy under name, from its package's init function.
// Users add their own policies the same way, from their own module.
func Register(name, summary string, c Constructor) {
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.m[name]; dup {
		panic(fmt.Sprintf("agent: policy %q registered twice", name))
	}
	registry.m[name] = Info{Name: name, Summary: summary, New: c}
}

// Policies returns the registered policies sorted by name.
func Policies() []Info {
	registry.Lock()
	defer registry.Unlock()
	out := make([]Info, 0, len(registry.m))
	for _, i := range registry.m {
		out = append(out, i)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}

// Lookup returns the policy registered as name.
func Lookup(name string) (Info, bool) {
	registry.Lock()
	defer registry.Unlock()
	i, ok := registry.m[name]
	return i, ok
}

// Process is a running agent process of a policy.
type Process struct {
	*kernel.AgentProcess
	Policy Policy
}

// Launch starts an agent process running policy name on enclave e: the
// constructor makes its channels, then one agent thread per enclave CPU
// runs Policy.Run. A panic in policy code is an agent crash: the kernel
// detaches the process; the simulation goes on.
func Launch(k *kernel.Kernel, e *kernel.Enclave, name string, params Params) (*Process, error) {
	info, ok := Lookup(name)
	if !ok {
		return nil, fmt.Errorf("agent: unknown policy %q", name)
	}
	enc := &Enclave{e: e, m: k.Machine(), topo: newTopology(k.Machine())}
	pol, err := info.New(&Setup{Enclave: enc, Params: params})
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", name, err)
	}
	p, err := e.StartAgents(name, func(kt *kernel.AgentThread) {
		pol.Run(&Agent{kt: kt, enc: enc, cpu: enc.topo.CPU(kt.CPU())})
	})
	if err != nil {
		for _, q := range enc.made {
			q.Close()
		}
		return nil, err
	}
	for _, q := range enc.made {
		p.Own(q)
	}
	if enc.pnt != nil {
		if err := e.AttachPNT(p, enc.pnt); err != nil {
			p.Kill(false, nil)
			return nil, fmt.Errorf("policy %s: attaching its BPF program: %w", name, err)
		}
	}
	return &Process{AgentProcess: p, Policy: pol}, nil
}
