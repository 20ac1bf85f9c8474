package cli

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ghostsim/ghostsim/experiment"
)

// syn is the synthetic request server on skylake112, the base of the
// input-limit cases.
var syn = []string{"-config", "skylake112", "-config", "synthetic-requests.toml", "-workload", "synthetic", "-q"}

// ghostSyn is syn with its group under fifo-central on CPUs 0-8.
var ghostSyn = append(append([]string(nil), syn...),
	"-set", `workload.group[0].class="ghost"`, "-set", "enclave.cpus=0-8", "-policy", "fifo-central")

func with(base []string, args ...string) []string {
	return append(append([]string(nil), base...), args...)
}

// TestInputLimits: every input of issue 14's table is refused up front
// with exit 2 and one line naming the key (or file, or flag) and the limit,
// before a start line or a run.
func TestInputLimits(t *testing.T) {
	rocksdb := []string{"-workload", "rocksdb", "-policy", "ghost-shinjuku", "-q"}
	hold := []string{"-config", "skylake112", "-workload", "hold", "-q"}
	tests := []struct {
		name string
		args []string
		want string // the whole stderr, one line
	}{
		{"duration overflows the clock", with(hold, "-duration", "10000h"),
			"-duration 10000h: run.duration_ms: must be at most 2592000000 (30 days), got 36000000000"},
		{"warm-up overflows the clock", with(hold, "-set", "run.warmup_ms=36000000000"),
			"-set #1: run.warmup_ms: must be at most 2592000000 (30 days), got 36000000000"},
		{"duration wraps", with(hold, "-set", "run.duration_ms=1000000000000000"),
			"-set #1: run.duration_ms: must be at most 2592000000 (30 days), got 1000000000000000"},
		{"warm-up plus duration", with(hold, "-set", "run.warmup_ms=2000000000", "-set", "run.duration_ms=1000000000"),
			"-set #1: run.warmup_ms: warm-up plus run.duration_ms must be at most 2592000000 (30 days), got 2000000000 + 1000000000"},
		{"fault time", with(ghostSyn, "-set", "fault.agent_crash_at_ms=9000000000000"),
			"-set #3: fault.agent_crash_at_ms: must be in 0..2592000000 (0 = never), got 9000000000000"},
		{"service mean inf", with(syn, "-set", "workload.group[0].service.mean_us=inf"),
			"-set #1: workload.group[0].service.mean_us: must be > 0 and at most 1e+09 (µs), got +Inf"},
		{"service mean 1e300", with(syn, "-set", "workload.group[0].service.mean_us=1e300"),
			"-set #1: workload.group[0].service.mean_us: must be > 0 and at most 1e+09 (µs), got 1e+300"},
		{"periodic run_us nan", []string{"-config", "skylake112", "-config", "synthetic-periodic.toml", "-workload", "synthetic", "-q", "-set", "workload.group[0].run_us=nan"},
			"-set #1: workload.group[0].run_us: must be > 0 and at most 1e+09 (µs), got NaN"},
		{"rocksdb long_us inf", with(rocksdb, "-set", "workload.rocksdb.long_us=inf"),
			"-set #1: workload.rocksdb.long_us: must be in 0..1e+09 (µs), got +Inf"},
		{"time slice nan", with(rocksdb, "-set", "policy.time_slice_us=nan"),
			"-set #1: policy.time_slice_us: must be in 0..1e+09 (µs; 0 = no slice), got NaN"},
		{"arrival rate inf", with(syn, "-set", "workload.group[0].arrival.rate_per_s=inf"),
			"-set #1: workload.group[0].arrival.rate_per_s: must be in 0.001..1e+09 (a mean gap of 1000 s to 1 ns), got +Inf"},
		{"arrival rate 1e12", with(syn, "-set", "workload.group[0].arrival.rate_per_s=1e12"),
			"-set #1: workload.group[0].arrival.rate_per_s: must be in 0.001..1e+09 (a mean gap of 1000 s to 1 ns), got 1e+12"},
		{"requests over the run", with(syn, "-set", "workload.group[0].arrival.rate_per_s=1e9"),
			"-set #1: workload.group[0].arrival.rate_per_s: 1e+09 per s over the run's 0.22 s (warm-up and window) offers 2.2e+08 requests, more than 16777216 (memory: about 80 bytes per waiting request); lower the rate or run.duration_ms"},
		{"threads 1e9", with(syn, "-set", "workload.group[0].threads=1000000000"),
			"-set #1: workload.group[0].threads: must be in 1..50000 (memory: about 4 KB per thread), got 1000000000"},
		{"hold pending 1e9", with(hold, "-set", "workload.hold.pending=1000000000"),
			"-set #1: workload.hold.pending: must be at most 16777216 (memory: 32 bytes per event), got 1000000000"},
		{"kernel hz 1e9", with(hold, "-set", "kernel.hz=1000000000"),
			"-set #1: kernel.hz: must be at most 10000 (Linux offers 100..1000), got 1000000000"},
		{"queue of one slot", with(ghostSyn, "-set", "policy.queue_elems=1"),
			"-set #3: policy.queue_elems: must be at least 8 (a TASK_NEW message takes 7 slots), got 1"},
		{"-policy without a ghOSt group", with(syn, "-policy", "fifo-central"),
			`synthetic-requests.toml:14: workload.group: -policy fifo-central schedules no thread: no group has class = "ghost" (set workload.group[N].class)`},
		{"enclave of the global agent's CPU only", with(ghostSyn, "-set", "enclave.cpus=0", "-set", "workload.group[0].cpus=0"),
			`-set #3: enclave.cpus: "0": policy fifo-central: no CPU for tasks: the global agent spins on CPU 0, the enclave's only one: give the enclave a CPU for its tasks as well`},
		{"global CPU outside the enclave", with(ghostSyn, "-set", "policy.global_cpu=20"),
			`-set #3: policy.global_cpu: CPU 20 is not in the enclave (enclave.cpus "0-8")`},
		{"-trace with -sweep", with(syn, "-sweep", "load=1000,2000", "-trace", filepath.Join(t.TempDir(), "t.json")),
			"-trace traces one run; it cannot be combined with -sweep (trace one point with -set instead)"},
		{"enclave disjoint from its group", with(ghostSyn, "-set", "enclave.cpus=20-30"),
			`synthetic-requests.toml:18: workload.group[0].cpus: "0-7" has no CPU of the enclave (enclave.cpus "20-30"), so its ghOSt threads could never run`},
		{"ghost class without policy", with(syn, "-set", `workload.group[0].class="ghost"`),
			`-set #1: workload.group[0].class: "ghost" needs a ghOSt policy: give -policy (see ghostsim -list)`},
		{"no machine", []string{"-config", "/dev/null", "-workload", "hold", "-q"},
			"no machine: add -config NAME (embedded: haswell72, rome256, skylake112, xeon48)"},
		{"config /dev/zero", []string{"-config", "/dev/zero", "-q"},
			"/dev/zero: larger than 1048576 bytes (1 MiB), the limit for a config file"},
		{"unterminated quote", with(hold, "-set", `machine.name="abc`),
			`-set #1: machine.name: bad value "abc: it starts as a TOML string but is not valid TOML (unexpected EOF; expected '"'); quote the whole value for the shell, e.g. -set 'key="text"'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.Contains(strings.Join(tt.args, " "), "/dev/") {
				if _, err := os.Stat("/dev/zero"); err != nil {
					t.Skip("no /dev")
				}
			}
			code, stdout, stderr := ghostsim(t, tt.args...)
			if code != exitUsage || stdout != "" {
				t.Errorf("exit %d, stdout %q; want 2 and nothing", code, stdout)
			}
			if want := "ghostsim: " + tt.want + "\n"; stderr != want {
				t.Errorf("stderr:\n%s\nwant:\n%s", stderr, want)
			}
		})
	}
}

// TestConfigErrorsAfterLoadExit2: errors found while the run is set up,
// after the config loaded, are config errors (exit 2, no "reproduce
// with"), as README promises.
func TestConfigErrorsAfterLoadExit2(t *testing.T) {
	for _, args := range [][]string{
		{"-workload", "rocksdb", "-policy", "ghost-shinjuku", "-set", "enclave.cpus=0-11", "-q"},
		{"-config", "skylake112", "-workload", "rocksdb", "-policy", "ghost-shinjuku", "-q"},
	} {
		code, _, stderr := ghostsim(t, args...)
		if code != exitUsage || strings.Contains(stderr, "reproduce with") {
			t.Errorf("ghostsim %s: exit %d, stderr:\n%s\nwant exit 2 without 'reproduce with'", strings.Join(args, " "), code, stderr)
		}
		checkErrorLines(t, stderr)
	}
	var ce *experiment.ConfigError
	err := error(&experiment.ConfigError{Err: errors.New("x")})
	if !errors.As(err, &ce) || !isConfigError(err) {
		t.Errorf("isConfigError misses a *experiment.ConfigError")
	}
}

// TestServedNothingWarns: a run whose requests all stay unserved (each
// takes longer than the window) says so on stderr.
func TestServedNothingWarns(t *testing.T) {
	// Requests of 100 ms in a 10 ms window: none can complete.
	code, _, stderr := ghostsim(t, with(syn, "-set", "workload.group[0].service.mean_us=100000", "-set", `workload.group[0].service.dist="constant"`,
		"-set", "run.warmup_ms=0", "-duration", "10ms", "-json")...)
	if code != exitOK || !regexp.MustCompile(`^ghostsim: warning: the run served nothing: \d+ requests arrived and none completed\n$`).MatchString(stderr) {
		t.Errorf("exit %d, stderr %q; want 0 and the served-nothing warning", code, stderr)
	}
	code, _, stderr = ghostsim(t, with(ghostSyn, "-set", "fault.agent_crash_at_ms=5", "-duration", "10ms", "-json")...)
	if code != exitOK || !strings.Contains(stderr, "ghostsim: note: the agent of policy fifo-central crashed at 5ms as the config injected") {
		t.Errorf("exit %d, stderr %q; want the injected agent crash's note", code, stderr)
	}
}

// TestSeedAboveInt64: -h promises a seed below 2^64.
func TestSeedAboveInt64(t *testing.T) {
	r := jsonResult(t, "-config", "skylake112", "-workload", "hold", "-duration", "1ms", "-seed", "9223372036854775808")
	if r.Seed != 1<<63 {
		t.Errorf("seed %d, want 2^63", r.Seed)
	}
	r = jsonResult(t, "-config", "skylake112", "-workload", "hold", "-duration", "1ms", "-seed", "18446744073709551615")
	if r.Seed != 1<<64-1 {
		t.Errorf("seed %d, want 2^64-1", r.Seed)
	}
}

// failWriter fails every write, as stdout on a full device does.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// TestStdoutWriteErrors: output that cannot be written is a failure, not
// exit 0 (ghostsim > /dev/full).
func TestStdoutWriteErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-config", "skylake112", "-workload", "hold", "-duration", "1ms", "-q"},
		{"-config", "skylake112", "-workload", "hold", "-duration", "1ms", "-json"},
		{"-list"},
		{"-h"},
	} {
		var stderr strings.Builder
		code := run(args, failWriter{}, &stderr)
		if code == exitOK || !strings.Contains(stderr.String(), "ghostsim: writing the output: no space left on device") {
			t.Errorf("ghostsim %s > full: exit %d, stderr %q; want non-zero and the write error", strings.Join(args, " "), code, stderr.String())
		}
	}
}

// TestCompareDevZero: compare refuses an endless file instead of hanging.
func TestCompareDevZero(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	done := make(chan int, 1)
	var stderr strings.Builder
	go func() { done <- run([]string{"compare", "/dev/zero", "/dev/zero"}, failWriter{}, &stderr) }()
	select {
	case code := <-done:
		if code != exitUsage || !strings.Contains(stderr.String(), "larger than") {
			t.Errorf("compare /dev/zero: exit %d, stderr %q", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("compare /dev/zero hangs")
	}
}
