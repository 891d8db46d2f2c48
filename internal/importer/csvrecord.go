package importer

import (
	"encoding/csv"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrUnclosedQuote is the Err of a RecordError whose quoted cell is never
// closed: it runs to the end of the file, or on for more lines than a row
// may span.
var ErrUnclosedQuote = errors.New("unclosed quote")

// errTooManyCells is the Err of a RecordError spanning lines whose cells
// come out more than the header's: a stray quote that met another one.
var errTooManyCells = errors.New("a quote that spans lines makes too many cells")

// RecordError is a record of a delimited file that cannot be split into
// cells: a quote never closed, a quote inside a cell that is not quoted, a
// closing quote followed by more text. The row is the line the record starts
// on, with its text; the lines after it are read again as rows of their own,
// so that nothing is lost to one stray quote. Row.Err is one for such a row.
type RecordError struct {
	Line     int    // the line of the file the record starts on, as a text editor numbers it
	LastLine int    // the last line the broken record reached before it was found broken
	Field    int    // 0-based cell the broken quote is in; -1 when not known
	Column   string // that cell's header, "" when beyond the header or not known
	// Raw is line Line as the file holds it (decoded), without its line
	// break: what the user has to fix.
	Raw string
	// Err is ErrUnclosedQuote, csv.ErrBareQuote (a quote in a cell that is
	// not quoted) or csv.ErrQuote (a closing quote followed by text).
	Err error

	QuoteLine int  // the line the quote at fault is on (opened on, for a quoted cell)
	CloseLine int  // csv.ErrQuote: the line the quote closes on
	AtEnd     bool // ErrUnclosedQuote: the quote runs to the end of the file
	Cells     int  // errTooManyCells: how many cells the record came to
	Width     int  // errTooManyCells: the header's width
	Reread    bool // the lines after Line were read again as rows

	header bool // found while looking for the header: no columns to name yet
}

func (e *RecordError) Unwrap() error { return e.Err }

// Error says what is broken, where, and what to do.
func (e *RecordError) Error() string {
	in := ""
	switch {
	case e.Column != "":
		in = fmt.Sprintf(", in column %q", e.Column)
	case e.header && e.Field >= 0:
		in = fmt.Sprintf(", in cell %d", e.Field+1)
	case e.Field >= 0:
		in = fmt.Sprintf(", in cell %d, beyond the last header column", e.Field+1)
	}
	var what string
	switch {
	case errors.Is(e.Err, ErrUnclosedQuote) && e.AtEnd:
		what = fmt.Sprintf("unclosed quote opened on line %d%s: it runs to the end of the file", e.QuoteLine, in)
		if e.LastLine > e.QuoteLine {
			what += fmt.Sprintf(" (line %d)", e.LastLine)
		}
	case errors.Is(e.Err, ErrUnclosedQuote):
		what = fmt.Sprintf("unclosed quote opened on line %d%s: it runs on past line %d, more than the %d lines a row may span", e.QuoteLine, in, e.LastLine, maxRecordLines)
	case errors.Is(e.Err, csv.ErrBareQuote):
		what = fmt.Sprintf("a quote inside a cell that is not quoted, on line %d%s", e.QuoteLine, in)
	case errors.Is(e.Err, csv.ErrQuote) && e.CloseLine != e.QuoteLine:
		what = fmt.Sprintf("the quote opened on line %d%s closes on line %d and is followed by text instead of a separator", e.QuoteLine, in, e.CloseLine)
	case errors.Is(e.Err, csv.ErrQuote):
		what = fmt.Sprintf("a closing quote followed by text instead of a separator, on line %d%s", e.QuoteLine, in)
	case errors.Is(e.Err, errTooManyCells):
		what = fmt.Sprintf("a quote%s opened on line %d closes on line %d, making a row of %d cells for %d columns", in, e.Line, e.LastLine, e.Cells, e.Width)
	default:
		what = e.Err.Error() + in
	}
	if e.header {
		return fmt.Sprintf("the header (or a row above it) cannot be split into cells (%s); line %d reads %s; fix the quotes of that line, or save the file again from the spreadsheet program as \"CSV UTF-8\"", what, e.Line, quoteRaw(e.Raw))
	}
	msg := fmt.Sprintf("the row cannot be split into cells (%s); line %d reads %s", what, e.Line, quoteRaw(e.Raw))
	if e.Reread {
		msg += fmt.Sprintf("; the lines after it (to line %d) were read again as rows of their own", e.LastLine)
	}
	return msg + `; fix the quotes of that line (a quote inside a cell is written as two: ""), or save the file again from the spreadsheet program`
}

// quoteRaw quotes a line for a message, cut to a readable length (the row's
// cells keep all of it).
func quoteRaw(s string) string {
	const most = 200
	if utf8.RuneCountInString(s) <= most {
		return fmt.Sprintf("%q", s)
	}
	r := []rune(s)
	return fmt.Sprintf("%q…", string(r[:most]))
}

// lenientCells splits a broken record's line as a person would read it, so
// that the report and the rejects file give the user their cells back in
// their columns to fix: at every separator, a cell in quotes that close
// properly on the line taken without them, any other quote kept as text.
// Joined with the separator, the cells give the line back but for the
// quotes around properly quoted cells. They fit width: cells beyond it are
// joined into the last one, so no text is lost.
func lenientCells(line, comma string, width int) []string {
	var cells []string
	for i := 0; ; {
		if strings.HasPrefix(line[i:], `"`) {
			if end, ok := closedQuote(line[i:], comma); ok {
				cells = append(cells, strings.ReplaceAll(line[i+1:i+end-1], `""`, `"`))
				i += end
				if i == len(line) {
					break
				}
				i += len(comma)
				continue
			}
		}
		k := strings.Index(line[i:], comma)
		if k < 0 {
			cells = append(cells, line[i:])
			break
		}
		cells = append(cells, line[i:i+k])
		i += k + len(comma)
	}
	if width > 0 && len(cells) > width {
		cells[width-1] = strings.Join(cells[width-1:], comma)
		cells = cells[:width]
	}
	for len(cells) < width {
		cells = append(cells, "")
	}
	return cells
}

// closedQuote reports whether s, which starts with a quote, is a quoted
// cell closed by a quote followed by comma or the end of s, and how long
// that cell is, quotes included.
func closedQuote(s, comma string) (int, bool) {
	for i := 1; i < len(s); i++ {
		if s[i] != '"' {
			continue
		}
		if i+1 < len(s) && s[i+1] == '"' {
			i++
			continue
		}
		rest := s[i+1:]
		return i + 1, rest == "" || strings.HasPrefix(rest, comma)
	}
	return 0, false
}
