package experiment

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/ghostsim/ghostsim/configs"
	"github.com/ghostsim/ghostsim/results"
	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/agent"
	"github.com/ghostsim/ghostsim/sim/hw"
	"github.com/ghostsim/ghostsim/sim/kernel"
	"github.com/ghostsim/ghostsim/workloads"
)

// Options say what to run on a resolved spec.
type Options struct {
	Workload string
	Policy   string
	// Progress, when set, is called now and then with the simulated time
	// reached and the total (warm-up + window). It must not touch the
	// simulation.
	Progress func(done, total sim.Time)
	// Check runs the kernel's invariant checker after every event (slow).
	Check bool
	// Trace, when set, receives a Chrome trace-event JSON file of the run
	// (per-CPU tracks of what ran, and ghOSt events), for Perfetto. It
	// keeps every switch in memory: use it on short runs.
	Trace io.Writer
	// MaxEvents, when positive, is the run's budget of engine events:
	// past it Run stops and returns an *EventBudgetError. A guard for
	// fuzzing and CI against a run that would take too long.
	MaxEvents uint64
}

// EventBudgetError is Run's error when Options.MaxEvents ran out.
type EventBudgetError struct {
	Events   uint64   // the budget
	At, Want sim.Time // the simulated time reached, and the run's end
}

func (e *EventBudgetError) Error() string {
	return fmt.Sprintf("the run used its budget of %d events at simulated time %v of %v", e.Events, e.At, e.Want)
}

// progressChunk is how much simulated time runs between Progress calls.
const progressChunk = 10 * sim.Millisecond

// Run runs one experiment and returns its result. spec must be valid
// (Validate). A panic inside the model is returned as an error naming the
// simulated time, so a model bug never shows a user a Go trace.
func Run(spec *Spec, opts Options) (res *results.Result, err error) {
	wallStart := time.Now()
	info, ok := FindWorkload(opts.Workload)
	if !ok {
		return nil, &ConfigError{fmt.Errorf("unknown workload %q (valid: %s)", opts.Workload, workloadNames())}
	}
	ghostPolicy, err := info.GhostPolicy(opts.Policy)
	if err != nil {
		return nil, &ConfigError{err}
	}
	if err := CheckRun(spec, opts.Workload, opts.Policy); err != nil {
		return nil, err
	}
	canon, err := configs.Canonical(spec)
	if err != nil {
		return nil, fmt.Errorf("hashing the config: %w", err)
	}
	sum := sha256.Sum256(canon)

	m, err := hw.New(spec.Spec)
	if err != nil {
		return nil, setupError(err)
	}
	e := sim.NewEngine(spec.Run.Seed)
	defer e.Close()
	k, err := kernel.New(e, m, kernel.Config{Params: spec.Kernel, Check: opts.Check})
	if err != nil {
		return nil, setupError(err)
	}
	enclave, err := enclaveCPUs(&spec.enclaves()[0], m.NumCPUs())
	if err != nil {
		return nil, setupError(err)
	}
	w, err := info.New(spec)
	if err != nil {
		return nil, setupError(err)
	}
	var tr *traceRecorder
	if opts.Trace != nil {
		tr = newTraceRecorder(k)
	}
	env := &workloads.Env{Engine: e, Machine: m, Kernel: k, EnclaveCPUs: enclave, Policy: opts.Policy}
	env.Enclaves = map[string]*kernel.Enclave{}
	var ghs []*faults // the enclaves made, in config order
	ens := spec.enclaves()
	for i := range ens {
		es := &ens[i]
		policy := ghostPolicy
		if es.Policy != "" {
			policy = es.Policy
		}
		if policy == "" {
			continue // no agent, no enclave
		}
		cpus, err := enclaveCPUs(es, m.NumCPUs())
		if err != nil {
			return nil, setupError(err)
		}
		gh, err := startGhost(spec, k, es, cpus, policy)
		if errors.Is(err, agent.ErrNoTaskCPU) {
			return nil, sim.KeyErrorf(spec.enclaveKey(i, "cpus"), "%q: %v: give the enclave a CPU for its tasks as well", es.CPUs, err)
		}
		if err != nil {
			return nil, setupError(fmt.Errorf("enclave %q: %w", es.Name, err))
		}
		gh.queueKey = "policy.queue_elems"
		if es.PolicyParams != nil {
			gh.queueKey = spec.enclaveKey(i, "policy_params.queue_elems")
		}
		if opts.Workload == "synthetic" {
			most := 0
			for j, g := range spec.Workload.Group {
				if g.Class == "ghost" && spec.enclaveNamed(g.Enclave) == i && g.Threads > most {
					most, gh.threadsKey = g.Threads, fmt.Sprintf("workload.group[%d].threads", j)
				}
			}
		}
		if env.Ghost == nil && i == 0 {
			env.Ghost = gh.e
		}
		env.Enclaves[es.Name] = gh.e
		ghs = append(ghs, gh)
	}

	defer func() {
		if p := recover(); p != nil {
			res, err = nil, fmt.Errorf("model failure at simulated time %v (seed %d): %v", e.Now(), spec.Run.Seed, p)
		}
	}()
	if err := w.Start(env); err != nil {
		return nil, setupError(err)
	}
	for _, gh := range ghs {
		if err := gh.launchOverflow(); err != nil {
			return nil, err
		}
	}
	warm := sim.Ms(spec.Run.WarmupMs)
	total := warm + sim.Ms(spec.Run.DurationMs)
	if opts.MaxEvents > 0 {
		e.SetEventLimit(opts.MaxEvents)
	}
	advance := func(to sim.Time) error {
		for e.Now() < to {
			e.Run(min(e.Now()+progressChunk, to))
			if e.LimitReached() {
				return &EventBudgetError{Events: opts.MaxEvents, At: e.Now(), Want: total}
			}
			if err := k.Err(); err != nil {
				return fmt.Errorf("thread program failed at %v: %w", e.Now(), err)
			}
			if opts.Progress != nil {
				opts.Progress(e.Now(), total)
			}
		}
		return nil
	}
	if err := advance(warm); err != nil {
		return nil, err
	}
	snap := snapshot(k, e)
	w.ResetStats(e.Now())
	for _, gh := range ghs {
		if ps := gh.policyStats(); ps != nil {
			ps.Reset()
		}
	}
	if err := advance(total); err != nil {
		return nil, err
	}

	if tr != nil {
		if err := tr.write(opts.Trace, e.Now()); err != nil {
			return nil, fmt.Errorf("writing the trace: %w", err)
		}
	}
	rep := workloads.NewReport()
	w.Report(e.Now(), rep)
	r := results.New()
	r.Machine = m.Name()
	r.Workload = opts.Workload
	r.Policy = spec.PolicyLabel(opts.Policy)
	r.Seed = spec.Run.Seed
	r.ConfigSHA256 = hex.EncodeToString(sum[:])
	window := total - warm
	r.SimTimeNs = window.Ns()
	r.Events = e.Executed() - snap.events
	r.Throughput = rep.Throughput
	r.Latency = rep.Latency
	r.Metrics = rep.Metrics
	r.Backlog = rep.Backlog
	r.Saturated = results.AnySaturated(rep.Backlog)
	snap.fill(k, e, window, r)
	for _, gh := range ghs {
		ps := gh.policyStats()
		if ps == nil {
			continue
		}
		if ps.Loop.Count() > 0 && r.Ghost.AgentLoopNs == nil {
			r.Ghost.AgentLoopNs = &results.LoopTime{P50: ps.Loop.Quantile(50), P99: ps.Loop.Quantile(99), Count: ps.Loop.Count()}
		}
		ps.Counters(func(name string, n int64) { r.Metrics["policy."+name] += float64(n) })
	}
	for _, gh := range ghs {
		r.Ghost.AgentCrashReports = append(r.Ghost.AgentCrashReports, gh.crashReports()...)
	}
	slices.SortStableFunc(r.Ghost.AgentCrashReports, func(a, b results.AgentCrash) int { return cmp.Compare(a.AtNs, b.AtNs) })
	if len(spec.Enclave) > 1 || (len(ghs) == 1 && ghs[0].name != "") {
		for _, gh := range ghs {
			re := results.Enclave{Name: gh.name, CPUs: gh.e.CPUs().String(), Policy: gh.policy, Ephemeral: gh.e.Ephemeral()}
			if cause, at := gh.e.Destroyed(); cause != kernel.NotDestroyed {
				re.DestroyCause, re.DestroyedAtNs = cause.String(), at.Ns()
			}
			if crashed, _ := gh.proc.Crashed(); crashed {
				re.AgentCrashed = true
			}
			r.Ghost.Enclaves = append(r.Ghost.Enclaves, re)
		}
	}

	wall := time.Since(wallStart).Seconds()
	r.Host = &results.Host{
		WallSeconds: wall,
		GoVersion:   runtime.Version(),
		GOOS:        runtime.GOOS,
		GOARCH:      runtime.GOARCH,
		GOMAXPROCS:  runtime.GOMAXPROCS(0),
		NumCPU:      runtime.NumCPU(),
	}
	if wall > 0 {
		r.Host.SimSecondsPerWallSecond = total.Seconds() / wall
		r.Host.EventsPerWallSecond = float64(e.Executed()) / wall
	}
	return r, nil
}

// PolicyLabel is what a run of spec with -policy policy names as its
// policy (results' policy): policy, or "none"; where enclaves name
// policies of their own, theirs (policy filling those that do not),
// distinct and in config order, joined by "+".
func (s *Spec) PolicyLabel(policy string) string {
	ens := s.enclaves()
	if countOwnPolicies(ens) == 0 {
		if policy == "" {
			return "none"
		}
		return policy
	}
	var names []string
	for _, es := range ens {
		p := cmp.Or(es.Policy, policy)
		if p != "" && !slices.Contains(names, p) {
			names = append(names, p)
		}
	}
	return strings.Join(names, "+")
}

// countOwnPolicies counts the enclaves that name their own policy.
func countOwnPolicies(ens []EnclaveSpec) int {
	n := 0
	for _, es := range ens {
		if es.Policy != "" {
			n++
		}
	}
	return n
}

// kernelSnapshot holds the counters at the end of warm-up.
type kernelSnapshot struct {
	agentNs sim.Time
	pollNs  sim.Time
	gapNs   sim.Time
	events  uint64
	stats   kernel.Stats
	busy    []sim.Time
	groupNs []sim.Time
}

func snapshot(k *kernel.Kernel, e *sim.Engine) kernelSnapshot {
	s := kernelSnapshot{events: e.Executed(), stats: *k.Stats(), agentNs: agentTime(k), pollNs: k.AgentPollTime(), gapNs: k.SchedGapTime()}
	for c := 0; c < k.NumCPUs(); c++ {
		s.busy = append(s.busy, k.BusyTime(c))
	}
	for g := range k.GroupNames() {
		s.groupNs = append(s.groupNs, k.GroupCPUTime(g))
	}
	return s
}

// fill writes the kernel's part of r for the window since the snapshot.
func (s kernelSnapshot) fill(k *kernel.Kernel, e *sim.Engine, window sim.Time, r *results.Result) {
	st := k.Stats()
	r.Kernel.ContextSwitches = st.ContextSwitches - s.stats.ContextSwitches
	r.Kernel.IPIs = st.IPIs - s.stats.IPIs
	r.Kernel.Wakeups = st.Wakeups - s.stats.Wakeups
	migBefore := s.stats.MigrationsByName()
	for name, n := range st.MigrationsByName() {
		r.Kernel.Migrations[name] = n - migBefore[name]
	}
	r.Ghost.Messages = st.GhostMsgs - s.stats.GhostMsgs
	before := s.stats.TxnCounts()
	for name, n := range st.TxnCounts() {
		if d := n - before[name]; d != 0 {
			r.Ghost.Txns[name] = d
		}
	}
	r.Ghost.AgentCPUNs = (agentTime(k) - s.agentNs).Ns()
	r.Ghost.AgentPollNs = (k.AgentPollTime() - s.pollNs).Ns()
	r.Ghost.IPIs = r.Kernel.IPIs
	r.Ghost.WatchdogDestroys = st.WatchdogDestroys
	r.Ghost.AgentCrashes = st.AgentCrashes
	r.Ghost.QueueOverflows = st.GhostQueueOverflows
	r.Ghost.MessagesDropped = st.GhostMsgsDropped
	r.Ghost.EnclaveDestroys = st.EnclaveDestroys
	for _, e := range k.Enclaves() {
		if cause, _ := e.Destroyed(); cause != kernel.NotDestroyed {
			r.Ghost.EnclaveDestroyCauses[cause.String()]++
		}
	}
	r.Ghost.AffinityOverrides = st.GhostAffinityOverrides - s.stats.GhostAffinityOverrides
	r.Ghost.SchedGapNs = (k.SchedGapTime() - s.gapNs).Ns()
	if calls := st.GhostBPFCalls - s.stats.GhostBPFCalls; calls > 0 {
		// Only runs with a BPF program attached list these.
		r.Metrics["bpf.pnt_calls"] = float64(calls)
		r.Metrics["bpf.pnt_runs"] = float64(st.GhostBPFRuns - s.stats.GhostBPFRuns)
		r.Metrics["bpf.run_errors"] = float64(st.GhostBPFRunErrors - s.stats.GhostBPFRunErrors)
	}
	r.Ghost.LongestRunnableWaitNs = k.LongestRunnableWait().Ns()
	capacity := float64(window) * float64(k.NumCPUs())
	if capacity <= 0 {
		return
	}
	var busy sim.Time
	for c := 0; c < k.NumCPUs(); c++ {
		busy += k.BusyTime(c) - s.busy[c]
	}
	r.CPU.Utilization = float64(busy) / capacity
	for g, name := range k.GroupNames() {
		var before sim.Time
		if g < len(s.groupNs) {
			before = s.groupNs[g]
		}
		if name == "" {
			name = fmt.Sprintf("group%d", g)
		}
		r.CPU.Share[name] = float64(k.GroupCPUTime(g)-before) / capacity
	}
}

func workloadNames() string {
	s := ""
	for i, w := range Workloads() {
		if i > 0 {
			s += ", "
		}
		s += w.Name
	}
	return s
}

func knownPolicy(name string) bool {
	for _, p := range Policies() {
		if p.Name == name {
			return true
		}
	}
	return false
}

func policyNames() string {
	ps := Policies()
	if len(ps) == 0 {
		return "none yet: ghOSt policies arrive with the agent library"
	}
	s := ""
	for i, p := range ps {
		if i > 0 {
			s += ", "
		}
		s += p.Name
	}
	return s
}

// Load resolves config files and -set overrides into a validated spec,
// starting from DefaultSpec. Errors name file, line and key.
func Load(files, sets []string) (*Spec, *configs.Meta, error) {
	return load(DefaultSpec(), files, sets)
}

// LoadWorkload is Load for a run of workload: the workload's own run
// defaults (WorkloadInfo.Run, such as a warm-up long enough for its
// threads to settle) replace DefaultSpec's before the files and -set
// overrides apply, so they hold however the machine is given.
func LoadWorkload(workload string, files, sets []string) (*Spec, *configs.Meta, error) {
	spec := DefaultSpec()
	if info, ok := FindWorkload(workload); ok && info.Run != nil {
		spec.Run = *info.Run
	}
	return load(spec, files, sets)
}

func load(spec Spec, files, sets []string) (*Spec, *configs.Meta, error) {
	meta, err := configs.Load(&spec, files, sets)
	if err != nil {
		return nil, meta, err
	}
	if err := spec.Validate(); err != nil {
		return nil, meta, meta.Wrap(err)
	}
	return &spec, meta, nil
}

// checkPolicyTables checks that each [policy.NAME] table names a
// registered policy that the run uses (ghostPolicy, or an enclave's
// policy): a table for another policy would silently do nothing. The
// table's keys themselves are its policy's to check, when it is
// constructed. An error is reported at the table's first key, which is
// located for a file's table and a -set's alike.
func checkPolicyTables(spec *Spec, ghostPolicy string, bad func(key, format string, args ...any)) {
	used := []string{}
	if ghostPolicy != "" {
		used = append(used, ghostPolicy)
	}
	for _, es := range spec.enclaves() {
		if es.Policy != "" && !slices.Contains(used, es.Policy) {
			used = append(used, es.Policy)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(spec.Policy.Own)) {
		key := ownTableKey(spec, name)
		switch {
		case !knownPolicy(name):
			bad(key, "no policy is called %q (a [policy.NAME] table holds policy NAME's own options; policies: %s)", name, policyNames())
		case !slices.Contains(used, name):
			runs := "no ghOSt policy"
			if len(used) > 0 {
				runs = strings.Join(used, ", ")
			}
			bad(key, "a table of options for policy %s, but the run uses %s: remove [policy.%s] or run that policy", name, runs, name)
		}
	}
}

// ConfigError marks an error found while a run was being set up, before
// any simulated time passed (an enclave that misses a group's CPUs, a
// rocksdb enclave that overlaps the generator): the config or the options
// are at fault, not the model. The command exits 2 for it, as for any
// config error.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// setupError returns err as a *ConfigError unless it already carries a
// key (*sim.KeyError, which configs.Meta.Wrap locates) or is nil.
func setupError(err error) error {
	var ke *sim.KeyError
	if err == nil || errors.As(err, &ke) {
		return err
	}
	return &ConfigError{err}
}

// CheckRun checks what depends on the workload and the -policy given as
// well as the spec (which Validate checked): the threads and requests the
// run will create, the enclave against the policy, a -policy that no
// thread group uses. Errors are *sim.KeyError values (joined) for
// configs.Meta.Wrap. Run calls it first; the command calls it before
// starting anything, so a sweep refuses a bad point before running any.
func CheckRun(spec *Spec, workload, policy string) error {
	var errs []error
	bad := func(key, format string, args ...any) { errs = append(errs, sim.KeyErrorf(key, format, args...)) }
	runMs := spec.Run.WarmupMs + spec.Run.DurationMs
	runS := float64(runMs) / 1000
	requests := func(key string, rate float64) {
		if n := rate * runS; n > MaxRequests {
			bad(key, "%v per s over the run's %v s (warm-up and window) offers %.3g requests, more than %d "+
				"(memory: about 80 bytes per waiting request); lower the rate or run.duration_ms", rate, runS, n, MaxRequests)
		}
	}
	info, _ := FindWorkload(workload)
	ghostPolicy := policy
	if info.Systems != nil {
		ghostPolicy, _ = info.GhostPolicy(policy)
	}
	switch workload {
	case "synthetic":
		threads, ghostGroups := 0, 0
		for i, g := range spec.Workload.Group {
			key := func(k string) string { return fmt.Sprintf("workload.group[%d].%s", i, k) }
			if threads >= 0 && g.Threads > 0 {
				if threads += g.Threads; threads > MaxThreads {
					bad(key("threads"), "the groups' threads add up to %d, more than %d (memory: about 4 KB per thread)", threads, MaxThreads)
					threads = -1 // once
				}
			}
			if g.Program == "requests" && g.Arrival.RatePerS > 0 {
				requests(key("arrival.rate_per_s"), g.Arrival.RatePerS)
			}
			j := spec.enclaveNamed(g.Enclave)
			if g.Enclave != "" && j < 0 {
				bad(key("enclave"), "no enclave is named %q (name one with [[enclave]] name = %q)", g.Enclave, g.Enclave)
			}
			if g.Class == "ghost" && j >= 0 {
				ghostGroups++
				es := &spec.enclaves()[j]
				if policy == "" && es.Policy == "" {
					msg := `"ghost" needs a ghOSt policy: give -policy (see ghostsim -list)`
					if k := spec.enclaveKey(j, "policy"); k != "enclave.policy" {
						msg += " or " + k
					}
					bad(key("class"), "%s", msg)
				} else if spec.Machine.CPUs > 0 {
					aff, err1 := kernel.ParseCPUList(g.CPUs, spec.Machine.CPUs)
					enc, err2 := kernel.ParseCPUList(es.CPUs, spec.Machine.CPUs)
					if err1 == nil && err2 == nil && !aff.Empty() && !enc.Empty() && aff.And(enc).Empty() {
						bad(key("cpus"), "%q has no CPU of the enclave (%s %q), so its ghOSt threads could never run", g.CPUs, spec.enclaveKey(j, "cpus"), es.CPUs)
					}
				}
			}
		}
		if policy != "" && ghostGroups == 0 && len(spec.Workload.Group) > 0 {
			bad("workload.group", "-policy %s schedules no thread: no group has class = \"ghost\" (set workload.group[N].class)", policy)
		}
	case "rocksdb":
		if r := spec.Workload.RocksDB.LoadRPS; r > 0 {
			requests("workload.rocksdb.load_rps", r)
		}
	}
	if workload != "synthetic" {
		// The other workloads spawn into one enclave, which -policy runs.
		if len(spec.Enclave) > 1 {
			bad("enclave", "workload %s runs one enclave; several ([[enclave]]) are for the synthetic workload", workload)
		}
		for i := range spec.Enclave {
			if spec.Enclave[i].Policy != "" {
				bad(spec.enclaveKey(i, "policy"), "workload %s takes its policy from -policy", workload)
			}
		}
	}
	ens := spec.enclaves()
	checkPolicyTables(spec, ghostPolicy, bad)
	if own := countOwnPolicies(ens); policy != "" && info.Systems == nil && own > 0 && own == len(ens) {
		bad(spec.enclaveKey(0, "policy"), "every enclave names its own policy, so -policy %s would schedule nothing: remove -policy (or an enclave's policy, for -policy to fill)", policy)
	}
	for i := range ens {
		es := &ens[i]
		if (es.Policy == "" && ghostPolicy == "") || spec.Machine.CPUs == 0 {
			continue
		}
		key, params := "policy.global_cpu", spec.params(es, "")
		if es.PolicyParams != nil {
			key = spec.enclaveKey(i, "policy_params.global_cpu")
		}
		enc, err := enclaveCPUs(es, spec.Machine.CPUs)
		if c := params.GlobalCPU; err == nil && c >= 0 && !enc.Has(c) {
			bad(key, "CPU %d is not in the enclave (%s %q)", c, spec.enclaveKey(i, "cpus"), es.CPUs)
		}
		if c := params.GlobalCPU; c < -1 {
			bad(key, "must be -1 (the enclave's first CPU) or a CPU, got %d", c)
		}
	}
	return errors.Join(errs...)
}
