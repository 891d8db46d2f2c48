package importer

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"io"
	"math/bits"
	"unicode/utf8"
	"unsafe"
)

// csvParser splits delimited text into records exactly as encoding/csv's
// Reader does with FieldsPerRecord -1 and its other options at their zero
// values (no LazyQuotes, no TrimLeadingSpace, no Comment), which is how the
// importer read CSV before: the same records, the same row numbers, an error
// on the same records (csv.ErrQuote, csv.ErrBareQuote), the rest of the line
// of a broken record dropped. FuzzCSVParser checks that on any input against
// encoding/csv itself.
//
// It is hand-written for speed: encoding/csv copies each record into a
// buffer of its own, then into a new string, then makes a new []string for
// it, and the importer asked it for field positions to count rows. Here a
// record's text is copied once, from the bufio.Reader's buffer into a shared
// block, and its cells are pieces of that block; cells are handed out from
// a shared block of slots too, so a row costs no allocation of its own
// (a block of each per 370-odd rows of eleven cells: 546 allocations per
// 100,000 rows in BenchmarkCSVParser). A quoted cell is its own bytes
// between the quotes, with a doubled quote made single in place.
//
// Blocks are never written again once strings point into them, so the cells
// stay valid for as long as anyone holds them. A row kept for long keeps its
// block alive (textBlock bytes of text and cellBlock slots at most, shared
// with the rows around it), which only matters to a caller keeping a few
// rows of a huge file; the reports and the submitter stream.
type csvParser struct {
	br    *bufio.Reader
	comma string // the separator's UTF-8 bytes
	// width is how many cells a record gets room for: the header's width,
	// once known, so that a short row is padded without a new slice.
	width int

	row int // rows the spreadsheet shows so far: records and blank lines

	text  []byte   // the current text block; text[start:] is the record being read
	start int      // where the record being read begins in text
	slots []string // the current block of cell slots
	spans []int    // the record's cells, as start and end offsets into its text
}

// Block sizes: big enough that allocating them is rare, small enough that a
// row kept alive keeps little else alive.
const (
	textBlock = 64 << 10
	cellBlock = 4096
)

// csvError is a record encoding/csv would refuse: err is csv.ErrQuote or
// csv.ErrBareQuote, field the 0-based index of the cell it is in.
type csvError struct {
	err   error
	field int
}

func (e *csvError) Error() string { return e.err.Error() }
func (e *csvError) Unwrap() error { return e.err }

func newCSVParser(br *bufio.Reader, comma rune) *csvParser {
	return &csvParser{br: br, comma: string(comma)}
}

// next returns the next record and the row it starts on, io.EOF after the
// last. A record encoding/csv would refuse comes back as a *csvError with
// its row; any other error is the reader's and ends the read.
func (p *csvParser) next() ([]string, int, error) {
	p.start = len(p.text)
	for {
		n, err := p.readLine()
		if err != nil {
			// io.EOF comes only with an empty line. encoding/csv would
			// still split a line that ended in a read error before saying
			// so; the importer stops at the error either way.
			p.text = p.text[:p.start]
			return nil, 0, err
		}
		p.row++
		if n > 1 || n == 1 && p.text[p.start] != '\n' {
			break
		}
		p.text = p.text[:p.start] // a blank line: a row of its own, no record
	}
	row := p.row
	spans, err := p.split()
	if err != nil {
		p.text = p.text[:p.start]
		if ce, ok := err.(*csvError); ok {
			return nil, row, ce
		}
		return nil, 0, err
	}
	rec := p.text[p.start:]
	s := unsafe.String(unsafe.SliceData(rec), len(rec))
	n := len(spans) / 2
	cells := p.take(n)
	for i := range cells {
		cells[i] = s[spans[2*i]:spans[2*i+1]]
	}
	return cells, row, nil
}

// split finds the cells of the record whose first line was just read,
// reading more lines while a quoted cell goes on. Offsets are from the
// record's start, as the record's text may move to a new block meanwhile.
// It follows encoding/csv's readRecord step by step.
func (p *csvParser) split() ([]int, error) {
	spans := p.spans[:0]
	defer func() { p.spans = spans[:0] }()
	comma := p.comma
	rec := p.text[p.start:]
	i := 0      // where the next cell begins
	quote := -1 // the first quote at or after i on this line (len(rec): none); -1: not looked for yet
cells:
	for {
		if (i == len(rec) || rec[i] != '"') && len(comma) == 1 {
			// An unquoted cell runs to the separator or the end of the line,
			// and may hold no quote: the first of the two found decides.
			k := indexEither(rec[i:], comma[0], '"')
			switch {
			case k == len(rec)-i:
				return append(spans, i, len(rec)-lengthNL(rec)), nil
			case rec[i+k] == '"':
				return spans, &csvError{err: csv.ErrBareQuote, field: len(spans) / 2}
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
				return spans, &csvError{err: csv.ErrBareQuote, field: len(spans) / 2}
			}
			spans = append(spans, i, end)
			if k < 0 {
				return spans, nil
			}
			i = end + len(comma)
			continue
		}
		// A quoted cell: its bytes up to the closing quote, a doubled quote
		// made single by moving what follows back over the second one (w is
		// where the cell's next byte goes, r where it is read from).
		from := i + 1
		w, r := from, from
		for {
			k := bytes.IndexByte(rec[r:], '"')
			switch {
			case k >= 0:
				if w != r {
					copy(rec[w:], rec[r:r+k])
				}
				w += k
				r += k + 1
				switch rest := rec[r:]; {
				case len(rest) > 0 && rest[0] == '"':
					rec[w] = '"'
					w++
					r++
				case len(rest) > 0 && hasPrefix(rest, comma):
					spans = append(spans, from, w)
					i = r + len(comma)
					continue cells
				case len(rest) == lengthNL(rest):
					return append(spans, from, w), nil
				default:
					return spans, &csvError{err: csv.ErrQuote, field: len(spans) / 2}
				}
			case r < len(rec):
				// The line ends inside the quotes: its line break is part
				// of the cell, which goes on on the next line.
				if w != r {
					copy(rec[w:], rec[r:])
				}
				w += len(rec) - r
				r = len(rec)
				if _, err := p.readLine(); err != nil && err != io.EOF {
					return spans, err
				}
				rec = p.text[p.start:]
			default:
				// The file ended inside the quotes.
				return spans, &csvError{err: csv.ErrQuote, field: len(spans) / 2}
			}
		}
	}
}

// readLine appends the next line to the record's text as encoding/csv's
// readLine returns it: \r\n made \n, and a \r just before the end of the
// file dropped; a lone \r elsewhere is text. It returns the line's length,
// and io.EOF only when there was no line left.
func (p *csvParser) readLine() (int, error) {
	before := len(p.text) - p.start
	var err error
	for {
		var chunk []byte
		chunk, err = p.br.ReadSlice('\n')
		p.append(chunk)
		if err != bufio.ErrBufferFull {
			break
		}
	}
	t := p.text
	n := len(t) - p.start - before
	if n > 0 && err == io.EOF {
		err = nil
		if t[len(t)-1] == '\r' {
			t = t[:len(t)-1]
			n--
		}
	}
	if n >= 2 && t[len(t)-2] == '\r' && t[len(t)-1] == '\n' {
		t[len(t)-2] = '\n'
		t = t[:len(t)-1]
		n--
	}
	p.text = t
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

func lengthNL(b []byte) int {
	if len(b) > 0 && b[len(b)-1] == '\n' {
		return 1
	}
	return 0
}

func hasPrefix(b []byte, s string) bool {
	return len(b) >= len(s) && string(b[:len(s)]) == s
}

// validComma is encoding/csv's rule for a separator.
func validComma(r rune) bool {
	return r != 0 && r != '"' && r != '\r' && r != '\n' && utf8.ValidRune(r) && r != utf8.RuneError
}
