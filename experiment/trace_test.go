package experiment_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/ghostsim/ghostsim/experiment"
)

// TestTraceExport: a ghOSt run's Chrome trace is valid JSON with a track
// per CPU, slices of what ran, and instant events of ghOSt messages.
func TestTraceExport(t *testing.T) {
	spec, _, err := experiment.Load([]string{"skylake112", "synthetic-requests"},
		[]string{"workload.group[0].class=\"ghost\"", "enclave.cpus=0-8", "run.duration_ms=2", "run.warmup_ms=0"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := experiment.Run(spec, experiment.Options{Workload: "synthetic", Policy: "fifo-central", Trace: &buf}); err != nil {
		t.Fatal(err)
	}
	var tr struct {
		TraceEvents []struct {
			Name string  `json:"name"`
			Ph   string  `json:"ph"`
			Tid  int     `json:"tid"`
			Dur  float64 `json:"dur"`
		} `json:"traceEvents"`
	}
	if err := json.Unmarshal(buf.Bytes(), &tr); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	count := map[string]int{}
	for _, ev := range tr.TraceEvents {
		count[ev.Ph]++
		if ev.Ph == "X" && ev.Dur <= 0 {
			t.Errorf("slice %q on cpu%d has duration %v", ev.Name, ev.Tid, ev.Dur)
		}
	}
	if count["M"] != 112 || count["X"] == 0 || count["i"] == 0 {
		t.Errorf("events by phase %v: want 112 track names, slices and instants", count)
	}
}
