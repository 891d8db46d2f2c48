package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/engine"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/reports"
	"github.com/reten/reconcile/internal/sandbox"
	"github.com/reten/reconcile/internal/submit"
)

var screenshots = flag.Bool("screenshots", false, "write the browser test's screenshots to docs/web/ (else to a temporary folder)")

// chromiumPath finds the browser for the browser tests: $RECONCILE_CHROMIUM,
// else Debian's chromium or a Chrome on the PATH. Without one they skip,
// but not under CI=true, where .ci/run installs it.
func chromiumPath(t *testing.T) string {
	if p := os.Getenv("RECONCILE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const how = "install Debian's chromium package (apt-get install chromium) or set RECONCILE_CHROMIUM to a Chromium or Chrome binary"
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium for the browser tests: " + how + "; .ci/run installs it when it runs as root")
	}
	t.Skip("no Chromium found, so the browser tests do not run: " + how)
	return ""
}

// newTab starts a headless Chromium of its own (a fresh profile, no
// network but loopback needed) and returns a tab in it, closed with the test.
func newTab(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() {
		cancelTime()
		cancelTab()
		cancelAlloc()
	})
	return ctx
}

// shot saves a screenshot of the whole page as docs/web/NAME.png with
// -screenshots, else in the test's temporary folder.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := t.TempDir()
	if *screenshots {
		dir = filepath.Join("..", "..", "docs", "web")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// TestBrowserWholeFlow is the back-office path in a real browser, to the
// reviewer's report: log in, upload the Spanish workbook (a title row above
// its headers), accept the suggested mapping, see the invalid cells
// highlighted, fix one and see its row checked again, send the file to the
// sandbox (answering slowly, and a few times with a 5xx) and watch the
// progress finish, open the report, download report.csv and summary.json
// and find the counts of the page in both.
func TestBrowserWholeFlow(t *testing.T) {
	ctx := newTab(t)
	f := newFixture(t, withEngine(1))
	xlsx, err := filepath.Abs(filepath.Join("..", "..", "samples", "resultados.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()

	run(t, ctx, "login page", chromedp.Navigate(f.ts.URL+"/upload"), chromedp.WaitVisible(chromedp.CSS("#token")))
	shot(t, ctx, "login")
	run(t, ctx, "log in",
		chromedp.SendKeys(chromedp.CSS("#token"), testToken),
		chromedp.Click(chromedp.CSS("form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".dropzone")))
	shot(t, ctx, "upload")

	uploaded := time.Now()
	run(t, ctx, "upload",
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{xlsx}),
		chromedp.Click(chromedp.CSS("form.upload button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("form.settings")))
	if lead := eval[string](t, ctx, `document.querySelector(".lead").innerText`); !strings.Contains(lead, "row 2") || !strings.Contains(lead, "Resultados") {
		t.Errorf("the settings page should show sheet Resultados and the header on row 2 (a title row above), says %q", lead)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#sheet option").length`); n != 3 {
		t.Errorf("the sheet select should offer the first sheet and both sheets by name, has %d options", n)
	}
	shot(t, ctx, "settings")

	run(t, ctx, "continue to mapping",
		chromedp.Click(chromedp.CSS(`button[value=continue]`)),
		chromedp.WaitVisible(chromedp.CSS("table.mapping")))
	mapped := eval[map[string]string](t, ctx, `Object.fromEntries([...document.querySelectorAll("table.mapping tbody tr")].map(tr => [tr.querySelector("th").innerText.trim(), tr.querySelector("select").value]))`)
	for header, field := range map[string]string{
		"ID Actividad": "activity_id", "Fecha gestión": "occurred_at", "Resultado": "task_result.result",
		"Comercio": "commerce_external_id", "Estado": "status", "Fecha reprogramación": "task_result.future_scheduled_at",
	} {
		if mapped[header] != field {
			t.Errorf("the mapping page suggests %q for %q, want %q (all: %v)", mapped[header], header, field, mapped)
		}
	}
	shot(t, ctx, "map")

	run(t, ctx, "accept the mapping",
		chromedp.Click(chromedp.CSS(`form button.primary[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("table.preview")))
	bad := eval[[]string](t, ctx, `[...document.querySelectorAll("td.bad .v")].map(e => e.innerText)`)
	if len(bad) == 0 {
		t.Fatal("the preview highlights no invalid cell; the sample has several")
	}
	if !slices.Contains(bad, "CLOSED") {
		t.Errorf("the status CLOSED of row 11 is not highlighted; highlighted: %q", bad)
	}
	invalidBefore := eval[string](t, ctx, `document.querySelector(".count-card.cls-invalid .n").innerText`)
	run(t, ctx, "show the invalid rows",
		chromedp.Click(chromedp.CSS(".count-card.cls-invalid")),
		chromedp.WaitVisible(chromedp.CSS(".count-card.cls-invalid.active")))
	if n := eval[int](t, ctx, `document.querySelectorAll("table.preview tbody tr").length`); n != 5 {
		t.Errorf("the invalid filter lists %d rows, want the sample's 5", n)
	}
	shot(t, ctx, "preview")

	// Row 11's only problem is its status: fixing it makes the row ready.
	run(t, ctx, "fix a cell",
		chromedp.Click(chromedp.CSS(`#row-11 td.bad`)),
		chromedp.WaitVisible(chromedp.CSS(`#row-11 input.cell-edit`)),
		chromedp.SendKeys(chromedp.CSS(`#row-11 input.cell-edit`), "EFFECTIVE\r"),
		chromedp.WaitVisible(chromedp.CSS(`#row-11.cls-ready.just-checked`)))
	if n := eval[int](t, ctx, `document.querySelectorAll("#row-11 td.bad").length`); n != 0 {
		t.Errorf("row 11 still has %d highlighted cells after the fix", n)
	}
	invalidAfter := eval[string](t, ctx, `document.querySelector(".count-card.cls-invalid .n").innerText`)
	if invalidAfter == invalidBefore {
		t.Errorf("the invalid count stayed %s after a row was fixed", invalidAfter)
	}
	if s := eval[string](t, ctx, `document.getElementById("status").innerText`); !strings.Contains(s, "Row 11 checked again: ready to send") {
		t.Errorf("the status line says %q", s)
	}
	shot(t, ctx, "preview-fixed")
	fixed := time.Since(started)

	// Send it, to a sandbox that answers slowly enough to watch and fails
	// a tenth of the requests once.
	f.sandbox.SetFaults(sandbox.Faults{Latency: 250 * time.Millisecond, FailRate: 0.1, Seed: 3})
	run(t, ctx, "to the send page",
		chromedp.Click(chromedp.CSS(`.page-head a.button.primary`)),
		chromedp.WaitVisible(chromedp.CSS("fieldset.policy")))
	if n := eval[string](t, ctx, `document.querySelector("form.send button.primary").innerText`); n != "Send 16 rows" {
		t.Errorf("the send button says %q, want the 16 ready rows", n)
	}
	run(t, ctx, "choose the row policy", chromedp.Click(chromedp.CSS(`input[name=policy][value=row]`)))
	shot(t, ctx, "send")
	run(t, ctx, "send", chromedp.Click(chromedp.CSS(`form.send button.primary`)), chromedp.WaitVisible(chromedp.CSS("#run progress")))
	for deadline := time.Now().Add(20 * time.Second); ; {
		if done := eval[int](t, ctx, `Number(document.getElementById("done").innerText)`); done >= 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the progress did not move")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if eval[bool](t, ctx, `document.getElementById("report-link").hidden`) != true {
		t.Error("the report link shows before the run has ended")
	}
	shot(t, ctx, "run")
	run(t, ctx, "watch the progress finish", chromedp.WaitVisible(chromedp.CSS("#report-link")))
	progress := eval[map[string]any](t, ctx, `({done: document.getElementById("done").innerText, total: document.getElementById("total").innerText,
		bar: document.getElementById("bar").value, max: document.getElementById("bar").max, status: document.getElementById("run-status").innerText,
		cancel: !!document.getElementById("cancel-form")})`)
	if progress["done"] != "20" || progress["total"] != "20" || progress["bar"] != float64(20) || progress["cancel"] != false ||
		!strings.Contains(progress["status"].(string), "Finished") {
		t.Errorf("the finished run's page: %v", progress)
	}
	// The bar's width eases over 0.3 s (style.css): let it reach the end
	// before the picture is taken.
	time.Sleep(400 * time.Millisecond)
	shot(t, ctx, "run-finished")

	run(t, ctx, "open the report", chromedp.Click(chromedp.CSS("#report-link")), chromedp.WaitVisible(chromedp.CSS("svg.chart")))
	reported := time.Since(uploaded)
	shot(t, ctx, "report")
	onPage := eval[map[string]string](t, ctx, `Object.fromEntries([...document.querySelectorAll(".outcome-counts .n")].map(n => [n.dataset.class, n.innerText]))`)

	dir := t.TempDir()
	run(t, ctx, "allow downloads", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
			Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: ptr(true)})
		return err
	}))
	download := func(name string) []byte {
		t.Helper()
		downloaded := chromedp.Events(ctx, cdpbrowser.DownloadProgress)
		run(t, ctx, "download "+name, chromedp.Click(chromedp.CSS(`ul.downloads a[href$="/files/`+name+`"]`)))
		for ev, err := range downloaded {
			if err != nil {
				t.Fatalf("downloading %s: %v", name, err)
			}
			if ev.State == cdpbrowser.DownloadProgressStateCompleted {
				data, err := os.ReadFile(filepath.Join(dir, ev.GUID))
				if err != nil {
					t.Fatal(err)
				}
				return data
			}
		}
		t.Fatalf("%s was not downloaded", name)
		return nil
	}
	var sum reports.Summary
	if err := json.Unmarshal(download("summary.json"), &sum); err != nil {
		t.Fatalf("the downloaded summary.json: %v", err)
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(download("report.csv"), []byte("\xEF\xBB\xBF")))).ReadAll()
	if err != nil {
		t.Fatalf("the downloaded report.csv: %v", err)
	}
	inCSV := map[string]int{}
	col := slices.Index(recs[0], reports.OutcomeColumn)
	for _, rec := range recs[1:] {
		inCSV[rec[col]]++
	}
	for _, c := range outcome.Classes {
		if onPage[string(c)] != strconv.Itoa(sum.Counts[c]) || inCSV[string(c)] != sum.Counts[c] {
			t.Errorf("%s: the page says %s, summary.json %d, report.csv %d", c, onPage[string(c)], sum.Counts[c], inCSV[string(c)])
		}
	}
	if sum.Total != 20 || sum.Files[0].Name != "resultados.xlsx" || sum.Counts[outcome.ClassInvalid] != 4 {
		t.Errorf("the summary: %d rows of %+v, %d invalid; want the 20 rows of resultados.xlsx, the 4 left invalid", sum.Total, sum.Files, sum.Counts[outcome.ClassInvalid])
	}

	// A run of the command line on the same state directory, as cron's.
	f.sandbox.SetFaults(sandbox.Faults{})
	client, _ := api.NewClient(f.baseURL, testKey)
	cli := &engine.Job{Command: "run", Files: []string{filepath.Join("..", "..", "samples", "results.csv")},
		Submitter: &submit.Submitter{Client: client}, StateDir: f.state, ReportDir: filepath.Join(t.TempDir(), "reports-nightly")}
	if res := cli.Run(context.Background(), nil); res.Ending != engine.Finished {
		t.Fatalf("the command line's run: %v %v", res.Ending, res.Err)
	}
	run(t, ctx, "the runs", chromedp.Click(chromedp.CSS("a.runs-link")), chromedp.WaitVisible(chromedp.CSS("table.runs")))
	if by := eval[[]string](t, ctx, `[...document.querySelectorAll("table.runs tbody tr td:nth-child(3)")].map(td => td.innerText)`); !slices.Equal(by, []string{"run", "console"}) {
		t.Errorf("the runs page lists runs by %v, want the command line's, then the console's", by)
	}
	shot(t, ctx, "runs")
	t.Logf("login → fixed cell %v; upload → report %v (the sandbox answering after 250 ms, one request at a time)",
		fixed.Round(time.Millisecond), reported.Round(time.Millisecond))
}

func ptr[T any](v T) *T { return &v }
