package importer_test

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/reten/reconcile/bench/benchdata"
	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/validate"

	"github.com/reten/reconcile/internal/api"
	"github.com/xuri/excelize/v2"
)

// The benchmarks read one file, written once per machine, four ways: the bare library
// (encoding/csv's Read loop, excelize's Rows loop), the importer alone (every
// field's Value), the importer with Validator.Check per row, and with
// Validator.CheckAll, as validate does. bench/importer.sh runs the same comparison on 1,000,000 CSV and
// 200,000 XLSX rows with the peak RSS.

const (
	benchCSVRows  = 100_000
	benchXLSXRows = 10_000
)

// benchFile writes the input once per process into a shared temp folder.
func benchFile(b *testing.B, kind string, rows int) string {
	b.Helper()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("reconcile-bench-%d.%s", rows, kind))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	tmp := path + ".tmp." + kind // excelize picks the format by extension
	var err error
	if kind == "csv" {
		err = benchdata.WriteCSV(tmp, rows)
	} else {
		err = benchdata.WriteXLSX(tmp, rows)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		b.Fatal(err)
	}
	return path
}

var benchCatalogue = &validate.Catalogue{Configs: []api.ResultTypeConfig{
	{Code: "SALE_COMPLETED", Label: "Venta completada"},
	{Code: "NOT_INTERESTED", Label: "No interesado"},
	{Code: "RESCHEDULE", Label: "Reprogramar visita", RequiresFutureScheduledAt: true},
	{Code: "NO_CONTACT", Label: "Sin contacto"},
}}

// checkAll reads path with the importer and validate.Validator.CheckAll, as validate does.
func checkAll(b *testing.B, path string) int {
	r, err := importer.Open(path, importer.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	n := 0
	err = validate.NewValidator(benchCatalogue, nil).CheckAll(r, func(it validate.Item) error {
		if !it.Valid() {
			return fmt.Errorf("%s: %v", it.Row.Pos, it.Problems)
		}
		n++
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// readOurs reads path with the importer, validating each row when validate is set.
func readOurs(b *testing.B, path string, check bool) int {
	r, err := importer.Open(path, importer.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	v := validate.NewValidator(benchCatalogue, nil)
	n := 0
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			b.Fatal(err)
		}
		if check {
			if it := v.Check(row); !it.Valid() {
				b.Fatalf("%s: %v", row.Pos, it.Problems)
			}
		} else {
			for f := importer.Field(0); int(f) < importer.NumFields; f++ {
				if row.Value(f).Err != nil {
					b.Fatalf("%s: %v", row.Pos, row.Value(f).Err)
				}
			}
		}
		n++
	}
}

func bareCSV(b *testing.B, path string) int {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	n := -1
	for {
		_, err := r.Read()
		if err == io.EOF {
			return n
		}
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
}

func bareXLSX(b *testing.B, path string) int {
	f, err := excelize.OpenFile(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rows, err := f.Rows("Sheet1")
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	n := -1
	for rows.Next() {
		if _, err := rows.Columns(); err != nil {
			b.Fatal(err)
		}
		n++
	}
	return n
}

func runBench(b *testing.B, want int, read func() int) {
	b.ReportAllocs()
	for b.Loop() {
		if n := read(); n != want {
			b.Fatalf("read %d rows, want %d", n, want)
		}
	}
	b.ReportMetric(float64(want*b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkCSV(b *testing.B) {
	path := benchFile(b, "csv", benchCSVRows)
	b.Run("bare-encoding-csv", func(b *testing.B) { runBench(b, benchCSVRows, func() int { return bareCSV(b, path) }) })
	b.Run("importer", func(b *testing.B) { runBench(b, benchCSVRows, func() int { return readOurs(b, path, false) }) })
	b.Run("importer+validator", func(b *testing.B) { runBench(b, benchCSVRows, func() int { return readOurs(b, path, true) }) })
	b.Run("importer+CheckAll", func(b *testing.B) { runBench(b, benchCSVRows, func() int { return checkAll(b, path) }) })
}

func BenchmarkXLSX(b *testing.B) {
	path := benchFile(b, "xlsx", benchXLSXRows)
	b.Run("bare-excelize-rows", func(b *testing.B) { runBench(b, benchXLSXRows, func() int { return bareXLSX(b, path) }) })
	b.Run("importer", func(b *testing.B) { runBench(b, benchXLSXRows, func() int { return readOurs(b, path, false) }) })
	b.Run("importer+validator", func(b *testing.B) { runBench(b, benchXLSXRows, func() int { return readOurs(b, path, true) }) })
	b.Run("importer+CheckAll", func(b *testing.B) { runBench(b, benchXLSXRows, func() int { return checkAll(b, path) }) })
}
