// Command readbench reads one input file the way a mode says and prints rows,
// seconds and rows/s; bench/importer.sh runs it under /usr/bin/time -v for
// the peak RSS.
//
//	readbench -mode ours FILE   importer.Open + validate.Validator.CheckAll, as
//	                            `reconcile validate` runs it (rules on a second goroutine)
//	readbench -mode check FILE  importer.Open + Validator.Check per row, on one goroutine
//	readbench -mode read FILE   importer.Open + every field's Value, no validation
//	readbench -mode bare FILE   the bare library: encoding/csv Read loop, or
//	                            excelize Rows()/Columns() loop, doing nothing else
//
// -heap prints the live heap after a final collection (what the validator
// keeps), -cpuprofile and -memprofile write profiles for go tool pprof.
package main

import (
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/validate"

	"github.com/reten/reconcile/internal/api"
	"github.com/xuri/excelize/v2"
)

func main() {
	mode := flag.String("mode", "ours", "ours, check, read or bare")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile here")
	heap := flag.Bool("heap", false, "print the live heap at the end, after a collection")
	memprofile := flag.String("memprofile", "", "write an allocation profile here at the end")
	flag.Parse()
	if flag.NArg() != 1 {
		log.Fatal("usage: readbench [-mode ours|check|read|bare] [-heap] FILE")
	}
	path := flag.Arg(0)
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	var n, sent int
	var err error
	xlsx := strings.EqualFold(filepath.Ext(path), ".xlsx")
	switch {
	case *mode == "ours":
		n, sent, err = ours(path, "all")
	case *mode == "check":
		n, sent, err = ours(path, "check")
	case *mode == "read":
		n, sent, err = ours(path, "read")
	case *mode == "bare" && xlsx:
		n, err = bareXLSX(path)
	case *mode == "bare":
		n, err = bareCSV(path)
	default:
		log.Fatalf("unknown mode %q", *mode)
	}
	if err != nil {
		log.Fatal(err)
	}
	d := time.Since(start)
	var live string
	if *heap {
		// The heap still reachable at the end (the validator's memory of
		// the activities seen), after a collection; the peak RSS is this
		// plus the garbage GOGC lets accumulate between collections.
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		live = fmt.Sprintf(" live_heap_kb=%d", ms.HeapAlloc>>10)
		runtime.KeepAlive(keep)
	}
	if *memprofile != "" {
		f, err := os.Create(*memprofile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			log.Fatal(err)
		}
		f.Close()
	}
	fmt.Printf("mode=%s file=%s rows=%d valid=%d seconds=%.3f rows_per_s=%.0f%s\n", *mode, filepath.Base(path), n, sent, d.Seconds(), float64(n)/d.Seconds(), live)
}

// keep holds the validator until the live heap is measured.
var keep any

func ours(path, how string) (rows, valid int, err error) {
	r, err := importer.Open(path, importer.Options{})
	if err != nil {
		return 0, 0, err
	}
	defer r.Close()
	cat := &validate.Catalogue{Configs: []api.ResultTypeConfig{
		{Code: "SALE_COMPLETED", Label: "Venta completada"},
		{Code: "NOT_INTERESTED", Label: "No interesado"},
		{Code: "RESCHEDULE", Label: "Reprogramar visita", RequiresFutureScheduledAt: true},
		{Code: "NO_CONTACT", Label: "Sin contacto"},
	}}
	v := validate.NewValidator(cat, nil)
	keep = v
	if how == "all" {
		v.ReuseRequests = true // as validate sets it
		err := v.CheckAll(r, func(it validate.Item) error {
			rows++
			if it.Valid() {
				valid++
			}
			return nil
		})
		return rows, valid, err
	}
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return rows, valid, nil
		}
		if err != nil {
			return rows, valid, err
		}
		rows++
		if how == "read" {
			// Read every field as the validator would, without its rules.
			var vals [importer.NumFields]importer.Value
			row.Values(&vals)
			for _, v := range vals {
				if v.Err == nil {
					valid++
				}
			}
			continue
		}
		if it := v.Check(row); it.Valid() {
			valid++
		}
	}
}

func bareCSV(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	n := -1 // the header is not a data row
	for {
		_, err := r.Read()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

func bareXLSX(path string) (int, error) {
	f, err := excelize.OpenFile(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	rows, err := f.Rows(f.GetSheetList()[0])
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := -1
	for rows.Next() {
		if _, err := rows.Columns(); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Error()
}
