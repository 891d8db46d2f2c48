package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/sandbox"
	"github.com/reten/reconcile/internal/sandbox/sandboxtest"
	"github.com/reten/reconcile/internal/validate"
)

// These run `reconcile run` against a sandbox playing a hostile server, or
// something in the way of the API, and check what the job wrote and what
// the sandbox saw.

// hostileRun is a tenant of n activities served with faults, and a file of
// one good row for each.
type hostileRun struct {
	srv     *sandbox.Server
	base    string
	in      string
	dir     string // report dir
	state   string
	configs string // --configs cache, so that faults meet only the POSTs
	tenant  *sandbox.Tenant
}

func newHostileRun(t *testing.T, n int, f sandbox.Faults) *hostileRun {
	t.Helper()
	tenant := e2eTenant(t, n)
	var rows []csvRow
	for _, a := range tenant.Activities {
		rows = append(rows, csvRow{activity: a.ID, commerce: a.CommerceExternalID, result: "SALE_COMPLETED"})
	}
	h := &hostileRun{tenant: tenant, in: writeRows(t, rows), dir: filepath.Join(t.TempDir(), "out"), state: filepath.Join(t.TempDir(), "state")}
	h.srv, h.base = sandboxtest.Start(t, tenant, f)
	h.configs = filepath.Join(t.TempDir(), "configs.json")
	if err := validate.SaveCatalogue(h.configs, &validate.Catalogue{FetchedAt: time.Now(), BaseURL: h.base, Configs: tenant.Configs}); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *hostileRun) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	os.RemoveAll(h.dir)
	args = append([]string{"run", "--report-dir", h.dir, "--state-dir", h.state, "--configs", h.configs}, args...)
	return runMain(t, e2eEnv(h.base, e2eKey), append(args, h.in)...)
}

// A server that echoes the key in the id of every result it stores: the key
// is in no report file, no byte of the ledger, no log line.
func TestRunEchoedKeyNeverWritten(t *testing.T) {
	h := newHostileRun(t, 30, sandbox.Faults{EchoKey: true, FailRate: 0.2, StoreThen500Rate: 0.2, Seed: 5})
	code, stdout, stderr := h.run(t, "--retries", "8")
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if h.srv.Stats().Stored != 30 {
		t.Fatalf("stored %d of 30", h.srv.Stats().Stored)
	}
	redacted := 0
	for _, root := range []string{h.dir, h.state} {
		eachFile(t, root, func(name string, data []byte) {
			if bytes.Contains(data, []byte(e2eKey)) {
				t.Errorf("%s holds the key", name)
			}
			redacted += bytes.Count(data, []byte("[redacted]"))
		})
	}
	// report.csv's result_id and the ledger's outcomes hold the echoed id.
	if redacted < 2*30 {
		t.Errorf("[redacted] appears %d times: the echoed ids did not reach the files", redacted)
	}
	if strings.Contains(stdout+stderr, e2eKey) {
		t.Errorf("the output holds the key:\n%s\n%s", stdout, stderr)
	}
}

// A proxy answering every request with "200 text/html": no row is ok, every
// one fails in doubt, and the next run (the proxy gone) sends them all.
// (With more rows the breaker would stop the run: the API is not reached.)
func TestRunProxyPageIsNotSuccess(t *testing.T) {
	h := newHostileRun(t, 4, sandbox.Faults{HTML2xxRate: 1})
	code, stdout, stderr := h.run(t, "--retries", "1")
	// Not one answer came from the API: the run is as unreachable as one
	// the breaker stops, the rows left failed for retry.
	if code != exitError || !strings.Contains(stderr, "API unreachable") {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitError, stdout, stderr)
	}
	for n, r := range readRunReport(t, h.dir) {
		if r["outcome"] != "failed" || r["http_status"] != "200" || !strings.Contains(r["message"], "the API answered 200 but not with a result: a proxy or gateway in the way?") {
			t.Errorf("row %d: %s %s %s", n, r["outcome"], r["http_status"], r["message"])
		}
	}
	if st := h.srv.Stats(); st.Stored != 0 {
		t.Fatalf("stored %d", st.Stored)
	}
	h.srv.SetFaults(sandbox.Faults{})
	code, stdout, stderr = h.run(t)
	if code != exitOK || h.srv.Stats().Stored != 4 {
		t.Fatalf("next run: exit %d, stored %d\n%s\n%s", code, h.srv.Stats().Stored, stdout, stderr)
	}
	for n, r := range readRunReport(t, h.dir) {
		if r["outcome"] != "ok" || r["http_status"] != "201" {
			t.Errorf("next run, row %d: %s %s", n, r["outcome"], r["message"])
		}
	}
}

// A server that never answers: the breaker stops the run after a few
// timeouts, not (1 + retries) of them per row; exit 5, every row skipped.
func TestRunHangingServer(t *testing.T) {
	h := newHostileRun(t, 8, sandbox.Faults{Hang: true})
	const timeout = 300 * time.Millisecond
	start := time.Now()
	code, stdout, stderr := h.run(t, "--timeout", timeout.String())
	took := time.Since(start)
	if code != exitError || !strings.Contains(stderr, "API unreachable since") {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitError, stdout, stderr)
	}
	// The retries alone would be 6 timeouts and some 8 s of backoff.
	if took > 4*timeout+2*time.Second {
		t.Errorf("took %v at a %v timeout", took, timeout)
	}
	for n, r := range readRunReport(t, h.dir) {
		if r["outcome"] != "skipped" || !strings.Contains(r["message"], "requests in a row got no answer") {
			t.Errorf("row %d: %s %s", n, r["outcome"], r["message"])
		}
	}
}

// A Retry-After of an hour stops the run at once: exit 5, rows skipped.
func TestRunHugeRetryAfter(t *testing.T) {
	h := newHostileRun(t, 10, sandbox.Faults{RateLimit: 1e-9, RetryAfter: 3600})
	code, stdout, stderr := h.run(t, "--concurrency", "1")
	if code != exitError || !strings.Contains(stderr, "the API asked to wait 1h0m0s") {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitError, stdout, stderr)
	}
	// The first request took the bucket's only token; every other row waits
	// for a run that comes back later.
	for n, r := range readRunReport(t, h.dir) {
		if n != 2 && (r["outcome"] != "skipped" || !strings.Contains(r["message"], "the API asked to wait 1h0m0s; run again later")) {
			t.Errorf("row %d: %s %s", n, r["outcome"], r["message"])
		}
	}
	if !strings.Contains(stderr, "level=WARN") || !strings.Contains(stderr, "stopping the run") {
		t.Errorf("the stop is not in the log:\n%s", stderr)
	}
	// Within --max-wait, the wait is sat out and logged.
	h.srv.Reset()
	h.srv.SetFaults(sandbox.Faults{RateLimit: 4, RetryAfter: 1})
	code, stdout, stderr = h.run(t, "--concurrency", "4", "--force")
	if code != exitOK || !strings.Contains(stderr, `msg="the API asked to wait: holding every request" wait=1s`) {
		t.Errorf("exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// --deadline: dispatching stops when it passes; the rest is skipped, exit 5.
func TestRunDeadline(t *testing.T) {
	// 400 rows two at a time take 6 s to send; the deadline leaves room for
	// the start (tenant, files) on a busy machine and still cuts the run.
	h := newHostileRun(t, 400, sandbox.Faults{Latency: 30 * time.Millisecond})
	code, stdout, stderr := h.run(t, "--deadline", "2s", "--concurrency", "2")
	if code != exitError || !strings.Contains(stderr, "the run's deadline") {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitError, stdout, stderr)
	}
	counts := map[string]int{}
	for n, r := range readRunReport(t, h.dir) {
		counts[r["outcome"]]++
		if r["outcome"] == "skipped" && r["message"] != "not sent: the run's deadline passed" {
			t.Errorf("row %d: %s", n, r["message"])
		}
	}
	if counts["ok"] == 0 || counts["skipped"] == 0 || counts["ok"]+counts["skipped"] != 400 || h.srv.Stats().Stored != counts["ok"] {
		t.Errorf("counts %v, stored %d", counts, h.srv.Stats().Stored)
	}
}

// A base URL carrying the key as a query is refused before anything is
// sent, with what is wrong, and without showing the key.
func TestRunBaseURLWithQuery(t *testing.T) {
	h := newHostileRun(t, 2, sandbox.Faults{})
	code, stdout, stderr := runMain(t, e2eEnv(h.base+"/?api_key="+e2eKey, e2eKey), "run", "--report-dir", h.dir, "--state-dir", h.state, h.in)
	want := "RETEN_BASE_URL must be the API's origin such as https://api.reten.ai, with no query (?api_key=...): put the key in RETEN_API_KEY"
	if code != exitUsage || !strings.Contains(stderr, want) || strings.Contains(stdout+stderr, e2eKey) || h.srv.Stats().Requests != 0 {
		t.Errorf("exit %d, %d requests\n%s\n%s", code, h.srv.Stats().Requests, stdout, stderr)
	}
}
