package sim

import (
	"fmt"
	"iter"
	"runtime"
	"runtime/debug"
)

// A Coroutine runs a body written as a blocking loop (an agent thread, a
// workload thread program) one step at a time. Each Resume runs the body
// until it yields a request of type R to its resumer or returns; the
// resumer decides when, in simulated time, to resume it again. Only one
// coroutine or the engine runs at any moment.
//
// Coroutines are built on iter.Pull. A switch costs a few hundred
// nanoseconds of wall time, so kernel paths use plain event handlers and
// coroutines are kept for code whose point is to read as a loop.
type Coroutine[R any] struct {
	name  string
	next  func() (R, bool)
	stop  func()
	done  bool
	set   *coroSet
	index int // position in set.live, or -1
	err   error
}

// stopSignal unwinds a coroutine body that is stopped while suspended.
type stopSignal struct{}

// PanicError is a panic raised inside a coroutine body, returned by
// Resume instead of crashing the simulation; callers decide what it means
// (for an agent thread, an agent crash).
type PanicError struct {
	Coroutine string
	Value     any
	Stack     string
	// PCs are the program counters of the panicking stack, innermost
	// first (runtime.Callers from the recovering defer): for
	// runtime.CallersFrames, to find the frame to blame.
	PCs []uintptr
}

// maxPanicFrames bounds PanicError.PCs.
const maxPanicFrames = 128

func (p *PanicError) Error() string {
	return fmt.Sprintf("coroutine %s panicked: %v", p.Coroutine, p.Value)
}

// NewCoroutine creates a suspended coroutine on engine e. body receives a
// yield function that suspends it, handing req to the resumer. The engine
// stops the coroutine on Close if it has not finished by then.
func NewCoroutine[R any](e *Engine, name string, body func(yield func(R))) *Coroutine[R] {
	c := &Coroutine[R]{name: name, set: &e.coro, index: -1}
	var panicked *PanicError
	seq := func(yield func(R) bool) {
		defer func() {
			if p := recover(); p != nil {
				if _, ok := p.(stopSignal); ok {
					return
				}
				pcs := make([]uintptr, maxPanicFrames)
				pcs = pcs[:runtime.Callers(1, pcs)]
				panicked = &PanicError{Coroutine: name, Value: p, Stack: string(debug.Stack()), PCs: pcs}
			}
		}()
		body(func(r R) {
			if !yield(r) {
				panic(stopSignal{})
			}
		})
	}
	next, stop := iter.Pull(seq)
	c.next = func() (R, bool) {
		r, ok := next()
		if panicked != nil {
			c.err = panicked
			panicked = nil
		}
		return r, ok
	}
	c.stop = stop
	e.coro.add(c)
	return c
}

// Name returns the name given to NewCoroutine.
func (c *Coroutine[R]) Name() string { return c.name }

// Resume runs the body until it yields or returns. It returns the yielded
// request and true, or the zero R and false once the body has returned (or
// panicked, in which case err is a *PanicError). Resuming a finished
// coroutine returns false again.
func (c *Coroutine[R]) Resume() (req R, ok bool, err error) {
	if c.done {
		return req, false, c.err
	}
	req, ok = c.next()
	if !ok {
		c.finish()
	}
	return req, ok, c.err
}

// Done reports whether the body has returned or been stopped.
func (c *Coroutine[R]) Done() bool { return c.done }

// Stop ends a suspended coroutine: its pending yield unwinds the body
// (deferred calls run) without resuming its logic.
func (c *Coroutine[R]) Stop() {
	if c.done {
		return
	}
	c.stop()
	c.finish()
}

func (c *Coroutine[R]) finish() {
	c.done = true
	c.set.remove(c)
}

func (c *Coroutine[R]) setIndex(i int) { c.index = i }
func (c *Coroutine[R]) getIndex() int  { return c.index }

// stopper is what coroSet needs of a Coroutine of any request type.
type stopper interface {
	Stop()
	setIndex(int)
	getIndex() int
}

// coroSet tracks an engine's unfinished coroutines so Close can stop them.
type coroSet struct {
	live []stopper
}

func (s *coroSet) add(c stopper) {
	c.setIndex(len(s.live))
	s.live = append(s.live, c)
}

func (s *coroSet) remove(c stopper) {
	i := c.getIndex()
	if i < 0 {
		return
	}
	last := len(s.live) - 1
	s.live[i] = s.live[last]
	s.live[i].setIndex(i)
	s.live[last] = nil
	s.live = s.live[:last]
	c.setIndex(-1)
}

// Live returns how many coroutines of this engine have not finished.
func (e *Engine) Live() int { return len(e.coro.live) }

func (s *coroSet) stopAll() {
	for len(s.live) > 0 {
		s.live[len(s.live)-1].Stop()
	}
}
