package web

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
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

// TestBrowserUploadMapPreviewFix is the back-office path in a real browser:
// log in, upload the Spanish workbook (a title row above its headers),
// accept the suggested mapping, see the invalid cells highlighted, fix one
// and see its row checked again.
func TestBrowserUploadMapPreviewFix(t *testing.T) {
	ctx := newTab(t)
	f := newFixture(t)
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
	if !containsString(bad, "CLOSED") {
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
	t.Logf("login → fixed cell in the browser: %v", time.Since(started).Round(time.Millisecond))
}
