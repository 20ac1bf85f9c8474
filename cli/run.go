package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ghostsim/ghostsim/configs"
	"github.com/ghostsim/ghostsim/experiment"
	"github.com/ghostsim/ghostsim/results"
	"github.com/ghostsim/ghostsim/sim"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the run itself failed, or its output could not be written
	exitUsage   = 2 // bad flags, config, or machine/workload/policy name
)

// defaultMachine is the machine config loaded when no -config is given:
// the paper's main machine.
const defaultMachine = "skylake112"

// defaultWorkload is the workload run without -workload.
// The paper's headline experiment, Fig 8.
const defaultWorkload = "search"

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(*l, " ")
}

func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// options are the parsed flags.
type options struct {
	// maxEvents is a single run's budget of engine events (0: none); no
	// flag sets it, the fuzz target does (runBudget).
	maxEvents uint64
	trace     string
	jobs      int
	configs   stringList
	sets      stringList
	sweeps    stringList
	workload  string
	policy    string
	seed      string // "" when not given
	duration  string // "" when not given
	json      bool
	out       string
	quiet     bool
	list      bool
	check     bool
	// shardArg and shards are -shard and -shards; shard is the part of a
	// sweep to run (resolveShard).
	shardArg string
	shards   int
	shard    shard
	plot     plotFlags // -plot and -format
	// missing, when set, names a workload config that -config left out;
	// it is printed before any config error.
	missing string
}

// newFlagSet declares ghostsim's flags into o. A backquoted word in a usage
// text names the flag's argument in -h.
func newFlagSet(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("ghostsim", flag.ContinueOnError)
	fs.Var(&o.configs, "config", "load config `FILE` (repeatable; files merge in order, later keys win).\n"+
		"A path on disk wins; otherwise a bare name such as rome256.toml or rome256\n"+
		"loads the embedded machine file (default "+defaultMachine+", or the workload's\n"+
		"own configs where -list shows them)")
	fs.StringVar(&o.workload, "workload", defaultWorkload, "run workload `NAME` (see -list)")
	fs.StringVar(&o.policy, "policy", "", "schedule the ghOSt enclave with policy `NAME` (see -list)")
	fs.StringVar(&o.seed, "seed", "", "random seed `N`, a non-negative integer (overrides run.seed)")
	fs.StringVar(&o.duration, "duration", "", "measured simulated time `D`, a Go duration such as 500ms or 2s;\n"+
		"a whole number of milliseconds > 0 (overrides run.duration_ms)")
	fs.Var(&o.sets, "set", "override one config value, `key=value` such as run.warmup_ms=100\n"+
		"(repeatable; applied after the config files, later -set wins)")
	fs.Var(&o.sweeps, "sweep", "run a sweep over `KEY=FROM:TO:STEP` or KEY=V1,V2,... (both ends of a range\n"+
		"included), KEY a config key such as workload.group[0].threads or an alias of\n"+
		"the workload such as load; repeatable: the cross product, first flag outermost.\n"+
		"Prints one JSON line (-json) or table row per point; -out writes results.jsonl,\n"+
		"sweep.csv and a figure, sweep.png and sweep.svg")
	fs.BoolVar(&o.json, "json", false, "print the result as one JSON line on stdout instead of the summary")
	fs.StringVar(&o.out, "out", "", "write result.json and result.csv into `DIR`, creating it")
	fs.BoolVar(&o.quiet, "q", false, "quiet: no start line and no progress on stderr")
	fs.BoolVar(&o.list, "list", false, "list the embedded machines, the workloads and the policies, then exit")
	fs.BoolVar(&o.check, "check", false, "run the kernel's invariant checker after every event (slow)")
	fs.StringVar(&o.trace, "trace", "", "write a Chrome trace-event file of the run to `FILE` (per-CPU tracks and ghOSt events;\n"+
		"open it in Perfetto); keeps every switch in memory, so use it on short runs")
	fs.IntVar(&o.jobs, "j", runtime.GOMAXPROCS(0), "run up to `N` points of a sweep at once (output is the same for any N)")
	fs.StringVar(&o.shardArg, "shard", "", "run only shard `I/N` of a sweep: the points whose index ≡ I (mod N); -out then writes\n"+
		"DIR/shard-I-of-N.jsonl for 'ghostsim merge'. Without it, a Kubernetes Indexed Job's\n"+
		"JOB_COMPLETION_INDEX (with -shards) or a Slurm array's SLURM_ARRAY_TASK_ID and\n"+
		"SLURM_ARRAY_TASK_COUNT choose the shard (docs/SCALE-OUT.md)")
	fs.IntVar(&o.shards, "shards", 0, "the number of shards `N` when JOB_COMPLETION_INDEX (or SLURM_ARRAY_TASK_ID) gives the index:\n"+
		"a Kubernetes Indexed Job's completions")
	o.plot.declare(fs)
	return fs
}

// run is the whole command: it parses args, runs the experiment and writes
// the output, and returns the exit code. Every error a user can cause is
// one or more lines "ghostsim: ..." on stderr, never a Go trace. A failed
// write to stdout (a full disk, a closed pipe) is an error too: the output
// is lost, so the exit status is not 0.
func run(args []string, stdout, stderr io.Writer) int { return runBudget(args, stdout, stderr, 0) }

// runBudget is run with a budget of engine events for a single run
// (experiment.Options.MaxEvents; 0: none), as the fuzz target runs it.
func runBudget(args []string, stdout, stderr io.Writer, maxEvents uint64) int {
	out := &checkedWriter{w: stdout}
	code := runCommand(args, out, stderr, maxEvents)
	if out.err != nil {
		fmt.Fprintf(stderr, "ghostsim: writing the output: %v\n", out.err)
		if code == exitOK {
			code = exitFailure
		}
	}
	return code
}

// checkedWriter remembers the first write error and drops later writes.
type checkedWriter struct {
	w   io.Writer
	err error
}

func (c *checkedWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	if err != nil {
		c.err = err
	}
	return n, err
}

// runCommand is run without the check of stdout's writes.
func runCommand(args []string, stdout, stderr io.Writer, maxEvents uint64) (code int) {
	if len(args) > 0 && args[0] == "repro" {
		return runRepro(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "compare" {
		return runCompare(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "merge" {
		return runMerge(args[1:], stdout, stderr)
	}
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(stderr, "ghostsim: internal error: %v\n", p)
			fmt.Fprintf(stderr, "ghostsim: reproduce with: %s\n", commandLine(args))
			code = exitFailure
		}
	}()

	o := options{maxEvents: maxEvents}
	fs := newFlagSet(&o)
	fs.SetOutput(io.Discard) // run prints errors and usage itself
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout, fs)
			return exitOK
		}
		fmt.Fprintf(stderr, "ghostsim: %v\nghostsim: run 'ghostsim -h' for usage\n", err)
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ghostsim: unexpected argument %q: ghostsim takes flags only (run 'ghostsim -h' for usage)\n", fs.Arg(0))
		return exitUsage
	}
	if o.list {
		printList(stdout)
		return exitOK
	}
	if o.jobs < 1 {
		fmt.Fprintf(stderr, "ghostsim: -j %d: want at least 1\n", o.jobs)
		return exitUsage
	}
	if o.trace != "" && len(o.sweeps) > 0 {
		fmt.Fprintf(stderr, "ghostsim: -trace traces one run; it cannot be combined with -sweep (trace one point with -set instead)\n")
		return exitUsage
	}

	if err := o.plot.parse(); err != nil {
		fmt.Fprintf(stderr, "ghostsim: %v\n", err)
		return exitUsage
	}

	if _, ok := experiment.FindWorkload(o.workload); !ok {
		fmt.Fprintf(stderr, "ghostsim: unknown workload %q; valid workloads: %s\n", o.workload, workloadNames())
		return exitUsage
	}
	if info, _ := experiment.FindWorkload(o.workload); len(o.sweeps) == 0 && info.Sweep == nil {
		// A single run in an indexed job or array is the whole run.
		if o.shardArg != "" || o.shards != 0 {
			fmt.Fprintf(stderr, "ghostsim: -shard and -shards split a sweep's points, and this run is not a sweep (add -sweep)\n")
			return exitUsage
		}
	} else if sh, err := resolveShard(o.shardArg, o.shards); err != nil {
		fmt.Fprintf(stderr, "ghostsim: %v\n", err)
		return exitUsage
	} else {
		o.shard = sh
	}
	if info, _ := experiment.FindWorkload(o.workload); info.Systems != nil {
		// A policy axis names the systems itself (parsePolicyAxis checks them).
		if _, err := info.GhostPolicy(o.policy); err != nil && !(o.policy == "" && sweepsPolicy(o.sweeps)) {
			fmt.Fprintf(stderr, "ghostsim: workload %s: %v\n", o.workload, err)
			return exitUsage
		}
	} else if o.policy != "" && !knownPolicy(o.policy) {
		fmt.Fprintf(stderr, "ghostsim: unknown policy %q; %s\n", o.policy, validPolicies())
		return exitUsage
	}

	// -seed and -duration become -set overrides after the user's, so the
	// flag wins; labels maps their -set position back to the flag for
	// error messages.
	sets := append([]string(nil), o.sets...)
	labels := map[int]string{}
	if o.seed != "" {
		n, err := strconv.ParseUint(o.seed, 10, 64)
		if err != nil {
			fmt.Fprintf(stderr, "ghostsim: -seed %q: want a non-negative integer below 2^64\n", o.seed)
			return exitUsage
		}
		sets = append(sets, "run.seed="+strconv.FormatUint(n, 10))
		labels[len(sets)] = "-seed " + o.seed
	}
	if o.duration != "" {
		d, err := time.ParseDuration(o.duration)
		if err != nil || d <= 0 || d%time.Millisecond != 0 {
			fmt.Fprintf(stderr, "ghostsim: -duration %q: want a whole number of milliseconds > 0, as a Go duration such as 500ms or 2s\n", o.duration)
			return exitUsage
		}
		sets = append(sets, "run.duration_ms="+strconv.FormatInt(d.Milliseconds(), 10))
		labels[len(sets)] = "-duration " + o.duration
	}
	files := []string(o.configs)
	if len(files) == 0 {
		files = []string{defaultMachine}
		if info, _ := experiment.FindWorkload(o.workload); info.Configs != nil {
			files = info.Configs
		}
	}
	if o.out != "" {
		if err := os.MkdirAll(o.out, 0o755); err != nil {
			fmt.Fprintf(stderr, "ghostsim: -out: %v\n", err)
			return exitUsage
		}
	}

	missing := ""
	if len(o.configs) > 0 {
		missing = missingWorkloadConfig(o.workload, files, sets)
	}
	o.missing = missing
	if len(o.sweeps) > 0 {
		info, _ := experiment.FindWorkload(o.workload)
		return runGrid(&o, info, files, sets, labels, args, stdout, stderr)
	}
	spec, meta, err := experiment.LoadWorkload(o.workload, files, sets)
	if err == nil {
		err = meta.Wrap(experiment.Check(spec, o.workload))
	}
	if err == nil {
		err = meta.Wrap(experiment.CheckRun(spec, o.workload, o.policy))
	}
	if err != nil {
		printConfigErrors(stderr, &o, relabel(err, labels))
		return exitUsage
	}

	if info, _ := experiment.FindWorkload(o.workload); info.Sweep != nil {
		return runSweep(&o, info, spec, meta, args, labels, stdout, stderr)
	}
	if !o.quiet && !o.json {
		window := fmt.Sprintf("%v measured after %v warm-up", sim.Ms(spec.Run.DurationMs), sim.Ms(spec.Run.WarmupMs))
		if info, _ := experiment.FindWorkload(o.workload); info.Untimed {
			window = "runs until its work is done (run.duration_ms unused)"
		}
		fmt.Fprintf(stderr, "ghostsim: seed %d, machine %s (%d CPUs, %g GHz), workload %s, policy %s, %s; configs: %s\n",
			spec.Run.Seed, spec.Machine.Name, spec.Machine.CPUs, spec.Machine.GHz, o.workload, spec.PolicyLabel(o.policy),
			window, strings.Join(meta.Files(), " "))
	}
	opts := experiment.Options{Workload: o.workload, Policy: o.policy, Check: o.check, MaxEvents: o.maxEvents}
	if o.trace != "" {
		f, err := os.Create(o.trace)
		if err != nil {
			fmt.Fprintf(stderr, "ghostsim: -trace: %v\n", err)
			return exitUsage
		}
		defer f.Close()
		opts.Trace = f
	}
	var prog *progress
	if !o.quiet && isTerminal(stderr) {
		prog = newProgress(stderr)
		opts.Progress = prog.update
	}
	res, err := experiment.Run(spec, opts)
	prog.clear()
	if err != nil {
		err = relabel(meta.Wrap(err), labels)
		if isConfigError(err) {
			printConfigErrors(stderr, &o, err)
			return exitUsage
		}
		printErrors(stderr, err)
		fmt.Fprintf(stderr, "ghostsim: reproduce with: %s\n", commandLine(args))
		return exitFailure
	}
	warnServedNothing(stderr, "", res)
	policyFailed := reportCrashes(stderr, "", res)

	if o.json {
		b, err := res.JSON()
		if err != nil {
			return fail(stderr, args, fmt.Errorf("encoding the result: %w", err))
		}
		fmt.Fprintf(stdout, "%s\n", b)
	} else {
		printSummary(stdout, spec, res)
	}
	if o.out != "" {
		if err := writeOut(o.out, res); err != nil {
			return fail(stderr, args, err)
		}
		if !o.quiet && !o.json {
			fmt.Fprintf(stderr, "ghostsim: wrote %s and %s\n", joinPath(o.out, resultJSON), joinPath(o.out, resultCSV))
		}
	}
	if policyFailed {
		fmt.Fprintf(stderr, "ghostsim: reproduce with: %s\n", commandLine(args))
		return exitFailure
	}
	return exitOK
}

// printConfigErrors prints config errors, preceded by the line naming a
// workload config that -config left out (o.missing), the likely cause.
func printConfigErrors(stderr io.Writer, o *options, err error) {
	var ce *configs.Error
	unreadable := errors.As(err, &ce) && ce.Line == 0 && slices.Contains(o.configs, ce.File)
	if o.missing != "" && !errors.Is(err, experiment.ErrNoMachine) && !unreadable {
		fmt.Fprintf(stderr, "ghostsim: %s\n", o.missing)
	}
	printErrors(stderr, err)
}

// isConfigError reports whether err is the config's or the options' fault
// (exit 2): a located config error or one found while setting the run up.
func isConfigError(err error) bool {
	var ce *configs.Error
	var se *experiment.ConfigError
	return errors.As(err, &ce) || errors.As(err, &se)
}

// reportCrashes says on stderr how each agent of the run crashed (its
// time, the policy's panic and the stack's first policy frame) and what
// became of its enclave's threads, and reports whether one crashed
// without the config injecting it: a policy's failure, for which the
// command exits 1. A crash the config injected is a note. label names a
// sweep point ("" for a single run).
func reportCrashes(stderr io.Writer, label string, res *results.Result) (policyFailed bool) {
	if label != "" {
		label = " " + label
	}
	for _, c := range res.Ghost.AgentCrashReports {
		who := "policy " + c.Policy
		if c.Enclave != "" {
			who = fmt.Sprintf("enclave %q (policy %s)", c.Enclave, c.Policy)
		}
		at := sim.Time(c.AtNs) * sim.Nanosecond
		if c.Injected {
			fmt.Fprintf(stderr, "ghostsim: note%s: the agent of %s crashed at %v as the config injected (agent_crash_at_ms); %s\n", label, who, at, crashOutcome(c))
			continue
		}
		policyFailed = true
		fmt.Fprintf(stderr, "ghostsim: error%s: the agent of %s crashed at %v: panic: %s\n", label, who, at, c.Panic)
		if c.Frame != "" {
			fmt.Fprintf(stderr, "ghostsim:   in the policy: %s\n", c.Frame)
		}
		fmt.Fprintf(stderr, "ghostsim:   then: %s\n", crashOutcome(c))
	}
	if n := res.Ghost.AgentCrashes; n > int64(len(res.Ghost.AgentCrashReports)) {
		// Not expected: every crash of an enclave the run made is reported.
		fmt.Fprintf(stderr, "ghostsim: warning%s: %d ghOSt agent crashes, %d described\n", label, n, len(res.Ghost.AgentCrashReports))
	}
	return policyFailed
}

// crashOutcome says what became of a crashed agent's enclave and threads.
func crashOutcome(c results.AgentCrash) string {
	switch c.Outcome {
	case results.OutcomeCFS:
		how := "an ephemeral enclave whose agent process died with no successor"
		switch c.EnclaveDestroyCause {
		case "watchdog":
			how = "by its watchdog"
		case "destroy":
			how = "explicitly"
		}
		return fmt.Sprintf("the enclave was destroyed at %v (%s) and its threads fell back to CFS: from then on they ran under CFS, not the policy",
			sim.Time(c.EnclaveDestroyedAtNs)*sim.Nanosecond, how)
	case results.OutcomeSuccessor:
		return "a new agent process took the enclave over"
	default:
		return "the enclave is persistent (ephemeral = false) and had no watchdog to destroy it: its threads stayed runnable and were never scheduled again"
	}
}

// warnServedNothing says on stderr when a run's result looks normal but is
// not: an enclave was destroyed (other than by a reported agent crash),
// or requests arrived and none completed. label names a sweep point (""
// for a single run).
func warnServedNothing(stderr io.Writer, label string, res *results.Result) {
	if label != "" {
		label = " " + label
	}
	explained := int64(0)
	for _, c := range res.Ghost.AgentCrashReports {
		if c.Outcome == results.OutcomeCFS {
			explained++
		}
	}
	if n := res.Ghost.EnclaveDestroys; n > explained {
		var causes []string
		for _, c := range slices.Sorted(maps.Keys(res.Ghost.EnclaveDestroyCauses)) {
			causes = append(causes, fmt.Sprintf("%s %d", c, res.Ghost.EnclaveDestroyCauses[c]))
		}
		fmt.Fprintf(stderr, "ghostsim: note%s: %d ghOSt enclave(s) destroyed (%s); their threads fell back to CFS\n", label, n, strings.Join(causes, ", "))
	}
	gen, done := res.Metrics["requests_generated"], res.Metrics["requests_completed"]
	if gen > 0 && done == 0 {
		fmt.Fprintf(stderr, "ghostsim: warning%s: the run served nothing: %.0f requests arrived and none completed\n", label, gen)
	}
}

// missingWorkloadConfig says which of the workload's own configs a -config
// list leaves out when no source sets anything of the workload's table
// ([workload.NAME]), which that config would give: any -config replaces
// the workload's defaults, so `-config skylake112 -workload rocksdb` would
// otherwise fail on a value the missing file sets.
func missingWorkloadConfig(workload string, files, sets []string) string {
	info, _ := experiment.FindWorkload(workload)
	if info.Configs == nil {
		return ""
	}
	given := map[string]bool{}
	for _, f := range files {
		given[strings.TrimSuffix(f, ".toml")] = true
	}
	var missing []string
	for _, c := range info.Configs {
		data, err := configs.ReadEmbedded(c)
		if err != nil || strings.Contains(string(data), "\n[machine]") || given[strings.TrimSuffix(c, ".toml")] {
			continue // a machine: the user's -config may name another
		}
		missing = append(missing, c)
	}
	if len(missing) == 0 {
		return ""
	}
	table := "workload." + workload
	for _, f := range files {
		if data := readHead(f, configs.MaxFileBytes); strings.Contains(string(data), "["+table) || strings.Contains(string(data), table+".") {
			return "" // the user's own experiment file
		}
	}
	for _, s := range sets {
		if strings.HasPrefix(strings.TrimSpace(s), table) {
			return ""
		}
	}
	return fmt.Sprintf("workload %s: its config %s is not loaded, as -config was given (any -config replaces the workload's own configs, %s): add -config %s, or a file of your own with [%s]; the error it leads to:",
		workload, strings.Join(missing, " "), strings.Join(info.Configs, " "), strings.Join(missing, " -config "), table)
}

// readHead returns up to max bytes of the file at name (nil if it cannot
// be read), so that an endless file cannot hang the caller.
func readHead(name string, max int64) []byte {
	f, err := os.Open(name)
	if err != nil {
		return nil
	}
	defer f.Close()
	data, _ := io.ReadAll(io.LimitReader(f, max))
	return data
}

// fail reports a run failure with the command that reproduces it.
func fail(stderr io.Writer, args []string, err error) int {
	printErrors(stderr, err)
	fmt.Fprintf(stderr, "ghostsim: reproduce with: %s\n", commandLine(args))
	return exitFailure
}

// printErrors prints each error of err (joined errors separately, and each
// line of a multi-line message) as a line "ghostsim: ...".
func printErrors(w io.Writer, err error) {
	for _, e := range flatten(err) {
		for _, line := range strings.Split(e.Error(), "\n") {
			fmt.Fprintf(w, "ghostsim: %s\n", line)
		}
	}
}

// flatten returns the members of errors.Join trees, in order.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// relabel rewrites *configs.Error values located at the n-th -set override,
// where labels[n] names the flag that produced it ("-seed 7"), to name that
// flag instead.
func relabel(err error, labels map[int]string) error {
	if err == nil || len(labels) == 0 {
		return err
	}
	errs := flatten(err)
	changed := false
	for i, e := range errs {
		ce, ok := e.(*configs.Error)
		if !ok || ce.File != configs.SetFile {
			continue
		}
		if label, ok := labels[ce.Line]; ok {
			errs[i] = &configs.Error{File: label, Key: ce.Key, Msg: ce.Msg}
			changed = true
		}
	}
	if !changed {
		return err
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// commandLine returns the command that reproduces a run, its arguments
// quoted for a POSIX shell where needed.
func commandLine(args []string) string {
	parts := []string{"ghostsim"}
	for _, a := range args {
		parts = append(parts, shellQuote(a))
	}
	return strings.Join(parts, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func policyName(p string) string {
	if p == "" {
		return "none"
	}
	return p
}

func workloadNames() string {
	var names []string
	for _, w := range experiment.Workloads() {
		names = append(names, w.Name)
	}
	return strings.Join(names, ", ")
}

func knownPolicy(name string) bool {
	for _, p := range experiment.Policies() {
		if p.Name == name {
			return true
		}
	}
	return false
}

// validPolicies says which policies -policy accepts.
func validPolicies() string {
	ps := experiment.Policies()
	if len(ps) == 0 {
		return "no policies exist yet (ghOSt policies arrive with the agent library); leave out -policy"
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	return "valid policies: " + strings.Join(names, ", ")
}
