package reports

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/outcome"
)

// Outcomes that arrive shuffled (concurrency, retries, a 5xx wave) come out
// of every report in input order: the files as listed, then their rows; in
// memory, and with the rows written out to the order file in runs of a few
// rows that are merged back.
func TestReportsKeepInputOrder(t *testing.T) {
	for _, limit := range []int{orderBytes, 1 << 10, 1} {
		t.Run(fmt.Sprintf("orderBytes=%d", limit), func(t *testing.T) {
			saved := orderBytes
			orderBytes = limit
			t.Cleanup(func() { orderBytes = saved })

			a := csvLayout("norte.csv", "Actividad", "Notas")
			b := xlsxLayout("sur.xlsx", "Hoja1", "Actividad", "Notas")
			classes := []outcome.Class{outcome.ClassOK, outcome.ClassFailed, outcome.ClassInvalid, outcome.ClassSkipped, outcome.ClassConflict}
			var want []outcome.Outcome
			for _, l := range []*importer.Layout{a, b} {
				for n := 2; n < 302; n++ {
					if n%7 == 0 {
						continue // rows the importer skipped (blank): numbers have gaps
					}
					c := classes[n%len(classes)]
					want = append(want, outcome.Outcome{Row: row(l, n, fmt.Sprintf("%s-%d", l.File, n), "nota"),
						Class: c, Message: "m " + strconv.Itoa(n), Attempts: n % 4})
				}
			}
			outs := slices.Clone(want)
			rng := rand.New(rand.NewPCG(1, 2))
			rng.Shuffle(len(outs), func(i, j int) { outs[i], outs[j] = outs[j], outs[i] })

			dir := t.TempDir()
			spills := t.TempDir()
			run(t, dir, RunInfo{Command: "run", Layouts: []*importer.Layout{a, b}},
				Options{XLSX: true, Rejects: true, SpillDir: spills}, outs, 1)

			wantKeys := func(keep func(outcome.Class) bool) []string {
				var keys []string
				for _, o := range want {
					if keep(o.Class) {
						keys = append(keys, o.Row.Cells[0])
					}
				}
				return keys
			}
			all := wantKeys(func(outcome.Class) bool { return true })

			recs := readCSV(t, filepath.Join(dir, CSVName), ',')
			act := col(recs[0], "Actividad")
			var got []string
			for _, r := range recs[1:] {
				got = append(got, r[act])
			}
			if !slices.Equal(got, all) {
				t.Errorf("report.csv is not in input order:\n got %q\nwant %q", head(got), head(all))
			}

			f := openXLSX(t, filepath.Join(dir, XLSXName))
			rows, err := f.GetRows(RowsSheet)
			if err != nil {
				t.Fatal(err)
			}
			got = got[:0]
			for _, r := range rows[1:] {
				got = append(got, r[act])
			}
			if !slices.Equal(got, all) {
				t.Errorf("the Rows sheet is not in input order:\n got %q\nwant %q", head(got), head(all))
			}

			needs := func(l *importer.Layout) []string {
				var keys []string
				for _, o := range want {
					if o.Row.Layout == l && o.Class.NeedsPerson() {
						keys = append(keys, o.Row.Cells[0])
					}
				}
				return keys
			}
			rej := readCSV(t, filepath.Join(dir, "rejects-norte.csv"), ';')
			got = got[:0]
			for _, r := range rej[1:] {
				got = append(got, r[0])
			}
			if w := needs(a); !slices.Equal(got, w) {
				t.Errorf("rejects-norte.csv is not in input order:\n got %q\nwant %q", head(got), head(w))
			}
			rx := openXLSX(t, filepath.Join(dir, "rejects-sur.xlsx"))
			xrows, err := rx.GetRows("Hoja1")
			if err != nil {
				t.Fatal(err)
			}
			got = got[:0]
			for _, r := range xrows[1:] {
				got = append(got, r[0])
			}
			if w := needs(b); !slices.Equal(got, w) {
				t.Errorf("rejects-sur.xlsx is not in input order:\n got %q\nwant %q", head(got), head(w))
			}

			if left, _ := os.ReadDir(spills); len(left) != 0 {
				t.Errorf("the spill folder holds %d files after Close", len(left))
			}
		})
	}
}

// An outcome read back from the order file is the one written, field for
// field.
func TestOrderRecordRoundTrip(t *testing.T) {
	l := xlsxLayout("sur.xlsx", "Hoja1", "Actividad", "Notas")
	o := outcome.Outcome{Row: row(l, 12, "A-1", "línea 1\nlínea 2"), Class: outcome.ClassFailed, HTTPStatus: 503,
		Error: "Service Unavailable", Message: "still failing", Code: outcome.Code("api_503"), Attempts: 4, Duration: 1234567, ResultID: "r-1"}
	r := rowOrder{layouts: []*importer.Layout{csvLayout("norte.csv"), l}}
	b := appendOutcome(nil, orderKey{layout: 2, row: 12, seq: 9}, &o)
	var got outcome.Outcome
	if err := r.decode(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Row.Layout != l || got.Row.Pos != o.Row.Pos || !slices.Equal(got.Row.Cells, o.Row.Cells) ||
		got.Class != o.Class || got.HTTPStatus != o.HTTPStatus || got.Error != o.Error || got.Message != o.Message || got.Code != o.Code ||
		got.Attempts != o.Attempts || got.Duration != o.Duration || got.ResultID != o.ResultID {
		t.Errorf("read back %+v\nwant %+v", got, o)
	}
	for n := range len(b) {
		if err := r.decode(b[:n], &got); err == nil {
			t.Errorf("a record cut to %d of %d bytes reads back", n, len(b))
		}
	}
}

func head(s []string) []string { return s[:min(len(s), 8)] }
