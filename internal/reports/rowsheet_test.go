package reports

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/outcome"

	"github.com/xuri/excelize/v2"
)

// Cells that XML or OOXML treat specially, each as the user's cell.
var awkwardCells = []string{
	"plain",
	"a & b < c > d \"quoted\" 'single'",
	"  leading and trailing spaces  ",
	"line 1\nline 2",
	"line 1\r\nline 2",
	"tab\there",
	"\ttab first",
	"_x0041_ stays as typed",
	"_x005F_ too, and _x0041_x0042_",
	"_x12_ is no escape, nor _xZZZZ_",
	"control \x01\x08\x0b\x1f chars",
	"bad utf-8 \xff\xfe here",
	"Señor Núñez, 東京, emoji 😀",
	"=SUM(A1:A2)",
	"+1-2",
	"-5",
	"@cmd",
	"0012345",
	strings.Repeat("é", 40000),
}

// readable is what a spreadsheet program shows for a cell written as v.
func readable(v string) string {
	var b strings.Builder
	for _, r := range v { // each byte of invalid UTF-8 is one U+FFFD
		if !isXMLChar(r) {
			r = '\uFFFD'
		}
		b.WriteRune(r)
	}
	v = b.String()
	if n := []rune(v); len(n) > excelize.TotalCellChars {
		v = string(n[:excelize.TotalCellChars])
	}
	return Neutralise(v)
}

// The Rows sheet, written without excelize's StreamWriter, reads back through
// excelize as a spreadsheet program would show it: every cell's text, numbers
// as numbers, each row in its class's fill, the header bold and frozen, the
// filter over every row, the column widths and the print setup.
func TestRowsSheetReadsBack(t *testing.T) {
	dir := t.TempDir()
	l := csvLayout("awkward.csv", "Actividad", "Texto")
	var outs []outcome.Outcome
	for i, v := range awkwardCells {
		class := outcome.Classes[i%len(outcome.Classes)]
		o := outcome.Outcome{Row: row(l, i+2, "A-"+itoa(i), v), Class: class, Attempts: i % 3,
			Duration: time.Duration(i) * time.Millisecond, Message: v}
		if class != outcome.ClassInvalid && class != outcome.ClassSkipped {
			o.HTTPStatus = 200 + i
		}
		outs = append(outs, o)
	}
	run(t, dir, RunInfo{Command: "run", Layouts: []*importer.Layout{l}}, Options{XLSX: true}, outs, 1)
	f := openXLSX(t, filepath.Join(dir, XLSXName))

	rows, err := f.GetRows(RowsSheet, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	header := []string{"row", "outcome", "http_status", "code", "message", "Actividad", "Texto", "error", "attempts", "duration_ms", "result_id"}
	if strings.Join(rows[0], "|") != strings.Join(header, "|") {
		t.Errorf("header = %q, want %q", rows[0], header)
	}
	if len(rows) != len(outs)+1 {
		t.Fatalf("%d rows, want %d", len(rows), len(outs)+1)
	}
	for i, o := range outs {
		r := rows[i+1]
		get := func(name string) string {
			j := col(header, name)
			if j < len(r) {
				return r[j]
			}
			return ""
		}
		for name, want := range map[string]string{
			"Actividad": "A-" + itoa(i), "Texto": readable(o.Row.Cells[1]), "message": readable(o.Message),
			"row": itoa(i + 2), "outcome": string(o.Class), "attempts": itoa(o.Attempts),
			"duration_ms": itoa(int(o.Duration.Milliseconds())),
		} {
			if got := get(name); got != want {
				t.Errorf("row %d %s = %.80q, want %.80q", i+2, name, got, want)
			}
		}
		if want := ""; o.HTTPStatus != 0 {
			want = itoa(o.HTTPStatus)
			if got := get("http_status"); got != want {
				t.Errorf("row %d http_status = %q, want %q", i+2, got, want)
			}
		}
		for c := 1; c <= len(header); c++ {
			cell, _ := excelize.CoordinatesToCellName(c, i+2)
			checkFill(t, f, cell, o.Class)
			typ, _ := f.GetCellType(RowsSheet, cell)
			switch name := header[c-1]; {
			case name == "row" || name == "attempts" || name == "duration_ms" || name == "http_status" && o.HTTPStatus != 0:
				if typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber {
					t.Errorf("%s (%s) type = %v, want a number", cell, name, typ)
				}
			case get(name) != "":
				if typ != excelize.CellTypeInlineString {
					t.Errorf("%s (%s) type = %v, want an inline string", cell, name, typ)
				}
			}
		}
	}
	id, _ := f.GetCellStyle(RowsSheet, "C1")
	if st, _ := f.GetStyle(id); st == nil || st.Font == nil || !st.Font.Bold {
		t.Errorf("header style = %+v, want bold", st)
	}
	if p, _ := f.GetPanes(RowsSheet); !p.Freeze || p.YSplit != 1 || p.TopLeftCell != "A2" || p.ActivePane != "bottomLeft" {
		t.Errorf("panes = %+v, want the header frozen", p)
	}
	if w, _ := f.GetColWidth(RowsSheet, "E"); w != 60 {
		t.Errorf("message column width = %v, want 60", w)
	}
	parts := zipParts(t, filepath.Join(dir, XLSXName))
	ref := "A1:K" + itoa(len(outs)+1)
	if sheet := parts[rowsSheetPart]; !strings.Contains(sheet, `<autoFilter ref="`+ref+`"/>`) {
		t.Errorf("the Rows sheet has no autofilter over %s: %.300s", ref, sheet[strings.Index(sheet, "</sheetData>"):])
	}
	if wb := parts["xl/workbook.xml"]; !strings.Contains(strings.ReplaceAll(wb, "$", ""), "_xlnm._FilterDatabase\">&#39;Rows&#39;!"+ref+"<") {
		t.Errorf("the workbook's filter database is not the Rows sheet's %s: %s", ref, wb)
	}
	props, _ := f.GetSheetProps(RowsSheet)
	layout, _ := f.GetPageLayout(RowsSheet)
	if props.FitToPage == nil || !*props.FitToPage || layout.Orientation == nil || *layout.Orientation != "landscape" ||
		layout.FitToWidth == nil || *layout.FitToWidth != 1 {
		t.Errorf("print setup = %+v %+v, want landscape, one page wide", props, layout)
	}
	dim, _ := f.GetSheetDimension(RowsSheet)
	if want := "A1:K" + itoa(len(outs)+1); dim != want {
		t.Errorf("dimension = %q, want %q", dim, want)
	}
}

func TestAppendCellText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"abc", "abc"},
		{"a&b<c>d", "a&amp;b&lt;c&gt;d"},
		{"\"'", "\"'"},
		{"a\nb\rc\td", "a\nb&#xD;c&#x9;d"},
		{"\x00\x1f", "\uFFFD\uFFFD"},
		{"\xff", "\uFFFD"},
		{"\uFFFE", "\uFFFD"},
		{"é😀", "é😀"},
		{"_x0041_", "_x005F_x0041_"},
		{"_x0041_x0042_", "_x005F_x0041_x005F_x0042_"},
		{"_x004_ _xg041_ _x0041", "_x004_ _xg041_ _x0041"},
	} {
		if got := string(appendCellText(nil, tc.in)); got != tc.want {
			t.Errorf("appendCellText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// A sheet too wide to shrink onto one page prints landscape across pages,
// with LibreOffice's own row height, as excelize wrote it: no fit-to-page
// properties and no sheetFormatPr.
func TestRowsSheetTooWideToFit(t *testing.T) {
	dir := t.TempDir()
	var cols []string
	for i := range 30 {
		cols = append(cols, "Column number "+itoa(i))
	}
	l := csvLayout("wide.csv", cols...)
	run(t, dir, RunInfo{Command: "run", Layouts: []*importer.Layout{l}}, Options{XLSX: true},
		[]outcome.Outcome{{Row: row(l, 2, "a", "b"), Class: outcome.ClassOK, Attempts: 1}}, 0)
	f := openXLSX(t, filepath.Join(dir, XLSXName))
	props, _ := f.GetSheetProps(RowsSheet)
	layout, _ := f.GetPageLayout(RowsSheet)
	if (props.FitToPage != nil && *props.FitToPage) || layout.Orientation == nil || *layout.Orientation != "landscape" {
		t.Errorf("print setup = %+v %+v, want landscape, not fitted", props, layout)
	}
	sheet := zipParts(t, filepath.Join(dir, XLSXName))[rowsSheetPart]
	if strings.Contains(sheet, "sheetFormatPr") || strings.Contains(sheet, "fitTo") {
		t.Errorf("a sheet too wide to fit has fit-to-page settings: %.600s", sheet)
	}
	if rows, _ := f.GetRows(RowsSheet); len(rows) != 2 || rows[1][numLeadColumns] != "a" || rows[1][numLeadColumns+1] != "b" {
		t.Errorf("rows = %q", rows)
	}
}

// checkFill fails t unless cell of the Rows sheet is filled with class's colour.
func checkFill(t *testing.T, f *excelize.File, cell string, class outcome.Class) {
	t.Helper()
	id, err := f.GetCellStyle(RowsSheet, cell)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.GetStyle(id)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Fill.Color) != 1 || !strings.EqualFold(st.Fill.Color[0], classColors[class]) {
		t.Errorf("%s (%s) fill = %v, want %s", cell, class, st.Fill.Color, classColors[class])
	}
}

// A column holding activity ids or dates is wide enough for them whatever
// its header is called; other short headers keep narrow columns.
func TestRowsSheetValueWidths(t *testing.T) {
	dir := t.TempDir()
	l := csvLayout("es.csv", "ID", "Fecha", "Nota")
	l.Fields = []importer.Field{importer.ActivityID, importer.OccurredAt, importer.NoField}
	o := outcome.Outcome{Row: row(l, 2, "8a2da0ef-e94a-5f98-ad28-4741ec9a5245", "2026-04-11T10:30:00.000Z", "x"), Class: outcome.ClassOK}
	run(t, dir, RunInfo{Command: "run", Layouts: []*importer.Layout{l}}, Options{XLSX: true}, []outcome.Outcome{o}, 1)
	f := openXLSX(t, filepath.Join(dir, XLSXName))
	for col, want := range map[string][2]float64{"F": {36, 60}, "G": {24, 60}, "H": {8, 12}} {
		w, err := f.GetColWidth(RowsSheet, col)
		if err != nil {
			t.Fatal(err)
		}
		if w < want[0] || w > want[1] {
			t.Errorf("column %s width %v, want %v to %v", col, w, want[0], want[1])
		}
	}
}
