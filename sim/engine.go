package sim

import (
	"fmt"
)

// Event is what an engine delivers to a handler: a few small integers whose
// meaning the handler defines. Events are values; scheduling one does not
// allocate (once the heap has grown to its working size).
type Event struct {
	// Kind says what happened, in the handler's own numbering.
	Kind uint16
	h    HandlerID
	// Gen is a generation number for lazy cancellation: the owner of an
	// object bumps the object's generation to cancel pending events that
	// carry the old one, and ignores them when they arrive (see Timer).
	Gen uint32
	// A and B are operands: a CPU id, a task id, an index.
	A, B int32
}

// H returns the handler the event was scheduled for.
func (ev Event) H() HandlerID { return ev.h }

// HandlerID names a Handler registered with an Engine.
type HandlerID uint16

// Handler receives the events scheduled for it.
type Handler interface {
	// HandleEvent runs ev at time now (== Engine.Now()).
	HandleEvent(now Time, ev Event)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(now Time, ev Event)

// HandleEvent calls f(now, ev).
func (f HandlerFunc) HandleEvent(now Time, ev Event) { f(now, ev) }

// Engine runs one simulation: a clock, a future-event set and the handlers
// events are delivered to. It is not safe for concurrent use; independent
// simulations use independent engines.
type Engine struct {
	now      Time
	seq      uint64
	heap     eventHeap
	handlers []Handler
	executed uint64
	stopped  bool
	limit    uint64 // SetEventLimit's budget, 0 for none
	limited  bool   // the budget ran out

	rng  rngSet
	coro coroSet

	// AfterEvent, when not nil, runs after every event; tests use it to
	// check invariants continuously.
	AfterEvent func(now Time)
}

// NewEngine returns an engine at time 0 whose random streams derive from
// seed.
func NewEngine(seed uint64) *Engine {
	return &Engine{rng: newRNGSet(seed)}
}

// Now returns the current simulated time.
func (e *Engine) Now() Time { return e.now }

// Executed returns the number of events delivered so far.
func (e *Engine) Executed() uint64 { return e.executed }

// Pending returns the number of events in the future-event set, including
// any that their owners have since cancelled by generation.
func (e *Engine) Pending() int { return e.heap.len() }

// Register adds h and returns the id that events for it carry.
func (e *Engine) Register(h Handler) HandlerID {
	if len(e.handlers) >= 1<<16 {
		panic("sim: more than 65536 handlers registered")
	}
	e.handlers = append(e.handlers, h)
	return HandlerID(len(e.handlers) - 1)
}

// Schedule arranges for ev to be delivered to handler h at time at, which
// must not be in the past. Events at equal times are delivered in the order
// they were scheduled.
func (e *Engine) Schedule(at Time, h HandlerID, ev Event) {
	if at < e.now {
		panic(fmt.Sprintf("sim: event for handler %d kind %d scheduled at %v, before now %v", h, ev.Kind, at, e.now))
	}
	ev.h = h
	e.seq++
	e.heap.push(entry{at: at, seq: e.seq, ev: ev})
}

// After schedules ev for handler h at d from now.
func (e *Engine) After(d Time, h HandlerID, ev Event) { e.Schedule(e.now+d, h, ev) }

// Step delivers the earliest pending event and reports whether there was
// one.
func (e *Engine) Step() bool {
	if e.heap.len() == 0 {
		return false
	}
	x := e.heap.pop()
	e.now = x.at
	e.executed++
	e.handlers[x.ev.h].HandleEvent(x.at, x.ev)
	if e.AfterEvent != nil {
		e.AfterEvent(x.at)
	}
	return true
}

// Run delivers events in order until the next one is later than until, no
// events remain, or Stop is called; then the clock reads until (or the time
// of the last event, if Stop ended the run). It returns the number of
// events delivered.
func (e *Engine) Run(until Time) uint64 {
	start := e.executed
	e.stopped = false
	for !e.stopped && e.heap.len() > 0 && e.heap.peek().at <= until {
		if e.limit != 0 && e.executed >= e.limit {
			e.limited = true
			return e.executed - start
		}
		e.Step()
	}
	if !e.stopped && until > e.now {
		e.now = until
	}
	return e.executed - start
}

// SetEventLimit makes Run deliver at most n events in all (0: no limit):
// once n have run, Run returns at once, leaving the clock at the last
// event, and LimitReached reports true. A guard against a run that would
// take too long, for fuzzing and for CI.
func (e *Engine) SetEventLimit(n uint64) { e.limit = n }

// LimitReached reports whether Run stopped because SetEventLimit's budget
// ran out.
func (e *Engine) LimitReached() bool { return e.limited }

// Stop ends the current Run after the event being delivered.
func (e *Engine) Stop() { e.stopped = true }

// NextAt returns the time of the earliest pending event, or Never.
func (e *Engine) NextAt() Time {
	if e.heap.len() == 0 {
		return Never
	}
	return e.heap.peek().at
}

// Close stops every coroutine that has not finished, so that no goroutine
// outlives the simulation. Call it when a run ends, also after a panic.
func (e *Engine) Close() { e.coro.stopAll() }

// Timer is a re-armable single event with lazy cancellation: arming or
// stopping it bumps its generation, and an event that arrives with an old
// generation is ignored by Fired. The zero Timer is stopped.
type Timer struct {
	gen   uint32
	armed bool
	at    Time
}

// Arm schedules the timer's event for handler h at time at, replacing any
// earlier arming. ev.Gen is overwritten.
func (t *Timer) Arm(e *Engine, at Time, h HandlerID, ev Event) {
	t.gen++
	t.armed = true
	t.at = at
	ev.Gen = t.gen
	e.Schedule(at, h, ev)
}

// Stop cancels the pending event, if any.
func (t *Timer) Stop() {
	t.gen++
	t.armed = false
}

// Armed reports whether an event is pending, and when.
func (t *Timer) Armed() (Time, bool) { return t.at, t.armed }

// Fired reports whether ev is the timer's current event, and disarms it if
// so. Handlers call it first and ignore ev when it returns false.
func (t *Timer) Fired(ev Event) bool {
	if !t.armed || ev.Gen != t.gen {
		return false
	}
	t.armed = false
	return true
}
