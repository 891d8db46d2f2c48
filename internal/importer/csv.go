package importer

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

var (
	utf8BOM    = []byte{0xEF, 0xBB, 0xBF}
	utf16LEBOM = []byte{0xFF, 0xFE}
	utf16BEBOM = []byte{0xFE, 0xFF}
)

// Encodings accepted by Options.Encoding, by every name users type for them.
var encodingNames = map[string]string{
	"utf8": "utf-8", "utf-8": "utf-8",
	"windows-1252": "windows-1252", "windows1252": "windows-1252", "cp1252": "windows-1252", "ansi": "windows-1252",
	"latin1": "iso-8859-1", "latin-1": "iso-8859-1", "iso-8859-1": "iso-8859-1", "iso8859-1": "iso-8859-1",
	"utf-16": "utf-16", "utf16": "utf-16",
}

// csvSource reads records from a delimited text file. Its row numbers are the
// ones a spreadsheet program shows: a quoted field that spans lines is still
// one row, and a blank line is a row of its own.
type csvSource struct {
	f *os.File
	p *csvParser
}

// openCSV opens path as delimited text and fills the CSV part of layout.
func openCSV(path, name string, head []byte, opts Options, layout *Layout) (*csvSource, error) {
	enc, err := csvEncoding(path, name, head, opts.Encoding)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	var in io.Reader = bufio.NewReaderSize(f, 64<<10)
	switch enc {
	case "utf-8-bom":
		if _, err := in.(*bufio.Reader).Discard(len(utf8BOM)); err != nil {
			f.Close()
			return nil, err
		}
	case "windows-1252":
		in = charmap.Windows1252.NewDecoder().Reader(in)
	case "iso-8859-1":
		in = charmap.ISO8859_1.NewDecoder().Reader(in)
	case "utf-16":
		in = unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder().Reader(in)
	}
	// UTF-8 is read straight from the file's buffer; a decoder gets one of
	// its own, since it hands out text in small pieces.
	br, ok := in.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(in, 64<<10)
	}
	s := &csvSource{f: f}
	cr := crLines(br)
	delim := opts.Delimiter
	if hint, ok := sepHint(br, cr); ok {
		// Excel's "sep=;" first line chooses the separator and is not shown as
		// a row; it is consumed before the CSV reader counts lines.
		if delim == 0 {
			delim = hint
		}
	}
	if delim == 0 {
		delim = detectDelimiter(br, cr)
	}
	if !validDelim(delim) {
		f.Close()
		return nil, fmt.Errorf("%s: %q cannot separate fields; pass --delimiter with one of , ; | or tab", name, delim)
	}
	s.p = newCSVParser(br, delim, cr)
	layout.Kind = "csv"
	layout.Delimiter = delim
	layout.Encoding = enc
	layout.LineBreak = "\n"
	if cr {
		layout.LineBreak = "\r"
	}
	return s, nil
}

func validDelim(r rune) bool {
	return validComma(r) && !(r >= 'a' && r <= 'z') && !(r >= 'A' && r <= 'Z')
}

// csvEncoding returns the encoding chosen or found: a BOM decides; else a file
// that is valid UTF-8 throughout is UTF-8, one with no UTF-8 accents but bytes
// that are not UTF-8 is Windows-1252 (what Excel on Windows saves "CSV" in),
// and one with both is an error. The whole file is checked, not a prefix,
// because an accent may first appear on row 50,000.
func csvEncoding(path, name string, head []byte, chosen string) (string, error) {
	bom := bytes.HasPrefix(head, utf8BOM)
	if chosen != "" {
		enc, ok := encodingNames[strings.ToLower(strings.TrimSpace(chosen))]
		if !ok {
			return "", fmt.Errorf("unknown encoding %q; use utf-8, windows-1252, latin1 or utf-16", chosen)
		}
		if enc == "utf-8" && bom {
			enc = "utf-8-bom"
		}
		return enc, nil
	}
	switch {
	case bom:
		return "utf-8-bom", nil
	case bytes.HasPrefix(head, utf16LEBOM):
		return "utf-16", nil
	case bytes.HasPrefix(head, utf16BEBOM):
		return "", fmt.Errorf("%s is big-endian UTF-16 text; save it as CSV UTF-8 and try again", name)
	}
	if bytes.IndexByte(head, 0) >= 0 {
		return "", fmt.Errorf("%s is not a spreadsheet reconcile can read (it holds binary data); save it as .xlsx or .csv", name)
	}
	scan, err := scanUTF8(path)
	switch {
	case err != nil:
		return "", err
	case scan.valid:
		return "utf-8", nil
	case scan.multibyte:
		// UTF-8 accents and bytes that are not UTF-8: two exports pasted
		// together, or a damaged file. Either guess would garble some rows.
		return "", fmt.Errorf("%s mixes UTF-8 text with another encoding (the first byte that is not UTF-8 is at offset %d); save it again as CSV UTF-8, or pass --encoding utf-8 or --encoding windows-1252 to choose", name, scan.firstBad)
	}
	return "windows-1252", nil
}

// utf8Scan is what a pass over a file found: whether every byte decodes as
// UTF-8, and whether it holds UTF-8 accents (multi-byte characters).
type utf8Scan struct {
	valid, multibyte bool
	firstBad         int64 // offset of the first byte that is not UTF-8
}

// scanUTF8 reads the whole file in chunks, so memory stays flat.
func scanUTF8(path string) (utf8Scan, error) {
	res := utf8Scan{valid: true, firstBad: -1}
	f, err := os.Open(path)
	if err != nil {
		return res, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() >= parallelScan {
		if ascii, err := asciiHalves(f, fi.Size()); err != nil || ascii {
			return res, err
		}
	}
	buf := make([]byte, 256<<10)
	carry := 0
	var offset int64
	for {
		n, err := f.Read(buf[carry:])
		n += carry
		end := n
		if err == nil {
			// Keep an incomplete trailing character for the next chunk.
			for k := 1; k <= utf8.UTFMax-1 && k <= n; k++ {
				c := buf[n-k]
				if c < 0x80 {
					break
				}
				if c >= 0xC0 {
					if !utf8.FullRune(buf[n-k : n]) {
						end = n - k
					}
					break
				}
			}
		}
		chunk := buf[:end]
		switch {
		case isASCII(chunk):
			// Most files are ASCII throughout, which one fast pass tells;
			// utf8.Valid runs only on chunks with other bytes.
		case utf8.Valid(chunk):
			res.multibyte = true
		default:
			// The slow path runs only on chunks with a bad byte.
			for i := 0; i < len(chunk); {
				r, size := utf8.DecodeRune(chunk[i:])
				if r == utf8.RuneError && size == 1 {
					if res.valid {
						res.valid, res.firstBad = false, offset+int64(i)
					}
				} else if size > 1 {
					res.multibyte = true
				}
				i += size
			}
		}
		if !res.valid && res.multibyte {
			return res, nil // mixed: nothing more to learn
		}
		offset += int64(end)
		carry = copy(buf, buf[end:n])
		if err == io.EOF {
			if carry > 0 && res.valid {
				res.valid, res.firstBad = false, offset
			}
			return res, nil
		}
		if err != nil {
			return res, err
		}
	}
}

// parallelScan is the size from which asciiHalves checks a file on two
// goroutines before the scan proper.
const parallelScan = 4 << 20

// asciiHalves reports whether every byte of the file is ASCII, as most
// exports are, reading its two halves at once: for a large file this check
// is the only work before the first row, and would otherwise hold one core
// while the other idles. A non-ASCII byte stops both halves; the caller then
// scans the file in order, which tells UTF-8 from Windows-1252.
func asciiHalves(f *os.File, size int64) (bool, error) {
	var (
		wg    sync.WaitGroup
		other atomic.Bool // a half found a non-ASCII byte
		errs  [2]error
	)
	check := func(half int, from, to int64) {
		defer wg.Done()
		buf := make([]byte, 256<<10)
		for from < to && !other.Load() {
			n, err := f.ReadAt(buf[:min(int64(len(buf)), to-from)], from)
			if !isASCII(buf[:n]) {
				other.Store(true)
				return
			}
			from += int64(n)
			if err == io.EOF {
				return // the file shrank since it was measured; the scan will tell
			}
			if err != nil {
				errs[half] = err
				return
			}
		}
	}
	wg.Add(2)
	go check(0, 0, size/2)
	check(1, size/2, size)
	wg.Wait()
	if err := errors.Join(errs[0], errs[1]); err != nil {
		return false, err
	}
	return !other.Load(), nil
}

func isASCII(b []byte) bool {
	const hi = 0x8080808080808080
	for len(b) >= 32 {
		le := binary.LittleEndian
		if (le.Uint64(b)|le.Uint64(b[8:])|le.Uint64(b[16:])|le.Uint64(b[24:]))&hi != 0 {
			return false
		}
		b = b[32:]
	}
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b)&hi != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// crLines reports whether the file's lines end in a lone \r, as Excel for
// Mac's "CSV (Macintosh)" writes them: the first line end outside quotes in
// the text buffered is a \r not followed by \n, or (the quotes broken)
// there is a \r and no \n at all.
func crLines(br *bufio.Reader) bool {
	p, err := br.Peek(br.Size())
	full := err == nil // more text may follow what was buffered
	inQuotes := false
	for i, c := range p {
		switch {
		case c == '"':
			inQuotes = !inQuotes
		case inQuotes:
		case c == '\n':
			return false
		case c == '\r':
			if i+1 < len(p) {
				return p[i+1] != '\n'
			}
			return !full
		}
	}
	return bytes.IndexByte(p, '\r') >= 0 && bytes.IndexByte(p, '\n') < 0
}

// sepHint reads Excel's optional first line "sep=X".
func sepHint(br *bufio.Reader, cr bool) (rune, bool) {
	p, _ := br.Peek(8)
	if len(p) < 5 || !bytes.EqualFold(p[:4], []byte("sep=")) {
		return 0, false
	}
	r, size := utf8.DecodeRune(p[4:])
	rest := p[4+size:]
	if len(rest) > 0 && rest[0] != '\n' && rest[0] != '\r' {
		return 0, false
	}
	if cr {
		br.ReadString('\r')
		if b, _ := br.Peek(1); len(b) == 1 && b[0] == '\n' {
			br.Discard(1)
		}
	} else {
		br.ReadString('\n')
	}
	return r, true
}

// detectDelimiter picks the separator of the first lines (a title line may
// stand above the header): the candidate found most often outside quotes in
// them. A tie, or none at all (a single column), means a comma.
func detectDelimiter(br *bufio.Reader, cr bool) rune {
	const lines = 20
	p, _ := br.Peek(br.Size())
	candidates := [...]byte{',', ';', '\t', '|'}
	var counts [len(candidates)]int
	inQuotes := false
	n := 0
	end := byte('\n')
	if cr {
		end = '\r'
	}
	for i := 0; i < len(p) && n < lines; i++ {
		c := p[i]
		switch {
		case c == '"':
			inQuotes = !inQuotes
		case inQuotes:
		case c == end:
			n++
		default:
			for j, d := range candidates {
				if c == d {
					counts[j]++
				}
			}
		}
	}
	best := 0
	for j := range candidates {
		if counts[j] > counts[best] {
			best = j
		}
	}
	return rune(candidates[best])
}

func (s *csvSource) next() ([]string, int, error) { return s.p.next() }

// wholeFile returns how many lines the record just read spans when it ran
// to the end of the file over more than one line: a header that swallows
// every row after it. It is 0 otherwise.
func (s *csvSource) wholeFile() int { return s.p.wholeFile() }

// reserve has every record come with room for n cells.
func (s *csvSource) reserve(n int) { s.p.width = n }

func (s *csvSource) close() error { return s.f.Close() }

// rowError is a row of a workbook the source could not read.
type rowError struct {
	row   int
	err   error
	field int // the cell it is in, 0-based; -1 when not known
}

func (e *rowError) Error() string { return e.err.Error() }
