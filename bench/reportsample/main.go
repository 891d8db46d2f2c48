// Command reportsample writes the reports of a small made-up run of two input
// files (a Windows-1252 CSV and a workbook) with every outcome class, to look
// at them in a spreadsheet program:
//
//	go run ./bench/reportsample bench/out/sample
//	soffice --headless --convert-to pdf --outdir bench/out/sample bench/out/sample/report.xlsx
package main

import (
	"fmt"
	"log"
	"os"
	"time"

	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/outcome"

	"github.com/reten/reconcile/internal/reports"
)

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: reportsample DIR")
	}
	north := &importer.Layout{File: "samples/ventas-norte.csv", Kind: "csv", Delimiter: ';', Encoding: "windows-1252",
		Columns: []string{"Actividad", "Comercio", "Resultado", "Fecha", "Observaciones"}}
	south := &importer.Layout{File: "samples/ventas-sur.xlsx", Kind: "xlsx", Sheet: "Hoja1",
		Columns: []string{"Actividad", "Resultado", "Fecha", "Importe"}}
	start := time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC)
	w, err := reports.Create(os.Args[1], reports.RunInfo{Command: "run", Layouts: []*importer.Layout{north, south}, Started: start,
		BaseURL:  "https://sandbox.reten.example/",
		Settings: []reports.Setting{{Name: "concurrency", Value: "8"}, {Name: "rate", Value: "20/s"}, {Name: "on-conflict", Value: "skip"}}},
		reports.Options{XLSX: true, Rejects: true, Now: func() time.Time { return start.Add(83 * time.Second) }})
	if err != nil {
		log.Fatal(err)
	}
	classes := []outcome.Class{"ok", "ok", "ok", "ok", "overridden", "invalid", "ok", "rejected", "conflict", "ok", "failed", "skipped", "invalid"}
	for i := range 60 {
		c := classes[i%len(classes)]
		o := outcome.Outcome{Class: c, Attempts: 1, Duration: time.Duration(30+i*3) * time.Millisecond}
		if i%3 == 2 {
			o.Row = importer.Row{Layout: south, Pos: importer.Position{File: south.File, Sheet: south.Sheet, Row: i + 2},
				Cells: []string{fmt.Sprintf("A-%03d", i), "VISITA", "25/11/2026", "-12,50"}}
		} else {
			notes := "Señor Núñez, pedido entregado"
			if i == 4 {
				notes = `=HYPERLINK("http://example.com","clic")`
			}
			o.Row = importer.Row{Layout: north, Pos: importer.Position{File: north.File, Row: i + 2},
				Cells: []string{fmt.Sprintf("A-%03d", i), fmt.Sprintf("%07d", i*13), "LLAMADA", "24/11/2026", notes}}
		}
		switch c {
		case "ok", "overridden":
			o.HTTPStatus, o.ResultID = 201, fmt.Sprintf("res-%d", i)
		case "invalid":
			o.Attempts, o.Message = 0, "Fecha: 31/02/2026 is not a date (write dd/mm/yyyy)"
			if i%2 == 0 {
				o.Message = "Resultado: LLAMADA_X is not a result type of this tenant"
			}
		case "rejected":
			o.HTTPStatus, o.Error, o.Message = 404, "Not Found", "activity_id does not exist"
		case "conflict":
			o.HTTPStatus, o.Error, o.Message = 409, "Conflict", "Activity already has a result"
		case "failed":
			o.HTTPStatus, o.Error, o.Message, o.Attempts = 503, "Service Unavailable", "still failing after 4 attempts", 4
		case "skipped":
			o.Attempts, o.Message = 0, "already accepted in an earlier run"
		}
		if err := w.Write(o); err != nil {
			log.Fatal(err)
		}
	}
	s, err := w.Close(1)
	if err != nil {
		log.Fatal(err)
	}
	s.Print(os.Stdout, 80)
}
