// Package importer reads spreadsheets (CSV and XLSX) as back offices write them
// and turns each line into a Row: the user's own cells, the contract field each
// column maps to, and the position the user sees in their program. It knows
// nothing of HTTP, the API client or reports.
package importer

import (
	"fmt"
	"time"
)

// Position is where a row stands, as the user's spreadsheet program shows it.
type Position struct {
	File  string // the file name as given on the command line
	Sheet string // the sheet, for workbooks; "" for CSV
	Row   int    // 1-based row number as the program shows it (the header is row 1 of a plain CSV)
}

func (p Position) String() string {
	if p.Sheet != "" {
		return fmt.Sprintf("%s, sheet %q, row %d", p.File, p.Sheet, p.Row)
	}
	return fmt.Sprintf("%s, row %d", p.File, p.Row)
}

// Layout is how one input file is written. Every row of the file shares it, so
// reports can give rows back in the user's own columns and format.
type Layout struct {
	File      string   // as given on the command line
	Kind      string   // "csv" or "xlsx"
	Sheet     string   // xlsx: the sheet read
	Delimiter rune     // csv: the field separator found or chosen
	LineBreak string   // csv: "\n" (CRLF too) or "\r" (Excel for Mac's "CSV (Macintosh)")
	Encoding  string   // csv: "utf-8", "utf-8-bom", "windows-1252" or "iso-8859-1"
	Columns   []string // the header cells as the user wrote them; never modify

	// HeaderRow is the header's row number as the program shows it (rows above
	// it, such as a title, are not data).
	HeaderRow int
	// Fields is aligned with Columns: the contract field each column holds, or
	// NoField for a column kept only to be given back in the reports.
	Fields []Field
	// Unknown lists the headers that map to no field, in file order.
	Unknown []string

	// Set by the reader: the column of each field (-1 when absent) and how
	// the file's cells are read. A Layout built by hand has neither, and
	// falls back to Fields and the default reading (ISO dates in UTC).
	cols *[NumFields]int
	norm *normalizer
}

// Column returns the index of the column holding f, or -1.
func (l *Layout) Column(f Field) int {
	if int(f) < 0 || int(f) >= NumFields {
		return -1
	}
	if l.cols != nil {
		return l.cols[f]
	}
	for i, g := range l.Fields {
		if g == f {
			return i
		}
	}
	return -1
}

// Header names f the way the user does: their header for it, or the
// contract's name when the file has no such column.
func (l *Layout) Header(f Field) string {
	if i := l.Column(f); i >= 0 {
		return l.Columns[i]
	}
	return f.String()
}

// Row is one data row of an input file.
type Row struct {
	Pos    Position
	Layout *Layout
	// Cells are the row's cells as the user had them, aligned with Layout.Columns.
	Cells []string
	// Err is a problem of the row as a whole (cells beyond the last header,
	// broken quotes), nil for most rows.
	Err error
}

// Value returns field f read from its cell: trimmed and normalised with the
// file's settings (date format, time zone). It is worked out on each call
// rather than stored, so a row in flight costs only its cells; a field
// without a column gives the zero Value.
func (r *Row) Value(f Field) Value {
	if r.Layout == nil {
		return Value{}
	}
	i := r.Layout.Column(f)
	if i < 0 || i >= len(r.Cells) {
		return Value{}
	}
	n := r.Layout.norm
	if n == nil {
		n = defaultNormalizer
	}
	return n.value(f, r.Cells[i])
}

// Values reads every field into vals, as Value would one at a time: fields
// without a column get the zero Value. It is the validator's way in, and
// skips the per-call lookups of Value.
func (r *Row) Values(vals *[NumFields]Value) {
	*vals = [NumFields]Value{}
	if r.Layout == nil {
		return
	}
	n := r.Layout.norm
	if n == nil {
		n = defaultNormalizer
	}
	for f := Field(0); int(f) < NumFields; f++ {
		if i := r.Layout.Column(f); i >= 0 && i < len(r.Cells) {
			n.fill(&vals[f], f, r.Cells[i])
		}
	}
}

// Value is one cell read as its contract field.
type Value struct {
	// Text is the cell trimmed, with enums (status, contact_type) in upper case,
	// payloads compacted and dates as the user wrote them. "" means empty.
	Text string
	// Time is the instant of a date field (occurred_at, future_scheduled_at);
	// zero when Text is empty or could not be read.
	Time time.Time
	// Bool is hard_override read as a boolean.
	Bool bool
	// Err says why the cell cannot be read as its field and what to do; Text
	// then keeps the trimmed cell.
	Err error
}
