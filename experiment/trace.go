package experiment

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"github.com/ghostsim/ghostsim/sim"
	"github.com/ghostsim/ghostsim/sim/kernel"
)

// traceRecorder collects context switches and ghOSt trace lines for a
// Chrome trace-event file (loads in Perfetto and chrome://tracing): one
// track per CPU, a slice per stretch a task runs, and instant events for
// ghOSt messages, commits and the watchdog.
type traceRecorder struct {
	k        *kernel.Kernel
	switches []kernel.SwitchRecord
	instants []traceInstant
}

type traceInstant struct {
	at   sim.Time
	cpu  int
	what string
}

func newTraceRecorder(k *kernel.Kernel) *traceRecorder {
	r := &traceRecorder{k: k}
	k.OnSwitch(func(s kernel.SwitchRecord) { r.switches = append(r.switches, s) })
	k.SetTrace(func(at sim.Time, cpu int, format string, args []any) {
		r.instants = append(r.instants, traceInstant{at, cpu, fmt.Sprintf(format, args...)})
	})
	return r
}

// traceEvent is one event of the Chrome trace-event format (times in µs).
type traceEvent struct {
	Name  string         `json:"name"`
	Ph    string         `json:"ph"`
	Ts    float64        `json:"ts"`
	Dur   float64        `json:"dur,omitempty"`
	Pid   int            `json:"pid"`
	Tid   int            `json:"tid"`
	S     string         `json:"s,omitempty"`
	Args  map[string]any `json:"args,omitempty"`
	Cname string         `json:"cname,omitempty"`
}

// write emits the trace up to time end.
func (r *traceRecorder) write(w io.Writer, end sim.Time) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	us := func(t sim.Time) float64 { return float64(t) / float64(sim.Microsecond) }
	if _, err := bw.WriteString("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n"); err != nil {
		return err
	}
	first := true
	emit := func(ev traceEvent) error {
		if !first {
			if _, err := bw.WriteString(","); err != nil {
				return err
			}
		}
		first = false
		return enc.Encode(ev)
	}
	for cpu := 0; cpu < r.k.NumCPUs(); cpu++ {
		if err := emit(traceEvent{Name: "thread_name", Ph: "M", Pid: 0, Tid: cpu, Args: map[string]any{"name": fmt.Sprintf("cpu%d", cpu)}}); err != nil {
			return err
		}
	}
	// A slice per stretch: from a switch to a task until the next switch
	// on that CPU.
	running := make([]int, r.k.NumCPUs())
	since := make([]sim.Time, r.k.NumCPUs())
	for i := range running {
		running[i] = -1
	}
	slice := func(cpu int, to sim.Time) error {
		id := running[cpu]
		if id < 0 || to <= since[cpu] {
			return nil
		}
		t := r.k.Task(id)
		return emit(traceEvent{Name: t.Name(), Ph: "X", Ts: us(since[cpu]), Dur: us(to - since[cpu]), Pid: 0, Tid: cpu,
			Args: map[string]any{"task": id, "class": t.Class().String()}})
	}
	for _, s := range r.switches {
		if err := slice(s.CPU, s.At); err != nil {
			return err
		}
		running[s.CPU], since[s.CPU] = s.Next, s.At
	}
	for cpu := range running {
		if err := slice(cpu, end); err != nil {
			return err
		}
	}
	for _, in := range r.instants {
		tid := in.cpu
		if tid < 0 {
			tid = r.k.NumCPUs()
		}
		if err := emit(traceEvent{Name: in.what, Ph: "i", S: "t", Ts: us(in.at), Pid: 0, Tid: tid}); err != nil {
			return err
		}
	}
	if _, err := bw.WriteString("]}\n"); err != nil {
		return err
	}
	return bw.Flush()
}
