// Command webflow times the web console's whole flow in a real headless
// Chromium, as a person goes through it: upload a file, accept the file
// settings and the suggested mapping, see the preview, send, wait for the
// progress to finish, open the report. It drives the reconcile binary it is
// given, as a user runs it:
//
//   - without -rows, `reconcile demo --web` (the in-process sandbox of the
//     demo, answering 10% of requests with a 5xx, after 30 ms) and the three
//     shipped samples, 56 rows in all, one after another;
//   - with -rows N, `reconcile sandbox` with N synthetic activities and
//     -latency, and `reconcile serve` against it at -concurrency, and a file
//     of N rows (-kind csv or xlsx), -runs times (the sandbox forgets its
//     results between runs, each run has a state directory of its own).
//
// It prints each step's time, upload to report, and the server's peak RSS;
// with -rows, also the time `reconcile run` takes to send the same file to
// the same sandbox, afresh.
//
//	go run ./bench/webflow -bin bench/out/webflow/reconcile
//	go run ./bench/webflow -bin ... -rows 100000 -kind xlsx -latency 10ms -concurrency 16
package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"
)

func main() {
	bin := flag.String("bin", "bench/out/webflow/reconcile", "the reconcile binary to run")
	rows := flag.Int("rows", 0, "rows of a generated file; 0: the demo's samples")
	kind := flag.String("kind", "csv", "csv or xlsx, for -rows")
	runs := flag.Int("runs", 1, "times the flow is run, for -rows")
	latency := flag.Duration("latency", 10*time.Millisecond, "the sandbox's delay before each answer, for -rows")
	concurrency := flag.Int("concurrency", 16, "requests in flight, for -rows")
	chromium := flag.String("chromium", "chromium", "the browser")
	flag.Parse()
	dir, err := os.MkdirTemp("", "webflow-")
	must(err)
	defer os.RemoveAll(dir)

	if *rows == 0 {
		srv := start(dir, nil, *bin, "demo", "--web", "--addr", "127.0.0.1:0")
		defer srv.stop()
		var total time.Duration
		for _, name := range []string{"results.csv", "resultados.csv", "resultados.xlsx"} {
			path, _ := filepath.Abs(filepath.Join("samples", name))
			t := flow(*chromium, srv, path)
			total += t.total()
			fmt.Printf("%-16s %s\n", name, t)
		}
		fmt.Printf("the 56 rows of the demo, upload to report, file after file: %.2f s; server peak RSS %s\n", total.Seconds(), srv.peakRSS())
		return
	}

	file := filepath.Join(dir, fmt.Sprintf("rows-%d.%s", *rows, *kind))
	must(writeRows(file, *rows, *kind))
	fi, _ := os.Stat(file)
	sandbox := start(dir, nil, *bin, "sandbox", "--addr", "127.0.0.1:0", "--tenant", "samples/tenant.json",
		"--activities", fmt.Sprint(*rows), "--latency", latency.String(), "--quiet")
	defer sandbox.stop()
	fmt.Printf("%d rows, %s, %.1f MB; sandbox answering after %v; concurrency %d\n", *rows, *kind, float64(fi.Size())/1e6, *latency, *concurrency)
	for run := 1; run <= *runs; run++ {
		resp, err := http.Post(sandbox.url+"/_sandbox/reset", "application/json", nil)
		must(err)
		resp.Body.Close()
		env := []string{"RETEN_BASE_URL=" + sandbox.url, "RETEN_API_KEY=rtn_sk_demo"}
		srv := start(dir, env, *bin, "serve", "--addr", "127.0.0.1:0", "--state-dir", filepath.Join(dir, fmt.Sprint("state-", run)),
			"--concurrency", fmt.Sprint(*concurrency), "--max-upload", "1GB")
		t := flow(*chromium, srv, file)
		fmt.Printf("run %d: %s; server peak RSS %s\n", run, t, srv.peakRSS())
		srv.stop()

		// The same file by the command line, to the same sandbox afresh:
		// what the console adds to a run.
		resp, err = http.Post(sandbox.url+"/_sandbox/reset", "application/json", nil)
		must(err)
		resp.Body.Close()
		cli := exec.Command(*bin, "run", "--concurrency", fmt.Sprint(*concurrency), "--state-dir", filepath.Join(dir, fmt.Sprint("cli-state-", run)),
			"--report-dir", filepath.Join(dir, fmt.Sprint("cli-reports-", run)), file)
		cli.Env = append(os.Environ(), env...)
		t0 := time.Now()
		if out, err := cli.CombinedOutput(); err != nil && cli.ProcessState.ExitCode() > 1 {
			log.Fatalf("reconcile run: %v\n%s", err, out)
		}
		fmt.Printf("run %d: reconcile run of the same file: %.2f s\n", run, time.Since(t0).Seconds())
	}
}

// timing is how long each step of one flow took.
type timing struct {
	upload, settings, check, send, report time.Duration
}

func (t timing) total() time.Duration { return t.upload + t.settings + t.check + t.send + t.report }

func (t timing) String() string {
	s := func(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
	return fmt.Sprintf("upload %s, settings %s, mapping and check %s, send to the end %s, report %s; upload to report %s",
		s(t.upload), s(t.settings), s(t.check), s(t.send), s(t.report), s(t.total()))
}

// flow goes through the console in a new browser, from the upload page to
// the report of the file at path.
func flow(chromium string, srv *server, path string) timing {
	profile, err := os.MkdirTemp("", "webflow-chromium-")
	must(err)
	defer os.RemoveAll(profile)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), chromedp.ExecPath(chromium), chromedp.Headless,
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.UserDataDir(profile), chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-dev-shm-usage", true))
	defer cancelAlloc()
	ctx, cancelTab := chromedp.NewContext(actx)
	defer cancelTab()
	ctx, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) time.Duration {
		t0 := time.Now()
		if err := chromedp.Do(ctx, steps...); err != nil {
			log.Fatalf("%s: %v", what, err)
		}
		return time.Since(t0)
	}
	do("log in", chromedp.Navigate(srv.login), chromedp.WaitVisible(chromedp.CSS(".dropzone")))
	var t timing
	t.upload = do("upload", chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{path}),
		chromedp.Click(chromedp.CSS("form.upload button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("form.settings")))
	t.settings = do("file settings", chromedp.Click(chromedp.CSS(`button[value=continue]`)), chromedp.WaitVisible(chromedp.CSS("table.mapping")))
	t.check = do("mapping and check", chromedp.Click(chromedp.CSS(`form button.primary[type=submit]`)), chromedp.WaitVisible(chromedp.CSS("table.preview")))
	t.send = do("send", chromedp.Click(chromedp.CSS(`.page-head a.button.primary`)), chromedp.WaitVisible(chromedp.CSS("form.send")),
		chromedp.Click(chromedp.CSS(`form.send button.primary`)), chromedp.WaitVisible(chromedp.CSS("#report-link")))
	t.report = do("report", chromedp.Click(chromedp.CSS("#report-link")), chromedp.WaitVisible(chromedp.CSS("svg.chart")))
	return t
}

// server is a reconcile command serving on loopback.
type server struct {
	cmd   *exec.Cmd
	url   string // where it listens
	login string // the console's login URL
}

var listening = regexp.MustCompile(`(?:open |listening on )(http://[^ /]+)(\S*)`)

// start runs bin with args, and waits for it to say where it listens.
func start(dir string, env []string, bin string, args ...string) *server {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr, _ = os.Create(filepath.Join(dir, args[0]+".err"))
	out, err := cmd.StdoutPipe()
	must(err)
	must(cmd.Start())
	s := &server{cmd: cmd}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if m := listening.FindStringSubmatch(sc.Text()); m != nil {
			s.url = m[1]
			s.login = m[1] + m[2]
			break
		}
	}
	if s.url == "" {
		log.Fatalf("%s %v said nowhere it listens; see %s", bin, args, filepath.Join(dir, args[0]+".err"))
	}
	go io.Copy(io.Discard, out)
	return s
}

// peakRSS is the process's peak resident memory so far.
func (s *server) peakRSS() string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// stop interrupts the server as Ctrl-C does, and waits for it.
func (s *server) stop() {
	s.cmd.Process.Signal(os.Interrupt)
	s.cmd.Wait()
}

// writeRows writes n rows for the sandbox's synthetic activities
// (SYN-0000001...), as a back office would export them.
func writeRows(path string, n int, kind string) error {
	header := []string{"provider_activity_id", "commerce_external_id", "occurred_at", "status", "result", "comment"}
	row := func(i int) []string {
		return []string{fmt.Sprintf("SYN-%07d", i), fmt.Sprintf("SYNC-%05d", i%1000), "2026-04-11T10:30:00Z",
			[]string{"EFFECTIVE", "NOT_EFFECTIVE", "PENDING"}[i%3], []string{"SALE_COMPLETED", "No interesado", "NO_CONTACT"}[i%3],
			fmt.Sprintf("visit %d", i)}
	}
	if kind == "xlsx" {
		x := excelize.NewFile()
		defer x.Close()
		sw, err := x.NewStreamWriter("Sheet1")
		if err != nil {
			return err
		}
		cells := func(r []string) []any {
			out := make([]any, len(r))
			for i, c := range r {
				out[i] = c
			}
			return out
		}
		if err := sw.SetRow("A1", cells(header)); err != nil {
			return err
		}
		for i := 1; i <= n; i++ {
			cell, _ := excelize.CoordinatesToCellName(1, i+1)
			if err := sw.SetRow(cell, cells(row(i))); err != nil {
				return err
			}
		}
		if err := sw.Flush(); err != nil {
			return err
		}
		return x.SaveAs(path)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write(header)
	for i := 1; i <= n; i++ {
		w.Write(row(i))
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
