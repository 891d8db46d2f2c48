package web

import (
	"bytes"
	"context"
	"html"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/engine"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/reports"
	"github.com/reten/reconcile/internal/submit"
)

var (
	countRe     = regexp.MustCompile(`<span class="n" data-class="(\w+)">([\d,]+)</span>`)
	reportRowRe = regexp.MustCompile(`<tr class="cls-(\w+)"><td class="num">(\d+)</td>`)
)

// pageCounts reads the counts per class a report page shows.
func pageCounts(page string) map[string]int {
	counts := map[string]int{}
	for _, m := range countRe.FindAllStringSubmatch(page, -1) {
		n, _ := strconv.Atoi(strings.ReplaceAll(m[2], ",", ""))
		counts[m[1]] = n
	}
	return counts
}

// tableRows reads the class and row number of each row of a report page's
// table, whose first column is the row number (a run of one file).
func tableRows(page string) (classes []string, rows []int) {
	for _, m := range reportRowRe.FindAllStringSubmatch(page, -1) {
		n, _ := strconv.Atoi(m[2])
		classes, rows = append(classes, m[1]), append(rows, n)
	}
	return classes, rows
}

// sendForReport sends upload id with the never policy, waits for the run
// and returns it, its summary and its report page.
func sendForReport(t *testing.T, f *fixture, b *browser, id string) (run string, rec *engine.RunRecord, sum *reports.Summary, page string) {
	t.Helper()
	run = b.send(id, "never")
	rec = f.waitRun(run)
	sum, err := reports.ReadSummary(rec.ReportDir)
	if err != nil {
		t.Fatal(err)
	}
	return run, rec, sum, b.getOK("/runs/" + run + "/report")
}

func TestReportPageSummarisesFiltersSortsAndPages(t *testing.T) {
	f := newFixture(t, withEngine(4))
	b := f.loggedIn()
	id := b.uploadOK("resultados.xlsx", sample(t, "resultados.xlsx"))
	b.mapSuggested(id)
	run, rec, sum, page := sendForReport(t, f, b, id)
	counts := pageCounts(page)
	for _, c := range outcome.Classes {
		if counts[string(c)] != sum.Counts[c] {
			t.Errorf("the page shows %d %s, summary.json %d", counts[string(c)], c, sum.Counts[c])
		}
	}
	for _, want := range []string{`<svg class="chart"`, `<rect class="bar cls-ok"`, "Top problems", html.EscapeString(sum.TopMessages[0].Shown()),
		`href="/runs/` + run + `/files/report.csv"`, `href="/runs/` + run + `/files/report.xlsx"`, `href="/runs/` + run + `/files/summary.json"`, "rejects"} {
		if !strings.Contains(page, want) {
			t.Errorf("the report page lacks %q", want)
		}
	}
	if classes, rows := tableRows(page); len(rows) != sum.Total {
		t.Errorf("the table lists %d rows (%v), the run had %d", len(rows), classes, sum.Total)
	}

	// Filtered by class: those rows alone.
	classes, _ := tableRows(b.getOK("/runs/" + run + "/report?class=invalid"))
	if len(classes) != sum.Counts[outcome.ClassInvalid] || slices.ContainsFunc(classes, func(c string) bool { return c != "invalid" }) {
		t.Errorf("the invalid rows: %v, want %d", classes, sum.Counts[outcome.ClassInvalid])
	}
	// By problem: the top one's link lists as many rows as it counts.
	link := regexp.MustCompile(`href="(/runs/` + run + `/report\?problem=\d+)"><span class="n">(\d+)</span>`).FindStringSubmatch(page)
	if link == nil {
		t.Fatal("no problem links on the report page")
	}
	classes, _ = tableRows(b.getOK(html.UnescapeString(link[1])))
	if want, _ := strconv.Atoi(link[2]); len(classes) != want {
		t.Errorf("the problem's rows: %d, its count says %d", len(classes), want)
	}
	// Sorted by the row column, both ways.
	col := regexp.MustCompile(`<a href="(/runs/` + run + `/report\?sort=\d+)">row</a>`).FindStringSubmatch(page)
	if col == nil {
		t.Fatal("the row column cannot be sorted by")
	}
	_, asc := tableRows(b.getOK(col[1]))
	_, desc := tableRows(b.getOK(col[1] + "&dir=desc"))
	if !slices.IsSorted(asc) || len(asc) != sum.Total || asc[0] != 3 {
		t.Errorf("sorted by row: %v", asc)
	}
	slices.Reverse(desc)
	if !slices.Equal(asc, desc) {
		t.Errorf("sorted by row, descending: %v", desc)
	}
	// Sorted and filtered at once.
	classes, rows := tableRows(b.getOK(col[1] + "&dir=desc&class=ok"))
	if len(rows) != sum.Counts[outcome.ClassOK] || !slices.IsSortedFunc(rows, func(a, b int) int { return b - a }) || slices.ContainsFunc(classes, func(c string) bool { return c != "ok" }) {
		t.Errorf("ok rows by row, descending: %v %v", rows, classes)
	}

	// The downloads are the run's files, as attachments.
	for _, name := range []string{reports.CSVName, reports.XLSXName, reports.SummaryName, sum.Reports.Rejects[0]} {
		res := b.get("/runs/" + run + "/files/" + name)
		got := readBody(t, res)
		want, _ := os.ReadFile(filepath.Join(rec.ReportDir, name))
		if res.StatusCode != http.StatusOK || got != string(want) || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") {
			t.Errorf("download %s: %s, %d bytes of %d, %s", name, res.Status, len(got), len(want), res.Header.Get("Content-Disposition"))
		}
	}
}

func TestReportPagesAHundredRowsAtATime(t *testing.T) {
	f := newFixture(t, withEngine(8))
	b := f.loggedIn()
	id := b.uploadOK("big.csv", synthCSV(120))
	b.mapSuggested(id)
	run := b.send(id, "")
	f.waitRun(run)
	var all []int
	for _, c := range []struct {
		query string
		n     int
		say   string
	}{
		{"", 50, "Rows 1–50 of 120"},
		{"?page=2", 50, "Rows 51–100 of 120"},
		{"?page=3", 20, "Rows 101–120 of 120"},
		{"?page=99", 20, "Rows 101–120 of 120"},
		{"?page=3&sort=5&class=ok", 20, "Rows 101–120 of 120"},
	} {
		page := b.getOK("/runs/" + run + "/report" + c.query)
		_, rows := tableRows(page)
		if !strings.Contains(page, c.say) || len(rows) != c.n {
			t.Errorf("%s: %d rows; want %d, %q", c.query, len(rows), c.n, c.say)
		}
		if c.query == "" || c.query == "?page=2" || c.query == "?page=3" {
			all = append(all, rows...)
		}
	}
	// In the file's order, whatever order the rows finished in: rows 2 to
	// 121, each once.
	for i, r := range all {
		if r != i+2 {
			t.Fatalf("the three pages hold rows %v", all)
		}
	}
}

// The history lists every run of the state directory, the command line's
// too, whose report folder the console serves read-only by run id.
func TestRunsPageListsTheCommandLinesRunsToo(t *testing.T) {
	f := newFixture(t, withEngine(4))
	b := f.loggedIn()
	id := b.uploadOK("results.csv", sample(t, "results.csv"))
	b.mapSuggested(id)
	console := b.send(id, "")
	f.waitRun(console)

	// A nightly run of the command line on the same state directory, its
	// reports far from it.
	client, _ := api.NewClient(f.baseURL, testKey)
	elsewhere := filepath.Join(t.TempDir(), "reports-nightly")
	job := &engine.Job{Command: "run --inbox", Files: []string{filepath.Join("..", "..", "samples", "results.csv")},
		Submitter: &submit.Submitter{Client: client, Concurrency: 2}, StateDir: f.state, ReportDir: elsewhere}
	if res := job.Run(context.Background(), nil); res.Ending != engine.Finished {
		t.Fatalf("the command line's run: %v %v", res.Ending, res.Err)
	}
	ids, _ := engine.ListRuns(f.state)
	if len(ids) != 2 {
		t.Fatalf("runs: %v", ids)
	}
	cli := ids[0]
	page := b.getOK("/runs")
	if i, j := strings.Index(page, "/runs/"+cli+"/report"), strings.Index(page, "/runs/"+console+"/report"); i < 0 || j < 0 || i > j {
		t.Errorf("the runs page should list %s (the command line's) above %s (the console's)", cli, console)
	}
	if !strings.Contains(page, "<code>run --inbox</code>") || !strings.Contains(page, "<code>console</code>") {
		t.Error("the runs page does not say which command ran each")
	}
	report := b.getOK("/runs/" + cli + "/report")
	if !strings.Contains(report, elsewhere) {
		t.Errorf("the command line's report page does not say where its reports are")
	}
	res := b.get("/runs/" + cli + "/files/report.csv")
	got := readBody(t, res)
	want, _ := os.ReadFile(filepath.Join(elsewhere, reports.CSVName))
	if res.StatusCode != http.StatusOK || !bytes.Equal([]byte(got), want) {
		t.Errorf("the command line's report.csv: %s, %d bytes, want %d:\n%s", res.Status, len(got), len(want), got)
	}
	// Served, not written: the folder holds what the run wrote, no more.
	entries, _ := os.ReadDir(elsewhere)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "report") && !strings.HasPrefix(e.Name(), "summary") && !strings.HasPrefix(e.Name(), "rejects") {
			t.Errorf("the console wrote %s into the command line's report folder", e.Name())
		}
	}
	if page := b.getOK("/runs/" + cli); !strings.Contains(page, "Open the report") || strings.Contains(page, "cancel-form") {
		t.Error("the page of an ended command-line run should link its report, with no cancel")
	}
}

// A run killed after it started has a record with no end: the runs page
// says so, and its report page sends to its progress, which says where it
// ran.
func TestRunsPageShowsARunWithNoEnd(t *testing.T) {
	f := newFixture(t)
	os.MkdirAll(filepath.Join(f.state, engine.RunsDir), 0o700)
	const id = "20260411T103000Z-0a1b2c"
	record := `{"id": "` + id + `", "command": "run", "files": ["nightly.csv"], "pid": 4242, "host": "cron-1",
		"started": "2026-04-11T10:30:00Z", "ending": "", "counts": {}, "report_dir": "/srv/exports/reports"}`
	os.WriteFile(filepath.Join(f.state, engine.RunsDir, id+".json"), []byte(record), 0o600)
	b := f.loggedIn()
	if page := b.getOK("/runs"); !strings.Contains(page, "no end yet") || strings.Contains(page, "/runs/"+id+"/report") {
		t.Errorf("the runs page shows a run with no end as:\n%s", page)
	}
	if res := b.get("/runs/" + id + "/report"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/runs/"+id {
		t.Errorf("its report: %s to %q", res.Status, res.Header.Get("Location"))
	}
	page := b.getOK("/runs/" + id)
	if !strings.Contains(page, "Running elsewhere") || !strings.Contains(page, "cron-1") || !strings.Contains(page, "pid 4242") || strings.Contains(page, "cancel-form") {
		t.Errorf("its page:\n%s", page)
	}
}

// The report's top problems are the terminal's: an example value of each,
// escaped, the whole advice and the count, in the terminal's order; never
// a masked "…" where the value was.
func TestReportTopProblemsShowTheTerminalsValues(t *testing.T) {
	f := newFixture(t, withEngine(4))
	b := f.loggedIn()
	csv := "provider_activity_id,commerce_external_id,occurred_at,status,result\n" +
		"TP-1,C-1,2026-04-11T10:30:00Z,HECHO,SALE_COMPLETED\n" +
		"TP-2,C-2,2026-04-11T10:30:00Z,CLOSED,SALE_COMPLETED\n" +
		"TP-3,C-3,2026-04-11T10:30:00Z,EFFECTIVE,<b>VENDIDO</b>\n" +
		"TP-4,C-4,2026-04-11T10:30:00Z,EFFECTIVE,SALE_COMPLETED\n"
	id := b.uploadOK("problemas.csv", []byte(csv))
	b.mapSuggested(id)
	// The preview's problems too: each kind's first message whole.
	preview := b.getOK("/uploads/" + id + "/preview")
	if ps, pe := strings.Index(preview, `<aside class="problems"`), strings.Index(preview, `</aside>`); ps < 0 || pe < ps {
		t.Errorf("no problems on the preview:\n%s", preview)
	} else if list := preview[ps:pe]; strings.Contains(list, "…") || !strings.Contains(list, html.EscapeString("(or run `reconcile configs pull` if it was added lately)")) ||
		!strings.Contains(list, "&lt;b&gt;VENDIDO&lt;/b&gt;") {
		t.Errorf("the preview's problems are cut or masked:\n%s", list)
	}
	run, rec, sum, page := sendForReport(t, f, b, id)
	start, end := strings.Index(page, `<h2 id="problems-h">`), strings.Index(page, `<h2 id="files-h">`)
	if start < 0 || end < start {
		t.Fatalf("no Top problems section on the page:\n%s", page)
	}
	list := page[start:end]
	if strings.Contains(list, "…") {
		t.Errorf("a value is masked in the top problems:\n%s", list)
	}
	if strings.Contains(list, "<b>VENDIDO</b>") || !strings.Contains(list, "&lt;b&gt;VENDIDO&lt;/b&gt;") {
		t.Errorf("the cell's value is not shown escaped:\n%s", list)
	}
	if !strings.Contains(list, html.EscapeString(`"HECHO" is not a status`)) || !strings.Contains(list, "(and 1 more like it)") {
		t.Errorf("the status problem lacks its example or its count of others:\n%s", list)
	}

	// The terminal's lines, in its order, each with the page's count.
	var term strings.Builder
	sum.Print(&term, 0)
	var lines []string
	for _, l := range strings.Split(term.String(), "\n") {
		if strings.HasPrefix(l, "   ") && strings.Contains(l, ": ") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 3 {
		t.Fatalf("the terminal lists %d problems, want 3 (status, result, the API's 404):\n%s", len(lines), term.String())
	}
	items := regexp.MustCompile(`<span class="n">(\d+)</span><span class="pill[^"]*">([^<]*)</span><span class="ex">([^<]*)</span>`).FindAllStringSubmatch(list, -1)
	if len(items) != len(lines) {
		t.Fatalf("the page lists %d problems, the terminal %d:\n%s", len(items), len(lines), list)
	}
	for i, it := range items {
		want := strings.Join(strings.Fields(lines[i]), " ")
		got := it[1] + " " + html.UnescapeString(it[2]) + ": " + html.UnescapeString(it[3])
		if got != want {
			t.Errorf("problem %d: the page says\n%q\nthe terminal\n%q", i+1, got, want)
		}
	}
	if !strings.Contains(items[0][3], "use EFFECTIVE, NOT_EFFECTIVE or PENDING") {
		t.Errorf("the advice is cut: %q", items[0][3])
	}

	// Its filter says which rows it lists with the same example.
	link := regexp.MustCompile(`href="([^"]+)"><span class="n">2</span>`).FindStringSubmatch(list)
	if link == nil {
		t.Fatalf("the status problem links to no rows:\n%s", list)
	}
	filtered := b.getOK(html.UnescapeString(link[1]))
	showing := regexp.MustCompile(`<p class="range">(.*?)</p>`).FindStringSubmatch(filtered)
	if showing == nil || !strings.Contains(showing[1], "the rows like “status: "+html.EscapeString(`"HECHO" is not a status; use EFFECTIVE, NOT_EFFECTIVE or PENDING`)+"”") || strings.Contains(showing[1], "…") {
		t.Errorf("the filtered page says %q", showing)
	}

	// With report.csv gone the rows cannot be listed, but summary.json still
	// names the problems, unlinked.
	if err := os.Remove(filepath.Join(rec.ReportDir, reports.CSVName)); err != nil {
		t.Fatal(err)
	}
	page = b.getOK("/runs/" + run + "/report")
	if !strings.Contains(page, "The rows cannot be shown") || !strings.Contains(page, `<span class="unlinked"><span class="n">2</span>`) ||
		!strings.Contains(page, html.EscapeString(`"HECHO" is not a status`)) || strings.Contains(page, "?problem=") {
		t.Errorf("the report without report.csv:\n%s", page)
	}
}
