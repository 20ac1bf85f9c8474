package sim

import (
	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram records latencies (or any non-negative durations) and reports
// percentiles. It keeps an HdrHistogram with three significant digits
// (values within 0.1 % of the true percentile) over 1 ns to 1000 s, plus
// the exact count, sum and maximum. HdrHistogram is a well-tested,
// constant-memory structure whose recording does not allocate; writing our
// own would buy nothing.
type Histogram struct {
	h     *hdr.Histogram
	count int64
	sumNs float64 // for the mean; float because sums of ns overflow nothing but want a fraction at the end
	max   Time
	min   Time
}

// Histogram range in nanoseconds.
const (
	histLowestNs  = 1
	histHighestNs = 1000 * 1000 * 1000 * 1000 // 1000 s
	histSigFigs   = 3
)

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{h: hdr.New(histLowestNs, histHighestNs, histSigFigs), min: Never}
}

// Record adds one value. Values are recorded at nanosecond resolution;
// values below 1 ns count as 1 ns and above 1000 s as 1000 s (the exact
// maximum is still kept).
func (h *Histogram) Record(d Time) {
	ns := d.Ns()
	if ns < histLowestNs {
		ns = histLowestNs
	}
	if ns > histHighestNs {
		ns = histHighestNs
	}
	_ = h.h.RecordValue(ns) // in range by construction
	h.count++
	h.sumNs += d.NsFloat()
	if d > h.max {
		h.max = d
	}
	if d < h.min {
		h.min = d
	}
}

// Count returns the number of values recorded.
func (h *Histogram) Count() int64 { return h.count }

// Max returns the largest value recorded, exactly.
func (h *Histogram) Max() Time { return h.max }

// Mean returns the mean in nanoseconds (0 when empty).
func (h *Histogram) Mean() float64 {
	if h.count == 0 {
		return 0
	}
	return h.sumNs / float64(h.count)
}

// Quantile returns the value at percentile p (0–100), in nanoseconds, to
// three significant digits. HdrHistogram reports the top of the bucket a
// percentile falls in, which can lie above every recorded value; the result
// is kept within the exact minimum and maximum, so no percentile exceeds
// the max it is reported beside.
func (h *Histogram) Quantile(p float64) int64 {
	if h.count == 0 {
		return 0
	}
	if p >= 100 {
		return h.max.Ns()
	}
	return min(max(h.h.ValueAtPercentile(p), h.min.Ns()), h.max.Ns())
}

// Merge adds every value of o to h.
func (h *Histogram) Merge(o *Histogram) {
	h.h.Merge(o.h)
	h.count += o.count
	h.sumNs += o.sumNs
	if o.max > h.max {
		h.max = o.max
	}
	if o.min < h.min {
		h.min = o.min
	}
}

// Clone returns a copy of h.
func (h *Histogram) Clone() *Histogram {
	c := NewHistogram()
	c.Merge(h)
	return c
}

// Summary is a histogram's report, in nanoseconds, with the field names of
// the results contract (docs/DESIGN.md §8).
type Summary struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean"`
	P50   int64   `json:"p50"`
	P90   int64   `json:"p90"`
	P99   int64   `json:"p99"`
	P999  int64   `json:"p99.9"`
	P9999 int64   `json:"p99.99"`
	Max   int64   `json:"max"`
	// Incomplete is how many of the Count requests had not finished when
	// the measured window ended: each entered the mean and percentiles
	// with its age at the end, a lower bound of its latency. A summary
	// with Incomplete > 0 is therefore a lower bound too.
	Incomplete int64 `json:"incomplete"`
}

// SummaryStats are the statistics of a Summary by the names results use
// ("p99"), in order from the centre to the tail.
var SummaryStats = []string{"mean", "p50", "p90", "p99", "p99.9", "p99.99", "max"}

// Stat returns the statistic of s named name (one of SummaryStats), in
// ns; ok is false for an unknown name.
func (s Summary) Stat(name string) (v float64, ok bool) {
	switch name {
	case "mean":
		return s.Mean, true
	case "p50":
		return float64(s.P50), true
	case "p90":
		return float64(s.P90), true
	case "p99":
		return float64(s.P99), true
	case "p99.9":
		return float64(s.P999), true
	case "p99.99":
		return float64(s.P9999), true
	case "max":
		return float64(s.Max), true
	}
	return 0, false
}

// Backlog is the request accounting of one latency class over the
// measured window, from which a result's saturation is judged
// (results.Saturated). InFlightEnd = InFlightStart + Arrived − Completed
// holds exactly.
type Backlog struct {
	// Arrived is the requests that arrived in the window.
	Arrived int64 `json:"arrived"`
	// Completed is the requests that completed in the window, whenever
	// they arrived.
	Completed int64 `json:"completed"`
	// InFlightStart and InFlightEnd are the requests arrived and not
	// completed when the window started and when it ended.
	InFlightStart int64 `json:"in_flight_start"`
	InFlightEnd   int64 `json:"in_flight_end"`
	// Clients bounds the requests in flight of a closed loop (each client
	// sends its next request when the last is answered); 0 for an open
	// loop, whose arrivals do not wait for completions.
	Clients int64 `json:"clients,omitempty"`
}

// Summary reports count, mean, p50, p90, p99, p99.9, p99.99 and max.
func (h *Histogram) Summary() Summary {
	return Summary{
		Count: h.count,
		Mean:  h.Mean(),
		P50:   h.Quantile(50),
		P90:   h.Quantile(90),
		P99:   h.Quantile(99),
		P999:  h.Quantile(99.9),
		P9999: h.Quantile(99.99),
		Max:   h.max.Ns(),
	}
}

// Busy accumulates the time something (a CPU, a thread group) spends busy,
// for time-weighted utilisation. The zero value is idle since time 0.
type Busy struct {
	busy  bool
	since Time
	total Time
}

// Set marks the state from now on.
func (b *Busy) Set(now Time, busy bool) {
	if b.busy {
		b.total += now - b.since
	}
	b.busy = busy
	b.since = now
}

// Total returns the busy time up to now.
func (b *Busy) Total(now Time) Time {
	if b.busy {
		return b.total + now - b.since
	}
	return b.total
}

// IsBusy reports the current state.
func (b *Busy) IsBusy() bool { return b.busy }
