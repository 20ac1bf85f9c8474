package experiment_test

import (
	"runtime"
	"strconv"
	"testing"
)

// TestPoliciesDoNotAllocatePerMessage: once an experiment is set up, a
// longer run allocates no more than a shorter one, whatever the number of
// messages the agents handle in between — the built-in policies, the agent
// library and the kernel keep the event loop allocation-free. (A handler
// passed by value as a TaskHandler once cost an allocation per message.)
func TestPoliciesDoNotAllocatePerMessage(t *testing.T) {
	ghost := []string{`workload.group[0].class="ghost"`, "enclave.cpus=0-8", "run.warmup_ms=2"}
	tests := []expCase{
		{"fifo-central", []string{"skylake112", "synthetic-requests"}, ghost, "synthetic", "fifo-central"},
		{"fifo-percpu", []string{"skylake112", "synthetic-requests"}, ghost, "synthetic", "fifo-percpu"},
		{"ghost-shinjuku", []string{"xeon48", "rocksdb"}, []string{"workload.rocksdb.load_rps=200000", "run.warmup_ms=2"}, "rocksdb", "ghost-shinjuku"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := func(ms int) (mallocs uint64, messages int64) {
				// Loading the configs allocates the same for both runs.
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				r := tt.run(t, "run.duration_ms="+strconv.Itoa(ms))
				runtime.ReadMemStats(&after)
				return after.Mallocs - before.Mallocs, r.Ghost.Messages
			}
			shortAllocs, shortMsgs := run(5)
			longAllocs, longMsgs := run(40)
			extraMsgs := longMsgs - shortMsgs
			if extraMsgs < 1000 {
				t.Fatalf("only %d more messages in the longer run; the test needs many", extraMsgs)
			}
			// Slack for the runtime's own bookkeeping, far below one
			// allocation per message.
			if extra := int64(longAllocs) - int64(shortAllocs); extra > extraMsgs/100 {
				t.Errorf("%d more allocations for %d more messages (5 ms: %d allocs, 40 ms: %d)", extra, extraMsgs, shortAllocs, longAllocs)
			}
		})
	}
}
