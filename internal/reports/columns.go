package reports

import (
	"github.com/reten/reconcile/internal/importer"
)

// The names of the columns reconcile adds to report.csv and the Rows sheet:
// file and sheet before the user's own columns when there are several
// inputs, the outcome columns after them. Each name is defined here only;
// whatever reads a report back uses these.
const (
	FileColumn       = "file"
	SheetColumn      = "sheet"
	RowColumn        = "row" // the row number as the user's spreadsheet program shows it
	OutcomeColumn    = "outcome"
	HTTPStatusColumn = "http_status"
	ErrorColumn      = "error"
	MessageColumn    = "message"
	AttemptsColumn   = "attempts"
	DurationColumn   = "duration_ms"
	ResultIDColumn   = "result_id"
)

// Positions of the outcome columns, from the first of them.
const (
	colRow = iota
	colOutcome
	colHTTPStatus
	colError
	colMessage
	colAttempts
	colDuration
	colResultID
	numOutcomeColumns
)

// outcomeColumns are the columns reconcile adds after the user's own, in
// report.csv and the Rows sheet.
var outcomeColumns = [numOutcomeColumns]string{
	colRow: RowColumn, colOutcome: OutcomeColumn, colHTTPStatus: HTTPStatusColumn, colError: ErrorColumn,
	colMessage: MessageColumn, colAttempts: AttemptsColumn, colDuration: DurationColumn, colResultID: ResultIDColumn,
}

// numericColumns are the outcome columns that hold decimal integers.
var numericColumns = []int{colRow, colHTTPStatus, colAttempts, colDuration}

// header is the column layout of report.csv and the Rows sheet: optional file
// and sheet columns, the union of every input file's columns, then the outcome
// columns.
type header struct {
	names    []string
	hasFile  bool // a leading "file" column: more than one input file
	hasSheet bool // a "sheet" column after it: more than one input file and one is a workbook
	first    int  // index of the first user column
	outcome  int  // index of the first outcome column
	// slots maps each layout's column i to its index in names.
	slots map[*importer.Layout][]int
}

// newHeader builds the union of the layouts' columns in order of first
// appearance. Columns match by their exact header text; a name a file repeats
// (two "Notes" columns) matches the same occurrence in other files, so no
// user column is ever dropped or merged with its twin.
func newHeader(layouts []*importer.Layout) *header {
	h := &header{slots: make(map[*importer.Layout][]int, len(layouts))}
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
	h.outcome = len(h.names)
	h.names = append(h.names, outcomeColumns[:]...)
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
