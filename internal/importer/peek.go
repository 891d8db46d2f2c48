package importer

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// Sample is the first rows of a file as they stand, before a header is
// chosen, and how the file was read: what a person needs to see to choose
// the sheet, the delimiter, the encoding and the header row.
type Sample struct {
	Kind      string   // "csv" or "xlsx"
	Sheets    []string // xlsx: every sheet, in workbook order
	Sheet     string   // xlsx: the sheet read
	Delimiter rune     // csv: the separator found or chosen
	Encoding  string   // csv: as Layout.Encoding
	Rows      []SampleRow
	// More is set when the file has rows beyond Rows.
	More bool
}

// SampleRow is one non-blank row of a Sample.
type SampleRow struct {
	Row   int      // as the spreadsheet program shows it
	Cells []string // trailing empty cells dropped
}

// Peek reads the first n non-blank rows of path, read as Open would read it
// with opts (its sheet, delimiter and encoding; the mapping plays no part).
// It fails where Open would, with the same messages, but never for want of
// a header.
func Peek(path string, opts Options, n int) (*Sample, error) {
	src, l, err := openSource(path, opts)
	if err != nil {
		return nil, err
	}
	s := &Sample{Kind: l.Kind, Sheet: l.Sheet, Delimiter: l.Delimiter, Encoding: l.Encoding}
	switch x := src.(type) {
	case *xlsxSource:
		s.Sheets = x.f.GetSheetList()
	case *storeSource:
		s.Sheets = []string{l.Sheet}
	}
	defer src.close()
	for {
		cells, row, err := src.next()
		if err == io.EOF {
			return s, nil
		}
		var re *rowError
		if errors.As(err, &re) {
			// A broken row is shown as its position only; Open's reading
			// reports what is wrong with it.
			cells, err = nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: the file cannot be read further (%v); save it again from the spreadsheet program", Position{File: l.File, Sheet: s.Sheet, Row: row}, err)
		}
		if blank(cells) && re == nil {
			continue
		}
		if len(s.Rows) == n {
			s.More = true
			return s, nil
		}
		s.Rows = append(s.Rows, SampleRow{Row: row, Cells: append([]string(nil), trimTrailingEmpty(cells)...)})
	}
}

// openError is what Open says of a file Peek cannot read either.
func openError(path string, opts Options) error {
	opts.MappingFile = ""
	r, err := Open(path, opts)
	if err == nil {
		r.Close()
		return fmt.Errorf("%s cannot be read as CSV or XLSX; save it again as .xlsx or .csv", path)
	}
	return err
}

func isWorkbookName(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".xlsx", ".xlsm", ".xls", ".ods":
		return true
	}
	return false
}
