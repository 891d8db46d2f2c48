package importer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"unicode/utf8"
)

// csvParser splits delimited text into records with encoding/csv's Reader
// (FieldsPerRecord -1, ReuseRecord, its other options at their zero values:
// no LazyQuotes, no TrimLeadingSpace, no Comment), and keeps every line of
// the file accounted for when quotes are broken, which encoding/csv does not:
//
//   - A broken record is reported as the line it starts on (with its text,
//     the lines the broken quote reached and the cell it is in), and reading
//     goes on with the next line, even when the broken quote had run on over
//     later lines: a stray quote on line 40 then costs line 40, not every
//     line up to the next quote or the end of the file.
//   - A record running on past maxRecordLines lines is taken for an unclosed
//     quote, so that one stray quote cannot hold the rest of a large file in
//     memory before it is known.
//   - A record that spans lines and comes out wider than the header is taken
//     for a stray quote that met another one, and read again line by line.
//   - Lines may end in a lone \r (Excel for Mac's "CSV (Macintosh)") when
//     the caller says so: openCSV looks at the first line ends.
//
// To know the lines of each record, a lineFeeder hands the Reader one line a
// Read, keeps the lines of the record being read, gives them back to be read
// again after a broken record (the Reader is then made anew), and stops a
// record at maxRecordLines. The Reader's cells are copied into a shared block
// of slots with room for the header's width, so a short row is padded in
// place. FuzzCSVLines checks that every line of any input is in exactly one
// record, one broken record, or is blank; TestCSVParserMatchesEncodingCSV and
// FuzzCSVParser that an input without a broken record spanning lines reads as
// encoding/csv alone reads it. A parser of our own, kept until this one
// measured as fast for the whole command, is in docs/speed-layers.md
// (bench/csvparser-ab.sh).
type csvParser struct {
	br    *bufio.Reader
	comma rune
	cr    bool
	width int

	row, line   int
	first, last int
	replay      [][]byte // lines given back after a broken record (for wholeFile)

	feed  *lineFeeder
	r     *csv.Reader
	slots []string
}

// cellBlock is how many cell slots are allocated at once: rarely, and a row
// kept alive keeps little else alive.
const cellBlock = 4096

// maxRecordLines is the most lines one record may span. Excel holds at most
// 253 line breaks in a cell; a quoted cell running on for more lines than
// this is a quote that is never closed.
const maxRecordLines = 1000

// validComma is encoding/csv's rule for a separator.
func validComma(r rune) bool {
	return r != 0 && r != '"' && r != '\r' && r != '\n' && utf8.ValidRune(r) && r != utf8.RuneError
}

func newCSVParser(br *bufio.Reader, comma rune, cr bool) *csvParser {
	p := &csvParser{br: br, comma: comma, cr: cr}
	p.feed = &lineFeeder{br: br, cr: cr}
	p.reset()
	return p
}

// reset starts a new csv.Reader on the feeder: after a broken record that
// spanned lines, whose later lines are to be read again.
func (p *csvParser) reset() {
	p.r = csv.NewReader(bufio.NewReaderSize(p.feed, 64<<10))
	p.r.Comma = p.comma
	p.r.FieldsPerRecord = -1
	p.r.ReuseRecord = true
}

func (p *csvParser) next() ([]string, int, error) {
	f := p.feed
	f.begin()
	rec, err := p.r.Read()
	p.replay = f.replay
	// Blank lines csv.Reader skipped are rows of their own.
	blanks := f.blanks()
	p.row += blanks
	p.line += f.counted(blanks)
	lines := f.lines[blanks:]
	if err == io.EOF {
		return nil, 0, io.EOF
	}
	var pe *csv.ParseError
	var broken *RecordError
	switch {
	case errors.As(err, &pe):
		broken = &RecordError{Err: pe.Err, Field: len(rec), QuoteLine: p.line + len(lines)}
		if pe.Err == csv.ErrQuote {
			broken.QuoteLine = p.line + 1 + p.linesBefore(rec)
			broken.CloseLine = p.line + len(lines)
			if !f.garbageAt(pe.Column) {
				broken.Err, broken.AtEnd, broken.CloseLine = ErrUnclosedQuote, true, 0
			}
		}
	case errors.Is(err, errLineLimit):
		// csv.Reader ends the cell it was in at the error, and gives it too.
		before := rec[:max(len(rec)-1, 0)]
		broken = &RecordError{Err: ErrUnclosedQuote, Field: len(before), QuoteLine: p.line + 1 + p.linesBefore(before)}
	case err != nil:
		return nil, 0, err
	}
	p.row++
	p.first = p.line + 1
	p.line += len(lines)
	p.last = p.line
	if broken == nil && len(lines) > 1 && p.width > 0 && nonEmpty(rec) > p.width {
		broken = &RecordError{Err: errTooManyCells, Field: spanningCell(rec), QuoteLine: p.first, Cells: len(rec), Width: p.width}
	}
	if broken != nil {
		broken.Line, broken.LastLine = p.first, p.last
		broken.Raw = f.raw(lines[0])
		if len(lines) > 1 {
			f.giveBack(lines[1:])
			p.replay = f.replay
			p.line = p.first
			broken.Reread = true
			p.reset()
		}
		return nil, p.row, broken
	}
	cells := p.take(len(rec))
	copy(cells, rec)
	if p.cr {
		for i, c := range cells {
			cells[i] = unescapeLF(c)
		}
	}
	return cells, p.row, nil
}

// linesBefore counts the line breaks in the cells of rec before the broken
// one: the broken cell starts that many lines after the record.
func (p *csvParser) linesBefore(rec []string) int {
	n := 0
	for _, c := range rec {
		n += strings.Count(c, "\n")
	}
	return n
}

func spanningCell(rec []string) int {
	for i, c := range rec {
		if strings.IndexByte(c, '\n') >= 0 {
			return i
		}
	}
	return -1
}

func nonEmpty(rec []string) int {
	n := len(rec)
	for n > 0 && strings.TrimSpace(rec[n-1]) == "" {
		n--
	}
	return n
}

func (p *csvParser) wholeFile() int {
	if p.last == p.first || len(p.replay) > 0 || len(p.feed.out) > 0 {
		return 0
	}
	if _, err := p.br.Peek(1); err != io.EOF {
		return 0
	}
	return p.last - p.first + 1
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

// errLineLimit is what the feeder answers csv.Reader when a record would
// span more than maxRecordLines lines.
var errLineLimit = errors.New("a record spans too many lines")

// lineFeeder is the io.Reader csv.Reader reads: one line a Read (or part of
// a long one), so that csv.Reader's buffer never holds more than the line
// it parses, and the lines of the record being read are known.
type lineFeeder struct {
	br     *bufio.Reader
	cr     bool
	lines  [][]byte // the lines handed out since begin, line ends as read
	buf    []byte   // their text
	out    []byte   // what is left to hand out of the last line
	replay [][]byte // lines given back, to hand out again first
	eof    bool
}

func (f *lineFeeder) begin() {
	f.lines, f.buf = f.lines[:0], f.buf[:0]
}

// blanks is how many of the lines handed out since begin are blank: those
// csv.Reader skipped before the record.
func (f *lineFeeder) blanks() int {
	n := 0
	for _, l := range f.lines {
		if len(l) > 2 || len(l) == 2 && string(l) != "\r\n" || len(l) == 1 && l[0] != '\n' && l[0] != '\r' {
			break
		}
		n++
	}
	return n
}

// counted is how many of the first n lines count as lines: a lone \r at
// the very end of the file is no line (encoding/csv drops it).
func (f *lineFeeder) counted(n int) int {
	if n > 0 && !f.cr && string(f.lines[n-1]) == "\r" {
		return n - 1
	}
	return n
}

// garbageAt reports whether column (1-based, in bytes) of the last line is
// a quote followed by something other than the line's end: a closing quote
// followed by text, as against the end of the file inside quotes.
func (f *lineFeeder) garbageAt(column int) bool {
	if len(f.lines) == 0 {
		return false
	}
	l := f.lines[len(f.lines)-1]
	i := column - 1
	return i >= 0 && i+1 < len(l) && l[i] == '"' && l[i+1] != '\n' && l[i+1] != '\r'
}

// giveBack has lines handed out again before anything more is read.
func (f *lineFeeder) giveBack(lines [][]byte) {
	back := make([][]byte, 0, len(lines)+len(f.replay))
	for _, l := range lines {
		back = append(back, bytes.Clone(l))
	}
	f.replay = append(back, f.replay...)
	f.out = nil
}

func (f *lineFeeder) Read(p []byte) (int, error) {
	if len(f.out) == 0 {
		if err := f.nextLine(); err != nil {
			return 0, err
		}
	}
	n := copy(p, f.out)
	f.out = f.out[n:]
	return n, nil
}

// nextLine takes the next line, given back or read, to hand out.
func (f *lineFeeder) nextLine() error {
	if len(f.lines)-f.blanks() >= maxRecordLines { // lines since the record's first
		return errLineLimit
	}
	var line []byte
	if len(f.replay) > 0 {
		line, f.replay = f.replay[0], f.replay[1:]
	} else {
		delim := byte('\n')
		if f.cr {
			delim = '\r'
		}
		start := len(f.buf)
		for {
			chunk, err := f.br.ReadSlice(delim)
			f.buf = append(f.buf, chunk...)
			if err == bufio.ErrBufferFull {
				continue
			}
			if err == io.EOF {
				f.eof = true
			} else if err != nil {
				return err
			}
			break
		}
		line = f.buf[start:]
		if len(line) == 0 {
			return io.EOF
		}
		if f.cr {
			// For csv.Reader, which ends lines at \n only: the \r that ends
			// the line becomes \n, and a \n inside the line is escaped as
			// NUL n (a NUL as NUL NUL), which it keeps as text; next undoes it.
			ended := line[len(line)-1] == '\r'
			if bytes.IndexByte(line, '\n') >= 0 || bytes.IndexByte(line, 0) >= 0 {
				start := len(f.buf)
				for _, c := range line {
					switch c {
					case '\n':
						f.buf = append(f.buf, 0, 'n')
					case 0:
						f.buf = append(f.buf, 0, 0)
					default:
						f.buf = append(f.buf, c)
					}
				}
				line = f.buf[start:]
			}
			if ended {
				line[len(line)-1] = '\n'
				if b, _ := f.br.Peek(1); len(b) == 1 && b[0] == '\n' {
					f.br.Discard(1)
				}
			}
		}
	}
	f.lines = append(f.lines, line)
	f.out = line
	return nil
}

// raw is a line for a message and the broken record's cells: without its
// line end (a \r before the end of the file dropped, as encoding/csv drops
// it), line feeds inside a lone-CR line restored.
func (f *lineFeeder) raw(line []byte) string {
	s := string(line)
	switch {
	case strings.HasSuffix(s, "\r\n") && !f.cr:
		s = s[:len(s)-2]
	case strings.HasSuffix(s, "\n"):
		s = s[:len(s)-1]
	case !f.cr:
		s = strings.TrimSuffix(s, "\r")
	}
	if f.cr {
		s = unescapeLF(s)
	}
	return s
}

// unescapeLF undoes the feeder's escapes of a line with \r line ends: NUL n
// is a line feed, NUL NUL a NUL.
func unescapeLF(s string) string {
	if strings.IndexByte(s, 0) < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0 && i+1 < len(s) {
			i++
			if s[i] == 'n' {
				b.WriteByte('\n')
			} else {
				b.WriteByte(0)
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
