package reports

import (
	"fmt"
	"strings"
	"time"

	"github.com/reten/reconcile/reconcile"
	"github.com/xuri/excelize/v2"
)

// Sheet names of report.xlsx.
const (
	SummarySheet = "Summary"
	RowsSheet    = "Rows"
)

// ClassColors are the fill colours of each class in the Rows sheet (RGB hex):
// greens for done, oranges and reds for what needs a person, grey for skipped.
var ClassColors = map[reconcile.Class]string{
	reconcile.ClassOK:         "C6EFCE",
	reconcile.ClassOverridden: "DDEBF7",
	reconcile.ClassInvalid:    "FCE4D6",
	reconcile.ClassRejected:   "FFC7CE",
	reconcile.ClassConflict:   "FFEB9C",
	reconcile.ClassFailed:     "F4B084",
	reconcile.ClassSkipped:    "EDEDED",
}

// xlsxReport is report.xlsx. The Rows sheet is streamed as outcomes arrive
// (excelize keeps at most 16 MiB of it in memory and spills the rest to a
// temporary file); the Summary sheet, created first so it is the first tab, is
// written with ordinary cell writes once the counts are known, at Close.
type xlsxReport struct {
	f      *excelize.File
	sw     *excelize.StreamWriter
	path   string
	width  int
	rows   int // data rows written
	capped int // data rows left out: a sheet holds at most 1,048,576 rows
	style  map[reconcile.Class]int
	row    []any
	header int // header cell style
}

func createXLSXReport(path string, names []string, numeric map[int]bool) (*xlsxReport, error) {
	f := excelize.NewFile()
	x := &xlsxReport{f: f, path: path, width: len(names), style: map[reconcile.Class]int{}, row: make([]any, len(names))}
	fail := func(err error) (*xlsxReport, error) {
		f.Close()
		return nil, fmt.Errorf("report.xlsx: %w", err)
	}
	if err := f.SetSheetName("Sheet1", SummarySheet); err != nil {
		return fail(err)
	}
	if _, err := f.NewSheet(RowsSheet); err != nil {
		return fail(err)
	}
	var err error
	if x.header, err = f.NewStyle(&excelize.Style{
		Font:   &excelize.Font{Bold: true},
		Fill:   excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"D9D9D9"}},
		Border: []excelize.Border{{Type: "bottom", Color: "808080", Style: 1}},
	}); err != nil {
		return fail(err)
	}
	for _, c := range reconcile.Classes {
		id, err := f.NewStyle(&excelize.Style{
			Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{ClassColors[c]}},
		})
		if err != nil {
			return fail(err)
		}
		x.style[c] = id
	}
	sw, err := f.NewStreamWriter(RowsSheet)
	if err != nil {
		return fail(err)
	}
	x.sw = sw
	// Column widths and the frozen header must precede the first row.
	for i, n := range names {
		w := 16.0
		switch {
		case n == "message":
			w = 60
		case numeric[i]:
			w = 11
		}
		if err := sw.SetColWidth(i+1, i+1, w); err != nil {
			return fail(err)
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}}}); err != nil {
		return fail(err)
	}
	for i, n := range names {
		x.row[i] = Neutralise(n)
	}
	if err := sw.SetRow("A1", x.row, excelize.RowOpts{StyleID: x.header}); err != nil {
		return fail(err)
	}
	return x, nil
}

// write streams one row. cells are the report columns as strings; numeric
// columns hold ints instead so they sort as numbers.
func (x *xlsxReport) write(class reconcile.Class, cells []any) error {
	if x.rows+1 >= excelize.TotalRows {
		x.capped++
		return nil
	}
	x.rows++
	cell, err := excelize.CoordinatesToCellName(1, x.rows+1)
	if err != nil {
		return err
	}
	return x.sw.SetRow(cell, cells, excelize.RowOpts{StyleID: x.style[class]})
}

// close writes the Summary sheet and the chart, then saves the workbook.
func (x *xlsxReport) close(s *Summary, settings []Setting) error {
	defer x.f.Close()
	last, _ := excelize.CoordinatesToCellName(x.width, x.rows+1)
	// The filter is set on the streamed sheet before Flush, which writes the
	// sheet's autoFilter element after its data.
	if err := x.f.AutoFilter(RowsSheet, "A1:"+last, nil); err != nil {
		return fmt.Errorf("report.xlsx: %w", err)
	}
	if err := x.sw.Flush(); err != nil {
		return fmt.Errorf("report.xlsx: %w", err)
	}
	if err := x.summarySheet(s, settings); err != nil {
		return fmt.Errorf("report.xlsx: %w", err)
	}
	x.f.SetActiveSheet(0)
	if err := saveXLSX(x.f, x.path); err != nil {
		return fmt.Errorf("report.xlsx: %w", err)
	}
	return nil
}

func (x *xlsxReport) summarySheet(s *Summary, settings []Setting) error {
	f, sh := x.f, SummarySheet
	title, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 14}})
	if err != nil {
		return err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	wrap, err := f.NewStyle(&excelize.Style{Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}})
	if err != nil {
		return err
	}
	r := 1
	set := func(col string, v any) error {
		if str, ok := v.(string); ok {
			v = Neutralise(str)
		}
		return f.SetCellValue(sh, fmt.Sprintf("%s%d", col, r), v)
	}
	style := func(from, to string, id int) error {
		return f.SetCellStyle(sh, fmt.Sprintf("%s%d", from, r), fmt.Sprintf("%s%d", to, r), id)
	}
	var errs []error
	must := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	must(set("A", "Reconcile report"))
	must(style("A", "A", title))
	r += 2

	facts := [][2]string{
		{"Command", s.Command},
		{"Started", s.Started.Format(time.RFC3339)},
		{"Finished", s.Finished.Format(time.RFC3339)},
		{"Duration", formatDuration(time.Duration(s.DurationMS) * time.Millisecond)},
		{"Exit code", fmt.Sprint(s.ExitCode)},
	}
	if s.BaseURL != "" {
		facts = append(facts, [2]string{"Base URL", s.BaseURL})
	}
	for i, file := range s.Files {
		label := ""
		if i == 0 {
			label = "Files"
		}
		desc := file.Name
		if file.Sheet != "" {
			desc += fmt.Sprintf(" (sheet %s)", file.Sheet)
		}
		desc += fmt.Sprintf(": %d rows", file.Rows)
		facts = append(facts, [2]string{label, desc})
	}
	for i, st := range settings {
		label := ""
		if i == 0 {
			label = "Settings"
		}
		facts = append(facts, [2]string{label, st.Name + " = " + st.Value})
	}
	if x.capped > 0 {
		facts = append(facts, [2]string{"Note", fmt.Sprintf("the Rows sheet holds the first %d rows; %d more are in report.csv", x.rows, x.capped)})
	}
	for _, fct := range facts {
		must(set("A", fct[0]))
		must(style("A", "A", bold))
		must(set("B", fct[1]))
		r++
	}
	r++

	must(set("A", "Outcome"))
	must(set("B", "Rows"))
	must(style("A", "B", x.header))
	r++
	first := r
	for _, c := range reconcile.Classes {
		must(set("A", string(c)))
		must(set("B", s.Counts[c]))
		must(style("A", "B", x.style[c]))
		r++
	}
	lastCount := r - 1
	must(set("A", "total"))
	must(style("A", "A", bold))
	must(set("B", s.Total))
	r += 2
	// Keep the table clear of the chart, which spans rows 3 to 18 beside the counts.
	r = max(r, 20)

	must(set("A", "Most frequent problems"))
	must(style("A", "A", bold))
	r++
	if len(s.TopMessages) == 0 {
		must(set("A", "none: no row needs a person"))
		r++
	} else {
		must(set("A", "Rows"))
		must(set("B", "Outcome"))
		must(set("C", "HTTP status"))
		must(set("D", "Message"))
		must(style("A", "D", x.header))
		r++
		for _, m := range s.TopMessages {
			must(set("A", m.Count))
			must(set("B", string(m.Class)))
			if m.HTTPStatus != 0 {
				must(set("C", m.HTTPStatus))
			}
			must(set("D", m.Message))
			must(style("D", "D", wrap))
			r++
		}
	}
	must(f.SetColWidth(sh, "A", "A", 22))
	must(f.SetColWidth(sh, "B", "B", 48))
	must(f.SetColWidth(sh, "C", "C", 12))
	must(f.SetColWidth(sh, "D", "D", 70))
	if len(errs) > 0 {
		return errs[0]
	}

	ref := func(col string, a, b int) string {
		return fmt.Sprintf("'%s'!$%s$%d:$%s$%d", sh, col, a, col, b)
	}
	return f.AddChart(sh, "D3", &excelize.Chart{
		Type: excelize.Bar,
		Series: []excelize.ChartSeries{{
			Name:       fmt.Sprintf("'%s'!$B$%d", sh, first-1),
			Categories: ref("A", first, lastCount),
			Values:     ref("B", first, lastCount),
			Fill:       excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"4472C4"}},
		}},
		Title:      excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: "Rows per outcome"}}},
		Legend:     excelize.ChartLegend{Position: "none"},
		PlotArea:   excelize.ChartPlotArea{ShowVal: true},
		YAxis:      excelize.ChartAxis{ReverseOrder: true},
		Dimension:  excelize.ChartDimension{Width: 480, Height: 290},
		Format:     excelize.GraphicOptions{OffsetX: 10, AltText: "Rows per outcome: " + countsText(s)},
		VaryColors: &[]bool{false}[0],
	})
}

func countsText(s *Summary) string {
	var b strings.Builder
	for i, c := range reconcile.Classes {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", c, s.Counts[c])
	}
	return b.String()
}
