package configs

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/google/go-cmp/cmp"
)

func TestKeyLines(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want map[string]int
	}{
		{
			name: "root keys and comments",
			src:  "# c = 1\na = 1 # [x]\n\n  b='#' \n",
			want: map[string]int{"a": 2, "b": 4},
		},
		{
			name: "byte-order mark",
			src:  "\xef\xbb\xbfa = 1\nb = 2\n",
			want: map[string]int{"a": 1, "b": 2},
		},
		{
			name: "crlf",
			src:  "[t]\r\nx = 1\r\n\r\ny = 2\r\n",
			want: map[string]int{"t": 1, "t.x": 2, "t.y": 4},
		},
		{
			name: "multi-line strings hide headers and keys",
			src: "s = \"\"\"\n[fake]\nk = \\\"\"\" x\"\"\"\"\"\n" +
				"l = '''\n[[fake]]\n'''\n" +
				"after = 1\n",
			want: map[string]int{"s": 1, "l": 4, "after": 7},
		},
		{
			name: "datetimes",
			src:  "d = 1979-05-27 07:32:00Z\ne = 1979-05-27\nf = [1979-05-27 07:32:00, 2]\ng = 07:32:00\n",
			want: map[string]int{"d": 1, "e": 2, "f": 3, "f[0]": 3, "f[1]": 3, "g": 4},
		},
		{
			name: "quoted keys",
			src:  "\"a.b\" = 1\n'c d'.e = 2\n[\"x\\u0079\".z]\nw = 3\n",
			want: map[string]int{`"a.b"`: 1, `"c d"`: 2, `"c d".e`: 2, "xy": 3, "xy.z": 3, "xy.z.w": 4},
		},
		{
			name: "nested arrays of tables",
			src: "[[a]]\nn = 1\n[[a.b]]\nm = 1\n[[a.b]]\nm = 2\n" +
				"[[a]]\n[[a.b]]\nm = 3\n[a.c]\nk = 1\n",
			want: map[string]int{
				"a": 1, "a[0]": 1, "a[0].n": 2,
				"a[0].b": 3, "a[0].b[0]": 3, "a[0].b[0].m": 4, "a[0].b[1]": 5, "a[0].b[1].m": 6,
				"a[1]": 7, "a[1].b": 8, "a[1].b[0]": 8, "a[1].b[0].m": 9, "a[1].c": 10, "a[1].c.k": 11,
			},
		},
		{
			name: "arrays of arrays and inline tables over lines",
			src:  "x = [\n  [1, 2],\n  [\n    3,\n  ],\n]\ny = {\n  p = 1,\n  q = { r = [ {s = 1} ] },\n}\n",
			want: map[string]int{
				"x": 1, "x[0]": 2, "x[0][0]": 2, "x[0][1]": 2, "x[1]": 3, "x[1][0]": 4,
				"y": 7, "y.p": 8, "y.q": 9, "y.q.r": 9, "y.q.r[0]": 9, "y.q.r[0].s": 9,
			},
		},
		{
			name: "header after dotted subtable",
			src:  "[a]\nb.c = 1\n[a.b.d]\ne = 2\n",
			want: map[string]int{"a": 1, "a.b": 2, "a.b.c": 2, "a.b.d": 3, "a.b.d.e": 4},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m map[string]any
			if _, err := toml.Decode(tt.src, &m); err != nil {
				t.Fatalf("test input is not valid TOML: %v", err)
			}
			if diff := cmp.Diff(tt.want, keyLines(tt.src)); diff != "" {
				t.Errorf("keyLines mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseKeyPath(t *testing.T) {
	tests := []struct {
		in      string
		want    string // formatKeyPath of the result
		wantErr bool
	}{
		{in: "machine.ghz", want: "machine.ghz"},
		{in: "workload.group[1].threads", want: "workload.group[1].threads"},
		{in: " workload . group [ 0 ] . arrival.rate_per_s", want: "workload.group[0].arrival.rate_per_s"},
		{in: `costs."a.b".'c d'`, want: `costs."a.b"."c d"`},
		{in: "a[1][2].b", want: "a[1][2].b"},
		{in: "", wantErr: true},
		{in: "a..b", wantErr: true},
		{in: "a.", wantErr: true},
		{in: "a[x]", wantErr: true},
		{in: "a[-1]", wantErr: true},
		{in: "a[1", wantErr: true},
		{in: `"a`, wantErr: true},
		{in: "a b", wantErr: true},
		{in: "a=b", wantErr: true},
	}
	for _, tt := range tests {
		elems, err := parseKeyPath(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("parseKeyPath(%q) = %v, want an error", tt.in, elems)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseKeyPath(%q): %v", tt.in, err)
			continue
		}
		if got := formatKeyPath(elems); got != tt.want {
			t.Errorf("formatKeyPath(parseKeyPath(%q)) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSuggest(t *testing.T) {
	fields := []field{{name: "ghz"}, {name: "sockets"}, {name: "duration_ms"}, {name: "name"}}
	tests := []struct{ in, want string }{
		{"gzh", "ghz"},
		{"GHz", "ghz"},
		{"socket", "sockets"},
		{"duraton_ms", "duration_ms"},
		{"durationms", "duration_ms"},
		{"xyz", ""},
		{"cpus", ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.in, fields); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// walkKeys calls f with every key path in a decoded TOML document.
func walkKeys(prefix string, v any, f func(key string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			key := joinKey(prefix, k)
			f(key)
			walkKeys(key, e, f)
		}
	case []map[string]any:
		for i, e := range x {
			key := indexKey(prefix, i)
			f(key)
			walkKeys(key, e, f)
		}
	case []any:
		for i, e := range x {
			key := indexKey(prefix, i)
			f(key)
			walkKeys(key, e, f)
		}
	}
}

// checkKeyLines checks keyLines against the parser: every key of a valid
// document has a line in range, and a bare key's line contains its name.
func checkKeyLines(t *testing.T, src string) {
	var m map[string]any
	if _, err := toml.Decode(src, &m); err != nil {
		return
	}
	lines := keyLines(src)
	text := strings.Split(src, "\n")
	walkKeys("", m, func(key string) {
		l, ok := lines[key]
		if !ok {
			t.Errorf("no line for key %q in\n%s", key, src)
			return
		}
		if l < 1 || l > len(text) {
			t.Errorf("key %q at line %d, outside 1..%d", key, l, len(text))
			return
		}
		elems, err := parseKeyPath(key)
		if err != nil {
			t.Errorf("key %q does not parse: %v", key, err)
			return
		}
		last := elems[len(elems)-1]
		if !last.isIndex && isBareKey(last.name) && !strings.Contains(text[l-1], last.name) {
			t.Errorf("key %q at line %d, which does not mention it: %q", key, l, text[l-1])
		}
	})
}

func testdataFiles(t testing.TB) []string {
	var out []string
	err := filepath.WalkDir("testdata", func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".toml") {
			out = append(out, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestKeyLinesAgreeWithParser runs checkKeyLines on every test file and every
// embedded config.
func TestKeyLinesAgreeWithParser(t *testing.T) {
	for _, p := range testdataFiles(t) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		checkKeyLines(t, string(b))
	}
	for _, n := range Names() {
		b, err := ReadEmbedded(n)
		if err != nil {
			t.Fatal(err)
		}
		checkKeyLines(t, string(b))
	}
}

func FuzzKeyLines(f *testing.F) {
	for _, p := range testdataFiles(f) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add("a = [ {b = 1}, {c = [ {d = 2} ]} ]\n[[e]]\n[e.f]\ng = 1979-05-27 07:32:00\n")
	f.Fuzz(func(t *testing.T, src string) {
		checkKeyLines(t, src)
	})
}

// FuzzLoad checks that no input makes decoding panic, and that every error
// is located: an *Error naming the file.
func FuzzLoad(f *testing.F) {
	for _, p := range testdataFiles(f) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "run.seed=1")
	}
	f.Add([]byte("[[workload.group]]\nthreads = 1\n"), "workload.group[0].arrival={dist='exp'}")
	f.Add([]byte("machine = [1, 2]\n"), "machine.cores=-5")
	f.Fuzz(func(t *testing.T, data []byte, set string) {
		s := defaultSpec()
		meta := newMeta()
		root := reflect.ValueOf(&s).Elem()
		checkLocated(t, decodeFile("fuzz.toml", data, root, meta), "fuzz.toml")
		checkLocated(t, applySet(1, set, root, meta), SetFile)
		checkLocated(t, meta.Wrap(s.Validate()), "")
		if _, err := Canonical(&s); err != nil {
			t.Errorf("Canonical: %v", err)
		}
	})
}

// checkLocated checks that each error joined in err is an *Error for file
// ("" for any file).
func checkLocated(t *testing.T, err error, file string) {
	t.Helper()
	if err == nil {
		return
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		var ce *Error
		if !errors.As(e, &ce) {
			t.Errorf("error %q (%T) is not a *configs.Error", e, e)
			continue
		}
		if file != "" && ce.File != file {
			t.Errorf("error %q names file %q, want %q", e, ce.File, file)
		}
	}
}
