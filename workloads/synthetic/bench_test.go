package synthetic_test

import (
	"testing"

	"github.com/ghostsim/ghostsim/experiment"
)

// BenchmarkBusyRome256CFS runs a busy 256-CPU CFS scenario on rome256:
// 512 request threads per socket, each group serving 1 M requests/s of
// 50 us (50 CPUs of work per 128-CPU socket, about 65 % of its capacity with SMT contention), plus 64 nice-19 hogs soaking
// idle CPUs, so wakeups, preemption, balancing, ticks and IPIs all happen
// at scale. The groups are pinned per socket because 4.15 does not
// fork-balance across Rome's sockets (SLIT 32 > 30): unpinned, every
// thread would start on socket 0. The hogs land on socket 0's first threads
// and keep them: waking servers take idle SMT siblings in their CCX rather
// than preempt a nice-19 hog (4.15 counts a CPU running one as busy), and
// busy CPUs balance only every 256 ms at the CCX level. One op is 10 ms of
// simulated time after 5 ms of warm-up.
func BenchmarkBusyRome256CFS(b *testing.B) {
	sets := []string{
		"workload.group=[" +
			"{name = \"server0\", threads = 512, cpus = \"0-63,128-191\", program = \"requests\", arrival = {dist = \"exponential\", rate_per_s = 1000000.0}, service = {dist = \"exponential\", mean_us = 50.0}}," +
			"{name = \"server1\", threads = 512, cpus = \"64-127,192-255\", program = \"requests\", arrival = {dist = \"exponential\", rate_per_s = 1000000.0}, service = {dist = \"exponential\", mean_us = 50.0}}," +
			"{name = \"batch\", threads = 64, nice = 19, program = \"hog\"}]",
		"run.duration_ms=10", "run.warmup_ms=5",
	}
	spec, _, err := experiment.Load([]string{"rome256"}, sets)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var events uint64
	var simSeconds float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := experiment.Run(spec, experiment.Options{Workload: "synthetic"})
		if err != nil {
			b.Fatal(err)
		}
		events += r.Events
		simSeconds += float64(r.SimTimeNs) / 1e9
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(simSeconds/b.Elapsed().Seconds(), "sim-s/wall-s")
}
