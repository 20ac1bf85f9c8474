package experiment

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// MaxAxisValues bounds the values of one axis, so that a mistyped range
// (load=1:1000000:1) is an error rather than a million runs.
const MaxAxisValues = 10000

// Axis is one swept config value, as written `-sweep NAME=VALUES`: NAME is
// a config key (workload.group[0].arrival.rate_per_s) or an alias the
// workload defines (load), and VALUES either FROM:TO:STEP (both ends
// included) or a list V1,V2,V3. Each point of a sweep applies its value as
// one more -set override "Key=Text", so a bad value is reported at the key
// like any -set.
type Axis struct {
	// Name is the axis as given: the key of the results' point.
	Name string
	// Key is the config key Name stands for (Name itself unless an alias).
	Key string
	// Values are the swept numbers, in sweep order.
	Values []float64
	// Texts are the same values as written into the -set override: a
	// list's items as given, a range's values in plain decimal.
	Texts []string
}

// ParseAxis parses one -sweep argument "NAME=FROM:TO:STEP" or
// "NAME=V1,V2,...". aliases maps a workload's short names to config keys
// (WorkloadInfo.SweepAliases); a NAME without a dot must be one of them,
// since every config key lies in a table. Values must be numbers, because a
// result's point holds numbers.
func ParseAxis(arg string, aliases map[string]string) (Axis, error) {
	name, spec, ok := strings.Cut(arg, "=")
	name, spec = strings.TrimSpace(name), strings.TrimSpace(spec)
	if !ok || name == "" || spec == "" {
		return Axis{}, fmt.Errorf("want KEY=FROM:TO:STEP or KEY=V1,V2,..., got %q", arg)
	}
	a := Axis{Name: name, Key: name}
	if key, ok := aliases[name]; ok {
		a.Key = key
	} else if !strings.ContainsAny(name, ".[") {
		return Axis{}, fmt.Errorf("%s is neither a config key (such as run.seed) nor a sweep alias of the workload (%s)", name, aliasList(aliases))
	}
	var err error
	if strings.Contains(spec, ":") {
		a.Values, a.Texts, err = parseRange(spec)
	} else {
		a.Values, a.Texts, err = parseList(spec)
	}
	if err != nil {
		return Axis{}, err
	}
	return a, nil
}

func aliasList(aliases map[string]string) string {
	if len(aliases) == 0 {
		return "it defines none"
	}
	var s []string
	for k, v := range aliases {
		s = append(s, k+" = "+v)
	}
	sort.Strings(s)
	return "aliases: " + strings.Join(s, ", ")
}

func parseNumber(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("%q is not a number (sweep values are numbers)", s)
	}
	return v, nil
}

func parseList(spec string) ([]float64, []string, error) {
	var vs []float64
	var ts []string
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		v, err := parseNumber(item)
		if err != nil {
			return nil, nil, err
		}
		vs, ts = append(vs, v), append(ts, item)
	}
	if len(vs) > MaxAxisValues {
		return nil, nil, fmt.Errorf("%d values; at most %d", len(vs), MaxAxisValues)
	}
	return vs, ts, nil
}

// parseRange expands FROM:TO:STEP, TO included when a whole number of
// steps away. Value i is FROM + i×STEP rounded to the decimals written in
// FROM and STEP, so 0.1:0.3:0.1 gives 0.1, 0.2, 0.3 and not
// 0.30000000000000004.
func parseRange(spec string) ([]float64, []string, error) {
	parts := strings.Split(spec, ":")
	if len(parts) != 3 {
		return nil, nil, fmt.Errorf("range %q: want FROM:TO:STEP", spec)
	}
	var n [3]float64
	for i, p := range parts {
		v, err := parseNumber(strings.TrimSpace(p))
		if err != nil {
			return nil, nil, fmt.Errorf("range %q: %v", spec, err)
		}
		n[i] = v
	}
	from, to, step := n[0], n[1], n[2]
	if step == 0 || (to-from)/step < 0 {
		return nil, nil, fmt.Errorf("range %q: STEP must be non-zero and lead from FROM to TO", spec)
	}
	count := math.Floor((to-from)/step+1e-9) + 1
	if count > MaxAxisValues {
		return nil, nil, fmt.Errorf("range %q has %.0f values; at most %d", spec, count, MaxAxisValues)
	}
	scale := math.Pow(10, float64(max(decimals(parts[0]), decimals(parts[2]))))
	var vs []float64
	var ts []string
	for i := 0; i < int(count); i++ {
		v := math.Round((from+float64(i)*step)*scale) / scale
		vs, ts = append(vs, v), append(ts, strconv.FormatFloat(v, 'f', -1, 64))
	}
	return vs, ts, nil
}

// decimals counts the digits after the decimal point of a number as
// written (0 for "5", "1e5"; 2 for "0.25").
func decimals(s string) int {
	s = strings.TrimSpace(s)
	_, frac, ok := strings.Cut(s, ".")
	if !ok {
		return 0
	}
	if i := strings.IndexAny(frac, "eE"); i >= 0 {
		frac = frac[:i]
	}
	return min(len(frac), 15)
}

// Grid returns the cross product of the axes' value indices, the first axis
// outermost: for axes of 2 and 3 values, [0 0] [0 1] [0 2] [1 0] ...
func Grid(axes []Axis) [][]int {
	if len(axes) == 0 {
		return nil
	}
	out := [][]int{{}}
	for _, a := range axes {
		var next [][]int
		for _, prefix := range out {
			for i := range a.Values {
				next = append(next, append(append([]int(nil), prefix...), i))
			}
		}
		out = next
	}
	return out
}
