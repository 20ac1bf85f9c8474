package cli

import (
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/ghostsim/ghostsim/configs"
	"github.com/ghostsim/ghostsim/experiment"
)

// printUsage writes the -h text: what ghostsim is, examples, the flags and
// what -list shows.
func printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, `ghostsim simulates a whole machine running Google's ghOSt scheduler (SOSP'21),
deterministically: the same configs and seed give the same result.

Usage:
  ghostsim [-config FILE]... [-workload NAME] [-policy NAME] [-seed N] [-duration D]
           [-set key=value]... [-sweep KEY=FROM:TO:STEP|KEY=V1,V2,...]... [-j N]
           [-plot METRIC[:CLASS]] [-format LIST] [-shard I/N] [-shards N]
           [-json] [-out DIR] [-q] [-check] [-trace FILE]
  ghostsim -list
  ghostsim repro [-out DIR] [-j N] [-q] [-format LIST] [-shard I/N] [-shards N] NAME|all
  ghostsim merge [-j N] [-format LIST] [-plot METRIC:CLASS] [-q] OUT_DIR SHARD_FILE...
  ghostsim compare [-tolerance LIST] [-q] BASELINE CANDIDATE

Subcommands (each has its own -h):
  repro    reproduce a paper table or figure (table3, fig5, fig6, fig7, fig8, table4) and check its claims; all: every one and a report
  merge    put the shards of a sweep (-shard) or of a repro part (repro -shard) back together, as the unsharded run writes them
  compare  compare results with a baseline's within tolerances; exit 1 on a regression

Examples:
  ghostsim -config skylake112.toml -config synthetic-requests.toml -workload synthetic
  ghostsim -config skylake112.toml -workload microbench
  ghostsim -config skylake112 -config synthetic-requests.toml -workload synthetic \
           -set 'workload.group[0].class="ghost"' -set enclave.cpus=0-8 -policy fifo-central -json
  ghostsim -config haswell72 -workload scalability -json -out out/fig5-haswell
  ghostsim -config skylake112 -config synthetic-requests.toml -workload synthetic \
           -sweep load=20000:140000:20000 -j 2 -out out/load
  ghostsim compare -tolerance p99=5%,throughput=2% base.json out/run.json
  ghostsim repro -out out fig5

Flags:
`)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	fmt.Fprintln(w)
	printList(w)
}

// printList writes the embedded machines with their descriptions, the
// workloads and the policies, one line each.
func printList(w io.Writer) {
	machines, others := configs.Embedded()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Machines (embedded; -config NAME):")
	for _, m := range machines {
		fmt.Fprintf(tw, "  %s\t%s\n", m.Name, m.Description)
	}
	tw.Flush()
	if len(others) > 0 {
		fmt.Fprintf(w, "Example configs (embedded; -config NAME):\n  %s\n", strings.Join(others, ", "))
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Workloads (-workload NAME):")
	for _, wl := range experiment.Workloads() {
		def := ""
		if wl.Name == defaultWorkload {
			def = " (default)"
		}
		if len(wl.SweepAliases) > 0 {
			def += " (-sweep aliases: " + strings.Join(slices.Sorted(maps.Keys(wl.SweepAliases)), ", ") + ")"
		}
		if wl.Configs != nil {
			def += " (configs without -config: " + strings.Join(wl.Configs, " ") + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s%s\n", wl.Name, wl.Summary, def)
		if wl.Baseline != "" {
			fmt.Fprintf(tw, "  \t  systems: %s\n", wl.Baseline)
		}
	}
	fmt.Fprintln(tw, "Policies (-policy NAME):")
	ps := experiment.Policies()
	for _, p := range ps {
		fmt.Fprintf(tw, "  %s\t%s\n", p.Name, p.Summary)
	}
	if len(ps) == 0 {
		fmt.Fprintln(tw, "  (none yet: ghOSt policies arrive with the agent library)")
	}
	tw.Flush()
}
