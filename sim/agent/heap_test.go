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

// TestHeapAgainstSort: random pushes, pops and removals against a model
// kept sorted by (key, insertion order), as raft's quorum/quick_test.go
// checks the fast path against a naive one.
func TestHeapAgainstSort(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		r := rand.New(rand.NewPCG(seed, 0))
		var h Heap[int]
		var model []HeapItem[int]
		next := 0
		for step := 0; step < 2000; step++ {
			switch op := r.IntN(10); {
			case op < 5:
				key := int64(r.IntN(8)) // many ties
				seq := h.Push(next, key)
				model = append(model, HeapItem[int]{Value: next, Key: key, Seq: seq})
				next++
			case op < 9:
				it, ok := h.Pop()
				if !ok {
					if len(model) != 0 {
						t.Fatalf("seed %d: Pop on a heap of %d failed", seed, len(model))
					}
					continue
				}
				sort.Slice(model, func(i, j int) bool { return model[i].before(&model[j]) })
				if it != model[0] {
					t.Fatalf("seed %d step %d: Pop = %+v, want %+v", seed, step, it, model[0])
				}
				model = model[1:]
			default:
				if len(model) == 0 {
					continue
				}
				i := r.IntN(len(model))
				if !h.Remove(model[i].Value) {
					t.Fatalf("seed %d: Remove(%d) = false", seed, model[i].Value)
				}
				model = append(model[:i], model[i+1:]...)
			}
			verifyHeap(t, &h)
			if h.Len() != len(model) {
				t.Fatalf("seed %d: Len %d, model %d", seed, h.Len(), len(model))
			}
		}
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
