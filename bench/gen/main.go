// Command gen writes large input files for the importer benchmark:
//
//	go run ./bench/gen -rows 1000000 -csv bench/out/1m.csv
//	go run ./bench/gen -rows 200000 -xlsx bench/out/200k.xlsx
//
// Rows look like a real export: distinct activities, ISO dates in the CSV
// and date cells in the workbook, a label or a code as result, a comment.
package main

import (
	"bufio"
	"encoding/csv"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/xuri/excelize/v2"
)

var header = []string{"activity_id", "provider_activity_id", "commerce_external_id", "occurred_at", "status",
	"result", "comment", "contact_type", "operator_external_id", "future_scheduled_at", "hard_override"}

var results = []string{"SALE_COMPLETED", "No interesado", "RESCHEDULE", "NO_CONTACT"}
var statuses = []string{"EFFECTIVE", "NOT_EFFECTIVE", "PENDING"}

func uuid(i int) string {
	return fmt.Sprintf("%08x-%04x-5%03x-a%03x-%012x", uint32(i)*2654435761, i&0xffff, i&0xfff, (i>>12)&0xfff, i)
}

var base = time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)

// row returns row i's cells; dates as time.Time so each writer renders its own kind.
func row(i int) []any {
	res := results[i%len(results)]
	var future any = ""
	if res == "RESCHEDULE" {
		future = base.AddDate(5, 0, i%300)
	}
	return []any{uuid(i), fmt.Sprintf("YOM-%07d", i), fmt.Sprintf("COM-%04d", i%5000),
		base.Add(time.Duration(i) * time.Minute), statuses[i%len(statuses)], res,
		fmt.Sprintf("visit %d, customer asked for a call", i), []string{"INBOUND", "OUTBOUND", ""}[i%3],
		fmt.Sprintf("OP-%03d", i%200), future, []string{"", "false", "true"}[i%3]}
}

func main() {
	rows := flag.Int("rows", 100000, "data rows to write")
	csvPath := flag.String("csv", "", "write a CSV file here")
	xlsxPath := flag.String("xlsx", "", "write an XLSX file here")
	flag.Parse()
	if *csvPath != "" {
		if err := writeCSV(*csvPath, *rows); err != nil {
			log.Fatal(err)
		}
	}
	if *xlsxPath != "" {
		if err := writeXLSX(*xlsxPath, *rows); err != nil {
			log.Fatal(err)
		}
	}
}

func writeCSV(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := csv.NewWriter(bw)
	w.Write(header)
	cells := make([]string, len(header))
	for i := 1; i <= n; i++ {
		for j, v := range row(i) {
			switch x := v.(type) {
			case time.Time:
				cells[j] = x.Format("2006-01-02T15:04:05.000Z")
			default:
				cells[j] = x.(string)
			}
		}
		w.Write(cells)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func writeXLSX(path string, n int) error {
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		return err
	}
	code := "dd/mm/yyyy hh:mm"
	dateStyle, err := f.NewStyle(&excelize.Style{CustomNumFmt: &code})
	if err != nil {
		return err
	}
	hdr := make([]any, len(header))
	for i, h := range header {
		hdr[i] = h
	}
	if err := sw.SetRow("A1", hdr); err != nil {
		return err
	}
	for i := 1; i <= n; i++ {
		cells := row(i)
		for j, v := range cells {
			if t, ok := v.(time.Time); ok {
				cells[j] = excelize.Cell{StyleID: dateStyle, Value: t}
			}
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := sw.SetRow(cell, cells); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return f.SaveAs(path)
}
