// Package benchdata makes large input files for the importer's benchmarks
// (bench/gen and the importer's go test -bench): rows that look like a real
// export, with distinct activities, ISO dates in CSV and date cells in XLSX, a
// label or a code as result, and a comment.
package benchdata

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"os"
	"time"

	"github.com/xuri/excelize/v2"
)

// Header is the files' header row: the contract's field names.
var Header = []string{"activity_id", "provider_activity_id", "commerce_external_id", "occurred_at", "status",
	"result", "comment", "contact_type", "operator_external_id", "future_scheduled_at", "hard_override"}

var results = []string{"SALE_COMPLETED", "No interesado", "RESCHEDULE", "NO_CONTACT"}
var statuses = []string{"EFFECTIVE", "NOT_EFFECTIVE", "PENDING"}

func uuid(i int) string {
	return fmt.Sprintf("%08x-%04x-5%03x-a%03x-%012x", uint32(i)*2654435761, i&0xffff, i&0xfff, (i>>12)&0xfff, i)
}

var base = time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)

// Row returns row i's cells; dates as time.Time so each writer renders its own kind.
func Row(i int) []any {
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

// WriteCSV writes a CSV file of n data rows with ISO 8601 dates.
func WriteCSV(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := csv.NewWriter(bw)
	w.Write(Header)
	cells := make([]string, len(Header))
	for i := 1; i <= n; i++ {
		for j, v := range Row(i) {
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

// WriteXLSX writes a workbook of n data rows with real date cells.
func WriteXLSX(path string, n int) error {
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
	hdr := make([]any, len(Header))
	for i, h := range Header {
		hdr[i] = h
	}
	if err := sw.SetRow("A1", hdr); err != nil {
		return err
	}
	for i := 1; i <= n; i++ {
		cells := Row(i)
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
