package snap_test

import (
	"reflect"
	"testing"

	"github.com/ghostsim/ghostsim/configs"
	"github.com/ghostsim/ghostsim/experiment"
	"github.com/ghostsim/ghostsim/workloads/snap"
)

// TestDefaultsAreTheConfig: configs/snap.toml and DefaultSpec hold the
// same [workload.snap].
func TestDefaultsAreTheConfig(t *testing.T) {
	spec := experiment.DefaultSpec()
	if _, err := configs.Load(&spec, []string{"skylake112", "snap.toml"}, nil); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(spec.Workload.Snap, snap.DefaultSpec()) {
		t.Errorf("snap.toml %+v\ndiffers from DefaultSpec %+v", spec.Workload.Snap, snap.DefaultSpec())
	}
	if err := spec.Workload.Snap.Validate(112); err != nil {
		t.Error(err)
	}
	bad := snap.DefaultSpec()
	bad.Mode = "busy"
	if err := bad.Validate(112); err == nil {
		t.Error("mode \"busy\": no error")
	}
}
