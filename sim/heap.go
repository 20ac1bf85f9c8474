package sim

// entry is one pending event in the future-event set.
type entry struct {
	at  Time
	seq uint64
	ev  Event
}

// before reports whether a runs before b: earlier time first, then earlier
// insertion.
func (a *entry) before(b *entry) bool {
	return a.at < b.at || (a.at == b.at && a.seq < b.seq)
}

// eventHeap is a 4-ary min-heap of entries, stored by value. Four children
// per node halve the depth of a binary heap and keep siblings in one or two
// cache lines; sift operations move a hole instead of swapping.
type eventHeap struct {
	items []entry
}

func (h *eventHeap) len() int { return len(h.items) }

func (h *eventHeap) push(x entry) {
	h.items = append(h.items, x)
	i := len(h.items) - 1
	items := h.items
	for i > 0 {
		p := (i - 1) >> 2
		if !x.before(&items[p]) {
			break
		}
		items[i] = items[p]
		i = p
	}
	items[i] = x
}

// pop removes and returns the earliest entry. The heap must not be empty.
func (h *eventHeap) pop() entry {
	items := h.items
	top := items[0]
	n := len(items) - 1
	last := items[n]
	h.items = items[:n]
	if n == 0 {
		return top
	}
	items = items[:n]
	i := 0
	for {
		c := i<<2 + 1
		if c >= n {
			break
		}
		// Find the smallest of up to four children.
		m := c
		end := c + 4
		if end > n {
			end = n
		}
		for j := c + 1; j < end; j++ {
			if items[j].before(&items[m]) {
				m = j
			}
		}
		if !items[m].before(&last) {
			break
		}
		items[i] = items[m]
		i = m
	}
	items[i] = last
	return top
}

// peek returns the earliest entry without removing it. The heap must not be
// empty.
func (h *eventHeap) peek() *entry { return &h.items[0] }
