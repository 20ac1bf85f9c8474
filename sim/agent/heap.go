package agent

import "math/bits"

// HeapItem is one entry of a Heap: the value, the key it is ordered by,
// and its insertion sequence number, which breaks ties between equal keys
// (first in, first out).
type HeapItem[T any] struct {
	Value T
	Key   int64
	Seq   uint64
}

// before orders items by key, then by insertion order.
func (a *HeapItem[T]) before(b *HeapItem[T]) bool {
	if a.Key != b.Key {
		return a.Key < b.Key
	}
	return a.Seq < b.Seq
}

// Heap is a deterministic binary min-heap of T ordered by an int64 key,
// ties broken by insertion order: the runqueue of policies that pick the
// least of something (runtime, deadline). The key is stored with the item,
// so a value's own fields may change while it is queued without breaking
// the heap. It reuses its backing array: pushing and popping do not
// allocate once it has grown. The zero value is an empty heap.
//
// Like the other containers it does not charge its own cost: a policy
// charges Params.ContainerOpCycles times Levels() per push or pop (the
// sift is one compare and swap per level of the tree).
//
// With Index set the heap tracks each value's position, so Remove finds
// it without a scan and is O(log n), a push or a pop as well; without it
// Remove scans the heap.
type Heap[T comparable] struct {
	// Index, when set, returns the slot in which the heap keeps x's
	// position: the heap writes it whenever x moves, and -1 when x
	// leaves. Each value must have its own slot and be in at most one
	// heap that uses it. Set it before the first push.
	Index func(x T) *int32

	items []HeapItem[T]
	next  uint64
}

// Len returns the number of items.
func (h *Heap[T]) Len() int { return len(h.items) }

// Levels returns the depth of the tree, ceil(log2(Len()+1)): how many
// levels a sift crosses at most, the unit of a push's or pop's cost.
func (h *Heap[T]) Levels() int { return bits.Len(uint(len(h.items))) }

// Push adds x with key, after every item of an equal key already pushed.
// It returns the item's sequence number.
func (h *Heap[T]) Push(x T, key int64) uint64 {
	seq := h.next
	h.next++
	h.PushItem(HeapItem[T]{Value: x, Key: key, Seq: seq})
	return seq
}

// PushItem re-inserts an item popped earlier with its key and sequence
// number, so that it keeps its place among items of an equal key (a
// thread skipped for a round goes back where it was).
func (h *Heap[T]) PushItem(it HeapItem[T]) {
	if it.Seq >= h.next {
		h.next = it.Seq + 1 // keep later pushes after it
	}
	h.items = append(h.items, it)
	h.setIndex(len(h.items) - 1)
	h.up(len(h.items) - 1)
}

// Peek returns the least item; ok is false when the heap is empty.
func (h *Heap[T]) Peek() (it HeapItem[T], ok bool) {
	if len(h.items) == 0 {
		return it, false
	}
	return h.items[0], true
}

// Pop removes and returns the least item; ok is false when the heap is
// empty.
func (h *Heap[T]) Pop() (it HeapItem[T], ok bool) {
	if len(h.items) == 0 {
		return it, false
	}
	return h.removeAt(0), true
}

// Remove deletes the item whose value is x and reports whether it was
// there. With Index set it looks x's position up and sifts: O(log n).
// Without it, it scans the heap: O(n), for rare removals (a queued task
// that departs).
func (h *Heap[T]) Remove(x T) bool {
	if h.Index != nil {
		i := int(*h.Index(x))
		if i < 0 || i >= len(h.items) || h.items[i].Value != x {
			return false
		}
		h.removeAt(i)
		return true
	}
	for i := range h.items {
		if h.items[i].Value == x {
			h.removeAt(i)
			return true
		}
	}
	return false
}

// At returns the i-th item in heap (array) order, not key order: for
// inspection and invariant checks.
func (h *Heap[T]) At(i int) HeapItem[T] { return h.items[i] }

func (h *Heap[T]) removeAt(i int) HeapItem[T] {
	it := h.items[i]
	if h.Index != nil {
		*h.Index(it.Value) = -1
	}
	n := len(h.items) - 1
	if i != n {
		h.items[i] = h.items[n]
		h.setIndex(i)
	}
	var zero HeapItem[T]
	h.items[n] = zero // drop the reference for the GC
	h.items = h.items[:n]
	if i < n {
		if !h.down(i) {
			h.up(i)
		}
	}
	return it
}

func (h *Heap[T]) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.items[i].before(&h.items[p]) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

// down sifts item i down and reports whether it moved.
func (h *Heap[T]) down(i int) bool {
	start, n := i, len(h.items)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h.items[r].before(&h.items[l]) {
			m = r
		}
		if !h.items[m].before(&h.items[i]) {
			break
		}
		h.swap(i, m)
		i = m
	}
	return i > start
}

// swap exchanges items i and j and records their new positions.
func (h *Heap[T]) swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	if h.Index != nil {
		*h.Index(h.items[i].Value) = int32(i)
		*h.Index(h.items[j].Value) = int32(j)
	}
}

// setIndex records that item i is at position i.
func (h *Heap[T]) setIndex(i int) {
	if h.Index != nil {
		*h.Index(h.items[i].Value) = int32(i)
	}
}
