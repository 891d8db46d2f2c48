package web

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/engine"
	"github.com/reten/reconcile/internal/ledger"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/reports"
	"github.com/reten/reconcile/internal/sandbox"
)

// send starts a run of an upload from the send page's form and returns its
// id.
func (b *browser) send(id, policy string) string {
	b.f.t.Helper()
	res := b.post("/uploads/"+id+"/runs", url.Values{"policy": {policy}})
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/runs/") {
		b.f.t.Fatalf("starting a run: %s to %q\n%s", res.Status, loc, readBody(b.f.t, res))
	}
	run := strings.TrimPrefix(loc, "/runs/")
	if !engine.ValidRunID(run) {
		b.f.t.Fatalf("the run page is %s", loc)
	}
	return run
}

// waitRun waits for a run of the console to end and returns its record.
func (f *fixture) waitRun(run string) *engine.RunRecord {
	f.t.Helper()
	lr := f.srv.liveRunOf(run)
	if lr == nil {
		f.t.Fatalf("run %s is not the console's", run)
	}
	ended(f.t, lr)
	rec, err := engine.ReadRun(f.state, run)
	if err != nil {
		f.t.Fatal(err)
	}
	return rec
}

func readReport(t *testing.T, dir string) []map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, reports.CSVName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	br.Discard(3) // the BOM
	recs, err := csv.NewReader(br).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]string
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = rec[i]
		}
		rows = append(rows, m)
	}
	return rows
}

// The upload is sent as the preview showed it, by the run engine, from the
// row store: the corrected cell, the user's file name, sheet and row
// numbers, the 409 policy chosen; and the run is in the state directory's
// history.
func TestEngineRunnerSendsTheUploadAsPreviewed(t *testing.T) {
	f := newFixture(t, withEngine(4))
	b := f.loggedIn()
	id := b.uploadOK("resultados.xlsx", sample(t, "resultados.xlsx"))
	b.mapSuggested(id)
	u, _ := f.srv.loadUpload(id)
	c, _ := f.srv.viewCheck(u)
	row11 := -1
	for o := 0; o < c.sum.Rows; o++ {
		if cr, _ := c.row(o); cr.Row == 11 {
			row11 = o
		}
	}
	cr, _ := c.row(row11)
	cells := url.Values{}
	for i, v := range cr.Cells {
		cells.Set("c"+strconv.Itoa(i), v)
	}
	cells.Set("c4", "EFFECTIVE") // its status was CLOSED
	if res := b.post("/uploads/"+id+"/rows/"+strconv.Itoa(row11), cells); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("correcting row 11: %s", res.Status)
	}
	page := b.getOK("/uploads/" + id + "/send")
	for _, want := range []string{"Send 16 rows", `value="never" checked`, `value="always"`, `value="row"`, "Keep the result that is there", "Overwrite it"} {
		if !strings.Contains(page, want) {
			t.Errorf("the send page lacks %q", want)
		}
	}
	run := b.send(id, "row")
	rec := f.waitRun(run)
	if rec.Ending != "finished" || rec.Command != "console" || rec.Total != 20 || len(rec.Files) != 1 || rec.Files[0] != "resultados.xlsx" {
		t.Fatalf("record %+v", rec)
	}
	if rec.ReportDir != filepath.Join(f.state, reportsDir, run) {
		t.Errorf("the reports went to %s", rec.ReportDir)
	}
	sum, err := reports.ReadSummary(rec.ReportDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Files) != 1 || sum.Files[0].Name != "resultados.xlsx" || sum.Files[0].Sheet != "Resultados" || sum.Settings["hard-override"] != "row" {
		t.Errorf("summary files %+v, settings %v", sum.Files, sum.Settings)
	}
	rows := readReport(t, rec.ReportDir)
	var nums []int
	for _, r := range rows {
		n, _ := strconv.Atoi(r["row"])
		nums = append(nums, n)
	}
	slices.Sort(nums)
	var checked []int // the rows the preview showed, as the workbook numbers them
	for o := 0; o < c.sum.Rows; o++ {
		cr, _ := c.row(o)
		checked = append(checked, cr.Row)
	}
	if !slices.Equal(nums, checked) || nums[0] != 3 {
		t.Fatalf("report.csv has rows %v; the preview showed %v (a title row, then the header on row 2)", nums, checked)
	}
	for _, r := range rows {
		if r["row"] == "11" && (r["outcome"] != "ok" || r["Estado"] != "EFFECTIVE") {
			t.Errorf("row 11, corrected, ended %v", r)
		}
	}
	if got := sum.Counts[outcome.ClassOK] + sum.Counts[outcome.ClassOverridden]; got != f.sandbox.Stats().Stored {
		t.Errorf("%d rows ok or overridden, the sandbox stored %d", got, f.sandbox.Stats().Stored)
	}
}

// Cancel stops a run as Ctrl-C stops the CLI: the requests in flight
// finish (each row the API accepted is in the report as accepted), every
// other row is reported skipped, and the reports are written.
func TestEngineRunnerCancelSkipsTheRest(t *testing.T) {
	f := newFixture(t, withEngine(2))
	f.sandbox.SetFaults(sandbox.Faults{Latency: 20 * time.Millisecond})
	b := f.loggedIn()
	const n = 400
	id := b.uploadOK("big.csv", synthCSV(n))
	b.mapSuggested(id)
	run := b.send(id, "")
	lr := f.srv.liveRunOf(run)
	for {
		st := lr.state()
		if st.Done >= 10 {
			break
		}
		<-st.Next
	}
	if res := b.post("/runs/"+run+"/cancel", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancel: %s", res.Status)
	}
	rec := f.waitRun(run)
	if rec.Ending != "interrupted" || rec.Total != n || rec.Counts[outcome.ClassSkipped] == 0 || rec.Counts[outcome.ClassOK] == 0 {
		t.Fatalf("after cancel: %+v", rec)
	}
	rows := readReport(t, rec.ReportDir)
	if len(rows) != n {
		t.Errorf("report.csv has %d rows, want all %d", len(rows), n)
	}
	if stored := f.sandbox.Stats().Stored; stored != rec.Counts[outcome.ClassOK] {
		t.Errorf("the sandbox stored %d results, the report has %d ok: a request in flight was lost or a skipped row sent", stored, rec.Counts[outcome.ClassOK])
	}
	page := b.getOK("/runs/" + run)
	if !strings.Contains(page, "Stopped as asked") || !strings.Contains(page, "Open the report") || strings.Contains(page, "cancel-form") {
		t.Errorf("the run page after cancel:\n%s", page)
	}
	// A run that has ended cannot be cancelled again, nor can one that is
	// not the console's.
	if res := b.post("/runs/20260101T000000Z-000000/cancel", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("cancelling an unknown run: %s", res.Status)
	}
}

// Only one run holds the state directory: a second tab, or the command
// line, is told who holds it and sends nothing.
func TestASecondRunIsRefusedWhileOneHoldsTheStateDirectory(t *testing.T) {
	f := newFixture(t, withEngine(1))
	f.sandbox.SetFaults(sandbox.Faults{Latency: 30 * time.Millisecond})
	b := f.loggedIn()
	id := b.uploadOK("big.csv", synthCSV(60))
	b.mapSuggested(id)
	first := b.send(id, "")

	other := f.loggedIn() // another tab, another session
	res := other.post("/uploads/"+id+"/runs", url.Values{"policy": {"always"}})
	body := readBody(t, res)
	host, _ := os.Hostname()
	for _, want := range []string{"Another run holds the state directory", "pid " + strconv.Itoa(os.Getpid()), host, "run " + first, "Nothing was sent", `href="/runs/` + first + `"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the second tab's answer lacks %q:\n%s", want, body)
		}
	}
	if res.StatusCode != http.StatusConflict {
		t.Errorf("the second tab: %s, want 409", res.Status)
	}
	// Cancel once a row is stored, so that the file sent again below has
	// rows for the ledger to skip, however slow the machine.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if e, _, _, _ := f.srv.eventOf(first); e.Counts[string(outcome.ClassOK)] > 0 || e.Final {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first run stored nothing in 30 s")
		}
	}
	f.srv.cancelRun(first)
	f.waitRun(first)
	if ids, _ := engine.ListRuns(f.state); len(ids) != 1 {
		t.Errorf("runs recorded: %v; the refused one must leave none", ids)
	}

	// The command line holds it: the same lock, the same answer.
	cli, err := ledger.OpenDir(f.state, f.baseURL, ledger.Options{Run: "20260101T000000Z-c11c11"})
	if err != nil {
		t.Fatal(err)
	}
	requests := f.sandbox.Stats().Requests
	res = b.post("/uploads/"+id+"/runs", url.Values{"policy": {"never"}})
	if body := readBody(t, res); res.StatusCode != http.StatusConflict || !strings.Contains(body, "run 20260101T000000Z-c11c11") {
		t.Errorf("with the CLI holding the state directory: %s\n%s", res.Status, body)
	}
	cli.Close()
	if got := f.sandbox.Stats().Requests; got != requests {
		t.Errorf("the refused run sent %d requests", got-requests)
	}
	// Once it is free, the same file again: the ledger skips what was sent.
	again := f.waitRun(b.send(id, ""))
	if again.Ending != "finished" || again.Counts[outcome.ClassSkipped] == 0 {
		t.Errorf("the file sent again: %+v", again)
	}
}

// sseEvent is one event read from a stream.
type sseEvent struct {
	id   string
	name string
	data runEvent
	raw  string
}

// readEvents reads events from an open stream until it ends or stop says
// so.
func readEvents(t *testing.T, res *http.Response, stop func(sseEvent) bool) []sseEvent {
	t.Helper()
	var events []sseEvent
	var ev sseEvent
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		ev.raw += line + "\n"
		switch {
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.name = line[7:]
		case strings.HasPrefix(line, "data: "):
			if err := json.Unmarshal([]byte(line[6:]), &ev.data); err != nil {
				t.Fatalf("event data %q: %v", line, err)
			}
		case line == "" && ev.name != "":
			events = append(events, ev)
			if stop != nil && stop(ev) {
				return events
			}
			ev = sseEvent{}
		}
	}
	return events
}

// The run's progress streams as Server-Sent Events: the whole state in
// each, ids that grow, a final event with how it ended; a browser that
// reconnects gets the state at once; a run that has ended gives its final
// event and the stream closes.
func TestRunProgressStreamsAndReconnects(t *testing.T) {
	f := newFixture(t, withEngine(2))
	f.sandbox.SetFaults(sandbox.Faults{Latency: 10 * time.Millisecond, FailRate: 0.1, Seed: 7})
	b := f.loggedIn()
	const n = 300
	id := b.uploadOK("big.csv", synthCSV(n))
	b.mapSuggested(id)
	run := b.send(id, "")

	res := b.get("/api/runs/" + run + "/events")
	if ct := res.Header.Get("Content-Type"); res.StatusCode != http.StatusOK || ct != "text/event-stream; charset=utf-8" {
		t.Fatalf("events: %s %s", res.Status, ct)
	}
	first := readEvents(t, res, func(e sseEvent) bool { return e.data.Done >= 30 })
	res.Body.Close()
	last := first[len(first)-1]
	if last.data.Total != n || last.data.Final || last.data.RowsPerSec <= 0 || last.data.ETASec < 0 || last.data.Counts["ok"] == 0 {
		t.Errorf("a progress event mid-run: %+v", last.data)
	}
	for i := 1; i < len(first); i++ {
		a, _ := strconv.Atoi(first[i-1].id)
		c, _ := strconv.Atoi(first[i].id)
		if c <= a || first[i].data.Done < first[i-1].data.Done {
			t.Errorf("events %d and %d: ids %s then %s, done %d then %d", i-1, i, first[i-1].id, first[i].id, first[i-1].data.Done, first[i].data.Done)
		}
	}

	// Reconnecting, as the browser does, with the last id it saw.
	req, _ := http.NewRequest("GET", f.ts.URL+"/api/runs/"+run+"/events", nil)
	req.Header.Set("Last-Event-ID", last.id)
	res = b.do(req)
	rest := readEvents(t, res, nil)
	if len(rest) == 0 {
		t.Fatal("no event after reconnecting")
	}
	if rest[0].data.Done < last.data.Done {
		t.Errorf("after reconnecting, done went back from %d to %d", last.data.Done, rest[0].data.Done)
	}
	final := rest[len(rest)-1].data
	if !final.Final || final.Ending != "finished" || final.Done != n || final.Report != "/runs/"+run+"/report" || final.Text == "" {
		t.Errorf("the final event: %+v", final)
	}
	total := 0
	for _, c := range outcome.Classes {
		total += final.Counts[string(c)]
	}
	if total != n {
		t.Errorf("the final counts %v add up to %d, want %d", final.Counts, total, n)
	}

	// Once it has ended: one final event, read from the history, and the end.
	ended := readEvents(t, b.get("/api/runs/"+run+"/events"), nil)
	if len(ended) != 1 || !ended[0].data.Final || ended[0].data.Counts["ok"] != final.Counts["ok"] {
		t.Errorf("the events of an ended run: %+v", ended)
	}
}

// A file the check cannot read to its end is not sent: the send page says
// why and offers no button, and a start is refused.
func TestAFileThatCannotBeReadIsNotSent(t *testing.T) {
	f := newFixture(t, withEngine(2))
	b := f.loggedIn()
	id := b.uploadOK("results.csv", sample(t, "results.csv"))
	b.mapSuggested(id)
	u, _ := f.srv.loadUpload(id)
	// The file is replaced by one no program can read, as if the disk had
	// lost it, and checked again.
	if err := os.WriteFile(u.path(), []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1 legacy"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.srv.dropCheck(u)
	page := b.getOK("/uploads/" + id + "/send")
	if !strings.Contains(page, "legacy Excel") || strings.Contains(page, `action="/uploads/`+id+`/runs"`) {
		t.Errorf("the send page of an unreadable file:\n%s", page)
	}
	res := b.post("/uploads/"+id+"/runs", url.Values{"policy": {"never"}})
	if body := readBody(t, res); res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "cannot be read to its end") {
		t.Errorf("starting it: %s\n%s", res.Status, body)
	}
	if ids, _ := engine.ListRuns(f.state); len(ids) != 0 {
		t.Errorf("runs: %v", ids)
	}
}

// A shared ledger whose database went away after the console started:
// the send page says so, its URL without the password, and that nothing was
// sent, as a 503 the person can retry; no run is recorded, no request made.
func TestSendWithTheLedgerOutOfReach(t *testing.T) {
	const secret = "s3cr3t-Pa55word"
	f := newFixture(t, withEngine(1), func(o *Options) {
		o.Runner.(*EngineRunner).Job.LedgerURL = "postgres://ana:" + secret + "@127.0.0.1:1/ledger?connect_timeout=2"
		o.Ledger = "postgres://ana:***@127.0.0.1:1/ledger?connect_timeout=2"
	})
	b := f.loggedIn()
	id := b.uploadOK("nocturno.csv", synthCSV(3))
	b.mapSuggested(id)
	if page := b.getOK("/uploads/" + id + "/send"); !strings.Contains(page, "The ledger in PostgreSQL, <code>postgres://ana:***@127.0.0.1:1/ledger") {
		t.Errorf("the send page does not name the shared ledger:\n%s", page)
	}
	res := b.post("/uploads/"+id+"/runs", url.Values{"policy": {"never"}})
	body := readBody(t, res)
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("starting a run with the ledger out of reach: %s, want 503", res.Status)
	}
	for _, want := range []string{"Nothing was sent", "cannot reach the ledger database postgres://ana:***@127.0.0.1:1/ledger", "once the ledger answers"} {
		if !strings.Contains(html.UnescapeString(body), want) {
			t.Errorf("the answer lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, secret) {
		t.Errorf("the answer shows the ledger's password:\n%s", body)
	}
	if ids, _ := engine.ListRuns(f.state); len(ids) != 0 {
		t.Errorf("runs recorded: %v", ids)
	}
	for _, r := range f.sandbox.Requests() {
		if r.Method == http.MethodPost {
			t.Errorf("a result was sent with no ledger: %+v", r)
		}
	}
}
