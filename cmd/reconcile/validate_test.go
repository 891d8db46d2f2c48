package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/reten/reconcile/internal/reports"
	"github.com/reten/reconcile/internal/sandbox"
	"github.com/reten/reconcile/internal/validate"
)

// tenantCache writes the demo tenant's result types as `configs pull` would.
func tenantCache(t *testing.T) string {
	t.Helper()
	tenant, err := sandbox.LoadTenant("../../samples/tenant.json")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "configs.json")
	if err := validate.SaveCatalogue(path, &validate.Catalogue{Configs: tenant.Configs}); err != nil {
		t.Fatal(err)
	}
	return path
}

func readReport(t *testing.T, path string) (header []string, rows []map[string]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header = recs[0]
	header[0] = strings.TrimPrefix(header[0], "\uFEFF")
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, h := range header {
			m[h] = rec[i]
		}
		rows = append(rows, m)
	}
	return header, rows
}

func TestValidateSamples(t *testing.T) {
	cache := tenantCache(t)
	dir := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := runMain(t, nil, "validate", "--configs", cache, "--report-dir", dir,
		"--mapping", "../../samples/mapping-es.txt", "--date-format", "02/01/2006 15:04", "--timezone", "America/Santiago",
		"../../samples/results.csv", "../../samples/resultados.csv", "../../samples/resultados.xlsx")
	if code != exitRowsNotOK {
		t.Fatalf("exit %d, want %d (some rows invalid); stderr %q", code, exitRowsNotOK, stderr)
	}
	if !strings.Contains(stderr, "columns=[region]") || strings.Contains(stderr, reports.RejectsErrorColumn) || strings.Contains(stderr, "Observaciones") {
		t.Errorf("unknown-column warning = %q; want region only (the rejects columns and ignored columns are silent)", stderr)
	}
	if !strings.Contains(stdout, "56 rows") {
		t.Errorf("summary = %q", stdout)
	}
	// Without a terminal, progress is logged; its last line counts every row.
	if !strings.Contains(stderr, "msg=finished done=56 read=56 valid=32 invalid=23 skipped=1") {
		t.Errorf("no final progress line with every row counted in %q", stderr)
	}
	header, rows := readReport(t, filepath.Join(dir, "report.csv"))
	for _, h := range []string{"activity_id", "region", "ID Actividad", "Fecha gestión", "row", "outcome", "message"} {
		if !strings.Contains(strings.Join(header, "|"), h) {
			t.Errorf("report header lacks %q: %q", h, header)
		}
	}
	count := map[string]int{}
	for _, r := range rows {
		count[r["outcome"]]++
	}
	if count["valid"] != 32 || count["invalid"] != 23 || count["skipped"] != 1 || len(rows) != 56 {
		t.Errorf("outcomes = %v over %d rows, want 32 valid, 23 invalid, 1 skipped", count, len(rows))
	}
	// validate writes what run writes, but nothing it could not know.
	for _, name := range []string{"report.xlsx", "rejects-results.csv", "rejects-resultados.csv", "rejects-resultados.xlsx", "summary.json"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("validate wrote no %s: %v", name, err)
		}
	}
	for _, r := range rows {
		if r["outcome"] == "skipped" && (r["row"] != "21" || !strings.Contains(r["message"], "results.csv, row 2")) {
			t.Errorf("duplicate row: %v", r)
		}
		if r["Comercio"] == "1.23457E+11" && (!strings.Contains(r["message"], "Comercio: ") || r["code"] == "") {
			t.Errorf("problem does not name the user's column, or has no code: %v", r)
		}
		if (r["outcome"] == "invalid" || r["outcome"] == "skipped") != (r["code"] != "") {
			t.Errorf("row %s (%s) has code %q", r["row"], r["outcome"], r["code"])
		}
	}
}

func TestValidateExitCodes(t *testing.T) {
	cache := tenantCache(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.csv")
	writeFile(t, good, "provider_activity_id;commerce_external_id;occurred_at;status;result\nYOM-0001;COM-001;2026-04-11T10:30:00Z;EFFECTIVE;Venta completada\n")
	noResult := filepath.Join(dir, "noresult.csv")
	writeFile(t, noResult, "provider_activity_id,commerce_external_id,occurred_at,status\nYOM-1,C,2026-04-11,EFFECTIVE\n")
	xls := filepath.Join(dir, "old.xls")
	writeFile(t, xls, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest")
	tests := []struct {
		name   string
		args   []string
		code   int
		errHas string
	}{
		{"all valid", []string{good}, exitOK, ""},
		{"missing column", []string{good, noResult}, exitUsage, "no column for task_result.result"},
		{"legacy xls", []string{xls}, exitUsage, "save it as .xlsx or .csv"},
		{"missing file", []string{filepath.Join(dir, "nope.csv")}, exitUsage, "nope.csv"},
		{"no files", nil, exitUsage, "at least one"},
		{"bad timezone", []string{"--timezone", "Mars/Olympus", good}, exitUsage, "IANA"},
		{"bad delimiter", []string{"--delimiter", "x", good}, exitUsage, "--delimiter"},
		{"bad report delimiter", []string{"--report-delimiter", "x", good}, exitUsage, "--report-delimiter \"x\": use , ; | or tab"},
		{"date format without year", []string{"--date-format", "dd/mm", good}, exitUsage, "a day, a month and a year"},
		{"go layout without year", []string{"--date-format", "02/01 15:04", good}, exitUsage, "has no year"},
		{"date format not notation", []string{"--date-format", "dd/mm/aaaa", good}, exitUsage, "neither a Go layout nor spreadsheet notation"},
		{"date format in notation", []string{"--date-format", "dd/mm/yyyy hh:mm", good}, exitOK, ""},
		{"no cache", []string{"--configs", filepath.Join(dir, "none.json"), good}, exitUsage, "configs pull"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"validate", "--configs", cache, "--report-dir", filepath.Join(dir, "r", string(rune('a'+i)))}, tt.args...)
			code, _, stderr := runMain(t, nil, args...)
			if code != tt.code || !strings.Contains(stderr, tt.errHas) {
				t.Errorf("exit %d, stderr %q; want exit %d saying %q", code, stderr, tt.code, tt.errHas)
			}
		})
	}
}

// A rejects file fixed in part and checked again keeps, in its own rejects,
// the row numbers of the file the rows first came from: reconcile_row is
// read back, not renumbered.
func TestRejectsKeepTheOriginalRowNumber(t *testing.T) {
	cache := tenantCache(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	writeFile(t, in, "provider_activity_id;commerce_external_id;occurred_at;status;result\n"+
		"YOM-1;COM-1;2026-04-11T10:30:00Z;EFFECTIVE;Venta completada\n"+ // row 2: valid
		"YOM-2;COM-1;2026-04-11T10:30:00Z;DONE;Venta completada\n"+ // row 3: bad status
		"YOM-3;COM-1;2026-04-11T10:30:00Z;EFFECTIVE;Venta completada\n"+ // row 4: valid
		"YOM-4;;2026-04-11T10:30:00Z;EFFECTIVE;Venta completada\n") // row 5: no commerce
	first := filepath.Join(dir, "first")
	if code, _, stderr := runMain(t, nil, "validate", "--configs", cache, "--report-dir", first, in); code != exitRowsNotOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	again := filepath.Join(dir, "again")
	rej := filepath.Join(first, "rejects.csv")
	if code, _, stderr := runMain(t, nil, "validate", "--configs", cache, "--report-dir", again, rej); code != exitRowsNotOK {
		t.Fatalf("second check: exit %d: %s", code, stderr)
	}
	for _, tc := range []struct {
		path string
		want [][2]string // reconcile_row, reconcile_outcome
	}{
		{rej, [][2]string{{"3", "invalid"}, {"5", "invalid"}}},
		{filepath.Join(again, "rejects.csv"), [][2]string{{"3", "invalid"}, {"5", "invalid"}}},
	} {
		f, err := os.Open(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		r := csv.NewReader(f)
		r.Comma = ';'
		recs, err := r.ReadAll()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		h := recs[0]
		at, cls := slices.Index(h, reports.RejectsRowColumn), slices.Index(h, reports.RejectsOutcomeColumn)
		var got [][2]string
		for _, rec := range recs[1:] {
			got = append(got, [2]string{rec[at], rec[cls]})
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: rows %q, want %q", tc.path, got, tc.want)
		}
	}
	// report.csv of the second check numbers the rows as rejects.csv shows them.
	_, rows := readReport(t, filepath.Join(again, "report.csv"))
	if len(rows) != 2 || rows[0]["row"] != "2" || rows[1]["row"] != "3" || rows[0]["code"] != "bad_status" || rows[1]["code"] != "missing_field" {
		t.Errorf("second report = %v", rows)
	}
}

func TestValidateReportDelimiter(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	writeFile(t, in, "provider_activity_id,commerce_external_id,occurred_at,status,result\nYOM-1,COM-1,2026-04-11T10:30:00Z,EFFECTIVE,Venta completada\n")
	out := filepath.Join(dir, "r")
	if code, _, stderr := runMain(t, nil, "validate", "--configs", tenantCache(t), "--report-dir", out, "--report-delimiter", ";", in); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	raw, err := os.ReadFile(filepath.Join(out, "report.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "\uFEFFrow;outcome;http_status;code;message;provider_activity_id;"; !strings.HasPrefix(string(raw), want) || !strings.Contains(string(raw), "\r\n2;valid;;;;YOM-1;") {
		t.Errorf("report.csv = %q, want it to start %q", raw, want)
	}
}
