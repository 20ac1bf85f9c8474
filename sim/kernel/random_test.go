package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/ghostsim/ghostsim/sim"
)

// TestRandomPrograms runs random thread programs — computing, blocking,
// sleeping, yielding, waking each other, changing affinity, nice and
// class — with the invariant checker after every event, then checks that
// every task ran its program to the end: none lost, none stuck. A
// periodic external waker makes sure no Block waits forever. The seed is
// in the subtest name; rerun one with -run 'TestRandomPrograms/seed=N'.
func TestRandomPrograms(t *testing.T) {
	seeds := 30
	if testing.Short() {
		seeds = 3
	}
	for seed := 1; seed <= seeds; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			machine := []string{"xeon48", "rome256", "skylake112"}[seed%3]
			k := newTestKernel(t, machine)
			r := rand.New(rand.NewPCG(uint64(seed), 99))
			n := k.NumCPUs()
			ntasks := 8 + r.IntN(40)
			tasks := make([]*Task, ntasks)
			finished := 0
			for i := range tasks {
				steps := 20 + r.IntN(60)
				pr := rand.New(rand.NewPCG(uint64(seed), uint64(i)))
				aff := randomSet(pr, n)
				tasks[i] = spawn(t, k, TaskSpec{
					Name:        fmt.Sprintf("r%d", i),
					Class:       []Class{ClassCFS, ClassCFS, ClassCFS, ClassRT, ClassAgent, ClassMicroQuanta}[pr.IntN(6)],
					Nice:        pr.IntN(40) - 20,
					Affinity:    aff,
					CPU:         -1,
					NUMAHome:    pr.IntN(3) - 1,
					FootprintKB: pr.IntN(1024),
					MemShare:    pr.Float64(),
					Program: func(th *Thread) {
						for s := 0; s < steps; s++ {
							switch pr.IntN(9) {
							case 0, 1:
								th.Run(sim.Time(pr.Int64N(int64(2 * sim.Millisecond))))
							case 2:
								th.Block()
							case 3:
								th.Sleep(sim.Time(pr.Int64N(int64(sim.Millisecond))))
							case 4:
								th.Yield()
							case 5:
								th.Wake(tasks[pr.IntN(len(tasks))])
							case 6:
								th.SetAffinity(randomSet(pr, n))
							case 7:
								th.SetNice(pr.IntN(40) - 20)
							case 8:
								// Mostly back to CFS: RT and agent FIFO tasks never
								// yield to CFS and would starve it for long
								// (MicroQuanta is bandwidth-bound).
								th.SetClass([]Class{ClassCFS, ClassCFS, ClassCFS, ClassRT, ClassMicroQuanta}[pr.IntN(5)])
							}
						}
						finished++
					},
				})
			}
			e := k.Engine()
			waker := e.Register(sim.HandlerFunc(func(now sim.Time, ev sim.Event) {
				for _, task := range tasks {
					k.Wake(task)
				}
				e.After(sim.Millisecond, ev.H(), ev)
			}))
			_ = waker
			e.After(sim.Millisecond, waker, sim.Event{})
			for i := 0; i < 200 && finished < ntasks; i++ {
				e.Run(e.Now() + 10*sim.Millisecond)
			}
			if finished != ntasks {
				var states []string
				for _, task := range tasks {
					states = append(states, fmt.Sprintf("%v:%v@%d", task, task.State(), task.CPU()))
				}
				t.Fatalf("%s: %d of %d programs finished by %v: %v", machine, finished, ntasks, e.Now(), states)
			}
			for _, task := range tasks {
				if task.State() != TaskDead {
					t.Errorf("%v finished its program but is %v", task, task.State())
				}
			}
		})
	}
}

func randomSet(r *rand.Rand, n int) CPUSet {
	var s CPUSet
	for s.Empty() {
		lo := r.IntN(n)
		hi := lo + 1 + r.IntN(min(n-lo, 16))
		s = RangeSet(lo, hi)
		if r.IntN(4) == 0 {
			s = RangeSet(0, n)
		}
	}
	return s
}
