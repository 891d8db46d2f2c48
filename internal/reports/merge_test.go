package reports

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/outcome"
)

// workerReport writes a report folder as a worker would: report.csv of the
// given rows (row, outcome, message) and its summary.json.
func workerReport(t *testing.T, worker, baseURL string, rows [][3]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), worker)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(utf8BOM + "row,outcome,http_status,code,message,activity_id,error,attempts,duration_ms,result_id\r\n")
	for _, r := range rows {
		b.WriteString(r[0] + "," + r[1] + ",,,\"" + strings.ReplaceAll(r[2], `"`, `""`) + "\",A" + r[0] + ",,1,0,\r\n")
	}
	if err := os.WriteFile(filepath.Join(dir, CSVName), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := Summary{Command: "run", Started: time.Now(), Finished: time.Now(), ExitCode: 1, BaseURL: baseURL,
		Files: []File{{Name: "/srv/in/export.csv", Kind: "csv", Rows: len(rows)}}, Settings: map[string]string{"run": "r-" + worker, "worker": worker},
		Reports: Reports{Dir: dir, CSV: CSVName, Summary: SummaryName}}
	data, _ := json.Marshal(sum)
	if err := os.WriteFile(filepath.Join(dir, SummaryName), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestMerge(t *testing.T) {
	const api = "https://api.reten.ai"
	a := workerReport(t, "w-1", api, [][3]string{
		{"2", "ok", ""},
		{"3", "skipped", "sent meanwhile by worker w-2 (pid 2 on host h) from export.csv, row 3: it ended ok at ..."},
		{"4", "failed", "500 Internal Server Error"},
		{"5", "invalid", `result: "X" is not a result type`},
		{"6", "skipped", "already submitted on 2026-12-01 in export.csv, row 6 (run r-0)"},
	})
	b := workerReport(t, "w-2", api, [][3]string{
		{"2", "skipped", "being sent by worker w-1 (pid 1 on host h) since ..."},
		{"3", "ok", ""},
		{"4", "ok", "409 taken as this row's own result"},
		{"5", "invalid", `result: "X" is not a result type`},
		{"6", "skipped", "being sent by another worker"},
		{"7", "ok", ""},
	})
	out := filepath.Join(t.TempDir(), "merged")
	sum, err := Merge([]string{a, b}, out)
	if err != nil {
		t.Fatal(err)
	}
	want := map[outcome.Class]int{outcome.ClassOK: 4, outcome.ClassInvalid: 1, outcome.ClassSkipped: 1}
	for _, c := range outcome.Classes {
		if sum.Counts[c] != want[c] {
			t.Errorf("%s: %d, want %d (counts %v)", c, sum.Counts[c], want[c], sum.Counts)
		}
	}
	if sum.Total != 6 || sum.NeedsPerson != 1 || sum.ExitCode != 1 || sum.Settings["worker"] != "w-1, w-2" || sum.Settings["run"] != "r-w-1, r-w-2" {
		t.Errorf("summary %+v", sum)
	}
	_, rows, _, err := readReportCSV(filepath.Join(out, CSVName))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range rows {
		got[r[0]] = r[1] + " " + r[4]
	}
	for row, w := range map[string]string{
		"2": "ok ", "3": "ok ", "4": "ok 409 taken as this row's own result", "5": `invalid result: "X" is not a result type`,
		"6": "skipped already submitted on 2026-12-01 in export.csv, row 6 (run r-0)", "7": "ok ",
	} {
		if got[row] != w {
			t.Errorf("row %s: %q, want %q", row, got[row], w)
		}
	}
	if len(rows) != 6 {
		t.Errorf("%d rows merged, want 6", len(rows))
	}
	if back, err := ReadSummary(out); err != nil || back.Total != 6 {
		t.Errorf("merged summary.json: %+v, %v", back, err)
	}

	// What cannot be merged, and says why.
	other := workerReport(t, "w-3", "https://staging.reten.ai", [][3]string{{"2", "ok", ""}})
	killed := workerReport(t, "w-4", api, [][3]string{{"2", "ok", ""}})
	os.Remove(filepath.Join(killed, SummaryName))
	for _, c := range []struct {
		dirs []string
		out  string
		want string
	}{
		{[]string{a, other}, filepath.Join(t.TempDir(), "x"), "other files or another API"},
		{[]string{a, killed}, filepath.Join(t.TempDir(), "x"), "that worker did not finish"},
		{[]string{a, b}, out, "already holds a report.csv"},
		{nil, filepath.Join(t.TempDir(), "x"), "no report folders"},
	} {
		if _, err := Merge(c.dirs, c.out); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Merge(%v): %v, want %q", c.dirs, err, c.want)
		}
	}
}

// Rows of two files share row numbers, and a report may be separated by
// semicolons (--report-delimiter ';'): the merge tells the rows apart by
// file and row, and writes with the workers' separator.
func TestMergeTwoFilesWithSemicolons(t *testing.T) {
	write := func(worker string, rows ...string) string {
		dir := filepath.Join(t.TempDir(), worker)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		body := utf8BOM + "row;outcome;http_status;code;message;file;activity_id;error;attempts;duration_ms;result_id\r\n" + strings.Join(rows, "\r\n") + "\r\n"
		if err := os.WriteFile(filepath.Join(dir, CSVName), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		sum := Summary{Command: "run", Started: time.Now(), Finished: time.Now(), BaseURL: "https://api.reten.ai",
			Files:    []File{{Name: "in/a.csv", Kind: "csv", Rows: 1}, {Name: "in/b.csv", Kind: "csv", Rows: 1}},
			Settings: map[string]string{"run": "r-" + worker, "worker": worker},
			Reports:  Reports{Dir: dir, CSV: CSVName, Summary: SummaryName}}
		data, _ := json.Marshal(sum)
		if err := os.WriteFile(filepath.Join(dir, SummaryName), data, 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	a := write("w-1", "2;ok;201;;;in/a.csv;A1;;1;5;r1", "2;skipped;;held_elsewhere;being sent by worker w-2;in/b.csv;B1;;0;0;")
	b := write("w-2", "2;skipped;;held_elsewhere;being sent by worker w-1;in/a.csv;A1;;0;0;", "2;rejected;404;api_404;no such activity;in/b.csv;B1;Not Found;1;5;")
	out := filepath.Join(t.TempDir(), "merged")
	sum, err := Merge([]string{a, b}, out)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Total != 2 || sum.Counts[outcome.ClassOK] != 1 || sum.Counts[outcome.ClassRejected] != 1 || sum.Counts[outcome.ClassSkipped] != 0 {
		t.Errorf("counts %v, total %d", sum.Counts, sum.Total)
	}
	h, rows, comma, err := readReportCSV(filepath.Join(out, CSVName))
	if err != nil {
		t.Fatal(err)
	}
	if comma != ';' || len(h) != 11 || len(rows) != 2 || rows[0][5] != "in/a.csv" || rows[0][1] != "ok" || rows[1][5] != "in/b.csv" || rows[1][1] != "rejected" || rows[1][3] != "api_404" {
		t.Errorf("merged report (%q): %q %q", comma, h, rows)
	}
}
