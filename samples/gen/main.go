// Command gen writes the sample input files (results.csv, resultados.csv,
// resultados.xlsx) from the demo tenant's activities, so they can be rebuilt
// byte for byte (the workbook up to its zip timestamps):
//
//	go run ./samples/gen
//
// Activities 1-54 have no result yet and are used for rows meant to be
// accepted; 55-60 already have one and give the 409 cases. Each file uses its
// own activities, so running all three together has exactly one duplicate,
// the deliberate one in results.csv.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/reten/reconcile/internal/reports"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"
)

type activity struct {
	ID         string `json:"id"`
	ProviderID string `json:"provider_activity_id"`
	Commerce   string `json:"commerce_external_id"`
}

var acts []activity

func id(n int) string  { return acts[n-1].ID }
func pid(n int) string { return acts[n-1].ProviderID }
func com(n int) string { return acts[n-1].Commerce }

func main() {
	dir := flag.String("dir", "samples", "folder holding tenant.json, where the samples are written")
	flag.Parse()
	data, err := os.ReadFile(filepath.Join(*dir, "tenant.json"))
	if err != nil {
		log.Fatal(err)
	}
	var tenant struct {
		Activities []activity `json:"activities"`
	}
	if err := json.Unmarshal(data, &tenant); err != nil {
		log.Fatal(err)
	}
	acts = tenant.Activities
	if len(acts) < 60 {
		log.Fatalf("tenant.json has %d activities; the samples need 60", len(acts))
	}
	write(filepath.Join(*dir, "results.csv"), resultsCSV())
	win, err := charmap.Windows1252.NewEncoder().Bytes(resultadosCSV())
	if err != nil {
		log.Fatal(err)
	}
	write(filepath.Join(*dir, "resultados.csv"), win)
	if err := resultadosXLSX(filepath.Join(*dir, "resultados.xlsx")); err != nil {
		log.Fatal(err)
	}
}

func write(path string, data []byte) {
	if err := os.WriteFile(path, data, 0o644); err != nil {
		log.Fatal(err)
	}
}

// csvLine quotes cells the way Excel does: only when needed.
func csvLine(sep string, eol string, cells ...string) string {
	q := make([]string, len(cells))
	for i, c := range cells {
		if strings.ContainsAny(c, sep+"\"\r\n") {
			c = `"` + strings.ReplaceAll(c, `"`, `""`) + `"`
		}
		q[i] = c
	}
	return strings.Join(q, sep) + eol
}

// resultsCSV is an English export: contract headers, commas, UTF-8, LF,
// ISO 8601 dates, an extra "region" column the importer keeps.
func resultsCSV() []byte {
	var b bytes.Buffer
	line := func(cells ...string) { b.WriteString(csvLine(",", "\n", cells...)) }
	line("activity_id", "provider_activity_id", "commerce_external_id", "occurred_at", "status", "external_status",
		"hard_override", "raw_payload", "task_result.result", "comment", "contact_type", "operator_external_id",
		"future_scheduled_at", "payload", "region")
	// Rows meant to be accepted.
	line(id(1), "", com(1), "2026-04-11T10:30:00.000Z", "EFFECTIVE", "closed", "", "", "SALE_COMPLETED", "Order of 120 boxes", "INBOUND", "OP-17", "", "", "north")
	line("", pid(2), com(2), "2026-04-11T11:05:00-04:00", "not_effective", "", "", "", "No interesado", "", "outbound", "OP-17", "", "", "north")
	line(id(3), pid(3), com(3), "2026-04-11 12:00", "PENDING", "", "", "", "RESCHEDULE", "call back next year", "OUTBOUND", "OP-02", "2031-01-15T09:00:00Z", "", "south")
	line(id(4), "", com(4), "2026-04-12T09:00:00Z", "EFFECTIVE", "", "true", `{"source": "crm", "ticket": 4411}`, "SALE_COMPLETED", "", "", "", "", `{"amount": 120.5}`, "south")
	line("", pid(5), com(5), "2026-04-12T09:30:00Z", "NOT_EFFECTIVE", "", "no", "", "NO_CONTACT", "Called twice, no answer\nleft a message", "OUTBOUND", "OP-02", "", "", "east")
	line(id(6), "", com(6), "2026-04-12", "effective", "", "", "", "sale_completed", "", "", "", "", "", "east")
	// Rows that break one rule each.
	line("12345", "", com(7), "2026-04-12T10:00:00Z", "EFFECTIVE", "", "", "", "SALE_COMPLETED", "", "", "", "", "", "")
	line("", "", com(8), "2026-04-12T10:00:00Z", "EFFECTIVE", "", "", "", "SALE_COMPLETED", "", "", "", "", "", "")
	line(id(9), "", "", "2026-04-12T10:00:00Z", "EFFECTIVE", "", "", "", "SALE_COMPLETED", "", "", "", "", "", "")
	line(id(10), "", com(10), "2026-04-12T10:00:00Z", "DONE", "", "", "", "SALE_COMPLETED", "", "", "", "", "", "")
	line(id(11), "", com(11), "2026-04-12T10:00:00Z", "EFFECTIVE", "", "", "", "CALLBACK_LATER", "", "", "", "", "", "")
	line(id(12), "", com(12), "2026-04-12T10:00:00Z", "PENDING", "", "", "", "RESCHEDULE", "", "", "", "", "", "")
	line(id(13), "", com(13), "2026-04-12T10:00:00Z", "PENDING", "", "", "", "RESCHEDULE", "", "", "", "2020-01-01T00:00:00Z", "", "")
	line(id(14), "", com(14), "2026-04-12T10:00:00Z", "EFFECTIVE", "", "", "", "SALE_COMPLETED", "", "", "", "2031-01-15T09:00:00Z", "", "")
	line(id(15), "", com(15), "2026-04-12T10:00:00Z", "EFFECTIVE", "", "", "", "SALE_COMPLETED", "", "EMAIL", "", "", "", "")
	line(id(16), "", com(16), "yesterday", "EFFECTIVE", "", "", "", "SALE_COMPLETED", "", "", "", "", "", "")
	line(id(17), "", "", "", "", "", "", "", "", "", "", "", "", "", "")
	// Several problems in one row: every one is reported.
	line(id(18), "", com(18), "2026-04-12T10:00:00Z", "EFFECTIVE", "", "maybe", "[1, 2]", "SALE_COMPLETED", "", "", "", "", "{bad json", "")
	b.WriteString("\n") // a blank line, skipped but counted as a row
	// The deliberate duplicate: activity 1 again, skipped in favour of the first row.
	line(id(1), "", com(1), "2026-04-11T10:45:00Z", "NOT_EFFECTIVE", "", "", "", "NOT_INTERESTED", "second call", "", "", "", "", "north")
	// Activities that already have a result: valid offline, 409 when sent.
	line(id(55), "", com(55), "2026-04-13T08:00:00Z", "EFFECTIVE", "", "", "", "SALE_COMPLETED", "", "", "", "", "", "west")
	line("", pid(56), com(56), "2026-04-13T08:10:00Z", "NOT_EFFECTIVE", "", "", "", "NOT_INTERESTED", "", "", "", "", "", "west")
	return b.Bytes()
}

// resultadosCSV is a Spanish back-office export: ";" separators, CRLF,
// Windows-1252 accents, dd/mm/yyyy dates (read with --date-format
// "02/01/2006 15:04"), Spanish headers (samples/mapping-es.txt), and the
// reason column of a rejects file that was fixed and uploaded again.
func resultadosCSV() []byte {
	var b bytes.Buffer
	line := func(cells ...string) { b.WriteString(csvLine(";", "\r\n", cells...)) }
	line("ID Actividad", "ID Proveedor", "Comercio", "Fecha gestión", "Estado", "Resultado", "Comentario",
		"Tipo contacto", "Operador", "Fecha reprogramación", "Forzar", "Observaciones", reports.RejectsErrorColumn)
	line(id(19), "", com(19), "11/04/2026 10:30", "EFFECTIVE", "Venta completada", "Cliente pidió más café", "INBOUND", "OP-05", "", "sí", "", "")
	line("", pid(20), com(20), "11/04/2026 11:00", "not effective", "No interesado", "", "outbound", "OP-05", "", "no", "", "")
	line(id(21), "", com(21), "11/04/2026 12:15", "PENDING", "Reprogramar visita", "Volver en enero", "", "OP-06", "15/01/2031 09:00", "", "", "")
	line(id(22), "", com(22), "12/04/2026", "NOT_EFFECTIVE", "Sin contacto", "", "", "OP-06", "", "", "", "")
	line(id(23), "", com(23), "12/04/2026 09:45", "effective", "venta completada", "", "inbound", "", "", "", "", "")
	line(id(24), "", com(24), "12/04/2026 10:05", "EFFECTIVE", "Venta completada", "Pagó; pidió factura", "", "", "", "", "", "")
	line(id(25), "", com(25), "2026-04-13T08:15:00Z", "EFFECTIVE", "VENTA COMPLETADA", "", "", "", "", "", "", "occurred_at: was empty")
	line(id(26), "", "1.23457E+11", "12/04/2026 10:10", "EFFECTIVE", "Venta completada", "", "", "", "", "", "", "")
	line(id(27), "", com(27), "2026/04/12", "EFFECTIVE", "Venta completada", "", "", "", "", "", "", "")
	line(id(28), "", com(28), "12/04/2026 10:20", "PENDING", "Reprogramar", "", "", "", "", "", "", "")
	line(id(29), "", com(29), "12/04/2026 10:25", "PENDING", "Reprogramar visita", "", "", "", "01/01/2020 10:00", "", "", "")
	line(id(30), "", com(30), "12/04/2026 10:30", "EFFECTIVE", "Venta completada", "", "", "", "", "quizás", "", "")
	line(id(31), "", com(31), "12/04/2026 10:35", "", "", "", "", "", "", "", "sin datos", "")
	line(id(57), "", com(57), "13/04/2026 08:00", "EFFECTIVE", "Venta completada", "", "", "", "", "", "", "")
	line("", pid(58), com(58), "13/04/2026 08:05", "NOT_EFFECTIVE", "Sin contacto", "", "", "", "", "", "", "")
	return b.Bytes()
}

// resultadosXLSX is a Spanish workbook: a title row above the header, real
// date cells, a boolean cell, a number cell, and commerce ids stored as
// numbers with a 0000000 format (so the leading zeros show, as in Excel).
func resultadosXLSX(path string) error {
	f := excelize.NewFile()
	defer f.Close()
	const sheet = "Resultados"
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	dateTime := "dd/mm/yyyy hh:mm"
	dateOnly := "dd/mm/yyyy"
	padded := "0000000"
	dtStyle, err := f.NewStyle(&excelize.Style{CustomNumFmt: &dateTime})
	if err != nil {
		return err
	}
	dStyle, err := f.NewStyle(&excelize.Style{CustomNumFmt: &dateOnly})
	if err != nil {
		return err
	}
	idStyle, err := f.NewStyle(&excelize.Style{CustomNumFmt: &padded})
	if err != nil {
		return err
	}
	set := func(cell string, v any, style int) {
		if err == nil {
			err = f.SetCellValue(sheet, cell, v)
		}
		if err == nil && style != 0 {
			err = f.SetCellStyle(sheet, cell, cell, style)
		}
	}
	set("A1", "Resultados de gestión — abril 2026", 0)
	header := []string{"ID Actividad", "ID Proveedor", "Comercio", "Fecha gestión", "Estado", "Resultado",
		"Comentario", "Tipo contacto", "Operador", "Fecha reprogramación", "Forzar"}
	for i, h := range header {
		c, _ := excelize.CoordinatesToCellName(i+1, 2)
		set(c, h, 0)
	}
	row := 3
	wall := func(y int, m time.Month, d, h, mi int) time.Time { return time.Date(y, m, d, h, mi, 0, 0, time.UTC) }
	put := func(cells ...any) {
		for i, v := range cells {
			if v == nil {
				continue
			}
			c, _ := excelize.CoordinatesToCellName(i+1, row)
			style := 0
			switch x := v.(type) {
			case time.Time:
				style = dtStyle
				if x.Hour() == 0 && x.Minute() == 0 {
					style = dStyle
				}
			case paddedID:
				v, style = int(x), idStyle
			}
			set(c, v, style)
		}
		row++
	}
	n := func(a int) paddedID { return paddedID(mustAtoi(com(a))) }
	put(id(37), nil, com(37), wall(2026, 4, 14, 9, 30), "EFFECTIVE", "Venta completada", "Entrega el lunes", "INBOUND", "OP-08")
	put(id(38), nil, com(38), wall(2026, 4, 14, 0, 0), "NOT_EFFECTIVE", "Sin contacto", nil, "OUTBOUND", "OP-08")
	put(id(39), nil, com(39), wall(2026, 4, 14, 10, 0), "PENDING", "Reprogramar visita", nil, nil, "OP-08", wall(2031, 2, 1, 10, 0))
	put(id(40), nil, com(40), wall(2026, 4, 14, 10, 30), "EFFECTIVE", "Venta completada", nil, nil, nil, nil, true)
	put(id(41), nil, com(41), wall(2026, 4, 14, 11, 0), "EFFECTIVE", "Venta completada", nil, nil, 1234)
	put(nil, pid(42), com(42), wall(2026, 4, 14, 11, 30), "NOT_EFFECTIVE", "No interesado", nil, nil, nil, nil, false)
	row++ // a blank row between blocks, skipped
	put(id(43), nil, com(43), wall(2026, 4, 15, 9, 0), "EFFECTIVE", nil)
	put(id(44), nil, com(44), wall(2026, 4, 15, 9, 5), "CLOSED", "Venta completada")
	put(id(45), nil, com(45), wall(2026, 4, 15, 9, 10), "PENDING", "Reprogramar visita", nil, nil, nil, wall(2024, 1, 1, 10, 0))
	put(id(46), nil, com(46), wall(2026, 4, 15, 9, 15), "EFFECTIVE", "Venta completada", nil, "PHONE")
	put("no-es-un-uuid", nil, com(47), wall(2026, 4, 15, 9, 20), "EFFECTIVE", "Venta completada")
	// A date saved as a bare serial number (no date format): 2026-04-15 12:00.
	put(id(48), nil, com(48), 46127.5, "EFFECTIVE", "Venta completada")
	for a := 49; a <= 54; a++ {
		put(id(a), nil, n(a), wall(2026, 4, 16, 8, a-40), "EFFECTIVE", "Venta completada")
	}
	put(id(59), nil, n(59), wall(2026, 4, 16, 9, 0), "EFFECTIVE", "Venta completada")
	put(nil, pid(60), n(60), wall(2026, 4, 16, 9, 5), "NOT_EFFECTIVE", "No interesado")
	if err != nil {
		return err
	}
	// A second sheet, so --sheet has something to choose and the first is the default.
	if _, err := f.NewSheet("Notas"); err != nil {
		return err
	}
	if err := f.SetCellValue("Notas", "A1", "Exportado del CRM"); err != nil {
		return err
	}
	return f.SaveAs(path)
}

type paddedID int

func mustAtoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		log.Fatalf("commerce id %q is not a number", s)
	}
	return n
}
