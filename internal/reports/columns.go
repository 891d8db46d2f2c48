package reports

import (
	"github.com/reten/reconcile/internal/importer"
)

// The names of the columns reconcile adds to report.csv and the Rows sheet:
// what happened first (row, outcome, http_status, code, message), so that a
// reviewer reads it without scrolling past the user's columns; file and
// sheet after them when there are several inputs; then the user's own
// columns; then the rest. Each name is defined here only; whatever reads a
// report back uses these.
const (
	RowColumn        = "row" // the row number as the user's spreadsheet program shows it
	OutcomeColumn    = "outcome"
	HTTPStatusColumn = "http_status"
	CodeColumn       = "code" // the row's outcome.Code
	MessageColumn    = "message"
	FileColumn       = "file"
	SheetColumn      = "sheet"
	ErrorColumn      = "error"
	AttemptsColumn   = "attempts"
	DurationColumn   = "duration_ms"
	ResultIDColumn   = "result_id"
)

// Positions of the leading columns, from the first column of the report.
const (
	colRow = iota
	colOutcome
	colHTTPStatus
	colCode
	colMessage
	numLeadColumns
)

// Positions of the trailing columns, from the first of them.
const (
	colError = iota
	colAttempts
	colDuration
	colResultID
	numTailColumns
)

var (
	leadColumns = [numLeadColumns]string{
		colRow: RowColumn, colOutcome: OutcomeColumn, colHTTPStatus: HTTPStatusColumn, colCode: CodeColumn, colMessage: MessageColumn,
	}
	tailColumns = [numTailColumns]string{
		colError: ErrorColumn, colAttempts: AttemptsColumn, colDuration: DurationColumn, colResultID: ResultIDColumn,
	}
)

// numOwnColumns is how many columns reconcile adds besides file and sheet.
const numOwnColumns = numLeadColumns + numTailColumns

// header is the column layout of report.csv and the Rows sheet: the leading
// columns, optional file and sheet columns, the union of every input file's
// columns, then the trailing columns.
type header struct {
	names    []string
	hasFile  bool // a "file" column after the leading ones: more than one input file
	hasSheet bool // a "sheet" column after it: more than one input file and one is a workbook
	first    int  // index of the first user column
	tail     int  // index of the first trailing column
	// slots maps each layout's column i to its index in names.
	slots map[*importer.Layout][]int
}

// fileAt is the index of the file column (when hasFile), the sheet's next.
const fileAt = numLeadColumns

// numeric reports whether column i holds decimal integers.
func (h *header) numeric(i int) bool {
	return i == colRow || i == colHTTPStatus || i == h.tail+colAttempts || i == h.tail+colDuration
}

// newHeader builds the union of the layouts' columns in order of first
// appearance. Columns match by their exact header text; a name a file repeats
// (two "Notes" columns) matches the same occurrence in other files, so no
// user column is ever dropped or merged with its twin.
func newHeader(layouts []*importer.Layout) *header {
	h := &header{slots: make(map[*importer.Layout][]int, len(layouts))}
	h.names = append(h.names, leadColumns[:]...)
	if len(layouts) > 1 {
		h.hasFile = true
		h.names = append(h.names, FileColumn)
		for _, l := range layouts {
			if l.Kind == "xlsx" {
				h.hasSheet = true
			}
		}
		if h.hasSheet {
			h.names = append(h.names, SheetColumn)
		}
	}
	h.first = len(h.names)
	type key struct {
		name string
		nth  int
	}
	index := make(map[key]int)
	for _, l := range layouts {
		if _, done := h.slots[l]; done {
			continue
		}
		seen := make(map[string]int, len(l.Columns))
		slots := make([]int, len(l.Columns))
		for i, name := range l.Columns {
			k := key{name, seen[name]}
			seen[name]++
			at, ok := index[k]
			if !ok {
				at = len(h.names)
				index[k] = at
				h.names = append(h.names, name)
			}
			slots[i] = at
		}
		h.slots[l] = slots
	}
	h.tail = len(h.names)
	h.names = append(h.names, tailColumns[:]...)
	return h
}

// slotsFor finds the column slots of a row's layout: by identity, or else by
// file and sheet, for callers that copied a Layout.
func (h *header) slotsFor(l *importer.Layout) ([]int, bool) {
	if l == nil {
		return nil, true
	}
	if s, ok := h.slots[l]; ok {
		return s, true
	}
	for k, s := range h.slots {
		if k.File == l.File && k.Sheet == l.Sheet && len(k.Columns) == len(l.Columns) {
			h.slots[l] = s
			return s, true
		}
	}
	return nil, false
}

// ColumnIndex is the index of reconcile's column name in a report.csv
// header, or -1, whatever the user called their own columns: a leading
// column is where reconcile puts it, file and sheet follow those, and a
// trailing column is the last of its name.
func ColumnIndex(header []string, name string) int {
	for i, n := range leadColumns {
		if n == name {
			if i < len(header) && header[i] == name {
				return i
			}
			return -1
		}
	}
	switch name {
	case FileColumn:
		if fileAt < len(header) && header[fileAt] == FileColumn {
			return fileAt
		}
		return -1
	case SheetColumn:
		if fileAt+1 < len(header) && header[fileAt] == FileColumn && header[fileAt+1] == SheetColumn {
			return fileAt + 1
		}
		return -1
	}
	for i := len(header) - 1; i >= 0; i-- {
		if header[i] == name {
			return i
		}
	}
	return -1
}
