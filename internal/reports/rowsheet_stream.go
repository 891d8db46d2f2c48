//go:build streamwriter

package reports

import (
	"io"
	"strconv"

	"github.com/xuri/excelize/v2"
)

// rowsSheet, built with -tags streamwriter, is the standard part the
// hand-written sheet XML of rowsheet.go is measured against: the Rows sheet
// through excelize's StreamWriter, as before rowsheet.go.
type rowsSheet struct {
	sw   *excelize.StreamWriter
	rows int
	vals []any
}

func newRowsSheet(f *excelize.File, _ string, width int, widths []float64, _ bool) (*rowsSheet, error) {
	total := 0.0
	for _, w := range widths {
		total += w
	}
	// The sheet's properties must be set before streaming starts.
	if err := printSetup(f, RowsSheet, total); err != nil {
		return nil, err
	}
	sw, err := f.NewStreamWriter(RowsSheet)
	if err != nil {
		return nil, err
	}
	for i, w := range widths {
		if err := sw.SetColWidth(i+1, i+1, w); err != nil {
			return nil, err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}}}); err != nil {
		return nil, err
	}
	return &rowsSheet{sw: sw, vals: make([]any, width)}, nil
}

func (s *rowsSheet) row(style int, cells []string, numeric []bool) error {
	s.rows++
	for i, v := range cells {
		switch {
		case v == "":
			s.vals[i] = nil
		case numeric != nil && numeric[i]:
			n, err := strconv.Atoi(v)
			if err != nil {
				return err
			}
			s.vals[i] = n
		default:
			s.vals[i] = v
		}
	}
	cell, err := excelize.CoordinatesToCellName(1, s.rows)
	if err != nil {
		return err
	}
	return s.sw.SetRow(cell, s.vals, excelize.RowOpts{StyleID: style})
}

// parts flushes the sheet into the workbook: nothing is replaced.
func (s *rowsSheet) parts() (map[string]func(io.Writer) error, error) {
	return nil, s.sw.Flush()
}

func (s *rowsSheet) discard() {}

// isXMLChar is rowsheet.go's, for the tests' readable.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}
