package rocksdb_test

import "testing"

// BenchmarkSystems300k runs each system of Fig 6 for 100 ms (after 20 ms
// of warm-up) at 300k requests/s, near the knee, where the ghOSt systems
// do the most work per simulated second; an op includes loading the
// configs. The fig6 reproduction is 90 such points of 1–3 s.
//
//	go test -run XXX -bench Systems300k -benchtime 3x ./workloads/rocksdb/
func BenchmarkSystems300k(b *testing.B) {
	for _, sys := range []string{"ghost-shinjuku", "shinjuku-dataplane", "cfs-shinjuku"} {
		b.Run(sys, func(b *testing.B) {
			b.ReportAllocs()
			var events uint64
			for b.Loop() {
				events += run(b, sys, false, load(300000), "run.warmup_ms=20", "run.duration_ms=100").Events
			}
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
