package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ghostsim/ghostsim/results"
)

// TestEachLine: the shard readers' line loop skips blank lines, numbers
// lines as the file does, stops at the callback's error, and refuses a
// file over results.MaxFileBytes instead of reading part of it.
func TestEachLine(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.jsonl")
	if err := os.WriteFile(small, []byte("a\n\n  b  \n\nc"), 0o644); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := eachLine(small, func(at string, n int, line []byte) error {
		got = append(got, at+"="+string(line))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{small + ":1=a", small + ":3=b", small + ":5=c"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}

	// Blank lines of spaces, one byte past the limit: refused by size,
	// whatever the lines hold.
	line := append(bytes.Repeat([]byte(" "), 1023), '\n')
	big := filepath.Join(dir, "big.jsonl")
	data := bytes.Repeat(line, results.MaxFileBytes/len(line)+1)
	if err := os.WriteFile(big, data[:results.MaxFileBytes+1], 0o644); err != nil {
		t.Fatal(err)
	}
	err := eachLine(big, func(string, int, []byte) error { return nil })
	wantErr := big + ": larger than 67108864 bytes (64 MiB), the limit for a results file"
	if err == nil || err.Error() != wantErr {
		t.Errorf("a file of MaxFileBytes+1: %v, want %q", err, wantErr)
	}
	if err := os.WriteFile(big, data[:results.MaxFileBytes], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := eachLine(big, func(string, int, []byte) error { return nil }); err != nil {
		t.Errorf("a file of exactly MaxFileBytes: %v", err)
	}
}
