package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/engine"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/sandbox"
	"github.com/reten/reconcile/internal/sandbox/sandboxtest"
	"github.com/reten/reconcile/internal/web"
)

func TestByteSizeFlag(t *testing.T) {
	for in, want := range map[string]int64{
		"50MB": 50 << 20, "50mb": 50 << 20, "50 MB": 50 << 20, "50M": 50 << 20, "1.5GB": 3 << 29, "800KB": 800 << 10,
		"2G": 2 << 30, "1048576": 1 << 20, "100B": 100,
	} {
		var b byteSize
		if err := b.Set(in); err != nil || int64(b) != want {
			t.Errorf("Set(%q) = %d, %v; want %d", in, b, err, want)
		}
	}
	for _, in := range []string{"", "-1MB", "0", "lots", "5TB", "MB", "1e30"} {
		var b byteSize
		if err := b.Set(in); err == nil || !strings.Contains(err.Error(), "50MB") {
			t.Errorf("Set(%q) = %v, want an error saying how to write a size", in, err)
		}
	}
	for n, want := range map[byteSize]string{50 << 20: "50MB", 2 << 30: "2GB", 3 << 29: "1536MB", 1000: "1000"} {
		if got := n.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int64(n), got, want)
		}
	}
}

func TestServeUsageErrors(t *testing.T) {
	env := map[string]string{"RETEN_BASE_URL": "http://127.0.0.1:9", "RETEN_API_KEY": "rtn_sk_x"}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"serve", "file.csv"}, env, "serve takes no arguments"},
		{[]string{"serve", "--addr", "0.0.0.0:0"}, env, "set " + web.TokenEnv},
		{[]string{"serve", "--addr", "8080"}, env, "is not host:port"},
		{[]string{"serve", "--max-upload", "lots"}, env, "50MB"},
		{[]string{"serve", "--report-dir", "x"}, env, "unknown flag --report-dir"},
		{[]string{"serve", "--force"}, env, "unknown flag --force"},
		{[]string{"serve", "--concurrency", "0"}, env, "--concurrency must be 1 or more"},
		{[]string{"serve"}, map[string]string{"RETEN_API_KEY": "rtn_sk_x"}, "RETEN_BASE_URL is not set"},
		{[]string{"demo", "--web", "--report-dir", "x"}, nil, "leave out --report-dir"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, stderr := runMain(t, tc.env, tc.args...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d saying %q", code, stderr, exitUsage, tc.want)
			}
		})
	}
}

// startCommand runs a command that serves until ctx ends, waits for it
// to print where to log in, and returns the console's address.
func startCommand(t *testing.T, ctx context.Context, vars map[string]string, args ...string) (stdout, stderr *syncBuffer, login string, exited <-chan int) {
	t.Helper()
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	env := &environ{stdout: stdout, stderr: stderr, getenv: func(k string) string { return vars[k] }}
	done := make(chan int, 1)
	go func() { done <- Main(ctx, env, args) }()
	loginRe := regexp.MustCompile(`open (http://\S+)`)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := loginRe.FindStringSubmatch(stdout.String()); m != nil {
			u, err := url.Parse(m[1])
			if err != nil {
				t.Fatal(err)
			}
			return stdout, stderr, u.Scheme + "://" + u.Host, done
		}
		select {
		case code := <-done:
			t.Fatalf("%v exited %d:\n%s\n%s", args, code, stdout, stderr)
		default:
		}
	}
	t.Fatalf("%v printed no login URL:\n%s\n%s", args, stdout, stderr)
	return
}

// stoppedServing waits for serve to exit after Ctrl-C, and fails unless it
// exits 0.
func stoppedServing(t *testing.T, exited <-chan int, stderr *syncBuffer) {
	t.Helper()
	select {
	case code := <-exited:
		if code != exitOK {
			t.Errorf("serve exited %d after Ctrl-C:\n%s", code, stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop after Ctrl-C")
	}
}

// consoleClient is a browser of the console over HTTP, for the commands'
// tests (the console's own are in internal/web).
type consoleClient struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

func newConsoleClient(t *testing.T, base string) *consoleClient {
	jar, _ := cookiejar.New(nil)
	return &consoleClient{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (cc *consoleClient) do(req *http.Request) (*http.Response, string) {
	cc.t.Helper()
	res, err := cc.c.Do(req)
	if err != nil {
		cc.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

func (cc *consoleClient) get(path string) (*http.Response, string) {
	req, _ := http.NewRequest("GET", cc.base+path, nil)
	return cc.do(req)
}

func (cc *consoleClient) post(path string, v url.Values) *http.Response {
	cc.t.Helper()
	v.Set("csrf", cc.csrf)
	req, _ := http.NewRequest("POST", cc.base+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, _ := cc.do(req)
	return res
}

// login follows the printed login URL and reads the session's CSRF token.
func (cc *consoleClient) login(loginURL string) {
	cc.t.Helper()
	req, _ := http.NewRequest("GET", loginURL, nil)
	if res, _ := cc.do(req); res.StatusCode != http.StatusSeeOther {
		cc.t.Fatalf("the login URL: %s", res.Status)
	}
	_, page := cc.get("/upload")
	m := regexp.MustCompile(`name="csrf-token" content="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		cc.t.Fatalf("not logged in:\n%s", page)
	}
	cc.csrf = m[1]
}

// upload sends a file, maps it as suggested and returns its id.
func (cc *consoleClient) upload(name string, content []byte) string {
	cc.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf", cc.csrf)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(content)
	mw.Close()
	req, _ := http.NewRequest("POST", cc.base+"/uploads", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, _ := cc.do(req)
	id := strings.TrimPrefix(res.Header.Get("Location"), "/uploads/")
	if res.StatusCode != http.StatusSeeOther {
		cc.t.Fatalf("upload: %s", res.Status)
	}
	_, page := cc.get("/uploads/" + id + "/map")
	v := url.Values{}
	for _, m := range regexp.MustCompile(`(?s)<select id="(f\d+)" name="f\d+">(.*?)</select>`).FindAllStringSubmatch(page, -1) {
		sel := regexp.MustCompile(`<option value="([^"]*)" selected>`).FindStringSubmatch(m[2])
		if sel != nil {
			v.Set(m[1], sel[1])
		}
	}
	if res := cc.post("/uploads/"+id+"/map", v); res.StatusCode != http.StatusSeeOther {
		cc.t.Fatalf("mapping: %s", res.Status)
	}
	return id
}

// `reconcile serve` end to end: its console sends through the API of the
// environment, with the key it never shows, and Ctrl-C stops a run in
// flight as it stops `reconcile run`: the requests in flight finish, the
// rows not sent are skipped, the reports are written, then the server
// stops.
func TestServeSendsAndCtrlCStopsTheRunsInFlight(t *testing.T) {
	srv, base := sandboxtest.Start(t, e2eTenant(t, 300), sandbox.Faults{Latency: 20 * time.Millisecond})
	state := t.TempDir()
	vars := map[string]string{"RETEN_BASE_URL": base, "RETEN_API_KEY": e2eKey, web.TokenEnv: "serve-test-token"}
	ctx, ctrlC := context.WithCancel(context.Background())
	defer ctrlC()
	stdout, stderr, login, exited := startCommand(t, ctx, vars, "serve", "--addr", "127.0.0.1:0", "--state-dir", state, "--concurrency", "1")
	if strings.Contains(stdout.String(), "serve-test-token") {
		t.Error("a token from the environment was printed")
	}
	cc := newConsoleClient(t, login)
	cc.login(login + "/login?token=serve-test-token")

	var rows strings.Builder
	rows.WriteString("provider_activity_id,commerce_external_id,occurred_at,status,result\n")
	for i := 1; i <= 300; i++ {
		fmt.Fprintf(&rows, "SYN-%07d,SYNC-%05d,2026-04-11T10:30:00Z,EFFECTIVE,SALE_COMPLETED\n", i, i%1000)
	}
	id := cc.upload("nightly.csv", []byte(rows.String()))
	res := cc.post("/uploads/"+id+"/runs", url.Values{"policy": {"never"}})
	run := strings.TrimPrefix(res.Header.Get("Location"), "/runs/")
	if res.StatusCode != http.StatusSeeOther || !engine.ValidRunID(run) {
		t.Fatalf("starting the run: %s to %q", res.Status, res.Header.Get("Location"))
	}

	// Follow its events until some rows are done, then press Ctrl-C.
	req, _ := http.NewRequest("GET", login+"/api/runs/"+run+"/events", nil)
	events, err := cc.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var stream strings.Builder
	sc := bufio.NewScanner(events.Body)
	for sc.Scan() {
		stream.WriteString(sc.Text() + "\n")
		if m := regexp.MustCompile(`"done":(\d+)`).FindStringSubmatch(sc.Text()); m != nil {
			if n, _ := strconv.Atoi(m[1]); n >= 5 {
				break
			}
		}
	}
	ctrlC()
	for sc.Scan() { // the stream goes on to the run's final event, then ends
		stream.WriteString(sc.Text() + "\n")
	}
	events.Body.Close()
	stoppedServing(t, exited, stderr)
	if !strings.Contains(stream.String(), `"final":true`) || !strings.Contains(stream.String(), `"ending":"interrupted"`) {
		t.Errorf("the event stream did not end with the interrupted run:\n%s", stream.String())
	}
	rec, err := engine.ReadRun(state, run)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Ending != "interrupted" || rec.Total != 300 || rec.Counts[outcome.ClassSkipped] == 0 || rec.Counts[outcome.ClassOK] == 0 || rec.Files[0] != "nightly.csv" {
		t.Errorf("the run's record: %+v", rec)
	}
	if got := srv.Stats().Stored; got != rec.Counts[outcome.ClassOK] {
		t.Errorf("the sandbox stored %d results, the report says %d ok", got, rec.Counts[outcome.ClassOK])
	}
	if rows := len(readRunReportRows(t, rec.ReportDir)); rows != 300 {
		t.Errorf("report.csv has %d rows, want 300", rows)
	}
	for _, out := range []string{stdout.String(), stderr.String(), stream.String()} {
		if strings.Contains(out, e2eKey) {
			t.Errorf("the key was written out:\n%s", out)
		}
	}
}

// `reconcile demo --web` is the console on the embedded sandbox with the
// samples already uploaded: what a newcomer sees with one command.
func TestDemoWeb(t *testing.T) {
	ctx, ctrlC := context.WithCancel(context.Background())
	defer ctrlC()
	stdout, stderr, login, exited := startCommand(t, ctx, nil, "demo", "--web", "--addr", "127.0.0.1:0", "--latency", "0s", "--fail-rate", "0")
	loginURL := regexp.MustCompile(`open (\S+)`).FindStringSubmatch(stdout.String())[1]
	if !strings.Contains(loginURL, "/login?token=") {
		t.Fatalf("demo --web printed %q; want a login URL with a token", loginURL)
	}
	cc := newConsoleClient(t, login)
	cc.login(loginURL)
	_, page := cc.get("/upload")
	for _, name := range demoFiles {
		if !strings.Contains(page, name) {
			t.Errorf("the upload page does not list the sample %s", name)
		}
	}
	ids := regexp.MustCompile(`<a href="/uploads/([0-9a-f]{32})">resultados.csv</a>`).FindStringSubmatch(page)
	if ids == nil {
		t.Fatal("no upload of resultados.csv")
	}
	if res, page := cc.get("/uploads/" + ids[1]); res.StatusCode != http.StatusOK || !strings.Contains(page, "Windows-1252") {
		t.Errorf("the settings page of resultados.csv: %s", res.Status)
	}
	ctrlC()
	select {
	case code := <-exited:
		if code != exitOK || !strings.Contains(stdout.String(), "The sandbox answered") {
			t.Errorf("demo --web exited %d:\n%s\n%s", code, stdout, stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("demo --web did not stop after Ctrl-C")
	}
}
