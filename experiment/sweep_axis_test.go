package experiment_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ghostsim/ghostsim/experiment"
)

func TestParseAxis(t *testing.T) {
	aliases := map[string]string{"load": "workload.group[0].arrival.rate_per_s"}
	tests := []struct {
		arg     string
		want    experiment.Axis
		wantErr string
	}{
		{"load=10000:30000:10000", experiment.Axis{Name: "load", Key: "workload.group[0].arrival.rate_per_s",
			Values: []float64{10000, 20000, 30000}, Texts: []string{"10000", "20000", "30000"}}, ""},
		{"run.seed=1,2,7", experiment.Axis{Name: "run.seed", Key: "run.seed",
			Values: []float64{1, 2, 7}, Texts: []string{"1", "2", "7"}}, ""},
		// Decimals are rounded to those written, so the end is reached.
		{"x.y=0.1:0.3:0.1", experiment.Axis{Name: "x.y", Key: "x.y",
			Values: []float64{0.1, 0.2, 0.3}, Texts: []string{"0.1", "0.2", "0.3"}}, ""},
		// A range not a whole number of steps long stops before TO.
		{"x.y=1:10:4", experiment.Axis{Name: "x.y", Key: "x.y", Values: []float64{1, 5, 9}, Texts: []string{"1", "5", "9"}}, ""},
		{"x.y=3:1:-1", experiment.Axis{Name: "x.y", Key: "x.y", Values: []float64{3, 2, 1}, Texts: []string{"3", "2", "1"}}, ""},
		{"x.y=7:7:1", experiment.Axis{Name: "x.y", Key: "x.y", Values: []float64{7}, Texts: []string{"7"}}, ""},
		// A list keeps the text as written for the -set override.
		{"a[1].b=1e5, 2.50", experiment.Axis{Name: "a[1].b", Key: "a[1].b", Values: []float64{1e5, 2.5}, Texts: []string{"1e5", "2.50"}}, ""},
		{"load", experiment.Axis{}, "want KEY=FROM:TO:STEP"},
		{"=1,2", experiment.Axis{}, "want KEY=FROM:TO:STEP"},
		{"rate=1", experiment.Axis{}, "rate is neither a config key"},
		{"x.y=1:2", experiment.Axis{}, "want FROM:TO:STEP"},
		{"x.y=1:2:0", experiment.Axis{}, "non-zero"},
		{"x.y=1:2:-1", experiment.Axis{}, "lead from FROM to TO"},
		{"x.y=1,,2", experiment.Axis{}, "is not a number"},
		{"x.y=true,false", experiment.Axis{}, `"true" is not a number`},
		{"x.y=0:1e9:1", experiment.Axis{}, "at most"},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			got, err := experiment.ParseAxis(tt.arg, aliases)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestGrid(t *testing.T) {
	axes := []experiment.Axis{{Values: []float64{1, 2}}, {Values: []float64{1, 2, 3}}}
	want := [][]int{{0, 0}, {0, 1}, {0, 2}, {1, 0}, {1, 1}, {1, 2}}
	if diff := cmp.Diff(want, experiment.Grid(axes)); diff != "" {
		t.Errorf("Grid (-want +got):\n%s", diff)
	}
	if g := experiment.Grid(nil); g != nil {
		t.Errorf("Grid(nil) = %v, want nil", g)
	}
}
