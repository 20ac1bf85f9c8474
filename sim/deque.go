package sim

// Deque is a double-ended queue of T on a ring buffer, in insertion order
// (deterministic, unlike a map). Once it has grown to its largest size,
// pushing and popping do not allocate, which keeps queues of requests,
// threads and tasks off the allocator in the event loop. The zero value is
// an empty deque.
type Deque[T any] struct {
	buf        []T
	head, size int
}

// Len returns the number of elements.
func (q *Deque[T]) Len() int { return q.size }

// slot is the index in buf of the i-th element.
func (q *Deque[T]) slot(i int) int {
	j := q.head + i
	if j >= len(q.buf) {
		j -= len(q.buf)
	}
	return j
}

func (q *Deque[T]) grow() {
	n := 2 * len(q.buf)
	if n == 0 {
		n = 16
	}
	nb := make([]T, n)
	for i := 0; i < q.size; i++ {
		nb[i] = q.buf[q.slot(i)]
	}
	q.buf, q.head = nb, 0
}

// PushBack appends x.
func (q *Deque[T]) PushBack(x T) {
	if q.size == len(q.buf) {
		q.grow()
	}
	q.buf[q.slot(q.size)] = x
	q.size++
}

// PushFront prepends x.
func (q *Deque[T]) PushFront(x T) {
	if q.size == len(q.buf) {
		q.grow()
	}
	q.head--
	if q.head < 0 {
		q.head += len(q.buf)
	}
	q.buf[q.head] = x
	q.size++
}

// PopFront removes and returns the first element; ok is false if empty.
func (q *Deque[T]) PopFront() (x T, ok bool) {
	if q.size == 0 {
		return x, false
	}
	x = q.buf[q.head]
	var zero T
	q.buf[q.head] = zero // drop the reference for the garbage collector
	q.head = q.slot(1)
	q.size--
	return x, true
}

// Front returns the first element without removing it.
func (q *Deque[T]) Front() (x T, ok bool) {
	if q.size == 0 {
		return x, false
	}
	return q.buf[q.head], true
}

// At returns the i-th element, 0 being the front. It panics if i is out
// of range.
func (q *Deque[T]) At(i int) T {
	if i < 0 || i >= q.size {
		panic("sim.Deque.At: index out of range")
	}
	return q.buf[q.slot(i)]
}

// RemoveAt deletes the i-th element, keeping the others in order. It
// panics if i is out of range.
func (q *Deque[T]) RemoveAt(i int) {
	if i < 0 || i >= q.size {
		panic("sim.Deque.RemoveAt: index out of range")
	}
	for j := i; j < q.size-1; j++ {
		q.buf[q.slot(j)] = q.buf[q.slot(j+1)]
	}
	var zero T
	q.buf[q.slot(q.size-1)] = zero
	q.size--
}
