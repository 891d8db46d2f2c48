// Command reportsmem writes every report for a given number of synthetic rows
// and prints the throughput, so bench/reports-mem.sh can measure its peak
// memory with /usr/bin/time -v at different row counts.
package main

import (
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"time"

	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/outcome"

	"github.com/reten/reconcile/internal/reports"
)

func main() {
	rows := flag.Int("rows", 200_000, "rows to write")
	dir := flag.String("dir", "", "report folder (must not hold a report yet)")
	window := flag.Int("window", 512, "rows finish out of order within windows of this many, as concurrent requests and retries make them; 1 keeps input order")
	flag.Parse()
	if *dir == "" {
		log.Fatal("reportsmem: give -dir")
	}
	l := &importer.Layout{File: "export.csv", Kind: "csv", Delimiter: ';', Encoding: "windows-1252",
		Columns: []string{"Actividad", "Comercio", "Resultado", "Estado", "Fecha", "Contacto", "Próxima visita", "Observaciones"}}
	classes := []outcome.Class{outcome.ClassOK, outcome.ClassOK, outcome.ClassOK, outcome.ClassOK, outcome.ClassOK,
		outcome.ClassOK, outcome.ClassOverridden, outcome.ClassInvalid, outcome.ClassRejected, outcome.ClassConflict,
		outcome.ClassFailed, outcome.ClassSkipped}
	start := time.Now()
	w, err := reports.Create(*dir, reports.RunInfo{Command: "run", Layouts: []*importer.Layout{l}, Started: start},
		reports.Options{XLSX: true, Rejects: true})
	if err != nil {
		log.Fatal(err)
	}
	// Rows finish in a shuffled order within each window, so that the
	// reports must put them back in input order.
	order := make([]int, 0, *window)
	rng := rand.New(rand.NewPCG(1, 2))
	for first := 0; first < *rows; first += *window {
		order = order[:0]
		for n := first; n < min(first+*window, *rows); n++ {
			order = append(order, n)
		}
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, n := range order {
			if err := w.Write(outcomeOf(l, classes, n)); err != nil {
				log.Fatal(err)
			}
		}
	}
	s, err := w.Close(1)
	if err != nil {
		log.Fatal(err)
	}
	el := time.Since(start)
	fmt.Fprintf(os.Stdout, "%d rows in %s: %.0f rows/s\n", s.Total, el.Round(time.Millisecond), float64(s.Total)/el.Seconds())
}

func outcomeOf(l *importer.Layout, classes []outcome.Class, n int) outcome.Outcome {
	c := classes[n%len(classes)]
	o := outcome.Outcome{
		Row: importer.Row{Layout: l, Pos: importer.Position{File: l.File, Row: n + 2}, Cells: []string{
			fmt.Sprintf("ACT-%06d", n), fmt.Sprintf("00%05d", n%100000), "VISITA_OK", "EFFECTIVE",
			"25/11/2026 10:30", "OUTBOUND", "", fmt.Sprintf("Cliente satisfecho, pedido nº %d para José Núñez", n),
		}},
		Class: c, Attempts: 1, Duration: time.Duration(40+n%200) * time.Millisecond,
	}
	if c.NeedsPerson() {
		o.HTTPStatus, o.Error, o.Message = 404, "Not Found", fmt.Sprintf("activity ACT-%06d does not exist", n%5000)
	}
	return o
}
