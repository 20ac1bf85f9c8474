package agent

import "github.com/ghostsim/ghostsim/sim"

// FIFO is a deterministic double-ended queue of T, the runqueue of FIFO
// policies: sim.Deque (PushBack, PushFront, PopFront, Front, Len, At,
// RemoveAt) plus Remove by value. It reuses its backing array; pushing and
// popping do not allocate once it has grown.
type FIFO[T comparable] struct {
	sim.Deque[T]
}

// Remove deletes the first occurrence of x and reports whether it was
// there.
func (q *FIFO[T]) Remove(x T) bool {
	for i := range q.Len() {
		if q.At(i) == x {
			q.RemoveAt(i)
			return true
		}
	}
	return false
}
