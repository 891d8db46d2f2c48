package importer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

const rowCountHeader = "provider_activity_id,commerce_external_id,occurred_at,status,result"

func TestExpectedRows(t *testing.T) {
	row := "YOM-1,COM-1,2026-04-11T10:30:00Z,EFFECTIVE,SALE_COMPLETED"
	for _, tc := range []struct {
		name, text string
		want       int
	}{
		{"lf", rowCountHeader + "\n" + strings.Repeat(row+"\n", 5), 5},
		{"crlf", rowCountHeader + "\r\n" + strings.Repeat(row+"\r\n", 5), 5},
		{"lone cr", rowCountHeader + "\r" + strings.Repeat(row+"\r", 5), 5},
		{"no final line break", rowCountHeader + "\n" + strings.Repeat(row+"\n", 4) + row, 5},
		{"header only", rowCountHeader + "\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "in.csv")
			if err := os.WriteFile(path, []byte(tc.text), 0o600); err != nil {
				t.Fatal(err)
			}
			r, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if got := r.ExpectedRows(); got != tc.want {
				t.Errorf("ExpectedRows = %d, want %d", got, tc.want)
			}
			// Counting does not move the reader: every row is still read.
			n := 0
			for {
				if _, err := r.Next(); err != nil {
					break
				}
				n++
			}
			if n != tc.want {
				t.Errorf("read %d rows after counting, want %d", n, tc.want)
			}
		})
	}

	// A workbook: its sheet's dimension, less the header and the rows above it.
	path := workbook(t, func(f *excelize.File, s string) {
		f.SetCellValue(s, "A1", "Resultados de abril") // a title row
		for i, h := range strings.Split(rowCountHeader, ",") {
			c, _ := excelize.CoordinatesToCellName(i+1, 2)
			f.SetCellValue(s, c, h)
		}
		// As Excel and LibreOffice write it; excelize leaves "A1".
		f.SetSheetDimension(s, "A1:E9")
		for r := 3; r <= 9; r++ {
			for i, v := range strings.Split(row, ",") {
				c, _ := excelize.CoordinatesToCellName(i+1, r)
				f.SetCellValue(s, c, v)
			}
		}
	})
	r, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := r.ExpectedRows(); got != 7 {
		t.Errorf("workbook ExpectedRows = %d, want 7", got)
	}
	// A dimension of one cell says nothing: not known.
	one := workbook(t, func(f *excelize.File, s string) {
		for i, h := range strings.Split(rowCountHeader, ",") {
			c, _ := excelize.CoordinatesToCellName(i+1, 1)
			f.SetCellValue(s, c, h)
		}
		f.SetCellValue(s, "A2", "YOM-1")
	})
	r2, err := Open(one, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if got := r2.ExpectedRows(); got != 0 {
		t.Errorf("ExpectedRows of a sheet whose dimension is A1 = %d, want 0", got)
	}
}

// BenchmarkExpectedRows: the cost of counting a CSV file's rows before a
// run, against reading them (go test -bench ExpectedRows -benchtime 3x).
func BenchmarkExpectedRows(b *testing.B) {
	const rows = 200_000
	row := "8a2da0ef-e94a-5f98-ad28-4741ec9a5245,COM-000123,2026-04-11T10:30:00Z,EFFECTIVE,SALE_COMPLETED\n"
	path := filepath.Join(b.TempDir(), "in.csv")
	if err := os.WriteFile(path, []byte(rowCountHeader+"\n"+strings.Repeat(row, rows)), 0o600); err != nil {
		b.Fatal(err)
	}
	b.Run("count", func(b *testing.B) {
		for b.Loop() {
			r, err := Open(path, Options{})
			if err != nil {
				b.Fatal(err)
			}
			if n := r.ExpectedRows(); n != rows {
				b.Fatalf("counted %d", n)
			}
			r.Close()
		}
	})
	b.Run("read", func(b *testing.B) {
		for b.Loop() {
			r, err := Open(path, Options{})
			if err != nil {
				b.Fatal(err)
			}
			for {
				if _, err := r.Next(); err != nil {
					break
				}
			}
			r.Close()
		}
	})
}
