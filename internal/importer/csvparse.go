//go:build !csvstd

package importer

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"io"
	"math/bits"
	"unsafe"
)

// csvParser splits delimited text into records as encoding/csv's Reader
// does with FieldsPerRecord -1 and its other options at their zero values
// (no LazyQuotes, no TrimLeadingSpace, no Comment): the same cells, the same
// rows, and an error on the records it refuses. What it does beyond that is
// keep every line of the file accounted for when quotes are broken:
//
//   - A broken record is reported as the line it starts on (with its text,
//     the lines the broken quote reached and the cell it is in), and reading
//     goes on with the next line, even when the broken quote had run on over
//     later lines: a stray quote on line 40 then costs line 40, not every
//     line up to the next quote or the end of the file. encoding/csv read on
//     to the end of the file, or kept the lines up to the next quote in one
//     broken record.
//   - A quoted cell running on past maxRecordLines lines is taken for an
//     unclosed quote, so that one stray quote cannot hold the rest of a large
//     file in memory before the parser knows.
//   - A record that spans lines and comes out wider than the header is taken
//     for a stray quote that met another one, and read again line by line.
//   - Lines may end in a lone \r (Excel for Mac's "CSV (Macintosh)") when
//     the caller says so: openCSV looks at the first line ends.
//
// FuzzCSVLines checks that every line of any input is in exactly one record,
// one broken record, or is blank; TestCSVParserMatchesEncodingCSV and
// FuzzCSVParser that inputs without a broken multi-line record read as
// encoding/csv reads them.
//
// It is hand-written for speed: encoding/csv copies each record into a
// buffer of its own, then into a new string, then makes a new []string for
// it. Here a record's text is copied once, from the bufio.Reader's buffer
// into a shared block, and its cells are pieces of that block; cells are
// handed out from a shared block of slots too, so a row costs no allocation
// of its own. A quoted cell is its own bytes between the quotes, a doubled
// quote made single in place once the record is whole (until then the text
// is kept as the file has it, to be read again if the record is broken).
//
// Blocks are never written again once strings point into them, so the cells
// stay valid for as long as anyone holds them. A row kept for long keeps its
// block alive (textBlock bytes of text and cellBlock slots at most, shared
// with the rows around it).
type csvParser struct {
	br    *bufio.Reader
	comma string // the separator's UTF-8 bytes
	cr    bool   // lines end in a lone \r; \r\n ends one too
	// width is how many cells a record gets room for: the header's width,
	// once known, so that a short row is padded without a new slice. A
	// record spanning lines with more cells than that is taken as broken.
	width int

	row  int // rows the spreadsheet shows so far: records and blank lines
	line int // physical lines read so far
	// first and last are the physical lines of the record (or broken
	// record) next returned last.
	first, last int

	text  []byte // the current text block; text[start:] is the record being read
	start int    // where the record being read begins in text
	// replay holds the lengths of lines read once and given back after a
	// broken record; they follow len(text) in text's block, and are read
	// again before anything more from br.
	replay []int
	ends   []int    // where each line of the record being read ends, from its start
	slots  []string // the current block of cell slots
	spans  []int    // the record's cells, as start and end offsets into its text
	quoted []int    // the record's cells holding a doubled quote
}

func newCSVParser(br *bufio.Reader, comma rune, cr bool) *csvParser {
	return &csvParser{br: br, comma: string(comma), cr: cr}
}

// next returns the next record and the row it starts on, io.EOF after the
// last. A record that cannot be split comes back as a *RecordError with its
// row; reading goes on with the line after the one it starts on. Any other
// error is the reader's and ends the read.
func (p *csvParser) next() ([]string, int, error) {
	p.start = len(p.text)
	var n int
	for {
		p.ends = p.ends[:0]
		var err error
		n, err = p.readLine()
		if err != nil {
			// io.EOF comes only with an empty line.
			p.text = p.text[:p.start]
			return nil, 0, err
		}
		p.row++
		if n > 1 || n == 1 && p.text[p.start] != '\n' {
			break
		}
		// A blank line: a row of its own, no record. It stays in the block
		// (lines given back to read again follow it there).
		p.start = len(p.text)
	}
	row := p.row
	p.first = p.line
	spans, broken, err := p.split()
	if err != nil {
		p.text = p.text[:p.start]
		return nil, 0, err
	}
	p.last = p.line
	rec := p.text[p.start:]
	if broken == nil && p.last > p.first && p.width > 0 && nonEmptyCells(rec, spans) > p.width {
		broken = &RecordError{Err: errTooManyCells, Field: p.spanning(spans), QuoteLine: p.first, Cells: len(spans) / 2, Width: p.width}
	}
	if broken != nil {
		return nil, row, p.brokenRecord(broken, n)
	}
	for _, c := range p.quoted {
		spans[2*c+1] = spans[2*c] + undouble(rec[spans[2*c]:spans[2*c+1]])
	}
	s := unsafe.String(unsafe.SliceData(rec), len(rec))
	cells := p.take(len(spans) / 2)
	for i := range cells {
		cells[i] = s[spans[2*i]:spans[2*i+1]]
	}
	return cells, row, nil
}

// wholeFile returns how many lines the record just read spans when it ran
// to the end of the file over more than one line, else 0.
func (p *csvParser) wholeFile() int {
	if p.last == p.first || len(p.replay) > 0 {
		return 0
	}
	if _, err := p.br.Peek(1); err != io.EOF {
		return 0
	}
	return p.last - p.first + 1
}

// brokenRecord finishes e, the record whose first line is n bytes long:
// that line is the broken record, and the lines after it, if the record had
// read any, are given back to be read again.
func (p *csvParser) brokenRecord(e *RecordError, n int) *RecordError {
	e.Line, e.LastLine = p.first, p.last
	first := p.text[p.start : p.start+n]
	raw := first[:len(first)-lengthNL(first)]
	e.Raw = unsafe.String(unsafe.SliceData(raw), len(raw))
	if len(p.ends) > 1 {
		lines := make([]int, 0, len(p.ends)-1+len(p.replay))
		for i := 1; i < len(p.ends); i++ {
			lines = append(lines, p.ends[i]-p.ends[i-1])
		}
		p.replay = append(lines, p.replay...)
		p.text = p.text[:p.start+n]
		p.line = p.first
		e.Reread = true
	}
	return e
}

// spanning returns the cell of spans whose text holds a line break: the
// quoted cell that ran on over several lines.
func (p *csvParser) spanning(spans []int) int {
	rec := p.text[p.start:]
	for i := 0; i+1 < len(spans); i += 2 {
		if bytes.IndexByte(rec[spans[i]:spans[i+1]], '\n') >= 0 {
			return i / 2
		}
	}
	return -1
}

// split finds the cells of the record whose first line was just read,
// reading more lines while a quoted cell goes on. Offsets are from the
// record's start, as the record's text may move to a new block meanwhile.
// It follows encoding/csv's readRecord step by step, but leaves the text as
// the file has it: a quoted cell's span is its text between the quotes,
// doubled quotes still doubled (p.quoted lists those cells).
func (p *csvParser) split() ([]int, *RecordError, error) {
	spans := p.spans[:0]
	p.quoted = p.quoted[:0]
	defer func() { p.spans = spans[:0] }()
	comma := p.comma
	rec := p.text[p.start:]
	i := 0      // where the next cell begins
	quote := -1 // the first quote at or after i on this line (len(rec): none); -1: not looked for yet
	bare := func() *RecordError {
		return &RecordError{Err: csv.ErrBareQuote, Field: len(spans) / 2, QuoteLine: p.line}
	}
cells:
	for {
		if (i == len(rec) || rec[i] != '"') && len(comma) == 1 {
			// An unquoted cell runs to the separator or the end of the line,
			// and may hold no quote: the first of the two found decides.
			k := indexEither(rec[i:], comma[0], '"')
			switch {
			case k == len(rec)-i:
				return append(spans, i, len(rec)-lengthNL(rec)), nil, nil
			case rec[i+k] == '"':
				return spans, bare(), nil
			}
			spans = append(spans, i, i+k)
			i += k + 1
			continue
		}
		if i == len(rec) || rec[i] != '"' {
			// The same for a separator of several bytes.
			var k int
			if len(comma) == 1 {
				k = bytes.IndexByte(rec[i:], comma[0])
			} else {
				k = bytes.Index(rec[i:], []byte(comma))
			}
			end := i + k
			if k < 0 {
				end = len(rec) - lengthNL(rec)
			}
			if quote < i {
				if quote = bytes.IndexByte(rec[i:], '"'); quote < 0 {
					quote = len(rec)
				} else {
					quote += i
				}
			}
			if quote < end {
				return spans, bare(), nil
			}
			spans = append(spans, i, end)
			if k < 0 {
				return spans, nil, nil
			}
			i = end + len(comma)
			continue
		}
		// A quoted cell: its bytes up to the closing quote, a doubled quote
		// skipped over.
		from := i + 1
		opened := p.line
		doubled := false
		r := from
		for {
			k := bytes.IndexByte(rec[r:], '"')
			switch {
			case k >= 0:
				end := r + k
				r = end + 1
				switch rest := rec[r:]; {
				case len(rest) > 0 && rest[0] == '"':
					doubled = true
					r++
				case len(rest) > 0 && hasPrefix(rest, comma):
					if doubled {
						p.quoted = append(p.quoted, len(spans)/2)
					}
					spans = append(spans, from, end)
					i = r + len(comma)
					continue cells
				case len(rest) == lengthNL(rest):
					if doubled {
						p.quoted = append(p.quoted, len(spans)/2)
					}
					return append(spans, from, end), nil, nil
				default:
					return spans, &RecordError{Err: csv.ErrQuote, Field: len(spans) / 2, QuoteLine: opened, CloseLine: p.line}, nil
				}
			case r < len(rec):
				// The line ends inside the quotes: its line break is part
				// of the cell, which goes on on the next line.
				if p.line-p.first+1 >= maxRecordLines {
					return spans, &RecordError{Err: ErrUnclosedQuote, Field: len(spans) / 2, QuoteLine: opened}, nil
				}
				r = len(rec)
				if _, err := p.readLine(); err != nil && err != io.EOF {
					return spans, nil, err
				}
				rec = p.text[p.start:]
			default:
				// The file ended inside the quotes.
				return spans, &RecordError{Err: ErrUnclosedQuote, Field: len(spans) / 2, QuoteLine: opened, AtEnd: true}, nil
			}
		}
	}
}

// undouble makes every doubled quote of a quoted cell's text single, in
// place, and returns the text's new length.
func undouble(b []byte) int {
	w := 0
	for r := 0; r < len(b); {
		k := bytes.IndexByte(b[r:], '"')
		if k < 0 {
			k = len(b) - r
		}
		w += copy(b[w:], b[r:r+k])
		r += k
		if r < len(b) {
			b[w] = '"'
			w++
			r += 2
		}
	}
	return w
}

// readLine appends the next line to the record's text as encoding/csv's
// readLine returns it: \r\n made \n, and a \r just before the end of the
// file dropped; a lone \r elsewhere is text, unless lines end in \r (p.cr),
// when it is made \n. Lines given back after a broken record are read
// again first. It returns the line's length, and io.EOF only when there
// was no line left.
func (p *csvParser) readLine() (int, error) {
	if len(p.replay) > 0 {
		n := p.replay[0]
		p.replay = p.replay[1:]
		p.text = p.text[:len(p.text)+n]
		p.ends = append(p.ends, len(p.text)-p.start)
		p.line++
		return n, nil
	}
	before := len(p.text) - p.start
	delim := byte('\n')
	if p.cr {
		delim = '\r'
	}
	var err error
	for {
		var chunk []byte
		chunk, err = p.br.ReadSlice(delim)
		p.append(chunk)
		if err != bufio.ErrBufferFull {
			break
		}
	}
	t := p.text
	n := len(t) - p.start - before
	if n > 0 && err == io.EOF {
		err = nil
		if !p.cr && t[len(t)-1] == '\r' {
			t = t[:len(t)-1]
			n--
		}
	}
	if p.cr && n > 0 && t[len(t)-1] == '\r' {
		t[len(t)-1] = '\n'
		if b, _ := p.br.Peek(1); len(b) == 1 && b[0] == '\n' {
			p.br.Discard(1) // \r\n ends one line
		}
	}
	if n >= 2 && t[len(t)-2] == '\r' && t[len(t)-1] == '\n' {
		t[len(t)-2] = '\n'
		t = t[:len(t)-1]
		n--
	}
	p.text = t
	if n > 0 {
		p.line++
		p.ends = append(p.ends, len(t)-p.start)
	}
	return n, err
}

// append adds b to the record's text, moving the record to a new block
// when the current one is full.
func (p *csvParser) append(b []byte) {
	if len(b) > cap(p.text)-len(p.text) {
		rec := p.text[p.start:]
		size := max(textBlock, 2*(len(rec)+len(b)))
		t := make([]byte, len(rec), size)
		copy(t, rec)
		p.text, p.start = t, 0
	}
	p.text = append(p.text, b...)
}

// take returns n cell slots, with room for the header's width.
func (p *csvParser) take(n int) []string {
	m := max(n, p.width)
	if m > cap(p.slots)-len(p.slots) {
		p.slots = make([]string, 0, max(cellBlock, m))
	}
	at := len(p.slots)
	p.slots = p.slots[:at+m]
	return p.slots[at : at+n : at+m]
}

// indexEither returns the index of the first byte of b that is a or q, or
// len(b). It tests eight bytes at a time: cells are short, and a call of
// bytes.IndexByte for each cell cost more than the search itself.
func indexEither(b []byte, a, q byte) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	am, qm := ones*uint64(a), ones*uint64(q)
	i := 0
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		// A byte of x is zero where w holds a. (x-ones)&^x sets the top bit
		// of that byte; a byte above it may be set falsely through the
		// borrow, never one below, so the lowest set bit is exact.
		x, y := w^am, w^qm
		if m := ((x-ones)&^x | (y-ones)&^y) & highs; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(b); i++ {
		if b[i] == a || b[i] == q {
			return i
		}
	}
	return len(b)
}
