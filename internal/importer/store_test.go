package importer

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"
)

// readRows reads every row of path, and the error that ended the read (nil
// at the end of the file).
func readRows(t *testing.T, path string, opts Options) (*Layout, []Row, error) {
	t.Helper()
	r, err := Open(path, opts)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	var rows []Row
	for {
		row, err := r.Next()
		if err == io.EOF {
			return r.Layout(), rows, nil
		}
		if err != nil {
			return r.Layout(), rows, err
		}
		rows = append(rows, row)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestRowStoreReadsAsTheFile reads each workbook directly and through its
// row store, and wants the same layout, rows, positions, cells, values and
// errors, the file named as the store was told to name it; a delimited
// file is read by OpenSaving as Open reads it, and not stored.
func TestRowStoreReadsAsTheFile(t *testing.T) {
	santiago, _ := time.LoadLocation("America/Santiago")
	spanish := Options{MappingFile: filepath.Join("..", "..", "samples", "mapping-es.txt"), DateFormat: "02/01/2006 15:04", Location: santiago}
	cp1252, _ := charmap.Windows1252.NewEncoder().String("title row\n" + header + ",comment\n,YOM-1,COM-1,2026-04-11,EFFECTIVE,x,Gestión año\n")
	book := workbook(t, func(f *excelize.File, s string) {
		id, _ := f.NewStyle(&excelize.Style{NumFmt: 22})
		f.SetCellValue(s, "A1", "Resultados de abril")
		for i, h := range []string{"provider_activity_id", "commerce_external_id", "occurred_at", "status", "result", "amount"} {
			c, _ := excelize.CoordinatesToCellName(i+1, 2)
			f.SetCellValue(s, c, h)
		}
		f.SetSheetRow(s, "A3", &[]any{"YOM-1", "007", time.Date(2026, 4, 11, 10, 30, 0, 0, time.UTC), "EFFECTIVE", "SALE_COMPLETED", 12.5})
		f.SetCellStyle(s, "C3", "C3", id)
		f.SetSheetRow(s, "A6", &[]any{"YOM-2", "COM-2", "2026-04-12T09:00:00Z", "effective", "NO_CONTACT"})
		f.NewSheet("Otra")
		f.SetSheetRow("Otra", "A1", &[]string{"provider_activity_id", "commerce_external_id", "occurred_at", "status", "result"})
		f.SetSheetRow("Otra", "A2", &[]string{"YOM-9", "COM-9", "2026-04-13", "PENDING", "RESCHEDULE"})
	})
	cases := []struct {
		name string
		path string
		opts Options
	}{
		{"english sample", filepath.Join("..", "..", "samples", "results.csv"), Options{}},
		{"spanish CSV, ; and Windows-1252", filepath.Join("..", "..", "samples", "resultados.csv"), spanish},
		{"spanish workbook with a title row", filepath.Join("..", "..", "samples", "resultados.xlsx"), spanish},
		{"row numbers: multi-line cells, blank lines", writeFile(t, "rows.csv", []byte("Informe\n"+header+",comment,,\n,YOM-1,COM-1,2026-04-11,EFFECTIVE,x,\"one\ntwo\",,\n\n,YOM-2,COM-2,2026-04-11,EFFECTIVE,x,\"a, b\",,\n,,,,,,,,\n")), Options{}},
		{"broken rows", writeFile(t, "bad.csv", []byte(header+"\n,YOM-1,COM-1,2026-04-11,EFFECTIVE,x,extra\n,YOM-2,CO\"M-2,2026-04-11,EFFECTIVE,x\n,YOM-3,COM-3,2026-04-11,EFFECTIVE,x\n")), Options{}},
		{"Windows-1252 with a title row", writeFile(t, "ansi.csv", []byte(cp1252)), Options{}},
		{"workbook: date cells, gaps, first sheet", book, Options{}},
		{"workbook: another sheet", book, Options{Sheet: "Otra"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantL, want, wantErr := readRows(t, c.path, c.opts)
			if wantErr != nil {
				t.Fatal(wantErr)
			}
			named := c.opts
			named.Name = "Mi archivo.xlsx"
			// OpenSaving reads the file as Open does, and leaves the store
			// of a workbook once it has read it all.
			kept := filepath.Join(t.TempDir(), "rows")
			r, err := OpenSaving(c.path, named, kept)
			if err != nil {
				t.Fatal(err)
			}
			var whileSaving []Row
			for {
				row, err := r.Next()
				if err != nil {
					break
				}
				whileSaving = append(whileSaving, row)
			}
			r.Close()
			same(t, "OpenSaving", wantL, want, r.Layout(), whileSaving)
			if wantL.Kind != "xlsx" {
				if _, err := os.Stat(kept); !os.IsNotExist(err) {
					t.Errorf("a delimited file was stored: %v", err)
				}
				return
			}
			// The store of the whole file, whatever the reading stopped at.
			saved := filepath.Join(t.TempDir(), "rows")
			src, l, err := openSource(c.path, Options{Sheet: c.opts.Sheet})
			if err != nil {
				t.Fatal(err)
			}
			err = saveSource(saved, src, l, c.path, "Mi archivo.xlsx")
			src.close()
			if err != nil {
				t.Fatal(err)
			}
			for _, store := range []string{saved, kept} {
				gotL, got, err := readRows(t, store, c.opts)
				if err != nil {
					t.Fatal(err)
				}
				same(t, store, wantL, want, gotL, got)
			}
		})
	}
}

// same compares rows read from a store, or while saving one, with the rows
// read from the file itself under the Layout wantL.
func same(t *testing.T, how string, wantL *Layout, want []Row, gotL *Layout, got []Row) {
	t.Helper()
	if gotL.File != "Mi archivo.xlsx" {
		t.Errorf("%s names the file %q", how, gotL.File)
	}
	l := *wantL
	l.File, l.cols, l.norm = gotL.File, gotL.cols, gotL.norm
	if !reflect.DeepEqual(&l, gotL) {
		t.Errorf("%s: layout\n%+v\nwant\n%+v", how, gotL, &l)
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d", how, len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		if g.Pos.File != "Mi archivo.xlsx" || g.Pos.Sheet != w.Pos.Sheet || g.Pos.Row != w.Pos.Row {
			t.Errorf("%s, row %d: position %+v, want %+v", how, i, g.Pos, w.Pos)
		}
		if !reflect.DeepEqual(g.Cells, w.Cells) || errText(g.Err) != errText(w.Err) {
			t.Errorf("%s, row %d: %q %v, want %q %v", how, w.Pos.Row, g.Cells, g.Err, w.Cells, w.Err)
		}
		var gv, wv [NumFields]Value
		g.Values(&gv)
		w.Values(&wv)
		for f := range gv {
			if gv[f].Text != wv[f].Text || !gv[f].Time.Equal(wv[f].Time) || errText(gv[f].Err) != errText(wv[f].Err) {
				t.Errorf("%s, row %d, %s: %+v, want %+v", how, w.Pos.Row, Field(f), gv[f], wv[f])
			}
		}
	}
}

// failingSource yields its rows, then fails as a damaged file does.
type failingSource struct {
	rows [][]string
	at   int
}

func (s *failingSource) next() ([]string, int, error) {
	if s.at == len(s.rows) {
		return nil, s.at + 1, errors.New("damaged worksheet XML (unexpected EOF)")
	}
	s.at++
	return s.rows[s.at-1], s.at, nil
}

func (s *failingSource) close() error { return nil }

func TestRowStoreKeepsAFailedRead(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "rows")
	src := &failingSource{rows: [][]string{strings.Split(header, ","), {"", "YOM-1", "COM-1", "2026-04-11", "EFFECTIVE", "x"}}}
	if err := saveSource(store, src, &Layout{Kind: "xlsx", Sheet: "Hoja1"}, "/tmp/stored/input.xlsx", "resultados.xlsx"); err != nil {
		t.Fatal(err)
	}
	_, rows, err := readRows(t, store, Options{})
	if len(rows) != 1 || rows[0].Pos.Row != 2 {
		t.Errorf("rows before the failure: %+v", rows)
	}
	want := `resultados.xlsx, sheet "Hoja1", row 3: the file cannot be read further (damaged worksheet XML (unexpected EOF)); save it again from the spreadsheet program`
	if errText(err) != want {
		t.Errorf("the read ends with\n%v\nwant\n%s", err, want)
	}
}

// storeOf saves the store of the whole workbook at path in a new folder.
func storeOf(t *testing.T, path string, opts Options) string {
	t.Helper()
	src, l, err := openSource(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer src.close()
	store := filepath.Join(t.TempDir(), "rows")
	if err := saveSource(store, src, l, path, filepath.Base(path)); err != nil {
		t.Fatal(err)
	}
	return store
}

func TestOpenSavingClosedEarlyLeavesNoStore(t *testing.T) {
	// More rows than the reader reads ahead, so the workbook is not all read.
	big := workbook(t, func(f *excelize.File, s string) {
		sw, _ := f.NewStreamWriter(s)
		sw.SetRow("A1", []any{"provider_activity_id", "commerce_external_id", "occurred_at", "status", "result"})
		for i := 2; i <= 10000; i++ {
			cell, _ := excelize.CoordinatesToCellName(1, i)
			sw.SetRow(cell, []any{fmt.Sprintf("YOM-%d", i), "COM-1", "2026-04-11", "EFFECTIVE", "x"})
		}
		sw.Flush()
	})
	dir := t.TempDir()
	store := filepath.Join(dir, "rows")
	r, err := OpenSaving(big, Options{Name: "big.xlsx"}, store)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a read stopped half way left %v", entries)
	}
	if _, err := OpenSaving(filepath.Join(dir, "gone.xlsx"), Options{Name: "ido.xlsx"}, store); err == nil || !strings.Contains(err.Error(), "ido.xlsx does not exist") {
		t.Errorf("a missing file: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a file that cannot be opened left %v", entries)
	}
}

func TestRowStoreRefuses(t *testing.T) {
	store := storeOf(t, filepath.Join("..", "..", "samples", "resultados.xlsx"), Options{})
	if _, err := Open(store, Options{Sheet: "Otra"}); err == nil || !strings.Contains(err.Error(), `was stored from sheet "Resultados", not "Otra"`) {
		t.Errorf("another sheet than the stored one: %v", err)
	}
	data, err := os.ReadFile(store)
	if err != nil {
		t.Fatal(err)
	}
	for _, cut := range []int{len(storeMagic) + 3, len(data) / 2, len(data) - 1} {
		short := filepath.Join(t.TempDir(), "short")
		os.WriteFile(short, data[:cut], 0o600)
		_, _, err := readRows(t, short, Options{MappingFile: filepath.Join("..", "..", "samples", "mapping-es.txt")})
		if err == nil || !strings.Contains(err.Error(), "the row store of") || !strings.Contains(err.Error(), "is damaged") {
			t.Errorf("a store cut at byte %d of %d: %v", cut, len(data), err)
		}
	}
}

// Options.Name is what rows and messages call a file stored under another
// name.
func TestOpenNamesTheFileAsTold(t *testing.T) {
	path := writeFile(t, "input.csv", []byte(header+"\n,YOM-1,COM-1,2026-04-11,EFFECTIVE,x\n"))
	l, rows, err := readRows(t, path, Options{Name: "resultados abril.csv"})
	if err != nil || l.File != "resultados abril.csv" || rows[0].Pos.String() != "resultados abril.csv, row 2" {
		t.Errorf("layout %q, rows %+v, %v", l.File, rows, err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "input.csv"), Options{Name: "resultados abril.csv"}); err == nil || !strings.HasPrefix(err.Error(), "resultados abril.csv does not exist") {
		t.Errorf("a missing file: %v", err)
	}
	bad := writeFile(t, "input.csv", []byte("a,b\n1,2\n"))
	if _, err := Open(bad, Options{Name: "resultados abril.csv"}); err == nil || !strings.HasPrefix(err.Error(), "resultados abril.csv") || strings.Contains(err.Error(), bad) {
		t.Errorf("a file without the contract's columns: %v", err)
	}
}
