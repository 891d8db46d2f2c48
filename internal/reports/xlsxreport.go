package reports

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/reten/reconcile/internal/outcome"
	"github.com/xuri/excelize/v2"
)

// Sheet names of report.xlsx.
const (
	SummarySheet = "Summary"
	RowsSheet    = "Rows"
)

// rowsSheetPart is where the Rows sheet lives inside report.xlsx: the second
// sheet of a new workbook (saveXLSX fails if excelize names it otherwise).
const rowsSheetPart = "xl/worksheets/sheet2.xml"

// classColors are the fill colours of each class in the Rows sheet (RGB hex):
// greens for done, oranges and reds for what needs a person, grey for skipped.
var classColors = map[outcome.Class]string{
	outcome.ClassOK:         "C6EFCE",
	outcome.ClassValid:      "C6EFCE",
	outcome.ClassOverridden: "DDEBF7",
	outcome.ClassInvalid:    "FCE4D6",
	outcome.ClassRejected:   "FFC7CE",
	outcome.ClassConflict:   "FFEB9C",
	outcome.ClassFailed:     "F4B084",
	outcome.ClassSkipped:    "EDEDED",
}

// maxSheetRows is the most rows a sheet holds, header included; a variable
// so tests can reach it without writing a million rows.
var maxSheetRows = excelize.TotalRows

// xlsxReport is report.xlsx. The Rows sheet is written as outcomes arrive,
// by rowsSheet, to a temporary file, so memory stays flat; excelize makes the
// rest of the workbook (styles, the Summary sheet and its chart), and the
// Summary, created first so it is the first tab, is written with ordinary
// cell writes once the counts are known, at Close.
type xlsxReport struct {
	f      *excelize.File
	rs     *rowsSheet
	path   string
	width  int
	rows   int // data rows written
	capped int // data rows left out: a sheet holds at most 1,048,576 rows
	style  map[outcome.Class]int
	header int // header cell style
}

// createXLSXReport starts report.xlsx; widths are the Rows sheet's column
// widths, spillDir where the sheet's rows wait for Close.
func createXLSXReport(path, spillDir string, names []string, widths []float64) (*xlsxReport, error) {
	f := excelize.NewFile()
	x := &xlsxReport{f: f, path: path, width: len(names), style: map[outcome.Class]int{}}
	fail := func(err error) (*xlsxReport, error) {
		f.Close()
		if x.rs != nil {
			x.rs.discard()
		}
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
	for _, c := range outcome.AllClasses {
		id, err := f.NewStyle(&excelize.Style{
			Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{classColors[c]}},
		})
		if err != nil {
			return fail(err)
		}
		x.style[c] = id
	}
	// Printing a report should give readable pages: landscape, as wide as
	// the paper (printSetup's rule, written by rowsSheet).
	total := 0.0
	for _, w := range widths {
		total += w
	}
	if x.rs, err = newRowsSheet(spillDir, len(names), widths, fitsOnePage(total)); err != nil {
		return fail(err)
	}
	head := make([]string, len(names))
	for i, n := range names {
		head[i] = Neutralise(n)
	}
	if err := x.rs.row(x.header, head, nil); err != nil {
		return fail(err)
	}
	return x, nil
}

// write adds one row. cells are the report columns as strings, neutralised;
// numeric marks those written as numbers so they sort as numbers.
func (x *xlsxReport) write(class outcome.Class, cells []string, numeric []bool) error {
	if x.rows+1 >= maxSheetRows {
		x.capped++
		return nil
	}
	x.rows++
	return x.rs.row(x.style[class], cells, numeric)
}

// close writes the Summary sheet and the chart, then saves the workbook with
// the Rows sheet put in.
func (x *xlsxReport) close(s *Summary, settings []Setting) error {
	defer x.f.Close()
	defer x.rs.discard()
	last, _ := excelize.CoordinatesToCellName(x.width, x.rows+1)
	// The workbook's hidden name for the filter; the sheet's own autoFilter
	// element is written by rowsSheet.
	if err := x.f.AutoFilter(RowsSheet, "A1:"+last, nil); err != nil {
		return fmt.Errorf("report.xlsx: %w", err)
	}
	if err := x.summarySheet(s, settings); err != nil {
		return fmt.Errorf("report.xlsx: %w", err)
	}
	if err := saveXLSX(x.f, x.path, map[string]func(io.Writer) error{rowsSheetPart: x.rs.writeTo}); err != nil {
		return fmt.Errorf("report.xlsx: %w", err)
	}
	return nil
}

// abandon releases a report.xlsx that failed, saving nothing.
func (x *xlsxReport) abandon() {
	x.f.Close()
	x.rs.discard()
}

// fitsOnePage says whether a sheet whose columns are width characters wide
// is shrunk to one page wide when printed: up to about two and a half
// landscape pages of text; wider sheets would shrink past reading and print
// across pages.
func fitsOnePage(width float64) bool { return width <= 320 }

// printSetup prints sheet landscape and, when its columns are no wider than
// about two and a half landscape pages of text (width in characters), shrinks it to
// one page wide; wider sheets would shrink past reading and print across pages.
func printSetup(f *excelize.File, sheet string, width float64) error {
	landscape := "landscape"
	opts := &excelize.PageLayoutOptions{Orientation: &landscape}
	if fitsOnePage(width) {
		fit, one, auto := true, 1, 0
		if err := f.SetSheetProps(sheet, &excelize.SheetPropsOptions{FitToPage: &fit}); err != nil {
			return err
		}
		opts.FitToWidth, opts.FitToHeight = &one, &auto
	}
	return f.SetPageLayout(sheet, opts)
}

// summarySheet lays out the run facts at the top, the counts per class with
// the chart beside them, and the most frequent problems below.
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
	top, err := f.NewStyle(&excelize.Style{Alignment: &excelize.Alignment{Vertical: "top"}})
	if err != nil {
		return err
	}
	r := 1
	var errs []error
	must := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	set := func(col string, v any) {
		if str, ok := v.(string); ok {
			v = Neutralise(str)
		}
		must(f.SetCellValue(sh, fmt.Sprintf("%s%d", col, r), v))
	}
	style := func(from, to string, id int) {
		must(f.SetCellStyle(sh, fmt.Sprintf("%s%d", from, r), fmt.Sprintf("%s%d", to, r), id))
	}
	set("A", "Reconcile report")
	style("A", "A", title)
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
		facts = append(facts, [2]string{"Note", fmt.Sprintf("the Rows sheet holds the first %d rows; all %d are in report.csv", x.rows, x.rows+x.capped)})
	}
	for _, fct := range facts {
		set("A", fct[0])
		style("A", "A", bold)
		set("B", fct[1]) // overflows into the empty cells to its right
		r++
	}
	r++

	// Counts, with the chart to their right.
	chartAt := r
	set("A", "Outcome")
	set("B", "Rows")
	style("A", "B", x.header)
	r++
	first := r
	for _, c := range s.classes() {
		set("A", string(c))
		set("B", s.Counts[c])
		style("A", "B", x.style[c])
		r++
	}
	lastCount := r - 1
	set("A", "total")
	style("A", "B", bold)
	set("B", s.Total)
	// The chart is about 15 rows high; the problems go below it.
	r = max(r+2, chartAt+17)

	set("A", "Most frequent problems (rows that need a person)")
	style("A", "A", bold)
	r++
	if len(s.TopMessages) == 0 {
		set("A", "none")
		r++
	} else {
		set("A", "Outcome")
		set("B", "Rows")
		set("C", "HTTP status")
		set("D", "Message")
		style("A", "D", x.header)
		r++
		for _, m := range s.TopMessages {
			set("A", string(m.Class))
			set("B", m.Count)
			if m.HTTPStatus != 0 {
				set("C", m.HTTPStatus)
			}
			set("D", m.Shown())
			style("A", "C", top)
			style("D", "D", wrap)
			// Programs do not all grow a row to fit wrapped text on opening
			// (LibreOffice keeps the default height), so size it here.
			if lines := wrappedLines(m.Shown(), messageWidth); lines > 1 {
				must(f.SetRowHeight(sh, r, float64(15*lines)))
			}
			r++
		}
		if s.OtherMessages > 0 {
			set("A", "other")
			set("B", s.OtherMessages)
			set("D", fmt.Sprintf("rows whose message came after %d different ones had been counted", MaxDistinctMessages))
			r++
		}
	}
	must(f.SetColWidth(sh, "A", "A", 16))
	must(f.SetColWidth(sh, "B", "B", 10))
	must(f.SetColWidth(sh, "C", "C", 12))
	must(f.SetColWidth(sh, "D", "D", messageWidth))
	must(printSetup(f, sh, 16+10+12+messageWidth))
	if len(errs) > 0 {
		return errs[0]
	}

	ref := func(col string, a, b int) string {
		return fmt.Sprintf("'%s'!$%s$%d:$%s$%d", sh, col, a, col, b)
	}
	dark := excelize.Font{Color: "404040"}
	return f.AddChart(sh, fmt.Sprintf("C%d", chartAt), &excelize.Chart{
		Type: excelize.Bar,
		Series: []excelize.ChartSeries{{
			Name:       fmt.Sprintf("'%s'!$B$%d", sh, first-1),
			Categories: ref("A", first, lastCount),
			Values:     ref("B", first, lastCount),
			Fill:       excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"4472C4"}},
		}},
		Title:  excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: "Rows per outcome"}}},
		Legend: excelize.ChartLegend{Position: "none"},
		// ShowVal puts each count at the end of its bar.
		PlotArea: excelize.ChartPlotArea{ShowVal: true},
		// Categories run top to bottom in report order (ok first).
		XAxis:      excelize.ChartAxis{ReverseOrder: true, Font: dark},
		YAxis:      excelize.ChartAxis{MajorGridLines: true, Font: dark},
		Dimension:  excelize.ChartDimension{Width: 520, Height: 300},
		Format:     excelize.GraphicOptions{OffsetX: 10, AltText: "Rows per outcome: " + countsText(s)},
		VaryColors: new(bool),
	})
}

// messageWidth is the width of the Summary's message column, in characters.
const messageWidth = 90

// wrappedLines estimates how many lines text takes in a wrapped column of
// width characters, breaking at spaces as spreadsheet programs do. A little
// too many is better than text cut off, so words count one character wider.
func wrappedLines(text string, width int) int {
	lines, n := 1, 0
	for _, w := range strings.Fields(text) {
		l := utf8.RuneCountInString(w) + 1
		if n > 0 && n+l > width {
			lines++
			n = 0
		}
		n += l
	}
	return min(lines, 15)
}

func countsText(s *Summary) string {
	var b strings.Builder
	for i, c := range s.classes() {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", c, s.Counts[c])
	}
	return b.String()
}
