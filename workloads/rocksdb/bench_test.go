package rocksdb_test

import (
	"testing"

	"github.com/ghostsim/ghostsim/experiment"
)

// BenchmarkSystems300k runs each system of Fig 6 for 100 ms at 300k
// requests/s, near the knee, where the ghOSt systems do the most work per
// simulated second. The fig6 reproduction is 90 such points of 1–3 s.
//
//	go test -run XXX -bench Systems300k -benchtime 3x ./workloads/rocksdb/
func BenchmarkSystems300k(b *testing.B) {
	for _, sys := range []string{"ghost-shinjuku", "shinjuku-dataplane", "cfs-shinjuku"} {
		b.Run(sys, func(b *testing.B) {
			spec, meta, err := experiment.Load([]string{"xeon48", "rocksdb"},
				[]string{load(300000), "run.warmup_ms=20", "run.duration_ms=100"})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			var events uint64
			for b.Loop() {
				r, err := experiment.Run(spec, experiment.Options{Workload: "rocksdb", Policy: sys})
				if err != nil {
					b.Fatal(meta.Wrap(err))
				}
				events += r.Events
			}
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
