package reports

import (
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/outcome"
)

// benchOutcomes cycles through a pool of realistic outcomes: a Spanish back
// office export, mostly ok, with every problem class, so the bench exercises
// every report, including the Windows-1252 rejects.
type benchOutcomes struct {
	layout *importer.Layout
	pool   []outcome.Outcome
}

func newBenchOutcomes() *benchOutcomes {
	l := &importer.Layout{File: "export.csv", Kind: "csv", Delimiter: ';', Encoding: "windows-1252",
		Columns: []string{"Actividad", "Comercio", "Resultado", "Estado", "Fecha", "Contacto", "Próxima visita", "Observaciones"}}
	b := &benchOutcomes{layout: l}
	classes := []outcome.Class{outcome.ClassOK, outcome.ClassOK, outcome.ClassOK, outcome.ClassOK, outcome.ClassOK,
		outcome.ClassOK, outcome.ClassOverridden, outcome.ClassInvalid, outcome.ClassRejected, outcome.ClassConflict,
		outcome.ClassFailed, outcome.ClassSkipped}
	for i := range 1000 {
		c := classes[i%len(classes)]
		o := outcome.Outcome{
			Row: importer.Row{Layout: l, Cells: []string{
				fmt.Sprintf("ACT-%06d", i), fmt.Sprintf("00%05d", i*7), "VISITA_OK", "EFFECTIVE",
				"25/11/2026 10:30", "OUTBOUND", "", fmt.Sprintf("Cliente satisfecho, pedido nº %d para José Núñez", i),
			}},
			Class: c, Attempts: 1, Duration: time.Duration(40+i%200) * time.Millisecond,
		}
		switch c {
		case outcome.ClassOK, outcome.ClassOverridden:
			o.HTTPStatus, o.ResultID = 201, fmt.Sprintf("res-%08d", i)
		case outcome.ClassInvalid:
			o.Attempts, o.Message = 0, fmt.Sprintf("Fecha: %d/13/2026 is not a date (dd/mm/yyyy)", i%28+1)
		case outcome.ClassRejected:
			o.HTTPStatus, o.Error, o.Message = 404, "Not Found", "activity_id does not exist in the tenant"
		case outcome.ClassConflict:
			o.HTTPStatus, o.Error, o.Message = 409, "Conflict", "Activity already has a result"
		case outcome.ClassFailed:
			o.HTTPStatus, o.Error, o.Message, o.Attempts = 503, "Service Unavailable", "still failing after 4 attempts", 4
		case outcome.ClassSkipped:
			o.Attempts, o.Message = 0, "already accepted in an earlier run"
		}
		b.pool = append(b.pool, o)
	}
	return b
}

func (b *benchOutcomes) get(n int) outcome.Outcome {
	o := b.pool[n%len(b.pool)]
	o.Row.Pos = importer.Position{File: b.layout.File, Row: n + 2}
	return o
}

// BenchmarkReports writes every report for 20,000 and 200,000 rows. Each op is
// one whole run; rows/s is the throughput and peak-heap-MB the largest live
// heap seen while writing (sampled every 10,000 rows), which stays flat as the
// row count grows tenfold.
//
//	go test -run '^$' -bench Reports -benchmem -benchtime 1x ./internal/reports
func BenchmarkReports(b *testing.B) {
	for _, rows := range []int{20_000, 200_000} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			gen := newBenchOutcomes()
			info := RunInfo{Command: "run", Layouts: []*importer.Layout{gen.layout}, Started: time.Now()}
			var peak uint64
			var ms runtime.MemStats
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				dir := filepath.Join(b.TempDir(), "r")
				w, err := Create(dir, info, Options{XLSX: true, Rejects: true})
				if err != nil {
					b.Fatal(err)
				}
				for n := range rows {
					if err := w.Write(gen.get(n)); err != nil {
						b.Fatal(err)
					}
					if n%10_000 == 0 {
						runtime.ReadMemStats(&ms)
						peak = max(peak, ms.HeapInuse)
					}
				}
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
				if _, err := w.Close(1); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		})
	}
}
