package sim

import "testing"

// Benchmarks of the hold model: N events pending, each delivery schedules
// its successor after an exponential hold. BenchmarkHold runs it on the
// engine; BenchmarkBareHeap runs the same model as a bare loop over a
// 4-ary heap of (time, seq) pairs with the same random draws, the
// reference docs/PERFORMANCE.md compares against. One op is one event.

func BenchmarkHold(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(sizeName(n), func(b *testing.B) {
			e := NewEngine(1)
			NewHoldModel(e, n, Us(1))
			for i := 0; i < 2*n; i++ { // reach steady state
				e.Step()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				e.Step()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

func BenchmarkBareHeap(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(sizeName(n), func(b *testing.B) {
			r := NewStream(1, "hold/holds")
			h := bareHeap{}
			var seq uint64
			for i := 0; i < n; i++ {
				seq++
				h.push(bareItem{at: int64(r.ExpFloat64() * 1e6), seq: seq})
			}
			step := func() {
				x := h.pop()
				seq++
				h.push(bareItem{at: x.at + int64(r.ExpFloat64()*1e6), seq: seq})
			}
			for i := 0; i < 2*n; i++ {
				step()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				step()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

func sizeName(n int) string {
	if n >= 1000 && n%1000 == 0 {
		return "pending=" + itoa(n/1000) + "k"
	}
	return "pending=" + itoa(n)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return string(buf[i:])
}

type bareItem struct {
	at  int64
	seq uint64
}

// bareHeap is the simplest fast 4-ary heap: no handler, no payload.
type bareHeap struct{ items []bareItem }

func (h *bareHeap) push(x bareItem) {
	h.items = append(h.items, x)
	i := len(h.items) - 1
	for i > 0 {
		p := (i - 1) >> 2
		if y := h.items[p]; y.at < x.at || (y.at == x.at && y.seq < x.seq) {
			break
		}
		h.items[i] = h.items[p]
		i = p
	}
	h.items[i] = x
}

func (h *bareHeap) pop() bareItem {
	top := h.items[0]
	n := len(h.items) - 1
	last := h.items[n]
	h.items = h.items[:n]
	i := 0
	for {
		c := i<<2 + 1
		if c >= n {
			break
		}
		m := c
		for j := c + 1; j < c+4 && j < n; j++ {
			if a, bb := h.items[j], h.items[m]; a.at < bb.at || (a.at == bb.at && a.seq < bb.seq) {
				m = j
			}
		}
		if y := h.items[m]; !(y.at < last.at || (y.at == last.at && y.seq < last.seq)) {
			break
		}
		h.items[i] = h.items[m]
		i = m
	}
	if n > 0 {
		h.items[i] = last
	}
	return top
}
