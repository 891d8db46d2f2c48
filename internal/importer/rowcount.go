package importer

import (
	"bytes"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"
)

// ExpectedRows is about how many rows Next will return, for a progress bar
// to show a total, a percentage and the time left; 0 when it is not known
// cheaply. A CSV file's line breaks are counted (a few high when cells hold
// line breaks of their own; about a tenth of a second for a million rows,
// read from the page cache the header was just read through); a workbook's
// sheet says its dimension (high when formatted rows below the data are
// empty). Call it before the first Next.
func (r *Reader) ExpectedRows() int {
	var last int // the number of the last row, as the program shows it
	switch s := r.src.(type) {
	case *csvSource:
		last = countLines(io.NewSectionReader(s.f, 0, 1<<62))
	case *xlsxSource:
		ref, err := s.f.GetSheetDimension(r.layout.Sheet)
		if err != nil {
			return 0
		}
		_, end, ok := strings.Cut(ref, ":")
		if !ok {
			return 0
		}
		if _, last, err = excelize.CellNameToCoordinates(end); err != nil {
			return 0
		}
	}
	return max(last-r.layout.HeaderRow, 0)
}

// countLines counts the lines of a text, however they end: \n, \r\n, or a
// lone \r (old Mac files), with a last line that has no line break.
func countLines(rd io.Reader) int {
	buf := make([]byte, 256<<10)
	var lf, cr int
	var last byte
	for {
		n, err := rd.Read(buf)
		if n > 0 {
			lf += bytes.Count(buf[:n], []byte{'\n'})
			if lf == 0 {
				cr += bytes.Count(buf[:n], []byte{'\r'})
			}
			last = buf[n-1]
		}
		if err != nil {
			break
		}
	}
	lines := lf
	if lf == 0 {
		lines = cr
	}
	if last != 0 && last != '\n' && last != '\r' {
		lines++
	}
	return lines
}
