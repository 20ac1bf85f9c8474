package agent

import (
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// verifyHeap checks the heap property: no item is before its parent.
func verifyHeap[T comparable](t *testing.T, h *Heap[T]) {
	t.Helper()
	for i := 1; i < h.Len(); i++ {
		c, p := h.At(i), h.At((i-1)/2)
		if c.before(&p) {
			t.Fatalf("item %d (key %d seq %d) before its parent (key %d seq %d)", i, c.Key, c.Seq, p.Key, p.Seq)
		}
	}
}

// verifyIndex checks that every value's slot holds its position, and
// that the values not in the heap have -1 (or were never pushed).
func verifyIndex(t *testing.T, h *Heap[int], slots []int32) {
	t.Helper()
	in := make(map[int]bool, h.Len())
	for i := 0; i < h.Len(); i++ {
		v := h.At(i).Value
		in[v] = true
		if slots[v] != int32(i) {
			t.Fatalf("value %d at position %d, its slot says %d", v, i, slots[v])
		}
	}
	for v, s := range slots {
		if !in[v] && s != -1 {
			t.Fatalf("value %d not in the heap, its slot says %d", v, s)
		}
	}
}

// TestHeapAgainstSort: random pushes, pops, re-pushes and removals
// against a model kept sorted by (key, insertion order), as raft's
// quorum/quick_test.go checks the fast path against a naive one; with
// Index set (the O(log n) Remove), the slots are checked after every step
// too.
func TestHeapAgainstSort(t *testing.T) {
	tests := []struct {
		name    string
		indexed bool
	}{
		{"scanning Remove", false},
		{"indexed Remove", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := uint64(1); seed <= 20; seed++ {
				r := rand.New(rand.NewPCG(seed, 0))
				var h Heap[int]
				var slots []int32
				if tt.indexed {
					h.Index = func(v int) *int32 { return &slots[v] }
				}
				var model []HeapItem[int]
				sortModel := func() {
					sort.Slice(model, func(i, j int) bool { return model[i].before(&model[j]) })
				}
				var popped []HeapItem[int] // out of the heap, may be pushed back
				next := 0
				for step := 0; step < 2000; step++ {
					switch op := r.IntN(12); {
					case op < 5:
						key := int64(r.IntN(8)) // many ties
						slots = append(slots, -1)
						seq := h.Push(next, key)
						model = append(model, HeapItem[int]{Value: next, Key: key, Seq: seq})
						next++
					case op < 8:
						it, ok := h.Pop()
						if !ok {
							if len(model) != 0 {
								t.Fatalf("seed %d: Pop on a heap of %d failed", seed, len(model))
							}
							continue
						}
						sortModel()
						if diff := cmp.Diff(model[0], it); diff != "" {
							t.Fatalf("seed %d step %d: Pop (-want +got):\n%s", seed, step, diff)
						}
						model = model[1:]
						popped = append(popped, it)
					case op < 9:
						if len(popped) == 0 {
							continue
						}
						i := r.IntN(len(popped))
						h.PushItem(popped[i])
						model = append(model, popped[i])
						popped = append(popped[:i], popped[i+1:]...)
					case op < 11:
						if len(model) == 0 {
							continue
						}
						i := r.IntN(len(model))
						if !h.Remove(model[i].Value) {
							t.Fatalf("seed %d: Remove(%d) = false", seed, model[i].Value)
						}
						if h.Remove(model[i].Value) {
							t.Fatalf("seed %d: second Remove(%d) = true", seed, model[i].Value)
						}
						popped = append(popped, model[i])
						model = append(model[:i], model[i+1:]...)
					default:
						if len(popped) == 0 {
							continue
						}
						if v := popped[r.IntN(len(popped))].Value; h.Remove(v) {
							t.Fatalf("seed %d: Remove(%d) of a value not in the heap = true", seed, v)
						}
					}
					verifyHeap(t, &h)
					if tt.indexed {
						verifyIndex(t, &h, slots)
					}
					if h.Len() != len(model) {
						t.Fatalf("seed %d: Len %d, model %d", seed, h.Len(), len(model))
					}
				}
				// Drain: what is left comes out in the model's order.
				sortModel()
				var got []HeapItem[int]
				for h.Len() > 0 {
					it, _ := h.Pop()
					got = append(got, it)
				}
				if diff := cmp.Diff(model, got); len(model) > 0 && diff != "" {
					t.Fatalf("seed %d: drain (-want +got):\n%s", seed, diff)
				}
				if tt.indexed {
					verifyIndex(t, &h, slots)
				}
			}
		})
	}
}

// TestHeapTiesAndPushItem: equal keys come out in insertion order, and an
// item popped and pushed back with PushItem keeps its place.
func TestHeapTiesAndPushItem(t *testing.T) {
	var h Heap[string]
	h.Push("b1", 2)
	h.Push("a", 1)
	h.Push("b2", 2)
	h.Push("b3", 2)
	a, _ := h.Pop()
	b1, _ := h.Pop()
	h.Push("b4", 2)
	h.PushItem(b1) // skipped for a round: back before b2
	h.PushItem(a)
	var got []string
	for h.Len() > 0 {
		it, _ := h.Pop()
		got = append(got, it.Value)
	}
	if diff := cmp.Diff([]string{"a", "b1", "b2", "b3", "b4"}, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if h.Remove("zz") {
		t.Error("Remove of an absent value returned true")
	}
	if _, ok := h.Peek(); ok {
		t.Error("Peek on an empty heap returned ok")
	}
}

func TestHeapLevels(t *testing.T) {
	var h Heap[int]
	for n, want := range []int{0, 1, 2, 2, 3, 3, 3, 3, 4} {
		if got := h.Levels(); got != want {
			t.Errorf("Levels with %d items = %d, want ceil(log2(%d+1)) = %d", n, got, n, want)
		}
		h.Push(n, 0)
	}
}

// TestHeapIndexedNoAllocs: with Index set, once grown, pushes, pops,
// re-pushes and removals do not allocate.
func TestHeapIndexedNoAllocs(t *testing.T) {
	type val struct{ idx int32 }
	vals := make([]*val, 64)
	for i := range vals {
		vals[i] = &val{idx: -1}
	}
	h := Heap[*val]{Index: func(v *val) *int32 { return &v.idx }}
	round := func() {
		for i, v := range vals {
			h.Push(v, int64(i%7))
		}
		for i := 0; i < 64; i += 3 {
			h.Remove(vals[i])
		}
		it, _ := h.Pop()
		h.PushItem(it)
		for h.Len() > 0 {
			h.Pop()
		}
	}
	round() // grow
	if n := testing.AllocsPerRun(100, round); n != 0 {
		t.Errorf("%v allocations per steady-state round, want 0", n)
	}
}

// TestHeapNoAllocs: once grown, a push and a pop do not allocate.
func TestHeapNoAllocs(t *testing.T) {
	var h Heap[*int]
	x := new(int)
	for i := 0; i < 64; i++ {
		h.Push(x, int64(i))
	}
	for h.Len() > 0 {
		h.Pop()
	}
	k := int64(0)
	if n := testing.AllocsPerRun(100, func() {
		for i := 0; i < 32; i++ {
			k++
			h.Push(x, k%7)
		}
		for i := 0; i < 32; i++ {
			it, _ := h.Pop()
			h.PushItem(it)
			h.Pop()
		}
	}); n != 0 {
		t.Errorf("%v allocations per steady-state round, want 0", n)
	}
}
