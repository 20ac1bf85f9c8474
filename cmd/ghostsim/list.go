package main

import (
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/BurntSushi/toml"

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
           [-json] [-out DIR] [-q] [-check]
  ghostsim -list
  ghostsim repro [-out DIR] [-j N] [-q] table3|fig5|fig6|fig7|fig8|table4   (a paper table or figure, its claims checked)
  ghostsim compare [-tolerance LIST] [-q] BASELINE CANDIDATE   (exit 1 on a regression)

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
	machines, others := embeddedConfigs()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Machines (embedded; -config NAME):")
	for _, m := range machines {
		fmt.Fprintf(tw, "  %s\t%s\n", m.name, m.description)
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

// machineInfo is an embedded machine file's name and description.
type machineInfo struct {
	name        string // bare name, as -config takes it ("rome256")
	description string
}

// embeddedConfigs sorts the embedded config files into machine files (those
// with a [machine] name) and others (example experiments).
func embeddedConfigs() (machines []machineInfo, others []string) {
	for _, file := range configs.Names() {
		data, err := configs.ReadEmbedded(file)
		if err != nil {
			continue
		}
		var head struct {
			Machine struct {
				Name        string `toml:"name"`
				Description string `toml:"description"`
			} `toml:"machine"`
		}
		// Lenient decode: only the [machine] header is wanted here; the
		// strict loader checks the whole file when it is used.
		if _, err := toml.Decode(string(data), &head); err != nil || head.Machine.Name == "" {
			others = append(others, file)
			continue
		}
		machines = append(machines, machineInfo{
			name:        strings.TrimSuffix(file, ".toml"),
			description: head.Machine.Description,
		})
	}
	return machines, others
}
