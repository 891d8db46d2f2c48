package importer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
)

// record is one step of a read: a record and its row, or the error of a
// record encoding/csv refuses (csv.ErrQuote or csv.ErrBareQuote) and its row.
type record struct {
	Cells []string
	Row   int
	Err   error
}

func (r record) String() string {
	if r.Err != nil {
		return fmt.Sprintf("row %d: %v", r.Row, r.Err)
	}
	return fmt.Sprintf("row %d: %q", r.Row, r.Cells)
}

// oracleRecords reads data with encoding/csv configured as the importer
// configured it before it had a parser of its own, numbering rows as it
// did: a record's row is its first line less the line breaks inside quoted
// cells of the records before it.
func oracleRecords(data []byte, comma rune) []record {
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma = comma
	r.FieldsPerRecord = -1
	embedded := 0
	var out []record
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return append(out, record{Err: err})
			}
			out = append(out, record{Row: pe.StartLine - embedded, Err: pe.Err})
			if pe.Line > pe.StartLine {
				embedded += pe.Line - pe.StartLine
			}
			continue
		}
		line, _ := r.FieldPos(0)
		row := line - embedded
		last := len(rec) - 1
		lastLine, _ := r.FieldPos(last)
		embedded += lastLine - line + strings.Count(rec[last], "\n")
		out = append(out, record{Cells: rec, Row: row})
	}
}

// parserRecords reads data with csvParser over a bufio.Reader of size
// bufSize. comparable is false when a broken record spanned lines, which
// csvParser reads again line by line and encoding/csv does not.
func parserRecords(data []byte, comma rune, bufSize, width int) (out []record, comparable bool) {
	p := newCSVParser(bufio.NewReaderSize(bytes.NewReader(data), bufSize), comma, false)
	p.width = width
	comparable = true
	for {
		cells, row, err := p.next()
		if err == io.EOF {
			return out, comparable
		}
		if err != nil {
			var re *RecordError
			if !errors.As(err, &re) {
				return append(out, record{Err: err}), comparable
			}
			if re.Reread || re.Err == errTooManyCells || re.LastLine > re.Line {
				comparable = false
			}
			err := re.Err
			if err == ErrUnclosedQuote {
				err = csv.ErrQuote // encoding/csv's name for it
			}
			out = append(out, record{Row: row, Err: err})
			continue
		}
		if len(cells) > cap(cells) || cap(cells) < width {
			panic(fmt.Sprintf("%d cells with room for %d, width %d", len(cells), cap(cells), width))
		}
		out = append(out, record{Cells: cells, Row: row})
	}
}

// csvCommas are the separators the differential tests try: the four the
// importer detects, and one that takes several bytes in UTF-8 (a sep= line
// may name any character).
var csvCommas = []rune{',', ';', '\t', '|', '§'}

// diffParser fails t when csvParser and encoding/csv read data differently.
// All records are compared at the end, so a cell that changed after it was
// handed out (its text block written over) shows too.
func diffParser(t *testing.T, data []byte, comma rune, bufSize, width int) {
	t.Helper()
	want := oracleRecords(data, comma)
	got, comparable := parserRecords(data, comma, bufSize, width)
	if !comparable || reflect.DeepEqual(got, want) {
		return
	}
	for i := 0; i < max(len(got), len(want)); i++ {
		var g, w record
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("input %q, separator %q, buffer %d: record %d is\n%v, encoding/csv reads\n%v", data, comma, bufSize, i, g, w)
		}
	}
}

var parserCases = []string{
	"",
	"a",
	"a,b,c\n",
	"a,b,c",
	"a,b,c\r\n1,2,3\r\n",
	"a,b\n\n\nc,d\n",
	"a,b\r\n\r\n\r\nc,d",
	"\n\na\n",
	"a,,\n,,\n",
	" , \n",
	"\r",
	"a\r",
	"a\r\r",
	"a\rb,c\n",
	"a,b\r\rc\n",
	"\r\r\n",
	"\"a\",\"b\"\n",
	"\"a,b\",c\n",
	"\"a\"\"b\",c\n",
	"\"\"\"\",\"\"\n",
	"\"\"\n",
	"\"\"",
	"\"",
	"\"a\nb\",c\nd,e\n",
	"\"a\r\nb\r\n\",c\r\nd,e\r\n",
	"\"a\rb\",c\n",
	"\"a\n\nb\"\n\n\"c\"\n",
	"x,\"multi\nline\",y\nnext,row\n",
	"a,b\"c,d\ne,f\n",
	"a\"\n",
	"\"a\"b,c\ne,f\n",
	"\"a\" ,b\nc\n",
	"\"a\"\r,b\nc\n",
	"\"a\"\r\n",
	"\"a\"\r",
	"\"a\nb\"x\nc,d\n",
	"a,\"b\nc\"d\"\ne\nf,g\n",
	"\"unterminated,a\nb,c\n",
	"a,\"unterminated\n",
	"a,\"\"\"\n",
	"a;b;\"c;d\"\n",
	"a\tb\t\"c\td\"\n",
	"a|b|\"c|d\"|\n",
	"a§b§\"c§d\"§\"e\"\"\"§\n",
	"a§\"b\"x§c\n",
	"\xa7,\xc2,\"\xc2\"\xa7\n",
	"sep=;\na;b\n",
	strings.Repeat("long cell ", 40) + "," + strings.Repeat("x", 100) + "\n\"" + strings.Repeat("q\"\"", 50) + "\"\n",
	"\"" + strings.Repeat("line\r\n", 30) + "\",end\r\n" + strings.Repeat("\r\n", 5) + "tail",
}

func TestCSVParserMatchesEncodingCSV(t *testing.T) {
	for _, c := range parserCases {
		for _, comma := range csvCommas {
			for _, size := range []int{16, 17, 64, 4096} {
				diffParser(t, []byte(c), comma, size, 0)
				diffParser(t, []byte(c), comma, size, 4)
			}
		}
	}
}

// Cells stay as they were read while many more rows are read after them:
// text and slot blocks are never written over.
func TestCSVParserBlocks(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 3*cellBlock; i++ {
		fmt.Fprintf(&b, "%d,\"cell \"\"%d\"\"\",\"two\r\nlines %d\"\n", i, i, i)
		if i%500 == 0 {
			b.WriteString("\"" + strings.Repeat("big ", 64<<10/3) + "\"\n") // longer than a block
		}
	}
	diffParser(t, []byte(b.String()), ',', 4096, 5)
}

// The cell a broken quote is in is named by its header.
func TestCSVQuoteErrorColumns(t *testing.T) {
	data := header + ",comment\n" +
		",YOM-1,CO\"M-1,2026-04-11,EFFECTIVE,x,c\n" +
		",YOM-2,COM-2,2026-04-11,EFFECTIVE,x,\"a\"b\n" +
		",YOM-3,COM-3,2026-04-11,EFFECTIVE,x,c,\"d\"e\n" +
		",YOM-4,COM-4,2026-04-11,EFFECTIVE,x,\"never closed\n"
	_, rows := readAll(t, writeFile(t, "in.csv", []byte(data)), Options{})
	want := []struct {
		row int
		has string
	}{
		{2, `in column "commerce_external_id"`},
		{3, `in column "comment"`},
		{4, "in cell 8, beyond the last header column"},
		{5, `in column "comment"`},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for i, w := range want {
		if r := rows[i]; r.Pos.Row != w.row || r.Err == nil || !strings.Contains(r.Err.Error(), w.has) || !strings.Contains(r.Err.Error(), "fix the quotes of that line") {
			t.Errorf("row %d: Err = %v, want one saying %s", r.Pos.Row, r.Err, w.has)
		}
	}
}

// FuzzCSVParser checks csvParser against encoding/csv on any input: the same
// records, the same row numbers, errors on the same records, with each
// separator and with buffers small enough that lines span several reads.
func FuzzCSVParser(f *testing.F) {
	for _, c := range parserCases {
		f.Add([]byte(c), uint8(0), uint8(0))
	}
	f.Add([]byte("a;\"b\r\nc\";d\r\n\r\n"), uint8(1), uint8(3))
	f.Add([]byte("a§\"b\nc\"§d"), uint8(4), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, sep, buf uint8) {
		comma := csvCommas[int(sep)%len(csvCommas)]
		diffParser(t, data, comma, 16+int(buf), int(buf%8))
	})
}

// BenchmarkCSVParser splits 100,000 rows held in memory, with encoding/csv
// as the importer used it before and with csvParser.
func BenchmarkCSVParser(b *testing.B) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	for i := 0; i < 100_000; i++ {
		w.Write([]string{fmt.Sprintf("9e3779b1-%04x-5001-a000-%012x", i&0xffff, i), fmt.Sprintf("YOM-%07d", i), "COM-0001",
			"2026-04-01T08:01:00.000Z", "NOT_EFFECTIVE", "No interesado", fmt.Sprintf("visit %d, customer asked for a call", i),
			"OUTBOUND", "OP-001", "", "false"})
	}
	w.Flush()
	data := buf.Bytes()
	b.Run("encoding-csv", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			r := csv.NewReader(bufio.NewReaderSize(bytes.NewReader(data), 64<<10))
			r.FieldsPerRecord = -1
			for {
				rec, err := r.Read()
				if err == io.EOF {
					break
				}
				r.FieldPos(len(rec) - 1)
			}
		}
	})
	b.Run("csvParser", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			p := newCSVParser(bufio.NewReaderSize(bytes.NewReader(data), 64<<10), ',', false)
			p.width = 11
			for {
				if _, _, err := p.next(); err == io.EOF {
					break
				}
			}
		}
	})
}

func TestIsASCII(t *testing.T) {
	for n := 0; n <= 70; n++ {
		b := bytes.Repeat([]byte{0x7f}, n)
		if !isASCII(b) {
			t.Errorf("%d ASCII bytes: not ASCII", n)
		}
		for at := 0; at < n; at++ {
			c := bytes.Clone(b)
			c[at] = 0x80
			if isASCII(c) {
				t.Errorf("byte 0x80 at %d of %d: ASCII", at, n)
			}
		}
	}
}

// A file large enough to be checked in two halves at once is judged as the
// scan in order judges it, wherever its first non-ASCII byte is.
func TestScanUTF8Halves(t *testing.T) {
	line := "8a2da0ef-e94a-5f98-ad28-4741ec9a5245,YOM-1,COM-1,2026-04-11,EFFECTIVE,x\n"
	body := strings.Repeat(line, parallelScan/len(line)+1000)
	mid := len(body) / 2
	tests := []struct {
		name string
		data string
		want utf8Scan
	}{
		{"ascii", body, utf8Scan{valid: true, firstBad: -1}},
		{"utf-8 accent last", body + "é\n", utf8Scan{valid: true, multibyte: true, firstBad: -1}},
		{"windows-1252 accent in the second half", body[:mid+10] + "\xe9" + body[mid+10:], utf8Scan{firstBad: int64(mid + 10)}},
		{"windows-1252 accent first", "\xe9" + body, utf8Scan{firstBad: 0}},
		{"mixed", body[:100] + "é" + body[100:mid] + "\xe9" + body[mid:], utf8Scan{multibyte: true, firstBad: int64(mid + 2)}},
	}
	for _, tt := range tests {
		path := writeFile(t, "big.csv", []byte(tt.data))
		got, err := scanUTF8(path)
		if err != nil || got != tt.want {
			t.Errorf("%s: scan = %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}
}
