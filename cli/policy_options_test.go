package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// searchArgs run the search policy for a few milliseconds of Fig 8's
// workload.
var searchArgs = []string{"-q", "-json", "-config", "rome256", "-config", "search", "-policy", "search",
	"-duration", "20ms", "-set", "run.warmup_ms=10"}

// configHash matches a result's config hash, which names how the
// options were spelled.
var configHash = regexp.MustCompile(`"config_sha256":"[0-9a-f]*"`)

// TestPolicyOptionTable: search's own options reach it from
// [policy.search] in a file or from -set policy.search.KEY, and give the
// run the older spelling in [policy] gives; they change the run.
func TestPolicyOptionTable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "opts.toml")
	if err := os.WriteFile(file, []byte("[policy]\ntime_slice_us = 0\n\n[policy.search]\nhold_us = 0\nccx = false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(extra ...string) string {
		t.Helper()
		code, out, stderr := ghostsim(t, append(append([]string(nil), searchArgs...), extra...)...)
		if code != exitOK {
			t.Fatalf("%v: exit %d\n%s", extra, code, stderr)
		}
		return configHash.ReplaceAllString(withoutHost([]byte(out)), "")
	}
	old := run("-set", "policy.ccx=false", "-set", "policy.hold_us=0")
	for _, extra := range [][]string{{"-config", file}, {"-set", "policy.search.ccx=false", "-set", "policy.search.hold_us=0"}} {
		if got := run(extra...); got != old {
			t.Errorf("%v runs otherwise than [policy] ccx = false, hold_us = 0", extra)
		}
	}
	if run() == old {
		t.Errorf("the options change nothing: the test cannot tell them apart")
	}
}

// TestPolicyOptionErrors: an unknown key in [policy.NAME], a bad value, a
// table of a policy that does not exist and one of a policy the run does
// not use are each one line naming file, line and key, exit 2.
func TestPolicyOptionErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	typo := write("typo.toml", "[policy.search]\nhold_us = 50\nnmua = false\n")
	other := write("other.toml", "\n[policy.fifo-central]\nx = 1\n")
	misspelt := write("misspelt.toml", "[policy.serach]\nhold_us = 5\n")
	for _, tc := range []struct {
		name  string
		extra []string
		want  string
	}{
		{"unknown key", []string{"-config", typo}, typo + ":3: policy.search.nmua: unknown key; did you mean policy.search.numa?"},
		{"wrong type", []string{"-set", "policy.search.numa=7"}, "-set #2: policy.search.numa: expected boolean, got integer 7"},
		{"out of range", []string{"-set", "policy.search.hold_us=-5"}, "-set #2: policy.search.hold_us: must be in 0..1000000 (µs), got -5"},
		{"no such policy", []string{"-config", misspelt}, misspelt + `:2: policy.serach.hold_us: no policy is called "serach"`},
		{"policy not run", []string{"-config", other}, other + ":3: policy.fifo-central.x: a table of options for policy fifo-central, but the run uses search"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkUsageError(t, append(append([]string(nil), searchArgs...), tc.extra...), []string{tc.want})
		})
	}
	// A policy that reads no options of its own: its table would do
	// nothing, so it is refused at its first key.
	fifo := []string{"-q", "-config", "skylake112", "-config", "synthetic-requests.toml", "-workload", "synthetic",
		"-duration", "10ms", "-set", `workload.group[0].class="ghost"`, "-set", "enclave.cpus=0-8", "-policy", "fifo-central"}
	checkUsageError(t, append(fifo, "-config", other),
		[]string{other + ":3: policy.fifo-central.x: policy fifo-central takes no options of its own: remove [policy.fifo-central]"})
	// In a sweep, the constructor's errors are located too.
	checkUsageError(t, append(append([]string(nil), searchArgs...), "-config", typo, "-sweep", "run.seed=1,2"),
		[]string{typo + ":3: policy.search.nmua: unknown key"})
}

// TestPolicyOptionSweep: -sweep over a policy's option, and a policy
// sweep where [policy.NAME] is for one of the swept policies only.
func TestPolicyOptionSweep(t *testing.T) {
	code, out, stderr := ghostsim(t, append(append([]string(nil), searchArgs...), "-sweep", "policy.search.hold_us=0,100")...)
	if code != exitOK || strings.Count(out, "\n") != 2 {
		t.Fatalf("-sweep policy.search.hold_us: exit %d, %d lines\n%s", code, strings.Count(out, "\n"), stderr)
	}
	code, _, stderr = ghostsim(t, "-q", "-json", "-config", "skylake112", "-config", "synthetic-requests.toml", "-workload", "synthetic",
		"-duration", "10ms", "-set", "run.warmup_ms=5", "-set", `workload.group[0].class="ghost"`, "-set", "enclave.cpus=0-8",
		"-set", "policy.search.hold_us=0", "-sweep", "policy=fifo-central,search")
	if code != exitOK {
		t.Errorf("policy sweep with [policy.search]: exit %d\n%s", code, stderr)
	}
}
