package reports

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"unicode/utf8"

	"github.com/reten/reconcile/internal/spill"
	"github.com/xuri/excelize/v2"
)

// rowsSheet writes the XML of the Rows sheet itself, row by row, to a
// temporary file, and puts it into report.xlsx when the workbook is saved.
// excelize's StreamWriter did the same through a generic cell encoder (a cell
// name, escaping, and a reflection-free but allocating path per cell, into an
// in-memory buffer that doubled up to 16 MiB): about 11% of a run's CPU while
// sending, on cores shared with the requests. The XML written is what the
// StreamWriter wrote: inline strings, a style per cell, numbers as numbers.
type rowsSheet struct {
	tmp    *os.File // unlinked at once where the system allows
	name   string   // tmp's path when it could not be unlinked; "" otherwise
	w      *bufio.Writer
	cols   [][]byte // each column's letters: "A", "B", ...
	widths []float64
	fit    bool // shrink to one page wide when printed
	rows   int  // rows written, header included
	buf    []byte
}

// newRowsSheet starts the Rows sheet in a temporary file in spillDir (""
// is os.TempDir()).
func newRowsSheet(spillDir string, width int, widths []float64, fit bool) (*rowsSheet, error) {
	tmp, name, err := spill.Create(spillDir, "reconcile-rows-*.xml")
	if err != nil {
		return nil, err
	}
	s := &rowsSheet{tmp: tmp, name: name, w: bufio.NewWriterSize(fileWriter(XLSXName+" rows", tmp), 64<<10), widths: widths, fit: fit, buf: make([]byte, 0, 4096)}
	for i := range width {
		name, err := excelize.ColumnNumberToName(i + 1)
		if err != nil {
			s.discard()
			return nil, err
		}
		s.cols = append(s.cols, []byte(name))
	}
	return s, nil
}

// row writes one row in style, which also colours the cells left out (empty
// strings: no cell at all). numeric[i] marks cells holding a decimal integer,
// written as numbers so that they sort as such.
func (s *rowsSheet) row(style int, cells []string, numeric []bool) error {
	s.rows++
	var rb, sb [20]byte
	r := strconv.AppendInt(rb[:0], int64(s.rows), 10)
	st := strconv.AppendInt(sb[:0], int64(style), 10)
	b := s.buf[:0]
	b = append(b, `<row r="`...)
	b = append(b, r...)
	b = append(b, `" s="`...)
	b = append(b, st...)
	b = append(b, `" customFormat="1">`...)
	for i, v := range cells {
		if v == "" {
			continue
		}
		b = append(b, `<c r="`...)
		b = append(b, s.cols[i]...)
		b = append(b, r...)
		b = append(b, `" s="`...)
		b = append(b, st...)
		if numeric != nil && numeric[i] {
			b = append(b, `"><v>`...)
			b = append(b, v...)
			b = append(b, `</v></c>`...)
			continue
		}
		b = append(b, `" t="inlineStr"><is><t`...)
		v = truncateCell(v)
		if c := v[0]; isXMLSpace(c) || isXMLSpace(v[len(v)-1]) {
			b = append(b, ` xml:space="preserve"`...)
		}
		b = append(b, '>')
		b = appendCellText(b, v)
		b = append(b, `</t></is></c>`...)
	}
	b = append(b, `</row>`...)
	s.buf = b
	_, err := s.w.Write(b)
	return err
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// truncateCell cuts v to the most a cell holds: 32,767 UTF-16 units.
func truncateCell(v string) string {
	if len(v) <= excelize.TotalCellChars {
		return v
	}
	n := 0
	for i, r := range v {
		u := 1
		if r >= 0x10000 {
			u = 2
		}
		if n+u > excelize.TotalCellChars {
			return v[:i]
		}
		n += u
	}
	return v
}

// appendCellText appends v as the text of a cell: escaped for XML (a line
// feed kept as it is, a carriage return and a tab as references, anything
// XML cannot hold, invalid UTF-8 included, as U+FFFD, as encoding/xml does),
// and with every "_xHHHH_" in it written "_x005F_xHHHH_", so that a
// spreadsheet program shows it as it is instead of the character it would
// otherwise stand for.
func appendCellText(b []byte, v string) []byte {
	start := 0
	for i := 0; i < len(v); {
		c := v[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '&' && c != '<' && c != '>' && c != '_' {
			i++
			continue
		}
		var esc string
		size := 1
		switch {
		case c == '&':
			esc = "&amp;"
		case c == '<':
			esc = "&lt;"
		case c == '>':
			esc = "&gt;"
		case c == '\t':
			esc = "&#x9;"
		case c == '\r':
			esc = "&#xD;"
		case c == '\n':
			i++
			continue
		case c == '_':
			if !isBstrEscape(v[i:]) {
				i++
				continue
			}
			esc = "_x005F_"
		case c < 0x20:
			esc = "\uFFFD"
		default:
			r, n := utf8.DecodeRuneInString(v[i:])
			size = n
			if r != utf8.RuneError || n != 1 {
				if isXMLChar(r) {
					i += n
					continue
				}
			}
			esc = "\uFFFD"
		}
		b = append(b, v[start:i]...)
		b = append(b, esc...)
		i += size
		start = i
	}
	return append(b, v[start:]...)
}

// isBstrEscape says whether s starts with "_xHHHH_", which OOXML reads as
// the character U+HHHH.
func isBstrEscape(s string) bool {
	if len(s) < 7 || s[0] != '_' || s[1] != 'x' || s[6] != '_' {
		return false
	}
	for _, c := range []byte(s[2:6]) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// isXMLChar is XML 1.0's Char production, as encoding/xml checks it.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// writeTo writes the whole worksheet part: what precedes the rows (print
// setup, the frozen header, column widths), the rows, then the autofilter
// over every row written and the page setup.
func (s *rowsSheet) writeTo(w io.Writer) error {
	if err := s.w.Flush(); err != nil {
		return err
	}
	last := string(s.cols[len(s.cols)-1]) + strconv.Itoa(max(s.rows, 1))
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n")
	bw.WriteString(`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">`)
	if s.fit {
		bw.WriteString(`<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>`)
	}
	fmt.Fprintf(bw, `<dimension ref="A1:%s"/>`, last)
	bw.WriteString(`<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>`)
	if s.fit {
		// As excelize wrote it: only with the fit-to-page properties, which
		// brought it along. LibreOffice takes its own default height
		// without it.
		bw.WriteString(`<sheetFormatPr defaultRowHeight="15"/>`)
	}
	if len(s.widths) > 0 {
		bw.WriteString(`<cols>`)
		for i, wd := range s.widths {
			fmt.Fprintf(bw, `<col min="%d" max="%d" width="%s" customWidth="1"/>`, i+1, i+1, strconv.FormatFloat(wd, 'f', -1, 64))
		}
		bw.WriteString(`</cols>`)
	}
	bw.WriteString(`<sheetData>`)
	if _, err := s.tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if _, err := bw.ReadFrom(s.tmp); err != nil {
		return err
	}
	bw.WriteString(`</sheetData>`)
	fmt.Fprintf(bw, `<autoFilter ref="A1:%s"/>`, last)
	bw.WriteString(`<pageSetup orientation="landscape"`)
	if s.fit {
		bw.WriteString(` fitToWidth="1" fitToHeight="0"`)
	}
	bw.WriteString(`/></worksheet>`)
	return bw.Flush()
}

// discard removes the temporary file.
func (s *rowsSheet) discard() {
	s.tmp.Close()
	if s.name != "" {
		os.Remove(s.name)
		spill.Disown(s.name)
	}
}
