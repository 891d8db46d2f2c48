package importer

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// step is one record read by csvParser, with the lines it covers: a
// record, or a broken record (Broken set).
type step struct {
	Cells       []string
	Row         int
	First, Last int
	Broken      *RecordError
}

func (s step) String() string {
	if s.Broken != nil {
		return fmt.Sprintf("row %d lines %d-%d: broken (%v, quote on line %d) raw %q", s.Row, s.First, s.Last, s.Broken.Err, s.Broken.QuoteLine, s.Broken.Raw)
	}
	return fmt.Sprintf("row %d lines %d-%d: %q", s.Row, s.First, s.Last, s.Cells)
}

func parseSteps(t *testing.T, data string, comma rune, cr bool, bufSize, width int) []step {
	t.Helper()
	p := newCSVParser(bufio.NewReaderSize(strings.NewReader(data), bufSize), comma, cr)
	p.width = width
	var out []step
	for {
		cells, row, err := p.next()
		if err == io.EOF {
			return out
		}
		var re *RecordError
		switch {
		case errors.As(err, &re):
			out = append(out, step{Row: row, First: re.Line, Last: re.Line, Broken: re})
		case err != nil:
			t.Fatalf("input %q: %v", data, err)
		default:
			out = append(out, step{Cells: append([]string(nil), cells...), Row: row, First: p.first, Last: p.last})
		}
		if len(out) > 1_000_000 {
			t.Fatalf("input %q: more records than bytes", data)
		}
	}
}

// physicalLines splits data into the lines a text editor shows, without
// their line ends: at \n (\r\n counting as one), or at \r (\r\n too) when
// cr; a last line without an end counts when it holds anything, but a lone
// \r at the very end is dropped as encoding/csv drops it.
func physicalLines(data string, cr bool) []string {
	var lines []string
	for data != "" {
		var i, end int
		if cr {
			i = strings.IndexByte(data, '\r')
			end = i + 1
			if i >= 0 && end < len(data) && data[end] == '\n' {
				end++
			}
		} else {
			i = strings.IndexByte(data, '\n')
			end = i + 1
			if i > 0 && data[i-1] == '\r' {
				i--
			}
		}
		if i < 0 {
			if !cr && data == "\r" {
				break
			}
			lines = append(lines, strings.TrimSuffix(data, "\r"))
			break
		}
		lines = append(lines, data[:i])
		data = data[end:]
	}
	return lines
}

// checkLines fails t unless every line of data is in exactly one record or
// broken record, or is empty and in none; and rows and lines only grow.
func checkLines(t *testing.T, data string, comma rune, cr bool, bufSize, width int) []step {
	t.Helper()
	steps := parseSteps(t, data, comma, cr, bufSize, width)
	lines := physicalLines(data, cr)
	covered := make([]int, len(lines)+2)
	lastRow, lastLine := 0, 0
	for _, s := range steps {
		if s.First <= lastLine || s.Last < s.First || s.Row <= lastRow {
			t.Fatalf("input %q, separator %q, cr %v, buffer %d: %v comes after row %d, line %d\nall: %v", data, comma, cr, bufSize, s, lastRow, lastLine, steps)
		}
		lastRow, lastLine = s.Row, s.Last
		if s.Last > len(lines) {
			t.Fatalf("input %q: %v reaches past the %d lines", data, s, len(lines))
		}
		for l := s.First; l <= s.Last; l++ {
			covered[l]++
		}
		if s.Broken != nil && !strings.Contains(data, s.Broken.Raw) {
			t.Fatalf("input %q: broken record's text %q is not in it", data, s.Broken.Raw)
		}
	}
	for l := 1; l <= len(lines); l++ {
		// With \r line ends, a line holding only a \n is blank as well.
		if blankLine := lines[l-1] == "" || cr && lines[l-1] == "\n"; covered[l] == 0 && !blankLine {
			t.Fatalf("input %q, separator %q, cr %v, buffer %d: line %d (%q) is in no record\nall: %v", data, comma, cr, bufSize, l, lines[l-1], steps)
		}
	}
	return steps
}

// FuzzCSVLines: every line of any input is in exactly one record or one
// reported broken record, or is empty; none is lost, none read twice.
func FuzzCSVLines(f *testing.F) {
	for _, c := range parserCases {
		f.Add([]byte(c), uint8(0), uint8(0), false)
	}
	for _, c := range brokenCases {
		f.Add([]byte(c.in), uint8(0), uint8(0), false)
		f.Add([]byte(strings.ReplaceAll(c.in, "\n", "\r")), uint8(1), uint8(3), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, sep, buf uint8, cr bool) {
		comma := csvCommas[int(sep)%len(csvCommas)]
		checkLines(t, string(data), comma, cr, 16+int(buf), int(buf%8))
	})
}

// brokenCases are files with broken quotes and what csvParser reads of
// them: each step's row, lines, and for a broken one the error and text.
var brokenCases = []struct {
	name  string
	in    string
	width int
	want  []string
}{
	{"stray quote runs to the end", "h1,h2\na,\"b\nc,d\ne,f\n", 2, []string{
		`row 1 lines 1-1: ["h1" "h2"]`,
		`row 2 lines 2-2: broken (unclosed quote, quote on line 2) raw "a,\"b"`,
		`row 3 lines 3-3: ["c" "d"]`,
		`row 4 lines 4-4: ["e" "f"]`,
	}},
	{"stray quote meets another", "h1,h2\na,\"b\nc,d\ne,f\"g\nh,i\n", 2, []string{
		`row 1 lines 1-1: ["h1" "h2"]`,
		`row 2 lines 2-2: broken (extraneous or missing " in quoted-field, quote on line 2) raw "a,\"b"`,
		`row 3 lines 3-3: ["c" "d"]`,
		`row 4 lines 4-4: broken (bare " in non-quoted-field, quote on line 4) raw "e,f\"g"`,
		`row 5 lines 5-5: ["h" "i"]`,
	}},
	{"stray quote closes at a cell's end", "h1,h2\na,\"b\nc,d\ne,5\",x\nh,i\n", 2, []string{
		`row 1 lines 1-1: ["h1" "h2"]`,
		`row 2 lines 2-2: broken (a quote that spans lines makes too many cells, quote on line 2) raw "a,\"b"`,
		`row 3 lines 3-3: ["c" "d"]`,
		`row 4 lines 4-4: broken (bare " in non-quoted-field, quote on line 4) raw "e,5\",x"`,
		`row 5 lines 5-5: ["h" "i"]`,
	}},
	{"a closed multi-line cell as wide as the header", "h1,h2\na,\"b\nc,d\ne,5\"\nh,i\n", 2, []string{
		`row 1 lines 1-1: ["h1" "h2"]`,
		`row 2 lines 2-4: ["a" "b\nc,d\ne,5"]`,
		`row 3 lines 5-5: ["h" "i"]`,
	}},
	{"a real multi-line cell", "h1,h2\na,\"b\nc\"\nd,e\n", 2, []string{
		`row 1 lines 1-1: ["h1" "h2"]`,
		`row 2 lines 2-3: ["a" "b\nc"]`,
		`row 3 lines 4-4: ["d" "e"]`,
	}},
	{"bare quote on a line of its own", "h1,h2\na,b\"c\nd,e\n", 2, []string{
		`row 1 lines 1-1: ["h1" "h2"]`,
		`row 2 lines 2-2: broken (bare " in non-quoted-field, quote on line 2) raw "a,b\"c"`,
		`row 3 lines 3-3: ["d" "e"]`,
	}},
	{"doubled quotes kept until the record is whole", "\"a\"\"b\",\"c\nd\"\"e\"\n\"x\"\"\ny\n", 0, []string{
		`row 1 lines 1-2: ["a\"b" "c\nd\"e"]`,
		`row 2 lines 3-3: broken (unclosed quote, quote on line 3) raw "\"x\"\""`,
		`row 3 lines 4-4: ["y"]`,
	}},
	{"blank lines keep their rows", "h1,h2\n\n\"a\n\nb,c\n\nd,e\n", 2, []string{
		`row 1 lines 1-1: ["h1" "h2"]`,
		`row 3 lines 3-3: broken (unclosed quote, quote on line 3) raw "\"a"`,
		`row 5 lines 5-5: ["b" "c"]`,
		`row 7 lines 7-7: ["d" "e"]`,
	}},
}

func TestCSVBrokenRecords(t *testing.T) {
	for _, c := range brokenCases {
		for _, cr := range []bool{false, true} {
			in := c.in
			if cr {
				in = strings.ReplaceAll(in, "\n", "\r")
			}
			for _, size := range []int{16, 4096} {
				steps := checkLines(t, in, ',', cr, size, c.width)
				var got []string
				for _, s := range steps {
					got = append(got, s.String())
				}
				if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
					t.Errorf("%s (cr %v, buffer %d):\n%s\nwant\n%s", c.name, cr, size, strings.Join(got, "\n"), strings.Join(c.want, "\n"))
				}
			}
		}
	}
}

// A quote that is never closed in a large file costs its line and no more
// than maxRecordLines lines of reading ahead: every other row is read.
func TestCSVUnclosedQuoteLineLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("h1,h2\n")
	for i := 2; i <= 5000; i++ {
		if i == 40 {
			b.WriteString("x,\"stray\n")
			continue
		}
		fmt.Fprintf(&b, "r%d,v\n", i)
	}
	steps := checkLines(t, b.String(), ',', false, 4096, 2)
	if len(steps) != 5000 {
		t.Fatalf("%d records, want 5000", len(steps))
	}
	s := steps[39]
	if s.Broken == nil || s.Broken.Err != ErrUnclosedQuote || s.Broken.AtEnd || s.Broken.LastLine != 40+maxRecordLines-1 || !s.Broken.Reread {
		t.Errorf("line 40: %v (last line %d)", s, s.Broken.LastLine)
	}
	if !strings.Contains(s.Broken.Error(), "runs on past line 1039, more than the 1000 lines a row may span") {
		t.Errorf("message: %v", s.Broken)
	}
	for i, s := range steps {
		if i != 39 && (s.Broken != nil || s.Row != i+1) {
			t.Fatalf("record %d: %v", i, s)
		}
	}
}

// Lines that end in a lone \r, as Excel for Mac saves "CSV (Macintosh)",
// read as lines ending in \n do; \r\n still ends one line, and a \n inside a
// quoted cell is the cell's line break.
func TestCSVParserCRLines(t *testing.T) {
	for _, c := range parserCases {
		if strings.Contains(c, "\r") {
			continue
		}
		for _, size := range []int{16, 4096} {
			lf := checkLines(t, c, ',', false, size, 0)
			cr := checkLines(t, strings.ReplaceAll(c, "\n", "\r"), ',', true, size, 0)
			if fmt.Sprint(lf) != fmt.Sprint(cr) {
				t.Errorf("%q read with LF:\n%v\nwith CR:\n%v", c, lf, cr)
			}
		}
	}
	steps := checkLines(t, "a,\"x\ny\"\rb,c\r\nd,e", ',', true, 16, 0)
	if got := fmt.Sprint(steps); got != `[row 1 lines 1-1: ["a" "x\ny"] row 2 lines 2-2: ["b" "c"] row 3 lines 3-3: ["d" "e"]]` {
		t.Errorf("got %s", got)
	}
}

// Open finds the line ends: a lone \r (with Excel's sep= line too, and a
// cell holding a line feed) reads as the same rows as \n, numbered alike.
func TestCSVCROnlyFile(t *testing.T) {
	body := header + ",comment\n,Y-1,C-1,2026-04-11,EFFECTIVE,x,\"two\nlines\"\n\n,Y-2,C-2,2026-04-11,EFFECTIVE,x,c\n"
	for _, data := range []string{
		strings.ReplaceAll(body, "\n", "\r"),
		"sep=,\r" + strings.ReplaceAll(body, "\n", "\r"),
		strings.ReplaceAll(strings.ReplaceAll(body, "\n", "\r"), "two\rlines", "two\nlines"),
	} {
		l, rows := readAll(t, writeFile(t, "mac.csv", []byte(data)), Options{})
		if l.LineBreak != "\r" || len(rows) != 2 || rows[0].Pos.Row != 2 || rows[1].Pos.Row != 4 ||
			rows[0].Cells[6] != "two\nlines" || rows[1].Value(ProviderActivityID).Text != "Y-2" {
			t.Errorf("%q: line break %q, rows %+v", data, l.LineBreak, rows)
		}
	}
	l, _ := readAll(t, writeFile(t, "unix.csv", []byte(body)), Options{})
	if l.LineBreak != "\n" {
		t.Errorf("LF file: line break %q", l.LineBreak)
	}
}

// A file whose rows would all be one record is refused at Open, naming the
// file and saying what to do, rather than read as a header and no rows.
func TestCSVWholeFileOneRecord(t *testing.T) {
	rows := strings.Repeat(",Y,C,2026-04-11,EFFECTIVE,x\n", 20)
	for name, data := range map[string]string{
		"header quote never closed":  "\"activity_id," + header[len("activity_id,"):] + "\n" + rows,
		"header cell holds the file": "\"" + header + "\n" + rows + "\"\n",
	} {
		_, err := Open(writeFile(t, "in.csv", []byte(data)), Options{})
		if err == nil || !strings.Contains(err.Error(), "in.csv") || !strings.Contains(err.Error(), "quote") || !strings.Contains(err.Error(), "save") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}
