package configs

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// keyLines returns the 1-based line on which each key path of a TOML document
// is written: "machine" at its [machine] header, "machine.ghz" at `ghz = ...`,
// "workload.group[1]" at the second [[workload.group]] header, keys of inline
// tables and array elements where they stand.
//
// BurntSushi/toml does not export key positions, so this is a small scanner
// of its own. It expects a document the TOML parser has already accepted; on
// anything else it skips to the end of the line and carries on, so a missing
// entry is the worst outcome, never a panic.
func keyLines(src string) map[string]int {
	s := newPosScanner(src)
	s.document()
	return s.lines
}

// posScanner walks a TOML document recording where keys are written.
type posScanner struct {
	src    string
	i      int            // byte offset
	line   int            // 1-based line of src[i]
	lines  map[string]int // key path -> line
	counts map[string]int // key path of an array of tables -> elements so far
}

func newPosScanner(src string) *posScanner {
	s := &posScanner{src: src, line: 1, lines: make(map[string]int), counts: make(map[string]int)}
	// Skip a byte-order mark, as the TOML parser does.
	for _, bom := range []string{"\xef\xbb\xbf", "\xff\xfe", "\xfe\xff"} {
		if strings.HasPrefix(src, bom) {
			s.i = len(bom)
			break
		}
	}
	return s
}

func (s *posScanner) eof() bool { return s.i >= len(s.src) }

func (s *posScanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.src[s.i]
}

func (s *posScanner) has(prefix string) bool { return strings.HasPrefix(s.src[s.i:], prefix) }

// next consumes one byte.
func (s *posScanner) next() {
	if s.eof() {
		return
	}
	if s.src[s.i] == '\n' {
		s.line++
	}
	s.i++
}

// skipSpace skips blanks within a line.
func (s *posScanner) skipSpace() {
	for !s.eof() && (s.src[s.i] == ' ' || s.src[s.i] == '\t') {
		s.i++
	}
}

// skipBlank skips blanks, newlines and comments.
func (s *posScanner) skipBlank() {
	for !s.eof() {
		switch s.src[s.i] {
		case ' ', '\t', '\r', '\n':
			s.next()
		case '#':
			s.skipLine()
		default:
			return
		}
	}
}

// skipLine skips to the newline ending the current line (not past it).
func (s *posScanner) skipLine() {
	if j := strings.IndexByte(s.src[s.i:], '\n'); j >= 0 {
		s.i += j
	} else {
		s.i = len(s.src)
	}
}

// mark records line for key unless the key already has one.
func (s *posScanner) mark(key string, line int) {
	if _, ok := s.lines[key]; !ok {
		s.lines[key] = line
	}
}

// resolve turns header key names into a key path, indexing every prefix that
// is an array of tables by its latest element.
func (s *posScanner) resolve(names []string) string {
	var p string
	for _, n := range names {
		p = joinKey(p, n)
		if c := s.counts[p]; c > 0 {
			p = indexKey(p, c-1)
		}
	}
	return p
}

// document scans the whole input.
func (s *posScanner) document() {
	var table string // key path of the current table; "" is the root
	for {
		s.skipBlank()
		if s.eof() {
			return
		}
		start := s.i
		line := s.line
		switch {
		case s.has("[["):
			s.i += 2
			names := s.key()
			s.skipSpace()
			if !s.has("]]") || len(names) == 0 {
				s.skipLine()
				continue
			}
			s.i += 2
			parent := s.resolve(names[:len(names)-1])
			s.markPrefixes(names[:len(names)-1], line)
			arr := joinKey(parent, names[len(names)-1])
			n := s.counts[arr]
			s.counts[arr] = n + 1
			s.mark(arr, line)
			table = indexKey(arr, n)
			s.lines[table] = line
		case s.peek() == '[':
			s.i++
			names := s.key()
			s.skipSpace()
			if s.peek() != ']' || len(names) == 0 {
				s.skipLine()
				continue
			}
			s.i++
			s.markPrefixes(names[:len(names)-1], line)
			table = s.resolve(names)
			s.lines[table] = line
		default:
			s.keyValue(table)
		}
		if s.i == start {
			s.skipLine()
		}
	}
}

// markPrefixes records line for each table implied by a header's leading
// names, if not yet known.
func (s *posScanner) markPrefixes(names []string, line int) {
	for i := 1; i <= len(names); i++ {
		s.mark(s.resolve(names[:i]), line)
	}
}

// keyValue scans `key = value` in the table at base.
func (s *posScanner) keyValue(base string) {
	line := s.line
	names := s.key()
	s.skipSpace()
	if len(names) == 0 || s.peek() != '=' {
		s.skipLine()
		return
	}
	s.i++
	p := base
	for j, n := range names {
		p = joinKey(p, n)
		if j < len(names)-1 {
			s.mark(p, line)
		} else {
			s.lines[p] = line
		}
	}
	s.skipSpace()
	s.value(p)
}

// key scans a possibly dotted key and returns its names; nil if there is none.
func (s *posScanner) key() []string {
	var names []string
	for {
		s.skipSpace()
		var name string
		switch c := s.peek(); {
		case c == '"':
			j := s.i + 1
			for j < len(s.src) && s.src[j] != '"' && s.src[j] != '\n' {
				if s.src[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s.src) || s.src[j] != '"' {
				return nil
			}
			name = unescapeBasic(s.src[s.i+1 : j])
			s.i = j + 1
		case c == '\'':
			j := strings.IndexAny(s.src[s.i+1:], "'\n")
			if j < 0 || s.src[s.i+1+j] != '\'' {
				return nil
			}
			name = s.src[s.i+1 : s.i+1+j]
			s.i += j + 2
		case isBareKeyByte(c):
			j := s.i
			for j < len(s.src) && isBareKeyByte(s.src[j]) {
				j++
			}
			name = s.src[s.i:j]
			s.i = j
		default:
			return nil
		}
		names = append(names, name)
		s.skipSpace()
		if s.peek() != '.' {
			return names
		}
		s.i++
	}
}

// value scans one value whose key path is p.
func (s *posScanner) value(p string) {
	switch {
	case s.has(`"""`):
		s.multiline('"', true)
	case s.has("'''"):
		s.multiline('\'', false)
	case s.peek() == '"':
		s.i++
		for !s.eof() && s.src[s.i] != '"' && s.src[s.i] != '\n' {
			if s.src[s.i] == '\\' {
				s.i++
			}
			s.i++
		}
		if s.peek() == '"' {
			s.i++
		}
	case s.peek() == '\'':
		s.i++
		for !s.eof() && s.src[s.i] != '\'' && s.src[s.i] != '\n' {
			s.i++
		}
		if s.peek() == '\'' {
			s.i++
		}
	case s.peek() == '[':
		s.array(p)
	case s.peek() == '{':
		s.inlineTable(p)
	default:
		s.scalar()
	}
}

// multiline scans a multi-line string delimited by three q's.
func (s *posScanner) multiline(q byte, escapes bool) {
	s.i += 3
	for !s.eof() {
		c := s.src[s.i]
		if escapes && c == '\\' {
			s.next()
			s.next()
			continue
		}
		if c == q && s.has(string([]byte{q, q, q})) {
			// The closing delimiter is the last three of a run of up to five.
			for k := 0; k < 5 && s.peek() == q; k++ {
				s.i++
			}
			return
		}
		s.next()
	}
}

// array scans an array; element n of p is p[n].
func (s *posScanner) array(p string) {
	s.i++
	for n := 0; ; {
		s.skipBlank()
		switch s.peek() {
		case 0:
			return
		case ']':
			s.i++
			return
		case ',':
			s.i++
			continue
		}
		start := s.i
		ek := indexKey(p, n)
		s.lines[ek] = s.line
		s.value(ek)
		n++
		if s.i == start {
			s.i++
		}
	}
}

// inlineTable scans an inline table whose key path is p.
func (s *posScanner) inlineTable(p string) {
	s.i++
	for {
		s.skipBlank()
		switch s.peek() {
		case 0:
			return
		case '}':
			s.i++
			return
		case ',':
			s.i++
			continue
		}
		start := s.i
		s.keyValue(p)
		if s.i == start {
			s.i++
		}
	}
}

// scalar scans a number, boolean or date-time.
func (s *posScanner) scalar() {
	scan := func() {
		for !s.eof() && !strings.ContainsRune(" \t\r\n,]}#", rune(s.src[s.i])) {
			s.i++
		}
	}
	start := s.i
	scan()
	// A date and a time may be separated by one space: 1979-05-27 07:32:00Z.
	tok := s.src[start:s.i]
	if len(tok) == 10 && tok[4] == '-' && tok[7] == '-' && s.has(" ") && s.i+1 < len(s.src) && isDigit(s.src[s.i+1]) {
		s.i++
		scan()
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// unescapeBasic decodes the escapes of a TOML basic string's body. On a bad
// escape it keeps the text as written.
func unescapeBasic(body string) string {
	if !strings.Contains(body, `\`) {
		return body
	}
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' || i+1 >= len(body) {
			b.WriteByte(c)
			continue
		}
		i++
		switch e := body[i]; e {
		case 'b':
			b.WriteByte('\b')
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'f':
			b.WriteByte('\f')
		case 'r':
			b.WriteByte('\r')
		case 'e':
			b.WriteByte(0x1b)
		case '"', '\\':
			b.WriteByte(e)
		case 'x', 'u', 'U':
			n := 2
			switch e {
			case 'u':
				n = 4
			case 'U':
				n = 8
			}
			var r uint64
			err := strconv.ErrSyntax
			if i+1+n <= len(body) {
				r, err = strconv.ParseUint(body[i+1:i+1+n], 16, 32)
			}
			if err != nil || !utf8.ValidRune(rune(r)) {
				b.WriteByte('\\')
				b.WriteByte(e)
				continue
			}
			b.WriteRune(rune(r))
			i += n
		default:
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	return b.String()
}
