package rocksdb_test

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/ghostsim/ghostsim/experiment"
	"github.com/ghostsim/ghostsim/results"
	"github.com/ghostsim/ghostsim/workloads/rocksdb"
)

// run runs the Fig 6 experiment (xeon48 + rocksdb.toml) for system with
// -set style overrides.
func run(t testing.TB, system string, check bool, sets ...string) *results.Result {
	t.Helper()
	spec, meta, err := experiment.Load([]string{"xeon48", "rocksdb"}, sets)
	if err != nil {
		t.Fatal(err)
	}
	r, err := experiment.Run(spec, experiment.Options{Workload: "rocksdb", Policy: system, Check: check})
	if err != nil {
		t.Fatalf("%s: %v", system, meta.Wrap(err))
	}
	return r
}

func load(rps int) string { return fmt.Sprintf("workload.rocksdb.load_rps=%d", rps) }

// TestAccounting: every system, at a low and a high load, accounts for
// every request (generated = completed + in flight) and keeps up with the
// offered load. The low-load runs check the kernel's invariants after
// every event.
func TestAccounting(t *testing.T) {
	for _, sys := range rocksdb.Systems() {
		for _, rps := range []int{20000, 300000} {
			t.Run(fmt.Sprintf("%s/%d", sys, rps), func(t *testing.T) {
				r := run(t, sys, rps < 100000, load(rps), "run.warmup_ms=5", "run.duration_ms=20")
				gen, done, fly := r.Metrics["requests_generated"], r.Metrics["requests_completed"], r.Metrics["requests_in_flight"]
				if gen == 0 || gen != done+fly || fly < 0 {
					t.Errorf("generated %v, completed %v, in flight %v", gen, done, fly)
				}
				// Poisson over 25 ms: generated within 10 % of the offered load.
				if want := float64(rps) * 0.025; math.Abs(gen-want) > 0.1*want {
					t.Errorf("generated %v requests, want about %v", gen, want)
				}
				if n := r.Latency["all"].Count; n != r.Latency["short"].Count+r.Latency["long"].Count || n == 0 {
					t.Errorf("latency counts: all %d, short %d, long %d", n, r.Latency["short"].Count, r.Latency["long"].Count)
				}
			})
		}
	}
}

// TestLowLoad: at 20k req/s every system serves a short request in about
// its 10 µs of CPU time (p50 within 3 µs of it), and the short-request p99
// stays far below 1 ms. cfs-shinjuku-batch is left out of the p99 check:
// with a batch thread on every CPU, no CPU is idle, so CFS wakes a worker
// on its previous CPU (select_idle_sibling finds nothing) and, at nice −20,
// vruntime moves too slowly for wakeup preemption, so a worker can wait
// behind another's 10 ms request (a Linux behavior the paper does not
// measure; it reports only the batch share of that setup).
func TestLowLoad(t *testing.T) {
	for _, sys := range rocksdb.Systems() {
		t.Run(sys, func(t *testing.T) {
			r := run(t, sys, false, load(20000), "run.warmup_ms=10", "run.duration_ms=100")
			short := r.Latency["short"]
			if p50 := float64(short.P50) / 1e3; p50 < 10 || p50 > 13 {
				t.Errorf("short p50 %.1f µs, want 10–13 µs (10 µs of CPU plus the hand-off)", p50)
			}
			if p99 := float64(short.P99) / 1e3; sys != "cfs-shinjuku-batch" && p99 > 100 {
				t.Errorf("short p99 %.1f µs, want far below 1 ms", p99)
			}
			if long := r.Latency["long"]; long.Count > 0 && long.P50 < 10_006_000 {
				t.Errorf("long p50 %v ns, below its 10.006 ms of CPU time", long.P50)
			}
		})
	}
}

// TestBatchShare (Fig 6c): the Shenango policy gives the batch app the
// CPUs RocksDB leaves idle; the Shinjuku data plane gives it nothing.
func TestBatchShare(t *testing.T) {
	r := run(t, "ghost-shinjuku-shenango", false, load(20000), "run.warmup_ms=5", "run.duration_ms=30")
	// 20k req/s × 60 µs ≈ 1.2 CPUs of RocksDB: the batch app gets most of
	// the other 18.8.
	if b := r.Metrics["batch.cpus"]; b < 15 || b > 20 {
		t.Errorf("ghost-shinjuku-shenango: batch app used %.2f CPUs, want most of the 20", b)
	}
	if s := r.CPU.Share["batch"]; s <= 0 {
		t.Errorf("ghost-shinjuku-shenango: cpu.share.batch = %v", s)
	}
	r = run(t, "shinjuku-dataplane", false, load(20000), "workload.rocksdb.batch=true", "run.warmup_ms=5", "run.duration_ms=30")
	if b, s := r.Metrics["batch.cpus"], r.CPU.Share["batch"]; b != 0 || s != 0 {
		t.Errorf("shinjuku-dataplane: batch app used %v CPUs (share %v), want none", b, s)
	}
	// The data plane's CPUs are busy even when idle: 20 workers and the
	// dispatcher spin.
	if u := r.CPU.Share["rocksdb"] + r.CPU.Share["dispatcher"]; u < 20.9/48 {
		t.Errorf("shinjuku-dataplane: workers and dispatcher use %.3f of the machine, want their 21 CPUs", u)
	}
}

// TestPreemption: on two worker CPUs with 2 % of 2 ms requests, a 30 µs
// slice keeps short requests from waiting behind long ones (ghOSt through
// its agent's preemptions, the data plane through posted interrupts);
// without a slice, they wait for milliseconds.
func TestPreemption(t *testing.T) {
	small := []string{`workload.rocksdb.worker_cpus="2-3"`, `enclave.cpus="1-3"`,
		"workload.rocksdb.long_us=2000", "workload.rocksdb.p_long=0.02", load(20000),
		"run.warmup_ms=10", "run.duration_ms=100"}
	for _, sys := range []string{"ghost-shinjuku", "shinjuku-dataplane"} {
		t.Run(sys, func(t *testing.T) {
			r := run(t, sys, false, small...)
			if p99 := float64(r.Latency["short"].P99) / 1e3; p99 > 150 {
				t.Errorf("30 µs slice: short p99 %.1f µs, want under 150 µs", p99)
			}
			if n := r.Metrics["requests_preempted"]; n == 0 {
				t.Error("no request was preempted")
			}
			if sys == "ghost-shinjuku" && r.Ghost.Txns["TXN_COMPLETE"] <= int64(r.Latency["all"].Count) {
				t.Errorf("%d committed txns for %d requests: no preemption commits", r.Ghost.Txns["TXN_COMPLETE"], r.Latency["all"].Count)
			}
			r = run(t, sys, false, append(small, "policy.time_slice_us=0")...)
			if p99 := float64(r.Latency["short"].P99) / 1e3; p99 < 500 {
				t.Errorf("no slice: short p99 %.1f µs; want long requests to block short ones (> 500 µs)", p99)
			}
		})
	}
}

// TestDeterministic: the same seed gives the same result, byte for byte.
func TestDeterministic(t *testing.T) {
	for _, sys := range []string{"ghost-shinjuku-shenango", "shinjuku-dataplane"} {
		get := func() []byte {
			r := run(t, sys, false, load(200000), "run.warmup_ms=2", "run.duration_ms=10")
			b, err := r.Deterministic().JSON()
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		if a, b := get(), get(); !bytes.Equal(a, b) {
			t.Errorf("%s: same seed, different results", sys)
		}
	}
}

// TestConfigErrors: bad values name their key (and -set position); a bad
// system name lists the valid ones; an enclave that does not match the
// worker CPUs is refused.
func TestConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		set, want string
	}{
		{"workload.rocksdb.load_rps=0", "workload.rocksdb.load_rps: must be > 0"},
		{"workload.rocksdb.p_long=2", "workload.rocksdb.p_long"},
		{`workload.rocksdb.worker_cpus="0-11"`, "workload.rocksdb.worker_cpus: \"0-11\" includes generator_cpu 0"},
		{"workload.rocksdb.dispatcher_cpu=99", "workload.rocksdb.dispatcher_cpu: must be a CPU of the machine"},
		{"workload.rocksdb.dataplane.context_cycles=-1", "workload.rocksdb.dataplane.context_cycles"},
	} {
		spec, meta, err := experiment.Load([]string{"xeon48", "rocksdb"}, []string{tt.set})
		if err == nil {
			_, err = experiment.Run(spec, experiment.Options{Workload: "rocksdb", Policy: "cfs-shinjuku"})
			err = meta.Wrap(err)
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "-set #1") {
			t.Errorf("-set %s: error %v, want one at -set #1 containing %q", tt.set, err, tt.want)
		}
	}
	info, _ := experiment.FindWorkload("rocksdb")
	if _, err := info.GhostPolicy("shinjuku"); err == nil || !strings.Contains(err.Error(), "shinjuku-dataplane") {
		t.Errorf("unknown system: error %v, want the list of systems", err)
	}
	for sys, want := range map[string]string{"ghost-shinjuku": "ghost-shinjuku", "cfs-shinjuku": "", "shinjuku-dataplane": ""} {
		if got, err := info.GhostPolicy(sys); err != nil || got != want {
			t.Errorf("GhostPolicy(%q) = %q, %v; want %q", sys, got, err, want)
		}
	}
	spec, _, err := experiment.Load([]string{"xeon48", "rocksdb"}, []string{`enclave.cpus="1-11,24-35"`})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := experiment.Run(spec, experiment.Options{Workload: "rocksdb", Policy: "ghost-shinjuku"}); err == nil || !strings.Contains(err.Error(), "enclave.cpus") {
		t.Errorf("mismatched enclave: error %v", err)
	}
}

// TestOneRequestPerWakeup: as in ghost-userspace's harness (batch 1), a
// worker serves one request per hand-off and sleeps in between, even
// when requests are waiting: with two workers on two CPUs overloaded,
// every completed request took a wakeup of a sleeping worker.
func TestOneRequestPerWakeup(t *testing.T) {
	r := run(t, "cfs-shinjuku", false, `workload.rocksdb.worker_cpus="2-3"`, "workload.rocksdb.workers=2",
		"workload.rocksdb.p_long=0", load(400000), "run.warmup_ms=1", "run.duration_ms=5")
	done := r.Latency["all"].Count - r.Latency["all"].Incomplete
	if done == 0 {
		t.Fatal("nothing completed")
	}
	if w := r.Kernel.Wakeups; w < done {
		t.Errorf("%d wakeups for %d requests served: workers took waiting requests without sleeping", w, done)
	}
}

// TestIdleWorkerGetsAWaitingRequest: a worker that goes idle while a
// request waits gets it as soon as the generator sees the idle mark, not
// at the next arrival. One worker at 20k req/s: two arrivals within one
// 10 µs service are common, and the second must not wait ~50 µs for the
// third (without the mark reaching the generator, the queue never drains:
// p99 35 ms).
func TestIdleWorkerGetsAWaitingRequest(t *testing.T) {
	r := run(t, "cfs-shinjuku", false, `workload.rocksdb.worker_cpus="2"`, "workload.rocksdb.workers=1",
		"workload.rocksdb.p_long=0", load(20000), "run.warmup_ms=1", "run.duration_ms=100")
	if p99 := float64(r.Latency["all"].P99) / 1e3; p99 > 40 {
		t.Errorf("p99 %.1f µs with one worker at 20k req/s, want under 40 µs (two services and a hand-off)", p99)
	}
}

// TestOverloadCountsEveryRequest is issue 14's rocksdb example: at 400k
// req/s (about 1.2 times what 20 workers serve) every system leaves
// requests unfinished at the window's end. Each request of the window
// counts in the latencies, those unfinished with their age at the end
// (incomplete), and the result is saturated. Before, the unfinished ones
// were dropped from the percentiles.
func TestOverloadCountsEveryRequest(t *testing.T) {
	for _, sys := range rocksdb.Systems() {
		t.Run(sys, func(t *testing.T) {
			r := run(t, sys, false, load(400000), "run.warmup_ms=5", "run.duration_ms=40")
			all, b := r.Latency["all"], r.Backlog["all"]
			t.Logf("latency all %+v; backlog %+v", all, b)
			if all.Count != b.Arrived || all.Count != r.Latency["short"].Count+r.Latency["long"].Count {
				t.Errorf("latency counts %d requests (short %d, long %d), %d arrived in the window: every one must count",
					all.Count, r.Latency["short"].Count, r.Latency["long"].Count, b.Arrived)
			}
			if all.Incomplete == 0 || all.Incomplete != r.Latency["short"].Incomplete+r.Latency["long"].Incomplete {
				t.Errorf("incomplete: all %d, short %d, long %d", all.Incomplete, r.Latency["short"].Incomplete, r.Latency["long"].Incomplete)
			}
			if b.InFlightEnd != b.InFlightStart+b.Arrived-b.Completed {
				t.Errorf("backlog %+v does not add up", b)
			}
			if !r.Saturated {
				t.Errorf("saturated = false at 400k req/s")
			}
		})
	}
}

// TestAnyGhostPolicyIsASystem: a registered ghOSt policy that is not one
// of the workload's systems runs the 200-worker pool as ghost-shinjuku's
// does (a user's policy on Fig 6), with the invariant checker on.
func TestAnyGhostPolicyIsASystem(t *testing.T) {
	r := run(t, "fifo-central", true, load(50000), "run.warmup_ms=5", "run.duration_ms=20")
	gen, done, fly := r.Metrics["requests_generated"], r.Metrics["requests_completed"], r.Metrics["requests_in_flight"]
	if gen == 0 || gen != done+fly || r.Policy != "fifo-central" || r.Ghost.Messages == 0 {
		t.Errorf("policy %s: generated %v, completed %v, in flight %v, ghOSt messages %d", r.Policy, gen, done, fly, r.Ghost.Messages)
	}
}
