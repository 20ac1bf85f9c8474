package workloads

import (
	"fmt"

	"github.com/ghostsim/ghostsim/sim"
)

// Requests is the latency bookkeeping of a request-driven workload, shared
// by every such workload so that all count alike (README "Latency under
// overload"):
//
//   - every request that arrives in the measured window counts: those
//     completed with their latency, those still in flight when the window
//     ends with their age then (a lower bound of their latency), counted
//     in the class's Summary.Incomplete;
//   - requests that arrived before the window (in the warm-up) count in
//     no latency, whenever they complete;
//   - per class, the window's Backlog (arrived, completed, in flight at
//     its start and end), from which results.Saturated judges whether the
//     system kept up.
//
// A workload calls Arrive when a request arrives (its class fixed then),
// keeps the returned Ticket with the request, and calls Complete with it
// when the request is answered. Tickets are slots of a table of requests
// in flight, reused through a free list: the table grows to the largest
// number of requests in flight at once and Arrive and Complete allocate
// nothing after that. Nothing depends on map order or the wall clock.
type Requests struct {
	names   []string // class names, by class index
	all     string   // the union class's name, "" for none
	clients []int64  // a closed loop's clients per class, nil for an open loop

	slots []reqSlot // by ticket
	free  []Ticket  // tickets not in use, reused last-freed first

	start sim.Time
	lat   []*sim.Histogram // per class: completed requests of the window
	c     []reqCounts      // per class
}

// Ticket names a request in flight; valid from its Arrive to its Complete.
type Ticket int32

// reqSlot is a request in flight, or a free slot (class -1).
type reqSlot struct {
	arrived sim.Time
	class   int32
}

// reqCounts are one class's counters.
type reqCounts struct {
	generated, completed int64 // since time 0
	inFlightStart        int64 // in flight at the window's start
	arrivedWin           int64 // arrived in the window
	doneWin              int64 // completed in the window, whenever arrived
}

// NewRequests returns the bookkeeping of requests of the given classes
// (class i is classes[i] in Arrive), and of their union under the name
// all ("" for no union class).
func NewRequests(classes []string, all string) *Requests {
	q := &Requests{names: append([]string(nil), classes...), all: all}
	q.lat = make([]*sim.Histogram, len(classes))
	for i := range q.lat {
		q.lat[i] = sim.NewHistogram()
	}
	q.c = make([]reqCounts, len(classes))
	return q
}

// SetClients declares the requests a closed loop: class i's requests come
// from clients[i] clients, each sending its next request only when its
// last is answered, so that no more are ever in flight. Backlog reports
// them; results.Saturated never reads a closed loop as saturated.
func (q *Requests) SetClients(clients []int64) {
	if len(clients) != len(q.names) {
		panic(fmt.Sprintf("workloads: %d client counts for %d request classes", len(clients), len(q.names)))
	}
	q.clients = append([]int64(nil), clients...)
}

// Arrive records a request of class class arriving at now and returns its
// ticket.
func (q *Requests) Arrive(now sim.Time, class int) Ticket {
	q.c[class].generated++
	q.c[class].arrivedWin++ // ResetStats zeroes it at the window's start
	s := reqSlot{arrived: now, class: int32(class)}
	if n := len(q.free); n > 0 {
		t := q.free[n-1]
		q.free = q.free[:n-1]
		q.slots[t] = s
		return t
	}
	q.slots = append(q.slots, s)
	return Ticket(len(q.slots) - 1)
}

// Complete records the request of ticket t answered at now, which ends
// the ticket, and returns its latency and whether it arrived in the
// measured window (and so counts in the latencies).
func (q *Requests) Complete(now sim.Time, t Ticket) (latency sim.Time, counted bool) {
	s := q.slots[t]
	if s.class < 0 {
		panic(fmt.Sprintf("workloads: request ticket %d completed twice (at %v)", t, now))
	}
	q.slots[t].class = -1
	q.free = append(q.free, t)
	c := &q.c[s.class]
	c.completed++
	c.doneWin++ // ResetStats zeroes it at the window's start
	d := now - s.arrived
	if s.arrived < q.start {
		return d, false
	}
	q.lat[s.class].Record(d)
	return d, true
}

// Arrived returns the arrival time of the request of ticket t.
func (q *Requests) Arrived(t Ticket) sim.Time { return q.slots[t].arrived }

// Start returns the start of the measured window (0 before ResetStats).
func (q *Requests) Start() sim.Time { return q.start }

// ResetStats starts the measured window at now.
func (q *Requests) ResetStats(now sim.Time) {
	q.start = now
	for i := range q.c {
		c := &q.c[i]
		q.lat[i] = sim.NewHistogram()
		c.inFlightStart = c.generated - c.completed
		c.arrivedWin, c.doneWin = 0, 0
	}
}

// Generated, Completed and InFlight return class class's requests since
// time 0 (Generated = Completed + InFlight); class -1 is all classes.
func (q *Requests) Generated(class int) int64 {
	return q.sum(class, func(c reqCounts) int64 { return c.generated })
}

// Completed: see Generated.
func (q *Requests) Completed(class int) int64 {
	return q.sum(class, func(c reqCounts) int64 { return c.completed })
}

// InFlight: see Generated.
func (q *Requests) InFlight(class int) int64 { return q.Generated(class) - q.Completed(class) }

// CompletedInWindow returns class class's requests completed in the
// window, whenever they arrived; class -1 is all classes.
func (q *Requests) CompletedInWindow(class int) int64 {
	return q.sum(class, func(c reqCounts) int64 { return c.doneWin })
}

// CompletedOfWindow returns class class's requests that arrived in the
// window and completed in it; class -1 is all classes.
func (q *Requests) CompletedOfWindow(class int) int64 {
	if class >= 0 {
		return q.lat[class].Count()
	}
	var n int64
	for _, h := range q.lat {
		n += h.Count()
	}
	return n
}

func (q *Requests) sum(class int, f func(reqCounts) int64) int64 {
	if class >= 0 {
		return f(q.c[class])
	}
	var n int64
	for _, c := range q.c {
		n += f(c)
	}
	return n
}

// Report adds, for each class and the union class, the latency summary of
// the window's requests (those in flight at now entering with their age,
// counted in Incomplete) and the window's backlog.
func (q *Requests) Report(now sim.Time, r *Report) {
	hs := make([]*sim.Histogram, len(q.names))
	inc := make([]int64, len(q.names))
	for i, h := range q.lat {
		hs[i] = h.Clone()
	}
	for _, s := range q.slots {
		if s.class >= 0 && s.arrived >= q.start {
			hs[s.class].Record(now - s.arrived)
			inc[s.class]++
		}
	}
	var union *sim.Histogram
	var unionInc int64
	var unionB sim.Backlog
	if q.all != "" {
		union = sim.NewHistogram()
	}
	for i, name := range q.names {
		s := hs[i].Summary()
		s.Incomplete = inc[i]
		r.Latency[name] = s
		c := q.c[i]
		b := sim.Backlog{
			Arrived:       c.arrivedWin,
			Completed:     c.doneWin,
			InFlightStart: c.inFlightStart,
			InFlightEnd:   c.generated - c.completed,
		}
		if q.clients != nil {
			b.Clients = q.clients[i]
		}
		r.Backlog[name] = b
		if union != nil {
			union.Merge(hs[i])
			unionInc += inc[i]
			unionB.Arrived += b.Arrived
			unionB.Completed += b.Completed
			unionB.InFlightStart += b.InFlightStart
			unionB.InFlightEnd += b.InFlightEnd
			unionB.Clients += b.Clients
		}
	}
	if union != nil {
		s := union.Summary()
		s.Incomplete = unionInc
		r.Latency[q.all] = s
		r.Backlog[q.all] = unionB
	}
}
