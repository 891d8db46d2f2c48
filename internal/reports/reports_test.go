package reports

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"html"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/outcome"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"
)

var t0 = time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC)

// clock returns a clock that reads t0 + d.
func clock(d time.Duration) func() time.Time { return func() time.Time { return t0.Add(d) } }

func csvLayout(file string, cols ...string) *importer.Layout {
	return &importer.Layout{File: file, Kind: "csv", Delimiter: ';', Encoding: "utf-8", Columns: cols}
}

func xlsxLayout(file, sheet string, cols ...string) *importer.Layout {
	return &importer.Layout{File: file, Kind: "xlsx", Sheet: sheet, Columns: cols}
}

func row(l *importer.Layout, n int, cells ...string) importer.Row {
	sheet := ""
	if l.Kind == "xlsx" {
		sheet = l.Sheet
	}
	return importer.Row{Pos: importer.Position{File: l.File, Sheet: sheet, Row: n}, Layout: l, Cells: cells}
}

// oneOfEach returns one outcome per class, each with its own status and message.
func oneOfEach(l *importer.Layout) []outcome.Outcome {
	spec := []struct {
		class   outcome.Class
		status  int
		errText string
		msg     string
		id      string
		code    outcome.Code
	}{
		{outcome.ClassOK, 201, "", "", "res-1", ""},
		{outcome.ClassOverridden, 201, "", "overwrote an earlier result", "res-2", ""},
		{outcome.ClassInvalid, 0, "", "Fecha: 31/02/2026 is not a date", "", outcome.CodeBadDate},
		{outcome.ClassRejected, 404, "Not Found", "activity A-9 does not exist", "", "api_404"},
		{outcome.ClassConflict, 409, "Conflict", "Activity already has a result", "", outcome.CodeConflict},
		{outcome.ClassFailed, 503, "Service Unavailable", "still failing after 4 attempts", "", "api_503"},
		{outcome.ClassSkipped, 0, "", "already accepted in an earlier run", "", outcome.CodeAlreadySent},
	}
	var out []outcome.Outcome
	for i, s := range spec {
		out = append(out, outcome.Outcome{
			Row:        row(l, i+2, "A-"+string(rune('1'+i)), "VISITA", "nota "+string(s.class)),
			Class:      s.class,
			Code:       s.code,
			HTTPStatus: s.status,
			Error:      s.errText,
			Message:    s.msg,
			Attempts:   i,
			Duration:   time.Duration(i*10+5) * time.Millisecond,
			ResultID:   s.id,
		})
	}
	return out
}

func run(t testing.TB, dir string, info RunInfo, opts Options, outs []outcome.Outcome, exit int) *Summary {
	t.Helper()
	if opts.Now == nil {
		opts.Now = clock(90 * time.Second)
	}
	if info.Started.IsZero() {
		info.Started = t0
	}
	w, err := Create(dir, info, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range outs {
		if err := w.Write(o); err != nil {
			t.Fatal(err)
		}
	}
	s, err := w.Close(exit)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func readCSV(t testing.TB, path string, comma rune) [][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte(utf8BOM))))
	r.Comma = comma
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func openXLSX(t testing.TB, path string) *excelize.File {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func col(header []string, name string) int {
	i := slices.Index(header, name)
	if i < 0 {
		panic("no column " + name)
	}
	return i
}

func TestEveryClassInEveryReport(t *testing.T) {
	dir := t.TempDir()
	l := csvLayout("ventas.csv", "Actividad", "Código", "Notas")
	outs := oneOfEach(l)
	s := run(t, dir, RunInfo{Command: "run", Layouts: []*importer.Layout{l}}, Options{XLSX: true, Rejects: true}, outs, 1)

	wantHeader := []string{"row", "outcome", "http_status", "code", "message", "Actividad", "Código", "Notas", "error", "attempts", "duration_ms", "result_id"}
	check := func(name string, recs [][]string) {
		t.Helper()
		if !slices.Equal(recs[0], wantHeader) {
			t.Fatalf("%s header = %q, want %q", name, recs[0], wantHeader)
		}
		if len(recs) != len(outs)+1 {
			t.Fatalf("%s has %d rows, want %d", name, len(recs)-1, len(outs))
		}
		for i, o := range outs {
			got := recs[i+1]
			status := ""
			if o.HTTPStatus != 0 {
				status = itoa(o.HTTPStatus)
			}
			want := append([]string{itoa(o.Row.Pos.Row), string(o.Class), status, string(o.Code), o.Message}, o.Row.Cells...)
			want = append(want, o.Error, itoa(o.Attempts), itoa(int(o.Duration.Milliseconds())), o.ResultID)
			// excelize's GetRows drops trailing empty cells.
			for len(got) < len(want) {
				got = append(got, "")
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s row %d = %q, want %q", name, i+1, got, want)
			}
		}
	}

	raw, _ := os.ReadFile(filepath.Join(dir, CSVName))
	if !bytes.HasPrefix(raw, []byte(utf8BOM)) {
		t.Error("report.csv has no UTF-8 BOM")
	}
	if !bytes.Contains(raw, []byte("\r\n")) {
		t.Error("report.csv lines do not end in CRLF")
	}
	check(CSVName, readCSV(t, filepath.Join(dir, CSVName), ','))

	f := openXLSX(t, filepath.Join(dir, XLSXName))
	rows, err := f.GetRows(RowsSheet)
	if err != nil {
		t.Fatal(err)
	}
	check(XLSXName, rows)

	// Rejects: only the four classes that need a person, in the input's columns and delimiter.
	rej := readCSV(t, filepath.Join(dir, "rejects.csv"), ';')
	if want := []string{"Actividad", "Código", "Notas", RejectsRowColumn, RejectsOutcomeColumn, RejectsErrorColumn}; !slices.Equal(rej[0], want) {
		t.Fatalf("rejects header = %q, want %q", rej[0], want)
	}
	var got [][]string
	for _, r := range rej[1:] {
		got = append(got, r[3:])
	}
	want := [][]string{
		{"4", "invalid", "Fecha: 31/02/2026 is not a date"},
		{"5", "rejected", "404 Not Found: activity A-9 does not exist"},
		{"6", "conflict", "409 Conflict: Activity already has a result"},
		{"7", "failed", "503 Service Unavailable: still failing after 4 attempts"},
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("rejects' own columns = %q, want %q", got, want)
	}

	for _, c := range outcome.Classes {
		if s.Counts[c] != 1 {
			t.Errorf("count of %s = %d, want 1", c, s.Counts[c])
		}
	}
	if s.Total != 7 || s.NeedsPerson != 4 || s.ExitCode != 1 {
		t.Errorf("total %d, needs person %d, exit %d; want 7, 4, 1", s.Total, s.NeedsPerson, s.ExitCode)
	}
	if !slices.Equal(s.Reports.Rejects, []string{"rejects.csv"}) || s.Reports.XLSX != XLSXName {
		t.Errorf("reports = %+v", s.Reports)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// rejectsHeader is the header cells rejects files add, joined by ";".
var rejectsHeader = RejectsRowColumn + ";" + RejectsOutcomeColumn + ";" + RejectsErrorColumn

func TestUnionOfColumnsAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	a := csvLayout("in/norte.csv", "Actividad", "Resultado", "Notas")
	b := xlsxLayout("in/sur.xlsx", "Hoja1", "Resultado", "Fecha", "Notas", "Notas")
	outs := []outcome.Outcome{
		{Row: row(a, 2, "A-1", "VISITA", "n1"), Class: outcome.ClassOK},
		{Row: row(b, 2, "LLAMADA", "01/02/2026", "n2", "n3"), Class: outcome.ClassInvalid, Code: outcome.CodeMissingField, Message: "Actividad: missing"},
		{Row: row(a, 3, "A-3", "X", ""), Class: outcome.ClassRejected, HTTPStatus: 400, Code: "api_400"},
	}
	s := run(t, dir, RunInfo{Command: "run", Layouts: []*importer.Layout{a, b}}, Options{XLSX: true, Rejects: true}, outs, 1)
	recs := readCSV(t, filepath.Join(dir, CSVName), ',')
	wantHeader := []string{"row", "outcome", "http_status", "code", "message", "file", "sheet", "Actividad", "Resultado", "Notas", "Fecha", "Notas", "error", "attempts", "duration_ms", "result_id"}
	if !slices.Equal(recs[0], wantHeader) {
		t.Fatalf("header = %q\nwant     %q", recs[0], wantHeader)
	}
	// In input order: the files as listed, then their rows, whatever
	// order the outcomes came in.
	want := [][]string{
		{"2", "ok", "", "", "", "in/norte.csv", "", "A-1", "VISITA", "n1", "", ""},
		{"3", "rejected", "400", "api_400", "", "in/norte.csv", "", "A-3", "X", "", "", ""},
		{"2", "invalid", "", "missing_field", "Actividad: missing", "in/sur.xlsx", "Hoja1", "", "LLAMADA", "n2", "01/02/2026", "n3"},
	}
	for i, w := range want {
		if got := recs[i+1][:len(w)]; !slices.Equal(got, w) {
			t.Errorf("row %d = %q, want %q", i+1, got, w)
		}
	}
	if wantRej := []string{"rejects-norte.csv", "rejects-sur.xlsx"}; !slices.Equal(s.Reports.Rejects, wantRej) {
		t.Errorf("rejects = %q, want %q", s.Reports.Rejects, wantRej)
	}
	if s.Files[0].Rows != 2 || s.Files[1].Rows != 1 {
		t.Errorf("rows per file = %+v", s.Files)
	}
	// The workbook rejects keep the sheet name and header, with every Notes column.
	f := openXLSX(t, filepath.Join(dir, "rejects-sur.xlsx"))
	if got := f.GetSheetList(); !slices.Equal(got, []string{"Hoja1"}) {
		t.Errorf("rejects-sur.xlsx sheets = %q", got)
	}
	if p, _ := f.GetPanes("Hoja1"); !p.Freeze || p.YSplit != 1 {
		t.Errorf("rejects-sur.xlsx header not frozen: %+v", p)
	}
	rows, _ := f.GetRows("Hoja1")
	if len(rows) != 2 || !slices.Equal(rows[0], []string{"Resultado", "Fecha", "Notas", "Notas", RejectsRowColumn, RejectsOutcomeColumn, RejectsErrorColumn}) ||
		!slices.Equal(rows[1], []string{"LLAMADA", "01/02/2026", "n2", "n3", "2", "invalid", "Actividad: missing"}) {
		t.Errorf("rejects-sur.xlsx = %q", rows)
	}
}

func TestSingleFileHasNoFileColumn(t *testing.T) {
	dir := t.TempDir()
	l := xlsxLayout("a.xlsx", "Datos", "Actividad")
	run(t, dir, RunInfo{Layouts: []*importer.Layout{l}}, Options{}, []outcome.Outcome{{Row: row(l, 5, "A-1"), Class: outcome.ClassOK}}, 0)
	recs := readCSV(t, filepath.Join(dir, CSVName), ',')
	if recs[0][numLeadColumns] != "Actividad" || recs[1][numLeadColumns] != "A-1" || recs[1][0] != "5" {
		t.Errorf("report = %q", recs)
	}
	for _, name := range []string{XLSXName, "rejects.xlsx"} {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Errorf("%s written although not asked for", name)
		}
	}
}

func TestNeutralise(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"hello", "hello"},
		{"=1+1", "'=1+1"},
		{`=HYPERLINK("http://x","y")`, `'=HYPERLINK("http://x","y")`},
		{"+34 600 000 000", "'+34 600 000 000"},
		{"-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"-", "'-"},
		{"-5", "-5"},
		{"+5", "+5"},
		{"-1.5", "-1.5"},
		{"-1,5", "-1,5"},
		{"-1,5.2", "'-1,5.2"},
		{"-1e5", "'-1e5"},
		{"a=b", "a=b"},
		{"'=already", "'=already"},
		{" =1", " =1"},
	}
	for _, tt := range tests {
		if got := Neutralise(tt.in); got != tt.want {
			t.Errorf("Neutralise(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFormulasNeutralisedInReports(t *testing.T) {
	dir := t.TempDir()
	l := csvLayout("x.csv", "=Head", "Notas")
	evil := []string{"=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1", "-5", "=cmd|' /C calc'!A0"}
	var outs []outcome.Outcome
	for i, e := range evil {
		outs = append(outs, outcome.Outcome{Row: row(l, i+2, "A", e), Class: outcome.ClassRejected, HTTPStatus: 400, Error: "=ERR", Message: e})
	}
	run(t, dir, RunInfo{Layouts: []*importer.Layout{l}}, Options{XLSX: true, Rejects: true}, outs, 1)

	recs := readCSV(t, filepath.Join(dir, CSVName), ',')
	f := openXLSX(t, filepath.Join(dir, XLSXName))
	xrows, err := f.GetRows(RowsSheet, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][][]string{"report.csv": recs, "report.xlsx": xrows} {
		h := got[0]
		if h[numLeadColumns] != "'=Head" {
			t.Errorf("%s header cell = %q", name, h[numLeadColumns])
		}
		for i, e := range evil {
			r := got[i+1]
			want := Neutralise(e)
			if notes := r[col(h, "Notas")]; notes != want || r[col(h, "message")] != want || r[col(h, "error")] != "'=ERR" {
				t.Errorf("%s row %d: notes %q, message %q, error %q; want %q", name, i+2, notes, r[col(h, "message")], r[col(h, "error")], want)
			}
		}
	}
	// No cell of the workbook is a formula.
	for r := 1; r <= len(evil)+1; r++ {
		for c := 1; c <= len(xrows[0]); c++ {
			cell, _ := excelize.CoordinatesToCellName(c, r)
			if fm, _ := f.GetCellFormula(RowsSheet, cell); fm != "" {
				t.Errorf("%s is the formula %q", cell, fm)
			}
		}
	}
	// Rejects give the user's cells back unchanged; only the reason is neutralised.
	rej := readCSV(t, filepath.Join(dir, "rejects.csv"), ';')
	for i, e := range evil {
		if rej[i+1][1] != e {
			t.Errorf("rejects row %d cell = %q, want %q unchanged", i+2, rej[i+1][1], e)
		}
	}
	if rej[0][0] != "=Head" {
		t.Errorf("rejects header = %q, want the user's own", rej[0][0])
	}
}

func TestWindows1252RejectsRoundTrip(t *testing.T) {
	// A file as Excel on Windows saves "CSV (separado por punto y coma)".
	lines := []string{
		"Actividad;Código;Descripción;Importe",
		"A-001;VISITA;Señor Núñez;-5",
		"A-002;LLAMADA;\"dijo \"\"sí\"\"; volver\";12,50",
		"A-003;VISITA;Crème brûlée €;7",
		"A-004;PEDIDO;Ærøskøbing ‰;1",
	}
	enc := func(s string) []byte {
		b, err := charmap.Windows1252.NewEncoder().Bytes([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	l := &importer.Layout{File: "pedidos.csv", Kind: "csv", Delimiter: ';', Encoding: "windows-1252",
		Columns: []string{"Actividad", "Código", "Descripción", "Importe"}}
	cells := [][]string{
		{"A-001", "VISITA", "Señor Núñez", "-5"},
		{"A-002", "LLAMADA", `dijo "sí"; volver`, "12,50"},
		{"A-003", "VISITA", "Crème brûlée €", "7"},
		{"A-004", "PEDIDO", "Ærøskøbing ‰", "1"},
	}
	classes := []outcome.Class{outcome.ClassInvalid, outcome.ClassOK, outcome.ClassFailed, outcome.ClassRejected}
	msgs := []string{"Código: no existe", "", "tiempo agotado → reintentar", "日本 not found"}
	var outs []outcome.Outcome
	for i := range cells {
		outs = append(outs, outcome.Outcome{Row: row(l, i+2, cells[i]...), Class: classes[i], Message: msgs[i]})
	}
	dir := t.TempDir()
	run(t, dir, RunInfo{Layouts: []*importer.Layout{l}}, Options{Rejects: true}, outs, 1)
	got, err := os.ReadFile(filepath.Join(dir, "rejects.csv"))
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Concat(
		enc(lines[0]+";"+rejectsHeader+"\r\n"),
		enc(lines[1]+";2;invalid;Código: no existe\r\n"),
		enc(lines[3]+";4;failed;tiempo agotado ? reintentar\r\n"),
		enc(lines[4]+";5;rejected;?? not found\r\n"),
	)
	if !bytes.Equal(got, want) {
		t.Errorf("rejects.csv =\n%q\nwant\n%q", got, want)
	}
}

func TestXLSXStructure(t *testing.T) {
	dir := t.TempDir()
	l := csvLayout("ventas.csv", "Actividad", "Código", "Notas")
	outs := oneOfEach(l)
	run(t, dir, RunInfo{Command: "run", Layouts: []*importer.Layout{l}, BaseURL: "https://api.example.com",
		Settings: []Setting{{"concurrency", "8"}, {"on-conflict", "skip"}}}, Options{XLSX: true}, outs, 1)
	path := filepath.Join(dir, XLSXName)
	f := openXLSX(t, path)

	if got := f.GetSheetList(); !slices.Equal(got, []string{SummarySheet, RowsSheet}) {
		t.Errorf("sheets = %q, want Summary first", got)
	}
	if f.GetActiveSheetIndex() != 0 {
		t.Errorf("active sheet = %d, want the Summary", f.GetActiveSheetIndex())
	}
	panes, err := f.GetPanes(RowsSheet)
	if err != nil {
		t.Fatal(err)
	}
	if !panes.Freeze || panes.YSplit != 1 || panes.TopLeftCell != "A2" {
		t.Errorf("Rows panes = %+v, want the header row frozen", panes)
	}
	// Each data row carries its class's fill.
	for i, o := range outs {
		for _, c := range []string{"A", "E", "L"} {
			cell := c + itoa(i+2)
			checkFill(t, f, cell, o.Class)
		}
	}
	// Numbers are numbers, so they sort as such.
	if typ, _ := f.GetCellType(RowsSheet, "K3"); typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset {
		t.Errorf("duration_ms cell type = %v, want a number", typ)
	}

	parts := zipParts(t, path)
	sheet2 := parts["xl/worksheets/sheet2.xml"]
	if !strings.Contains(strings.ReplaceAll(sheet2, "$", ""), `<autoFilter ref="A1:L8"`) {
		t.Errorf("Rows sheet has no autofilter over A1:L8:\n%.600s", sheet2[strings.Index(sheet2, "</sheetData>"):])
	}
	if !strings.Contains(parts["xl/workbook.xml"], "_xlnm._FilterDatabase") {
		t.Error("workbook defines no filter database for the Rows sheet")
	}
	chart, ok := parts["xl/charts/chart1.xml"]
	chart = html.UnescapeString(chart)
	if !ok || !strings.Contains(chart, "<barChart>") || !strings.Contains(chart, "'Summary'!$A$14:$A$20") || !strings.Contains(chart, "'Summary'!$B$14:$B$20") {
		t.Errorf("no bar chart of the Summary's counts: %s", chart)
	}
	if !strings.Contains(parts["xl/worksheets/_rels/sheet1.xml.rels"], "drawing") {
		t.Error("the chart is not on the Summary sheet")
	}

	// The Summary sheet shows the run facts, counts and top messages.
	cells, _ := f.GetRows(SummarySheet)
	text := ""
	for _, r := range cells {
		text += strings.Join(r, "|") + "\n"
	}
	for _, want := range []string{"Command|run", "Base URL|https://api.example.com", "Files|ventas.csv: 7 rows",
		"|concurrency = 8", "|on-conflict = skip", "ok|1", "skipped|1", "total|7", "rejected|1|404|activity A-9 does not exist"} {
		if !strings.Contains(text, want) {
			t.Errorf("Summary lacks %q:\n%s", want, text)
		}
	}
}

func zipParts(t testing.TB, path string) map[string]string {
	t.Helper()
	z, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	parts := map[string]string{}
	for _, f := range z.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		parts[f.Name] = string(b)
	}
	return parts
}

func TestSummaryJSON(t *testing.T) {
	dir := t.TempDir()
	l := csvLayout("ventas.csv", "Actividad", "Código", "Notas")
	outs := oneOfEach(l)[:3] // ok, overridden, invalid: other classes must still appear with 0
	const secret = "s3cr3t-key"
	run(t, dir, RunInfo{Command: "run", Layouts: []*importer.Layout{l},
		BaseURL:  "https://user:" + secret + "@api.example.com/v1?api_key=" + secret + "#" + secret,
		Settings: []Setting{{"concurrency", "4"}}}, Options{XLSX: true, Rejects: true}, outs, 1)

	data, err := os.ReadFile(filepath.Join(dir, SummaryName))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"command", "started", "finished", "duration_ms", "exit_code", "base_url", "files", "settings", "total", "counts", "needs_person", "top_messages", "reports"} {
		if _, ok := got[k]; !ok {
			t.Errorf("summary.json lacks %q", k)
		}
	}
	counts := got["counts"].(map[string]any)
	if len(counts) != len(outcome.Classes) {
		t.Errorf("counts = %v, want every class", counts)
	}
	for _, c := range outcome.Classes {
		want := 0.0
		if c == outcome.ClassOK || c == outcome.ClassOverridden || c == outcome.ClassInvalid {
			want = 1
		}
		if counts[string(c)] != want {
			t.Errorf("counts[%s] = %v, want %v", c, counts[string(c)], want)
		}
	}
	if got["base_url"] != "https://api.example.com/v1" {
		t.Errorf("base_url = %v", got["base_url"])
	}
	if got["duration_ms"] != 90000.0 || got["exit_code"] != 1.0 || got["total"] != 3.0 || got["started"] != "2026-11-25T10:30:00Z" {
		t.Errorf("duration_ms %v, exit_code %v, total %v, started %v", got["duration_ms"], got["exit_code"], got["total"], got["started"])
	}
	top := got["top_messages"].([]any)
	if len(top) != 1 || top[0].(map[string]any)["message"] != "Fecha: 31/02/2026 is not a date" {
		t.Errorf("top_messages = %v", top)
	}

	// The key appears in no file, not even inside the workbook's zip.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		contents := map[string]string{}
		if strings.HasSuffix(e.Name(), ".xlsx") {
			contents = zipParts(t, p)
		} else {
			b, _ := os.ReadFile(p)
			contents[""] = string(b)
		}
		for part, c := range contents {
			if strings.Contains(c, secret) || strings.Contains(c, "user:") {
				t.Errorf("%s %s holds the key", e.Name(), part)
			}
		}
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"https://api.reten.io", "https://api.reten.io"},
		{"http://127.0.0.1:8080/base/", "http://127.0.0.1:8080/base/"},
		{"https://key@api.reten.io/x", "https://api.reten.io/x"},
		{"https://u:p@api.reten.io?token=k", "https://api.reten.io"},
		{"::not a url", "(withheld: not a valid URL)"},
		{"justsometext", "(withheld: not a valid URL)"},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNoRejectsFileWhenNothingNeedsAPerson(t *testing.T) {
	dir := t.TempDir()
	l := csvLayout("a.csv", "Actividad")
	s := run(t, dir, RunInfo{Layouts: []*importer.Layout{l}}, Options{XLSX: true, Rejects: true},
		[]outcome.Outcome{{Row: row(l, 2, "A"), Class: outcome.ClassOK}, {Row: row(l, 3, "B"), Class: outcome.ClassSkipped}}, 0)
	if _, err := os.Stat(filepath.Join(dir, "rejects.csv")); !os.IsNotExist(err) {
		t.Error("rejects.csv written with no row to fix")
	}
	if len(s.Reports.Rejects) != 0 {
		t.Errorf("summary lists rejects %q", s.Reports.Rejects)
	}
}

func TestRejectsOfARejectsFileKeepTheirColumns(t *testing.T) {
	dir := t.TempDir()
	// The user fixed rejects.csv, moving reconcile's columns about, and
	// uploaded it again; a row still fails, another has lost its number.
	l := csvLayout("rejects.csv", "Actividad", RejectsErrorColumn, RejectsRowColumn, "Notas", RejectsOutcomeColumn)
	run(t, dir, RunInfo{Layouts: []*importer.Layout{l}}, Options{Rejects: true}, []outcome.Outcome{
		{Row: row(l, 2, "A", "old reason", "17", "n", "invalid"), Class: outcome.ClassConflict, HTTPStatus: 409},
		{Row: row(l, 3, "B", "old reason", "", "m", "failed"), Class: outcome.ClassFailed, Message: "timeout"},
	}, 1)
	rej := readCSV(t, filepath.Join(dir, "rejects.csv"), ';')
	want := [][]string{l.Columns, {"A", "409", "17", "n", "conflict"}, {"B", "timeout", "3", "m", "failed"}}
	if !slices.EqualFunc(rej, want, slices.Equal) {
		t.Errorf("rejects = %q, want %q: the original row number kept, each column once", rej, want)
	}
}

// RowClass reads back, from the typed column, the class that wrote a row.
func TestRowClass(t *testing.T) {
	l := csvLayout("rejects.csv", "Actividad", RejectsRowColumn, RejectsOutcomeColumn, RejectsErrorColumn)
	for _, tc := range []struct {
		cells []string
		want  outcome.Class
		ok    bool
	}{
		{[]string{"A", "2", "failed", "503 Service Unavailable: conflict ahead"}, outcome.ClassFailed, true},
		{[]string{"A", "2", " Conflict ", "failed (503)"}, outcome.ClassConflict, true},
		{[]string{"A", "2", "", "failed (503)"}, "", false},
		{[]string{"A", "2", "fixed it", ""}, "", false},
		{[]string{"A", "2"}, "", false},
	} {
		got, ok := RowClass(row(l, 2, tc.cells...))
		if got != tc.want || ok != tc.ok {
			t.Errorf("RowClass(%q) = %q, %v; want %q, %v", tc.cells, got, ok, tc.want, tc.ok)
		}
	}
	other := csvLayout("ventas.csv", "Actividad", "Notas")
	if c, ok := RowClass(row(other, 2, "A", "failed")); ok {
		t.Errorf("a file with no %s column gave %q", RejectsOutcomeColumn, c)
	}
}

// Every name reconcile adds to its reports starts with what the importer
// ignores on input, or is one of report.csv's own.
func TestRejectsColumnsIgnoredOnInput(t *testing.T) {
	for _, name := range rejectsColumns {
		if !strings.HasPrefix(name, importer.ReasonColumnPrefix) {
			t.Errorf("rejects column %q does not start with %q: a fixed rejects file would be read with it", name, importer.ReasonColumnPrefix)
		}
	}
}

func TestRejectsNames(t *testing.T) {
	got := rejectsNames([]*importer.Layout{
		csvLayout("a/ventas.csv"), csvLayout("b/ventas.csv"), csvLayout("datos.txt"),
		xlsxLayout("libro.xlsx", "Enero"), xlsxLayout("libro.xlsx", "Feb/Mar"),
	})
	want := []string{"rejects-ventas.csv", "rejects-ventas-2.csv", "rejects-datos.txt", "rejects-libro-Enero.xlsx", "rejects-libro-Feb_Mar.xlsx"}
	if !slices.Equal(got, want) {
		t.Errorf("rejectsNames = %q, want %q", got, want)
	}
	if got := rejectsNames([]*importer.Layout{xlsxLayout("x.xlsx", "S")}); got[0] != "rejects.xlsx" {
		t.Errorf("single input rejects = %q", got)
	}
}

func TestTopMessages(t *testing.T) {
	tl := newTally(outcome.Classes)
	add := func(n int, c outcome.Class, status int, msg string) {
		for range n {
			tl.add(&outcome.Outcome{Class: c, HTTPStatus: status, Message: msg})
		}
	}
	add(5, outcome.ClassOK, 201, "fine") // not a problem: not counted
	add(3, outcome.ClassRejected, 404, "activity not found")
	add(7, outcome.ClassInvalid, 0, "Fecha: not a date")
	add(3, outcome.ClassConflict, 409, "Activity already has a result")
	for i := range 12 {
		add(1, outcome.ClassFailed, 503, "boom "+itoa(i))
	}
	top := tl.top(TopN)
	if len(top) != TopN {
		t.Fatalf("top has %d, want %d", len(top), TopN)
	}
	want := []TopMessage{
		{Class: outcome.ClassInvalid, Message: "Fecha: not a date", Count: 7},
		{Class: outcome.ClassRejected, HTTPStatus: 404, Message: "activity not found", Count: 3},
		{Class: outcome.ClassConflict, HTTPStatus: 409, Message: "Activity already has a result", Count: 3},
		{Class: outcome.ClassFailed, HTTPStatus: 503, Message: "boom 0", Count: 1},
	}
	if !slices.Equal(top[:4], want) {
		t.Errorf("top = %+v\nwant %+v", top[:4], want)
	}
	// Distinct messages are counted up to a bound; the rest go to "other".
	tl = newTally(outcome.Classes)
	for i := range MaxDistinctMessages + 5 {
		add(1, outcome.ClassFailed, 0, "m"+itoa(i))
	}
	add(2, outcome.ClassFailed, 0, "m0")
	if len(tl.messages) != MaxDistinctMessages || tl.other != 5 || tl.messages[messageKey{outcome.ClassFailed, 0, "m0"}].n != 3 {
		t.Errorf("distinct %d, other %d", len(tl.messages), tl.other)
	}
}

func TestMessageShape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"activity_id does not exist", "activity_id does not exist"},
		{`Estado: "EFECTIVO" is not a status; use EFFECTIVE`, `Estado: "…" is not a status; use EFFECTIVE`},
		{`Fecha: "31/02" is not a date; Estado: "x" is not a status`, `Fecha: "…" is not a date; Estado: "…" is not a status`},
		{`Notas: "say \"hi\"" is too long`, `Notas: "…" is too long`},
		{`unbalanced " quote`, `unbalanced " quote`},
	}
	for _, tt := range tests {
		if got := messageShape(tt.in); got != tt.want {
			t.Errorf("messageShape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	tl := newTally(outcome.Classes)
	for _, v := range []string{"A", "B", "C"} {
		tl.add(&outcome.Outcome{Class: outcome.ClassInvalid, Message: `Estado: "` + v + `" is not a status`})
	}
	if top := tl.top(TopN); len(top) != 1 || top[0].Count != 3 {
		t.Errorf("one rule with three values counted as %+v", top)
	}
}

func TestCreateNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	l := csvLayout("a.csv", "A")
	run(t, dir, RunInfo{Layouts: []*importer.Layout{l}}, Options{}, nil, 0)
	if _, err := Create(dir, RunInfo{Layouts: []*importer.Layout{l}}, Options{}); err == nil || !strings.Contains(err.Error(), "--report-dir") {
		t.Errorf("Create over an earlier report: err = %v", err)
	}
}

func TestDefaultDir(t *testing.T) {
	t.Chdir(t.TempDir())
	now := time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC)
	first := DefaultDir(now)
	if first != "reports-2026-11-25T103000" {
		t.Fatalf("DefaultDir = %q", first)
	}
	if err := os.Mkdir(first, 0o755); err != nil {
		t.Fatal(err)
	}
	if second := DefaultDir(now); second != first+"-2" {
		t.Errorf("DefaultDir with %s taken = %q", first, second)
	}
}

func TestWriteRejectsUnknownRows(t *testing.T) {
	dir := t.TempDir()
	l := csvLayout("a.csv", "A")
	w, err := Create(dir, RunInfo{Layouts: []*importer.Layout{l}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(outcome.Outcome{Row: row(l, 2, "x")}); err == nil || !strings.Contains(err.Error(), "a.csv, row 2") {
		t.Errorf("Write without a class: err = %v", err)
	}
	other := csvLayout("b.csv", "B")
	if err := w.Write(outcome.Outcome{Row: row(other, 2, "x"), Class: outcome.ClassOK}); err == nil {
		t.Error("Write of a row from an unlisted file succeeded")
	}
	// A copy of a listed layout is accepted.
	cp := *l
	if err := w.Write(outcome.Outcome{Row: row(&cp, 3, "y"), Class: outcome.ClassOK}); err != nil {
		t.Error(err)
	}
	s, err := w.Close(0)
	if err != nil {
		t.Fatal(err)
	}
	if s.Total != 1 || s.Files[0].Rows != 1 {
		t.Errorf("total %d, file rows %d; want 1, 1", s.Total, s.Files[0].Rows)
	}
}

func TestRowsSheetCappedAtSheetLimit(t *testing.T) {
	defer func(n int) { maxSheetRows = n }(maxSheetRows)
	maxSheetRows = 4 // header and three rows
	dir := t.TempDir()
	l := csvLayout("a.csv", "A")
	var outs []outcome.Outcome
	for i := range 5 {
		outs = append(outs, outcome.Outcome{Row: row(l, i+2, itoa(i)), Class: outcome.ClassOK})
	}
	run(t, dir, RunInfo{Layouts: []*importer.Layout{l}}, Options{XLSX: true}, outs, 0)
	f := openXLSX(t, filepath.Join(dir, XLSXName))
	rows, _ := f.GetRows(RowsSheet)
	if len(rows) != 4 {
		t.Errorf("Rows sheet has %d rows, want 4", len(rows))
	}
	sum, _ := f.GetRows(SummarySheet)
	found := false
	for _, r := range sum {
		found = found || strings.Contains(strings.Join(r, " "), "the Rows sheet holds the first 3 rows; all 5 are in report.csv")
	}
	if !found {
		t.Errorf("Summary does not say the Rows sheet is cut: %q", sum)
	}
	if recs := readCSV(t, filepath.Join(dir, CSVName), ','); len(recs) != 6 {
		t.Errorf("report.csv has %d records, want 6", len(recs))
	}
}

// Every CSV encoding the importer reads comes back in the same encoding, the
// user's cells byte for byte.
func TestRejectsKeepEncoding(t *testing.T) {
	header := []string{"Actividad", "Descripción"}
	cells := [][]string{{"A-1", "Señor Núñez"}, {"A-2", "Crème \"brûlée\"; 12,5"}, {"A-3", "línea 1\r\nlínea 2"}}
	lines := "Actividad;Descripción\r\nA-1;Señor Núñez;R\r\nA-2;\"Crème \"\"brûlée\"\"; 12,5\";R\r\nA-3;\"línea 1\r\nlínea 2\";R\r\n"
	lines = strings.Replace(lines, "Descripción\r\n", "Descripción;"+rejectsHeader+"\r\n", 1)
	encoders := map[string]func(string) []byte{
		"utf-8":        func(s string) []byte { return []byte(s) },
		"utf-8-bom":    func(s string) []byte { return []byte(utf8BOM + s) },
		"windows-1252": func(s string) []byte { b, _ := charmap.Windows1252.NewEncoder().Bytes([]byte(s)); return b },
		"iso-8859-1":   func(s string) []byte { b, _ := charmap.ISO8859_1.NewEncoder().Bytes([]byte(s)); return b },
	}
	for enc, encode := range encoders {
		t.Run(enc, func(t *testing.T) {
			l := &importer.Layout{File: "in.csv", Kind: "csv", Delimiter: ';', Encoding: enc, Columns: header}
			var outs []outcome.Outcome
			for i, c := range cells {
				outs = append(outs, outcome.Outcome{Row: row(l, i+2, c...), Class: outcome.ClassInvalid})
			}
			dir := t.TempDir()
			run(t, dir, RunInfo{Layouts: []*importer.Layout{l}}, Options{Rejects: true}, outs, 1)
			got, _ := os.ReadFile(filepath.Join(dir, "rejects.csv"))
			want := encode(strings.NewReplacer("Núñez;R", "Núñez;2;invalid;", "12,5\";R", "12,5\";3;invalid;", "2\";R", "2\";4;invalid;").Replace(lines))
			if !bytes.Equal(got, want) {
				t.Errorf("rejects.csv =\n%q\nwant\n%q", got, want)
			}
		})
	}
}

// Workbook rejects give formula-like cells back as they were, as text: the
// file holds no formula for a program to run.
func TestWorkbookRejectsHoldNoFormulas(t *testing.T) {
	dir := t.TempDir()
	l := xlsxLayout("in.xlsx", "Datos", "Actividad", "Notas")
	run(t, dir, RunInfo{Layouts: []*importer.Layout{l}}, Options{Rejects: true},
		[]outcome.Outcome{{Row: row(l, 2, "A-1", "=1+1"), Class: outcome.ClassInvalid, Message: "=bad"}}, 1)
	f := openXLSX(t, filepath.Join(dir, "rejects.xlsx"))
	rows, _ := f.GetRows("Datos", excelize.Options{RawCellValue: true})
	if len(rows) != 2 || rows[1][1] != "=1+1" || rows[1][4] != "'=bad" {
		t.Fatalf("rejects.xlsx = %q", rows)
	}
	for _, cell := range []string{"A2", "B2", "C2"} {
		if fm, _ := f.GetCellFormula("Datos", cell); fm != "" {
			t.Errorf("%s is the formula %q", cell, fm)
		}
	}
}

// Files whose columns together are more than report.xlsx holds are refused
// by Create, before anything is written, with or without report.xlsx, so
// that validate and run decide the same.
func TestCreateRefusesTooManyColumns(t *testing.T) {
	wide := func(file string, from int) *importer.Layout {
		cols := make([]string, importer.MaxColumns)
		for i := range cols {
			cols[i] = "c" + itoa(from+i)
		}
		return csvLayout(file, cols...)
	}
	for _, opts := range []Options{{}, {XLSX: true, Rejects: true}} {
		dir := filepath.Join(t.TempDir(), "reports")
		_, err := Create(dir, RunInfo{Command: "run", Layouts: []*importer.Layout{wide("a.csv", 0), wide("b.csv", importer.MaxColumns)}}, opts)
		if err == nil || !strings.Contains(err.Error(), "run them separately") {
			t.Errorf("XLSX %v: err = %v", opts.XLSX, err)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("XLSX %v: the report folder was created", opts.XLSX)
		}
	}
	// One file as wide as the importer allows fits, report.xlsx included.
	dir := t.TempDir()
	l := wide("a.csv", 0)
	cells := make([]string, len(l.Columns))
	cells[len(cells)-1] = "last"
	s := run(t, dir, RunInfo{Command: "run", Layouts: []*importer.Layout{l}}, Options{XLSX: true, Rejects: true},
		[]outcome.Outcome{{Row: row(l, 2, cells...), Class: outcome.ClassInvalid, Message: "bad"}}, 1)
	if s.Reports.XLSX == "" || len(s.Reports.Rejects) != 1 {
		t.Errorf("reports = %+v", s.Reports)
	}
}

// --report-delimiter: report.csv separated by ';' for a Spanish Excel, a
// cell holding ';' quoted; the rejects keep their input's ','.
func TestReportDelimiter(t *testing.T) {
	dir := t.TempDir()
	l := csvLayout("in.csv", "Actividad", "Notas")
	l.Delimiter = ','
	run(t, dir, RunInfo{Layouts: []*importer.Layout{l}}, Options{Rejects: true, Delimiter: ';'}, []outcome.Outcome{
		{Row: row(l, 2, "A-1", "uno; dos, tres"), Class: outcome.ClassRejected, HTTPStatus: 404, Code: "api_404", Message: "no such activity"},
	}, 1)
	raw, _ := os.ReadFile(filepath.Join(dir, CSVName))
	if want := "row;outcome;http_status;code;message;Actividad;Notas;error;attempts;duration_ms;result_id\r\n"; !strings.HasPrefix(string(bytes.TrimPrefix(raw, []byte(utf8BOM))), want) {
		t.Errorf("report.csv starts %q, want %q", raw, want)
	}
	recs := readCSV(t, filepath.Join(dir, CSVName), ';')
	if got := recs[1][col(recs[0], "Notas")]; got != "uno; dos, tres" {
		t.Errorf("Notas = %q", got)
	}
	rej := readCSV(t, filepath.Join(dir, "rejects.csv"), ',')
	if len(rej) != 2 || rej[1][1] != "uno; dos, tres" {
		t.Errorf("rejects = %q, want the input's delimiter", rej)
	}
}
