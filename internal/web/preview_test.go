package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/validate"
)

// cliCounts is what the CLI's path gives for a file: importer.Open with
// the shipped mapping, then the Validator, as `reconcile validate` runs them.
func cliCounts(t *testing.T, f *fixture, path string, opts importer.Options) map[string]int {
	t.Helper()
	r, err := importer.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	v := validate.NewValidator(f.srv.opts.Catalogue, nil)
	defer v.Close()
	counts := map[string]int{}
	err = v.CheckAll(r, func(it validate.Item) error {
		o, offline := it.Offline()
		if !offline {
			o.Class = "ready"
		}
		counts[string(o.Class)]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return counts
}

func (b *browser) checkSummary(id string) *checkSummary {
	b.f.t.Helper()
	res := b.get("/api/uploads/" + id + "/check")
	var sum checkSummary
	if err := json.NewDecoder(res.Body).Decode(&sum); err != nil || res.StatusCode != http.StatusOK {
		b.f.t.Fatalf("check summary: %s %v", res.Status, err)
	}
	return &sum
}

// The Spanish samples, mapped by suggestion alone, check exactly as the
// CLI checks them with the shipped mapping.
func TestSuggestedMappingChecksTheSpanishSamplesAsTheCLIDoes(t *testing.T) {
	f := newFixture(t)
	b := f.loggedIn()
	for _, c := range []struct {
		name       string
		dateFormat string // what the settings page should have found
	}{
		{"resultados.xlsx", ""},
		{"resultados.csv", "02/01/2006 15:04"},
	} {
		id := b.uploadOK(c.name, sample(t, c.name))
		u, _ := f.srv.loadUpload(id)
		if u.Read.DateFormat != c.dateFormat {
			t.Errorf("%s: date format found %q, want %q", c.name, u.Read.DateFormat, c.dateFormat)
		}
		if res := b.post("/uploads/"+id+"/settings", url.Values{"date_format": {u.Read.DateFormat}, "timezone": {"America/Santiago"}, "action": {"continue"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: settings %s", c.name, res.Status)
		}
		if res := b.mapSuggested(id); res.StatusCode != http.StatusSeeOther || !strings.HasSuffix(res.Header.Get("Location"), "/preview") {
			t.Fatalf("%s: the suggested mapping was refused: %s\n%s", c.name, res.Status, readBody(t, res))
		}
		sum := b.checkSummary(id)
		loc, _ := time.LoadLocation("America/Santiago")
		want := cliCounts(t, f, filepath.Join("..", "..", "samples", c.name), importer.Options{
			MappingFile: filepath.Join("..", "..", "samples", "mapping-es.txt"), DateFormat: c.dateFormat, Location: loc})
		if fmt.Sprint(sum.Counts) != fmt.Sprint(want) || sum.Err != "" {
			t.Errorf("%s: the console counts %v (%s), the CLI %v", c.name, sum.Counts, sum.Err, want)
		}
		if sum.Counts[classInvalid] == 0 {
			t.Errorf("%s: no invalid row; the sample has some", c.name)
		}
	}
}

var rowRe = regexp.MustCompile(`<tr id="row-(\d+)"`)

func rowNumbers(page string) []string {
	var rows []string
	for _, m := range rowRe.FindAllStringSubmatch(page, -1) {
		rows = append(rows, m[1])
	}
	return rows
}

// largeCSV writes n rows, every seventh with an unknown status.
func largeCSV(n int) []byte {
	var sb strings.Builder
	sb.WriteString("provider_activity_id,commerce_external_id,occurred_at,status,result\n")
	for i := 0; i < n; i++ {
		status := "EFFECTIVE"
		if i%7 == 0 {
			status = "CLOSED"
		}
		fmt.Fprintf(&sb, "P-%06d,COM-%03d,2026-04-11T10:30:00Z,%s,SALE_COMPLETED\n", i, i%100, status)
	}
	return []byte(sb.String())
}

func TestPreviewPagesRowsFromDisk(t *testing.T) {
	f := newFixture(t)
	b := f.loggedIn()
	const n = 3000
	id := b.uploadOK("big.csv", largeCSV(n))
	b.mapSuggested(id)
	sum := b.checkSummary(id)
	invalid := (n + 6) / 7
	if sum.Rows != n || sum.Counts[classInvalid] != invalid || sum.Counts[classReady] != n-invalid {
		t.Fatalf("summary %+v", sum)
	}
	for _, c := range []struct {
		query       string
		first, last string
		count       int
	}{
		{"", "2", "51", pageRows},
		{"?page=2", "52", "101", pageRows},
		{"?page=60", "2952", "3001", pageRows},
		{"?page=99", "2952", "3001", pageRows}, // past the end: the last page
		{"?class=invalid", "2", "345", pageRows},
		{"?class=invalid&page=9", "2802", "2998", invalid - 8*pageRows},
		{"?problem=p0&page=9", "2802", "2998", invalid - 8*pageRows},
		{"?class=skipped", "", "", 0},
		{"?class=../../etc/passwd", "2", "51", pageRows}, // an unknown filter lists every row
	} {
		rows := rowNumbers(b.getOK("/uploads/" + id + "/preview" + c.query))
		if len(rows) != c.count || c.count > 0 && (rows[0] != c.first || rows[len(rows)-1] != c.last) {
			t.Errorf("preview%s: %d rows %v, want %d from row %s to %s", c.query, len(rows), rows, c.count, c.first, c.last)
		}
	}
	// The page is read from the check's files, not from memory.
	for _, name := range []string{"rows.jsonl", "offsets", "ready.idx", "invalid.idx", "p0.idx", "summary.json"} {
		if _, err := os.Stat(filepath.Join(f.state, uploadsDir, id, checkDir, name)); err != nil {
			t.Errorf("the check has no %s: %v", name, err)
		}
	}
}

func TestACorrectedCellIsCheckedAgain(t *testing.T) {
	f := newFixture(t)
	b := f.loggedIn()
	id := b.uploadOK("big.csv", largeCSV(20))
	b.mapSuggested(id)
	// Row 2 (ordinal 0) has status CLOSED in column 3.
	edit := func(col, value string) editAnswer {
		req, _ := http.NewRequest("POST", f.ts.URL+"/api/uploads/"+id+"/rows/0", strings.NewReader(url.Values{"col": {col}, "value": {value}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(csrfHeader, b.csrf)
		res := b.do(req)
		var a editAnswer
		if err := json.NewDecoder(res.Body).Decode(&a); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("edit: %s %v", res.Status, err)
		}
		return a
	}
	a := edit("3", "DONE")
	if a.Class != classInvalid || a.Problems != 1 || !strings.Contains(a.Row, `&#34;DONE&#34; is not a status`) {
		t.Errorf("a wrong correction: %+v", a)
	}
	a = edit("3", "effective")
	if a.Class != classReady || a.Problems != 0 || strings.Contains(a.Row, `class="bad"`) || !strings.Contains(a.Row, "corrected") {
		t.Errorf("a right correction: %+v", a)
	}
	if !strings.Contains(a.Counts, `<span class="n">18</span> ready to send`) || !strings.Contains(a.Counts, `<span class="n">2</span> invalid`) {
		t.Errorf("the counts after the correction: %s", a.Counts)
	}
	// The correction is kept, and read by the next check and by a run.
	u, _ := f.srv.loadUpload(id)
	in, err := u.editedInput()
	if err != nil || strings.Join(in.Edits[2], ",") != "P-000000,COM-000,2026-04-11T10:30:00Z,effective,SALE_COMPLETED" {
		t.Errorf("the edits kept: %v %v", in.Edits, err)
	}
	// The rows to fix leave it out; undoing the corrections brings it back.
	rejects := readBody(t, b.get("/uploads/"+id+"/rejects"))
	if strings.Contains(rejects, "P-000000") || !strings.Contains(rejects, "P-000007") || !strings.Contains(rejects, "reconcile_error") {
		t.Errorf("rejects after the correction:\n%s", rejects)
	}
	if res := b.post("/uploads/"+id+"/edits/discard", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("discard: %s", res.Status)
	}
	if sum := b.checkSummary(id); sum.Counts[classInvalid] != 3 || sum.Edited != 0 {
		t.Errorf("after undoing: %+v", sum)
	}
}

func TestTheFormCorrectsARowWithoutScripts(t *testing.T) {
	f := newFixture(t)
	b := f.loggedIn()
	id := b.uploadOK("big.csv", largeCSV(8))
	b.mapSuggested(id)
	page := b.getOK("/uploads/" + id + "/rows/0")
	if !strings.Contains(page, `aria-invalid="true"`) || !strings.Contains(page, `value="CLOSED"`) {
		t.Fatalf("the edit form does not mark the bad cell:\n%s", page)
	}
	res := b.post("/uploads/"+id+"/rows/0", url.Values{"c0": {"P-000000"}, "c1": {"COM-000"}, "c2": {"2026-04-11T10:30:00Z"}, "c3": {"PENDING"}, "c4": {"SALE_COMPLETED"}})
	if res.StatusCode != http.StatusSeeOther || !strings.HasSuffix(res.Header.Get("Location"), "/preview#row-2") {
		t.Fatalf("saving the form: %s to %s", res.Status, res.Header.Get("Location"))
	}
	if sum := b.checkSummary(id); sum.Counts[classInvalid] != 1 {
		t.Errorf("after the form: %+v", sum.Counts)
	}
}

// A duplicate is a rule over the whole file: correcting one row's id can
// make a later row a duplicate.
func TestACorrectionIsCheckedWithTheRestOfTheFile(t *testing.T) {
	f := newFixture(t)
	b := f.loggedIn()
	csv := "provider_activity_id,commerce_external_id,occurred_at,status,result\n" +
		"P-1,COM-1,2026-04-11T10:30:00Z,EFFECTIVE,SALE_COMPLETED\n" +
		"P-2,COM-1,2026-04-11T10:30:00Z,EFFECTIVE,SALE_COMPLETED\n"
	id := b.uploadOK("dups.csv", []byte(csv))
	b.mapSuggested(id)
	req, _ := http.NewRequest("POST", f.ts.URL+"/api/uploads/"+id+"/rows/1", strings.NewReader("col=0&value=P-1"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(csrfHeader, b.csrf)
	var a editAnswer
	json.NewDecoder(b.do(req).Body).Decode(&a)
	if a.Class != classSkipped || !strings.Contains(a.Row, "same activity") {
		t.Errorf("row 3 corrected to row 2's id: %+v", a)
	}
}

func TestRejectsDownloadedFixedAndUploadedAgain(t *testing.T) {
	f := newFixture(t)
	b := f.loggedIn()
	id := b.uploadOK("resultados.csv", sample(t, "resultados.csv"))
	b.mapSuggested(id)
	first := b.checkSummary(id)
	res := b.get("/uploads/" + id + "/rejects")
	if cd := res.Header.Get("Content-Disposition"); res.StatusCode != http.StatusOK || !strings.Contains(cd, "resultados-rejects.csv") {
		t.Fatalf("rejects: %s %q", res.Status, cd)
	}
	rejects := []byte(readBody(t, res))
	// Same separator and encoding as the file: Windows-1252 has no UTF-8 accents.
	if !strings.Contains(string(rejects), ";") || strings.Contains(string(rejects), "gestión") {
		t.Errorf("the rejects file is not in the file's own format:\n%s", rejects)
	}
	again := b.uploadOK("resultados-rejects.csv", rejects)
	mapPage := b.getOK("/uploads/" + again + "/map")
	if !strings.Contains(mapPage, "reconcile's own column, ignored") {
		t.Error("the reason column of a rejects file is not shown as ignored")
	}
	b.mapSuggested(again)
	second := b.checkSummary(again)
	if second.Rows != first.Counts[classInvalid] || second.Counts[classInvalid] != first.Counts[classInvalid] {
		t.Errorf("the rejects file uploaded again: %+v; the first check had %d invalid rows", second.Counts, first.Counts[classInvalid])
	}
}

func TestMappingSavedForTheTenantAndDownloadedForTheCLI(t *testing.T) {
	f := newFixture(t)
	b := f.loggedIn()
	id := b.uploadOK("resultados.xlsx", sample(t, "resultados.xlsx"))
	page := b.getOK("/uploads/" + id + "/map")
	// The person overrides one suggestion: Comentario is not sent.
	v := selectedValues(page, url.Values{"remember": {"1"}})
	for k, val := range v {
		if val[0] == "task_result.comment" {
			v.Set(k, "")
		}
	}
	if res := b.post("/uploads/"+id+"/map", v); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("map: %s", res.Status)
	}
	file := readBody(t, b.get("/uploads/"+id+"/mapping.txt"))
	path := filepath.Join(t.TempDir(), "mapping.txt")
	os.WriteFile(path, []byte(file), 0o644)
	m, err := importer.LoadMapping(path)
	if err != nil {
		t.Fatalf("the downloaded mapping is not a --mapping file: %v\n%s", err, file)
	}
	if fld, ignore, _ := m.Lookup("Comentario"); fld != importer.NoField || !ignore {
		t.Errorf("Comentario in the downloaded mapping: %s, ignore %v\n%s", fld, ignore, file)
	}
	if fld, _, _ := m.Lookup("Fecha gestión"); fld != importer.OccurredAt {
		t.Errorf("Fecha gestión in the downloaded mapping: %s", fld)
	}
	// The CLI reads the workbook with it, header and all.
	r, err := importer.Open(filepath.Join("..", "..", "samples", "resultados.xlsx"), importer.Options{MappingFile: path})
	if err != nil {
		t.Fatalf("the CLI cannot read the workbook with the downloaded mapping: %v", err)
	}
	if r.Layout().HeaderRow != 2 {
		t.Errorf("header row %d with the downloaded mapping", r.Layout().HeaderRow)
	}
	r.Close()
	// The next file of the tenant gets the saved choice.
	if tenant := readBody(t, b.get("/mapping.txt")); tenant != file {
		t.Errorf("the tenant's saved mapping differs from the file's:\n%s\n%s", tenant, file)
	}
	next := b.uploadOK("otra.xlsx", sample(t, "resultados.xlsx"))
	page = b.getOK("/uploads/" + next + "/map")
	if !strings.Contains(page, "saved mapping") || strings.Contains(page, `<option value="task_result.comment" selected>`) {
		t.Error("the next upload does not start from the saved mapping")
	}
}

func TestMappingRefusesAFieldTwiceAndMissingFields(t *testing.T) {
	f := newFixture(t)
	b := f.loggedIn()
	id := b.uploadOK("results.csv", sample(t, "results.csv"))
	v := selectedValues(b.getOK("/uploads/"+id+"/map"), url.Values{})
	var status, first string
	for k, val := range v {
		if val[0] == "status" {
			status = k
		}
		if val[0] == "occurred_at" {
			first = k
		}
	}
	v.Set(status, "occurred_at")
	res := b.post("/uploads/"+id+"/map", v)
	body := readBody(t, res)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "both hold occurred_at") || !strings.Contains(body, "No column holds status") {
		t.Errorf("a field chosen twice, status for none: %s\n%s", res.Status, body)
	}
	_ = first
	if u, _ := f.srv.loadUpload(id); u.Mapped {
		t.Error("a refused mapping was saved")
	}
}

func TestSettingsShowWhatWasFoundAndTakeChanges(t *testing.T) {
	f := newFixture(t)
	b := f.loggedIn()
	id := b.uploadOK("resultados.csv", sample(t, "resultados.csv"))
	page := b.getOK("/uploads/" + id)
	for _, want := range []string{"Detect (found semicolon ;)", "Detect (found Windows-1252", "Detect (found row 1)", "has dates written day first, e.g. 13/04/2026"} {
		if !strings.Contains(page, want) {
			t.Errorf("the settings page does not say %q", want)
		}
	}
	// A wrong separator read: one column, and the page says so.
	if res := b.post("/uploads/"+id+"/settings", url.Values{"delimiter": {","}, "action": {"apply"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("settings: %s", res.Status)
	}
	if u, _ := f.srv.loadUpload(id); u.Read.Delimiter != "," {
		t.Errorf("the separator chosen was not kept: %+v", u.Read)
	}
	for _, bad := range []url.Values{
		{"timezone": {"Mars/Olympus"}},
		{"date_format_custom": {"dd/mm/yyyy"}},
		{"delimiter": {"x"}},
		{"header_row": {"two"}},
	} {
		bad.Set("action", "apply")
		res := b.post("/uploads/"+id+"/settings", bad)
		if body := readBody(t, res); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `class="alert error"`) {
			t.Errorf("settings %v: %s, want 422 with a message", bad, res.Status)
		}
	}
}

// A header chosen by hand is the one read, or the preview says why not.
func TestAChosenHeaderRow(t *testing.T) {
	f := newFixture(t)
	b := f.loggedIn()
	csv := "Informe,de,abril\nprovider_activity_id,commerce_external_id,occurred_at,status,result\nP-1,COM-1,2026-04-11T10:30:00Z,EFFECTIVE,SALE_COMPLETED\n"
	id := b.uploadOK("t.csv", []byte(csv))
	if !strings.Contains(b.getOK("/uploads/"+id), "Detect (found row 2)") {
		t.Error("the header on row 2 was not found")
	}
	b.mapSuggested(id)
	if sum := b.checkSummary(id); sum.HeaderRow != 2 || sum.Rows != 1 || sum.Err != "" {
		t.Errorf("summary: %+v", sum)
	}
	// Row 3 chosen and mapped by hand: the importer still takes row 2,
	// which names the contract's fields first, and the preview says so.
	b.post("/uploads/"+id+"/settings", url.Values{"header_row": {"3"}, "action": {"apply"}})
	v := url.Values{}
	for i, field := range []string{"provider_activity_id", "commerce_external_id", "occurred_at", "status", "task_result.result"} {
		v.Set(fmt.Sprintf("f%d", i), field)
	}
	if res := b.post("/uploads/"+id+"/map", v); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("mapping row 3: %s", res.Status)
	}
	if sum := b.checkSummary(id); !strings.Contains(sum.Err, "found on row 2, not on row 3") {
		t.Errorf("row 3 chosen: %+v", sum)
	}
}

func TestUnreadableFilesSayWhy(t *testing.T) {
	f := newFixture(t)
	b := f.loggedIn()
	id := b.uploadOK("viejo.xls", []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1 legacy"))
	res := b.get("/uploads/" + id)
	body := readBody(t, res)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "viejo.xls is a legacy Excel 97-2003 workbook") || strings.Contains(body, f.state) {
		t.Errorf("a legacy workbook: %s\n%s", res.Status, body)
	}
}

func TestOutcomeClassesOfThePreviewAreTheCLIs(t *testing.T) {
	if classInvalid != string(outcome.ClassInvalid) || classSkipped != string(outcome.ClassSkipped) {
		t.Error("the preview's classes drifted from the outcome classes")
	}
}
