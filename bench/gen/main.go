// Command gen writes large input files for the importer benchmark:
//
//	go run ./bench/gen -rows 1000000 -csv bench/out/1m.csv
//	go run ./bench/gen -rows 200000 -xlsx bench/out/200k.xlsx
//
// The rows are those of package benchdata.
package main

import (
	"flag"
	"log"

	"github.com/reten/reconcile/bench/benchdata"
)

func main() {
	rows := flag.Int("rows", 100000, "data rows to write")
	csvPath := flag.String("csv", "", "write a CSV file here")
	xlsxPath := flag.String("xlsx", "", "write an XLSX file here")
	flag.Parse()
	if *csvPath != "" {
		if err := benchdata.WriteCSV(*csvPath, *rows); err != nil {
			log.Fatal(err)
		}
	}
	if *xlsxPath != "" {
		if err := benchdata.WriteXLSX(*xlsxPath, *rows); err != nil {
			log.Fatal(err)
		}
	}
}
