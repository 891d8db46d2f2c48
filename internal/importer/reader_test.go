package importer

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"
)

func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func readAll(t testing.TB, path string, opts Options) (*Layout, []Row) {
	t.Helper()
	r, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer r.Close()
	var rows []Row
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return r.Layout(), rows
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		rows = append(rows, row)
	}
}

const header = "activity_id,provider_activity_id,commerce_external_id,occurred_at,status,result"

func TestCSVDialects(t *testing.T) {
	row := []string{"", "YOM-0001", "COM-001", "2026-04-11T10:30:00Z", "EFFECTIVE", "Venta completada"}
	join := func(sep, eol string, cells ...string) string { return strings.Join(cells, sep) + eol }
	hdr := strings.Split(header, ",")
	tests := []struct {
		name     string
		data     []byte
		opts     Options
		delim    rune
		encoding string
	}{
		{"comma LF", []byte(join(",", "\n", hdr...) + join(",", "\n", row...)), Options{}, ',', "utf-8"},
		{"semicolon CRLF", []byte(join(";", "\r\n", hdr...) + join(";", "\r\n", row...)), Options{}, ';', "utf-8"},
		{"tab", []byte(join("\t", "\n", hdr...) + join("\t", "\n", row...)), Options{}, '\t', "utf-8"},
		{"pipe", []byte(join("|", "\n", hdr...) + join("|", "\n", row...)), Options{}, '|', "utf-8"},
		{"BOM", append([]byte("\xEF\xBB\xBF"), join(",", "\n", hdr...)+join(",", "\n", row...)...), Options{}, ',', "utf-8-bom"},
		{"no final newline", []byte(join(",", "\n", hdr...) + strings.Join(row, ",")), Options{}, ',', "utf-8"},
		{"sep= line", []byte("sep=;\r\n" + join(";", "\r\n", hdr...) + join(";", "\r\n", row...)), Options{}, ';', "utf-8"},
		{"delimiter chosen", []byte(join(";", "\n", hdr...) + join(";", "\n", row...)), Options{Delimiter: ';'}, ';', "utf-8"},
		{"more commas in data than separators", []byte(join(";", "\n", hdr...) + join(";", "\n", row...)), Options{}, ';', "utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, rows := readAll(t, writeFile(t, "in.csv", tt.data), tt.opts)
			if l.Delimiter != tt.delim || l.Encoding != tt.encoding || l.Kind != "csv" {
				t.Errorf("layout = %q %q %q, want %q %q csv", l.Delimiter, l.Encoding, l.Kind, tt.delim, tt.encoding)
			}
			if !reflect.DeepEqual(l.Columns, hdr) {
				t.Errorf("columns = %q", l.Columns)
			}
			if len(rows) != 1 || !reflect.DeepEqual(rows[0].Cells, row) || rows[0].Pos.Row != 2 {
				t.Fatalf("rows = %+v", rows)
			}
			if got := rows[0].Value(Result).Text; got != "Venta completada" {
				t.Errorf("result = %q", got)
			}
		})
	}
}

func TestCSVEncodings(t *testing.T) {
	text := header + ",comment\n,YOM-1,COM-1,2026-04-11,EFFECTIVE,SALE_COMPLETED,Pidió más café\n"
	// An accent first seen far down the file still decides the encoding.
	long := header + "\n" + strings.Repeat(",YOM-1,COM-1,2026-04-11,EFFECTIVE,x\n", 20000) + ",YOM-2,Señal,2026-04-11,EFFECTIVE,x\n"
	win := func(s string) []byte {
		b, err := charmap.Windows1252.NewEncoder().Bytes([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	utf16 := []byte{0xFF, 0xFE}
	for _, r := range strings.ReplaceAll(text, ",", "\t") {
		utf16 = append(utf16, byte(r), byte(r>>8))
	}
	tests := []struct {
		name     string
		data     []byte
		opts     Options
		encoding string
		want     string
	}{
		{"utf-8", []byte(text), Options{}, "utf-8", "Pidió más café"},
		{"windows-1252 detected", win(text), Options{}, "windows-1252", "Pidió más café"},
		{"windows-1252 chosen", win(text), Options{Encoding: "cp1252"}, "windows-1252", "Pidió más café"},
		{"latin1 chosen", win(text), Options{Encoding: "latin1"}, "iso-8859-1", "Pidió más café"},
		{"utf-16 with BOM (Excel Unicode Text)", utf16, Options{}, "utf-16", "Pidió más café"},
		{"late accent", win(long), Options{}, "windows-1252", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, rows := readAll(t, writeFile(t, "in.csv", tt.data), tt.opts)
			if l.Encoding != tt.encoding {
				t.Errorf("encoding = %q, want %q", l.Encoding, tt.encoding)
			}
			last := rows[len(rows)-1]
			if tt.want != "" {
				if got := last.Cells[len(last.Cells)-1]; got != tt.want {
					t.Errorf("comment = %q, want %q", got, tt.want)
				}
			} else if got := last.Value(CommerceExternalID).Text; got != "Señal" {
				t.Errorf("late accent read as %q", got)
			}
		})
	}
	mixed := append([]byte(text), win(",YOM-2,Señal,2026-04-11,EFFECTIVE,x,\n")...)
	if _, err := Open(writeFile(t, "in.csv", mixed), Options{}); err == nil || !strings.Contains(err.Error(), "mixes UTF-8") {
		t.Errorf("mixed encodings: err = %v", err)
	}
	if _, rows := readAll(t, writeFile(t, "in.csv", mixed), Options{Encoding: "utf-8"}); len(rows) != 2 || rows[0].Cells[6] != "Pidió más café" {
		t.Errorf("mixed file read as chosen utf-8: %+v", rows)
	}
	if _, err := Open(writeFile(t, "in.csv", []byte(text)), Options{Encoding: "ebcdic"}); err == nil || !strings.Contains(err.Error(), "utf-8, windows-1252") {
		t.Errorf("unknown encoding: err = %v", err)
	}
}

// TestCSVRowNumbers checks that positions are the rows a spreadsheet program
// shows: a quoted field over several lines is one row, a blank line is a row.
func TestCSVRowNumbers(t *testing.T) {
	data := "Informe de resultados, abril\n" + // a title row, then the header
		header + ",comment,,\n" +
		",YOM-1,COM-1,2026-04-11,EFFECTIVE,x,\"line one\nline two\r\nline three\",,\n" +
		"\n" +
		",YOM-2,COM-2,2026-04-11,EFFECTIVE,x,\"a, b\",,\n" +
		",,,,,,,,\n" +
		",YOM-3,COM-3,2026-04-11,EFFECTIVE,x\n"
	l, rows := readAll(t, writeFile(t, "in.csv", []byte(data)), Options{})
	if l.HeaderRow != 2 {
		t.Errorf("header row = %d, want 2", l.HeaderRow)
	}
	if len(l.Columns) != 7 {
		t.Errorf("trailing empty header cells kept: %q", l.Columns)
	}
	var got []int
	for _, r := range rows {
		got = append(got, r.Pos.Row)
		if len(r.Cells) != len(l.Columns) {
			t.Errorf("row %d has %d cells, want %d", r.Pos.Row, len(r.Cells), len(l.Columns))
		}
	}
	if want := []int{3, 5, 7}; !reflect.DeepEqual(got, want) {
		t.Errorf("rows = %v, want %v", got, want)
	}
	if c := rows[0].Cells[6]; c != "line one\nline two\nline three" {
		t.Errorf("multi-line cell = %q", c)
	}
	if c := rows[1].Cells[6]; c != "a, b" {
		t.Errorf("quoted separator cell = %q", c)
	}
	if rows[0].Pos.String() != filepath.Join(filepath.Dir(rows[0].Pos.File), "in.csv")+", row 3" {
		t.Errorf("position = %s", rows[0].Pos)
	}
}

func TestCSVBadRows(t *testing.T) {
	data := header + "\n" +
		",YOM-1,COM-1,2026-04-11,EFFECTIVE,x,extra,more\n" +
		",YOM-2,CO\"M-2,2026-04-11,EFFECTIVE,x\n" +
		",YOM-3,COM-3,2026-04-11,EFFECTIVE,x\n"
	_, rows := readAll(t, writeFile(t, "in.csv", []byte(data)), Options{})
	if len(rows) != 3 {
		t.Fatalf("got %d rows, want 3: a bad row must not stop the file", len(rows))
	}
	if rows[0].Err == nil || !strings.Contains(rows[0].Err.Error(), "2 cells beyond the last header") {
		t.Errorf("extra cells: Err = %v", rows[0].Err)
	}
	if len(rows[0].Cells) != 6 {
		t.Errorf("extra cells kept: %q", rows[0].Cells)
	}
	if rows[1].Err == nil || rows[1].Pos.Row != 3 || !strings.Contains(rows[1].Err.Error(), "quotes") {
		t.Errorf("bare quote: row %d Err = %v", rows[1].Pos.Row, rows[1].Err)
	}
	if rows[2].Err != nil || rows[2].Pos.Row != 4 || rows[2].Value(ProviderActivityID).Text != "YOM-3" {
		t.Errorf("row after a bad one: %+v", rows[2])
	}
}

func TestHeaderMapping(t *testing.T) {
	mapping := writeFile(t, "map.txt", []byte("# Spanish headers\nID Actividad = activity_id\nResultado = result\nFecha gestión = occurred_at\nNotas = ignore\nEstado=status\nComercio = commerce_external_id\n"))
	jsonMapping := writeFile(t, "map.json", []byte(`{"ID Actividad": "activity_id", "Resultado": "task_result.result", "Fecha gestión": "occurred_at", "Notas": "-", "Estado": "status", "Comercio": "commerce_external_id"}`))
	data := []byte("id actividad;COMERCIO;fecha_gestion;Estado;Resultado;Notas;Región;reconcile_error\n" +
		"8a2da0ef-e94a-5f98-ad28-4741ec9a5245;COM-1;2026-04-11;EFFECTIVE;x;n;norte;old problem\n")
	for _, m := range []string{mapping, jsonMapping} {
		l, rows := readAll(t, writeFile(t, "in.csv", data), Options{MappingFile: m})
		want := []Field{ActivityID, CommerceExternalID, OccurredAt, Status, Result, NoField, NoField, NoField}
		if !reflect.DeepEqual(l.Fields, want) {
			t.Errorf("%s: fields = %v, want %v", m, l.Fields, want)
		}
		if !reflect.DeepEqual(l.Unknown, []string{"Región"}) {
			t.Errorf("%s: unknown = %q; ignored and reconcile_ columns must not be listed", m, l.Unknown)
		}
		if l.Header(Result) != "Resultado" || l.Header(Comment) != "task_result.comment" {
			t.Errorf("Header = %q, %q", l.Header(Result), l.Header(Comment))
		}
		if len(rows) != 1 || rows[0].Cells[7] != "old problem" {
			t.Errorf("rows = %+v", rows)
		}
	}
}

func TestHeaderErrors(t *testing.T) {
	badMap := writeFile(t, "bad.txt", []byte("Resultado = resultado_final\n"))
	tests := []struct {
		name   string
		data   string
		opts   Options
		errHas []string
	}{
		{"missing columns", "activity_id,status,comment\n,,\n", Options{},
			[]string{"in.csv, row 1", "task_result.result", "commerce_external_id", "occurred_at", "--mapping"}},
		{"no ids", "commerce_external_id,occurred_at,status,result\n", Options{}, []string{"activity_id or provider_activity_id"}},
		{"two columns for one field", header + ",Result\n", Options{}, []string{`"result" and "Result" both hold task_result.result`}},
		{"only blank lines", "\n\n\n", Options{}, []string{"has no rows"}},
		{"bad mapping target", header + "\n", Options{MappingFile: badMap}, []string{"bad.txt, line 1", `"resultado_final" is not a field`}},
		{"missing mapping", header + "\n", Options{MappingFile: "/nonexistent/map.txt"}, []string{"mapping file"}},
		{"bad delimiter", header + "\n", Options{Delimiter: 'a'}, []string{"--delimiter"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(writeFile(t, "in.csv", []byte(tt.data)), tt.opts)
			if err == nil {
				t.Fatal("Open succeeded")
			}
			for _, s := range tt.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
}

func TestNotSpreadsheets(t *testing.T) {
	tests := []struct {
		name, file string
		data       []byte
		errHas     string
	}{
		{"legacy xls", "old.xls", []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0, 0}, "save it as .xlsx or .csv"},
		{"xlsx that is text", "fake.xlsx", []byte("hello"), "not one"},
		{"zip that is not a workbook", "a.xlsx", zipOf(t, "readme.txt", "hi"), "save it as .xlsx or .csv"},
		{"ods", "a.ods", zipOf(t, "content.xml", "<x/>"), "OpenDocument"},
		{"binary", "a.csv", []byte{0x89, 'P', 'N', 'G', 0, 0, 0, 1}, "binary data"},
		{"empty", "a.csv", nil, "is empty"},
		{"big-endian utf-16", "a.csv", []byte{0xFE, 0xFF, 0, 'a'}, "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.file, tt.data)
			_, err := Open(path, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.errHas) || !strings.Contains(err.Error(), tt.file) {
				t.Errorf("err = %v, want one naming %s and saying %q", err, tt.file, tt.errHas)
			}
		})
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing.csv"), Options{}); err == nil || !strings.Contains(err.Error(), "missing.csv") {
		t.Errorf("missing file: err = %v", err)
	}
}

func zipOf(t testing.TB, name, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(name)
	if err == nil {
		_, err = w.Write([]byte(content))
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// workbook builds an XLSX in a temp folder; fill gets the file and sheet name.
func workbook(t testing.TB, fill func(f *excelize.File, sheet string)) string {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	fill(f, "Sheet1")
	path := filepath.Join(t.TempDir(), "book.xlsx")
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestXLSXCells(t *testing.T) {
	style := func(f *excelize.File, code string) int {
		id, err := f.NewStyle(&excelize.Style{CustomNumFmt: &code})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	path := workbook(t, func(f *excelize.File, s string) {
		dt, d, padded, builtin := style(f, "dd/mm/yyyy hh:mm"), style(f, "dd/mm/yyyy"), style(f, "0000000"), 0
		builtinID, _ := f.NewStyle(&excelize.Style{NumFmt: 22}) // m/d/yy h:mm
		builtin = builtinID
		f.SetCellValue(s, "A1", "Resultados de abril") // title row
		f.SetRowVisible(s, 2, false)                   // a hidden row above the header
		f.SetCellValue(s, "A2", "exported by CRM")
		for i, h := range []string{"provider_activity_id", "commerce_external_id", "occurred_at", "status", "result", "hard_override", "future_scheduled_at", "operator_external_id", "amount"} {
			c, _ := excelize.CoordinatesToCellName(i+1, 3)
			f.SetCellValue(s, c, h)
		}
		f.SetCellValue(s, "A4", "YOM-1")
		f.SetCellValue(s, "B4", 4549)
		f.SetCellStyle(s, "B4", "B4", padded)
		f.SetCellValue(s, "C4", time.Date(2026, 4, 11, 10, 30, 0, 0, time.UTC))
		f.SetCellStyle(s, "C4", "C4", dt)
		f.SetCellValue(s, "D4", "effective")
		f.SetCellValue(s, "E4", "Venta completada")
		f.SetCellValue(s, "F4", true)
		f.SetCellValue(s, "G4", time.Date(2031, 1, 15, 0, 0, 0, 0, time.UTC))
		f.SetCellStyle(s, "G4", "G4", d)
		f.SetCellValue(s, "H4", 1234)
		f.SetCellValue(s, "I4", 12.5)
		// Row 5 blank; row 6 with a built-in date-time format and a serial without format.
		f.SetCellValue(s, "A6", "YOM-2")
		f.SetCellValue(s, "B6", "COM-2")
		f.SetCellValue(s, "C6", time.Date(2026, 4, 12, 8, 15, 0, 0, time.UTC))
		f.SetCellStyle(s, "C6", "C6", builtin)
		f.SetCellValue(s, "F6", false)
		f.SetCellValue(s, "G6", 46127.5)
		f.SetCellValue(s, "K6", "   ") // trailing blank cell beyond the header
		// Row 7: a text cell and a negative number under a date format, a date with milliseconds.
		f.SetCellValue(s, "A7", "YOM-3")
		f.SetCellValue(s, "B7", "COM-3")
		f.SetCellValue(s, "C7", "ayer")
		f.SetCellStyle(s, "C7", "C7", dt)
		f.SetCellValue(s, "G7", time.Date(2030, 1, 2, 3, 4, 5, 250e6, time.UTC))
		f.SetCellStyle(s, "G7", "G7", dt)
		f.SetCellValue(s, "I7", -3)
		f.SetCellStyle(s, "I7", "I7", d)
	})
	l, rows := readAll(t, path, Options{})
	if l.Kind != "xlsx" || l.Sheet != "Sheet1" || l.HeaderRow != 3 {
		t.Errorf("layout = %+v", l)
	}
	if !reflect.DeepEqual(l.Unknown, []string{"amount"}) {
		t.Errorf("unknown = %q", l.Unknown)
	}
	if len(rows) != 3 || rows[0].Pos.Row != 4 || rows[1].Pos.Row != 6 || rows[0].Pos.Sheet != "Sheet1" {
		t.Fatalf("rows = %+v", rows)
	}
	r := rows[0]
	checks := []struct {
		f    Field
		want string
	}{
		{CommerceExternalID, "0004549"}, // the number format's zeros, as the user sees them
		{OccurredAt, "2026-04-11 10:30:00"},
		{Status, "EFFECTIVE"},
		{HardOverride, "TRUE"},
		{FutureScheduledAt, "2031-01-15 00:00:00"},
		{OperatorExternalID, "1234"}, // no spurious .0
	}
	for _, c := range checks {
		if got := r.Value(c.f); got.Text != c.want || got.Err != nil {
			t.Errorf("%s = %q (%v), want %q", c.f, got.Text, got.Err, c.want)
		}
	}
	if r.Cells[8] != "12.5" {
		t.Errorf("number cell = %q", r.Cells[8])
	}
	if !r.Value(HardOverride).Bool || rows[1].Value(HardOverride).Bool {
		t.Error("boolean cells misread")
	}
	if got := r.Value(OccurredAt).Time; !got.Equal(time.Date(2026, 4, 11, 10, 30, 0, 0, time.UTC)) {
		t.Errorf("date cell = %v", got)
	}
	if got := rows[1].Value(OccurredAt).Time; !got.Equal(time.Date(2026, 4, 12, 8, 15, 0, 0, time.UTC)) {
		t.Errorf("built-in date-time cell = %v (%q)", got, rows[1].Value(OccurredAt).Text)
	}
	if got := rows[1].Value(FutureScheduledAt).Time; !got.Equal(time.Date(2026, 4, 15, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("serial number in a date column = %v", got)
	}
	if rows[1].Err != nil {
		t.Errorf("trailing blank cell made an error: %v", rows[1].Err)
	}
	if c := rows[2].Cells; c[2] != "ayer" || c[6] != "2030-01-02 03:04:05.250" || c[8] != "-3.000000000" {
		t.Errorf("text, milliseconds and negative number under date formats = %q, %q, %q", c[2], c[6], c[8])
	}
}

func TestXLSXSheets(t *testing.T) {
	path := workbook(t, func(f *excelize.File, s string) {
		f.SetCellValue(s, "A1", "notes only")
		f.NewSheet("Datos")
		f.SetSheetRow("Datos", "A1", &[]any{"provider_activity_id", "commerce_external_id", "occurred_at", "status", "result"})
		f.SetSheetRow("Datos", "A2", &[]any{"YOM-1", "COM-1", "2026-04-11", "PENDING", "x"})
	})
	if _, err := Open(path, Options{}); err == nil || !strings.Contains(err.Error(), `sheet "Sheet1"`) {
		t.Errorf("first sheet without a header: err = %v", err)
	}
	l, rows := readAll(t, path, Options{Sheet: "Datos"})
	if l.Sheet != "Datos" || len(rows) != 1 || rows[0].Pos.String() != path+`, sheet "Datos", row 2` {
		t.Errorf("layout %+v rows %+v", l, rows)
	}
	if _, err := Open(path, Options{Sheet: "Nope"}); err == nil || !strings.Contains(err.Error(), `"Sheet1", "Datos"`) {
		t.Errorf("missing sheet: err = %v", err)
	}
}

func TestXLSXUnzipLimit(t *testing.T) {
	path := workbook(t, func(f *excelize.File, s string) {
		for i := 1; i <= 2000; i++ {
			c, _ := excelize.CoordinatesToCellName(1, i)
			f.SetCellValue(s, c, strings.Repeat("x", 100))
		}
	})
	_, err := Open(path, Options{UnzipLimit: 64 << 10})
	if err == nil || !strings.Contains(err.Error(), "unzips to more than") {
		t.Errorf("err = %v", err)
	}
}

// A file wider than a report can hold is refused at Open, whichever command
// opens it, naming the file and the count.
func TestTooManyColumns(t *testing.T) {
	cols := make([]string, 100_000)
	for i := range cols {
		cols[i] = fmt.Sprintf("extra %d", i)
	}
	copy(cols, strings.Split(header, ","))
	path := writeFile(t, "wide.csv", []byte(strings.Join(cols, ",")+"\n,Y,C,2026-04-11,EFFECTIVE,x\n"))
	_, err := Open(path, Options{})
	if err == nil || !strings.Contains(err.Error(), "wide.csv, row 1") || !strings.Contains(err.Error(), "100,000 columns") || !strings.Contains(err.Error(), "split the file") {
		t.Errorf("err = %v", err)
	}
	// As wide as allowed: read, and its unknown columns listed briefly.
	l, rows := readAll(t, writeFile(t, "ok.csv", []byte(strings.Join(cols[:MaxColumns], ",")+"\n,Y,C,2026-04-11,EFFECTIVE,x\n")), Options{})
	if len(rows) != 1 || len(l.Columns) != MaxColumns {
		t.Fatalf("%d rows, %d columns", len(rows), len(l.Columns))
	}
	list := NameList(l.Unknown)
	if want := fmt.Sprintf(`"extra 6", "extra 7", "extra 8", "extra 9", "extra 10", "extra 11", "extra 12", "extra 13", "extra 14", "extra 15" and %s more`, thousands(MaxColumns-16)); list != want {
		t.Errorf("NameList = %s, want %s", list, want)
	}
}

func TestNameList(t *testing.T) {
	for _, tt := range []struct {
		n    int
		want string
	}{
		{0, ""}, {1, `"a"`}, {2, `"a", "a"`}, {10, strings.TrimSuffix(strings.Repeat(`"a", `, 10), ", ")},
		{11, strings.TrimSuffix(strings.Repeat(`"a", `, 10), ", ") + " and 1 more"},
		{1_234_567, strings.TrimSuffix(strings.Repeat(`"a", `, 10), ", ") + " and 1,234,557 more"},
	} {
		if got := NameList(slices.Repeat([]string{"a"}, tt.n)); got != tt.want {
			t.Errorf("%d names: %s, want %s", tt.n, got, tt.want)
		}
	}
}
