// Package importer reads spreadsheets (CSV and XLSX) as back offices write them
// and turns each line into a Row: the user's own cells, the contract field each
// column maps to, and the position the user sees in their program. It knows
// nothing of HTTP, the API client or reports.
package importer

import "fmt"

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
	Encoding  string   // csv: "utf-8", "utf-8-bom" or "windows-1252"
	Columns   []string // the header cells as the user wrote them; never modify
}

// Row is one data row of an input file.
type Row struct {
	Pos    Position
	Layout *Layout
	// Cells are the row's cells as the user had them, aligned with Layout.Columns.
	Cells []string
}
