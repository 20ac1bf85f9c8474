package agent

// FIFO is a deterministic double-ended queue of T, the runqueue of FIFO
// policies. It reuses its backing array; pushing and popping do not
// allocate once it has grown.
type FIFO[T comparable] struct {
	buf        []T
	head, size int
}

// Len returns the number of elements.
func (q *FIFO[T]) Len() int { return q.size }

func (q *FIFO[T]) grow() {
	n := len(q.buf) * 2
	if n == 0 {
		n = 16
	}
	nb := make([]T, n)
	for i := 0; i < q.size; i++ {
		nb[i] = q.buf[(q.head+i)%len(q.buf)]
	}
	q.buf, q.head = nb, 0
}

// PushBack appends x.
func (q *FIFO[T]) PushBack(x T) {
	if q.size == len(q.buf) {
		q.grow()
	}
	q.buf[(q.head+q.size)%len(q.buf)] = x
	q.size++
}

// PushFront prepends x (a boosted task goes first).
func (q *FIFO[T]) PushFront(x T) {
	if q.size == len(q.buf) {
		q.grow()
	}
	q.head = (q.head - 1 + len(q.buf)) % len(q.buf)
	q.buf[q.head] = x
	q.size++
}

// PopFront removes and returns the first element; ok is false if empty.
func (q *FIFO[T]) PopFront() (x T, ok bool) {
	if q.size == 0 {
		return x, false
	}
	x = q.buf[q.head]
	var zero T
	q.buf[q.head] = zero
	q.head = (q.head + 1) % len(q.buf)
	q.size--
	return x, true
}

// Front returns the first element without removing it.
func (q *FIFO[T]) Front() (x T, ok bool) {
	if q.size == 0 {
		return x, false
	}
	return q.buf[q.head], true
}

// Remove deletes the first occurrence of x and reports whether it was
// there.
func (q *FIFO[T]) Remove(x T) bool {
	for i := 0; i < q.size; i++ {
		if q.buf[(q.head+i)%len(q.buf)] == x {
			for j := i; j < q.size-1; j++ {
				q.buf[(q.head+j)%len(q.buf)] = q.buf[(q.head+j+1)%len(q.buf)]
			}
			var zero T
			q.buf[(q.head+q.size-1)%len(q.buf)] = zero
			q.size--
			return true
		}
	}
	return false
}
