package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
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
	if !strings.Contains(stderr, "msg=finished done=56 read=56 ok=32 invalid=23 skipped=1") {
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
	if count["ok"] != 32 || count["invalid"] != 23 || count["skipped"] != 1 || len(rows) != 56 {
		t.Errorf("outcomes = %v over %d rows, want 32 ok, 23 invalid, 1 skipped", count, len(rows))
	}
	for _, r := range rows {
		if r["outcome"] == "skipped" && (r["row"] != "21" || !strings.Contains(r["message"], "results.csv, row 2")) {
			t.Errorf("duplicate row: %v", r)
		}
		if r["Comercio"] == "1.23457E+11" && !strings.Contains(r["message"], "Comercio: ") {
			t.Errorf("problem does not name the user's column: %v", r["message"])
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
		{"date format without year", []string{"--date-format", "dd/mm/yyyy", good}, exitUsage, "Go's notation"},
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
