package configs

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ghostsim/ghostsim/sim"
)

// tablesSpec has a table with its own keys and a ",tables" field that
// takes the subtables it has no field for, as [policy] and [policy.NAME].
type tablesSpec struct {
	Policy struct {
		Slice float64                   `toml:"slice"`
		Own   map[string]map[string]any `toml:",tables"`
	} `toml:"policy"`
}

// TestTablesField: subtables without a field go to the ",tables" map,
// merging key by key across files and -set, each key located; a key that
// is not a table is still unknown; DecodeTable decodes one strictly.
func TestTablesField(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.toml"), filepath.Join(dir, "b.toml")
	os.WriteFile(a, []byte("[policy]\nslice = 5\n\n[policy.search]\nhold_us = 50\nnuma = true\n"), 0o644)
	os.WriteFile(b, []byte("[policy.search]\nhold_us = 20\n\n[policy.lifo]\ndepth = 3\n"), 0o644)
	var s tablesSpec
	meta, err := load(testFS, &s, []string{a, b}, []string{"policy.search.ccx=false"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]any{
		"search": {"hold_us": int64(20), "numa": true, "ccx": false},
		"lifo":   {"depth": int64(3)},
	}
	if diff := cmp.Diff(want, s.Policy.Own); diff != "" || s.Policy.Slice != 5 {
		t.Errorf("slice %v, tables (-want +got):\n%s", s.Policy.Slice, diff)
	}
	for key, at := range map[string]string{"policy.search.hold_us": b + ":2", "policy.search.numa": a + ":6", "policy.search.ccx": "-set:1", "policy.lifo.depth": b + ":5"} {
		if f, l := meta.Where(key); f+":"+strconv.Itoa(l) != at {
			t.Errorf("%s set at %s:%d, want %s", key, f, l, at)
		}
	}
	// A value that is no table has no place.
	var s2 tablesSpec
	if _, err := load(testFS, &s2, nil, []string{"policy.sluce=1"}); err == nil || !strings.Contains(err.Error(), "policy.sluce: unknown key") {
		t.Errorf("policy.sluce=1: error %v, want an unknown key", err)
	}

	opts := struct {
		HoldUs float64 `toml:"hold_us"`
		NUMA   bool    `toml:"numa"`
		CCX    bool    `toml:"ccx"`
		Keep   int     `toml:"keep"`
	}{Keep: 7}
	if err := DecodeTable("policy.search", s.Policy.Own["search"], &opts); err != nil || opts.HoldUs != 20 || !opts.NUMA || opts.CCX || opts.Keep != 7 {
		t.Errorf("DecodeTable: %+v, %v", opts, err)
	}
	var ke *sim.KeyError
	err = DecodeTable("policy.lifo", map[string]any{"depht": int64(3)}, &struct {
		Depth int `toml:"depth"`
	}{})
	if !errors.As(err, &ke) || ke.Key != "policy.lifo.depht" || ke.Msg != "unknown key; did you mean policy.lifo.depth?" {
		t.Errorf("DecodeTable with a typo: %v", err)
	}
}

// TestEmbeddedPrefix: "embedded:NAME" loads the embedded file whatever the
// working directory holds (a directory or a file of that name), and
// names no file on disk.
func TestEmbeddedPrefix(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "tiny"), 0o755)
	os.WriteFile(filepath.Join(dir, "tiny.toml"), []byte("[machine]\nname = \"from disk\"\n"), 0o644)
	t.Chdir(dir)
	var s testSpec
	if _, err := load(testFS, &s, []string{"tiny"}, nil); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("tiny with a directory tiny here: %v, want the directory's error", err)
	}
	for _, name := range []string{"embedded:tiny", "embedded:tiny.toml"} {
		var s testSpec
		meta, err := load(testFS, &s, []string{name}, nil)
		if err != nil || s.Machine.Name != "tiny-embedded" || meta.Files()[0] != "tiny.toml" {
			t.Errorf("%s: machine %q, files %v, %v; want the embedded tiny.toml", name, s.Machine.Name, meta.Files(), err)
		}
	}
	if _, err := load(testFS, &s, []string{"embedded:" + filepath.Join(dir, "tiny.toml")}, nil); err == nil || !strings.Contains(err.Error(), "no embedded config of that name") {
		t.Errorf("embedded: with a path: %v, want no such embedded config", err)
	}
}
