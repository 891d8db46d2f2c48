package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/pgledger"
	"github.com/reten/reconcile/internal/pgledger/pgtest"
	"github.com/reten/reconcile/internal/reports"
	"github.com/reten/reconcile/internal/sandbox"
)

// These run the commands with the ledger in PostgreSQL (RECONCILE_TEST_POSTGRES):
// --ledger and RECONCILE_LEDGER_URL, ledger migrate and status, a database
// out of reach, and the password kept out of every byte written.

// eachFile calls fn with the bytes of every file under root, and of every
// part of each workbook (compressed, they would hide what they hold); name
// is the file's path, with ":part" for a part.
func eachFile(t *testing.T, root string, fn func(name string, data []byte)) {
	t.Helper()
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		fn(path, data)
		if filepath.Ext(path) != ".xlsx" {
			return nil
		}
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			part, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			fn(path+":"+f.Name, part)
		}
		return nil
	})
}

// filesHolding lists the files (and workbook parts) under root whose bytes
// contain s.
func filesHolding(t *testing.T, root string, s string) []string {
	t.Helper()
	var found []string
	eachFile(t, root, func(name string, data []byte) {
		if bytes.Contains(data, []byte(s)) {
			found = append(found, name)
		}
	})
	return found
}

// passwordOf is the "user:password@" part of a postgres URL, as it must
// never be written, and its redacted form, as it may.
func passwordOf(t *testing.T, url string) (plain, redacted string) {
	t.Helper()
	rest, ok := strings.CutPrefix(url, "postgres://")
	at := strings.Index(rest, "@")
	if !ok || at < 0 || !strings.Contains(rest[:at], ":") {
		t.Fatalf("%s must be postgres://USER:PASSWORD@HOST/DB", pgtest.EnvURL)
	}
	user, _, _ := strings.Cut(rest[:at], ":")
	return rest[:at+1], user + ":***@"
}

func TestRunLedgerPostgres(t *testing.T) {
	url := pgtest.URL(t)
	plain, redacted := passwordOf(t, url)
	h := newHostileRun(t, 40, sandbox.Faults{})

	code, stdout, stderr := h.run(t, "--ledger", url)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if st := h.srv.Stats(); st.Stored != 40 {
		t.Fatalf("stored %d of 40", st.Stored)
	}
	sum, err := reports.ReadSummary(h.dir)
	if err != nil {
		t.Fatal(err)
	}
	if l := sum.Settings["ledger"]; !strings.Contains(l, redacted) || strings.Contains(l, plain) {
		t.Errorf("summary.json's ledger %q: want the URL with its password as ***", l)
	}
	if w := sum.Settings["worker"]; !strings.HasPrefix(w, "w-") || sum.Settings["run"] == "" {
		t.Errorf("summary.json names worker %q and run %q", w, sum.Settings["run"])
	}
	for _, s := range []string{stdout, stderr} {
		if strings.Contains(s, plain) {
			t.Errorf("the output shows the ledger's password:\n%s", s)
		}
	}
	if found := filesHolding(t, h.dir, plain); len(found) > 0 {
		t.Errorf("the ledger's password is written in %v", found)
	}
	// The state dir holds no bbolt ledger: PostgreSQL is the ledger.
	if found, _ := filepath.Glob(filepath.Join(h.state, "*.db")); len(found) > 0 {
		t.Errorf("a ledger file was created beside --ledger: %v", found)
	}

	// The same file again, the URL from the environment: the ledger in
	// PostgreSQL skips every row, nothing is sent.
	os.RemoveAll(h.dir)
	vars := e2eEnv(h.base, e2eKey)
	vars[ledgerURLVar] = url
	code, stdout, stderr = runMain(t, vars, "run", "--report-dir", h.dir, "--state-dir", h.state, "--configs", h.configs, h.in)
	if code != exitOK {
		t.Fatalf("rerun: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if st := h.srv.Stats(); st.Stored != 40 || st.Requests != 40 {
		t.Errorf("after the rerun: %d stored, %d requests; want 40 and 40", st.Stored, st.Requests)
	}
	for n, r := range readRunReport(t, h.dir) {
		if r["outcome"] != "skipped" || !strings.HasPrefix(r["message"], "already submitted") {
			t.Errorf("rerun row %d: %s %q, want skipped as already submitted", n, r["outcome"], r["message"])
		}
	}
}

func TestRunLedgerUnreachable(t *testing.T) {
	h := newHostileRun(t, 5, sandbox.Faults{})
	const secret = "s3cr3t-Pa55word"
	url := "postgres://ana:" + secret + "@127.0.0.1:1/ledger?connect_timeout=2"
	code, stdout, stderr := h.run(t, "--ledger", url)
	if code != exitError {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitError, stdout, stderr)
	}
	for _, want := range []string{"cannot reach the ledger database postgres://ana:***@127.0.0.1:1/ledger", "nothing was sent"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stdout+stderr, secret) {
		t.Errorf("the output shows the password:\n%s\n%s", stdout, stderr)
	}
	if n := h.srv.Stats().Requests; n != 0 {
		t.Errorf("%d requests with no ledger", n)
	}
	if _, err := os.Stat(h.dir); err == nil {
		if found := filesHolding(t, h.dir, secret); len(found) > 0 {
			t.Errorf("the password is written in %v", found)
		}
	}

	// Not a PostgreSQL URL: a usage error, the password hidden too.
	code, _, stderr = h.run(t, "--ledger", "mysql://ana:"+secret+"@db/ledger")
	if code != exitUsage || strings.Contains(stderr, secret) || !strings.Contains(stderr, "--ledger takes a PostgreSQL URL") {
		t.Errorf("a mysql:// ledger: exit %d\n%s", code, stderr)
	}
}

func TestLedgerMigrateAndStatus(t *testing.T) {
	url := pgtest.URL(t)
	plain, _ := passwordOf(t, url)
	vars := map[string]string{ledgerURLVar: url}
	code, stdout, stderr := runMain(t, vars, "ledger", "migrate")
	if code != exitOK || !strings.Contains(stdout, "migrated from schema version 0 to") || strings.Contains(stdout+stderr, plain) {
		t.Fatalf("migrate: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, _ = runMain(t, vars, "ledger", "migrate")
	if code != exitOK || !strings.Contains(stdout, "nothing to do") {
		t.Fatalf("migrate again: exit %d\n%s", code, stdout)
	}

	// A run leaves its attempts; every row stored and answered 500 stays in doubt.
	h := newHostileRun(t, 10, sandbox.Faults{StoreThen500Rate: 1, Seed: 1})
	code, stdout, stderr = h.run(t, "--ledger", url, "--retries", "0")
	if code != exitRowsNotOK && code != exitError {
		t.Fatalf("run: exit %d\n%s\n%s", code, stdout, stderr)
	}

	code, stdout, stderr = runMain(t, nil, "ledger", "status", "--ledger", url, "--limit", "3")
	if code != exitOK || strings.Contains(stdout+stderr, plain) {
		t.Fatalf("status: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"workers: 0 live", "claims: 0 being sent", "rows in doubt: 10", "ACTIVITY", "... and 7 more"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, _ = runMain(t, vars, "ledger", "status", "--json")
	var st statusJSON
	if err := json.Unmarshal([]byte(stdout), &st); code != exitOK || err != nil {
		t.Fatalf("status --json: exit %d, %v\n%s", code, err, stdout)
	}
	if st.InDoubtTotal != 10 || len(st.InDoubt) != 10 || st.Live != 0 || st.InDoubt[0].Row < 2 || st.InDoubt[0].File == "" {
		t.Errorf("status --json: %+v", st)
	}

	code, _, stderr = runMain(t, nil, "ledger", "status")
	if code != exitUsage || !strings.Contains(stderr, ledgerURLVar) {
		t.Errorf("status without a ledger: exit %d\n%s", code, stderr)
	}
}

// The database cut off mid-run: the worker stops with exit 5, every row is
// in its report, no request went out without its claim recorded, nothing
// stays claimed by it, and a rerun sends the rest, each activity stored once.
func TestRunLedgerConnectionLost(t *testing.T) {
	direct := pgtest.URL(t)
	u, err := neturl.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	proxy := pgtest.StartProxy(t, u.Host)
	u.Host = proxy.Addr()
	cut := pgtest.WithParam(t, u.String(), "connect_timeout", "2")

	const n, cutAt = 3000, 300
	var posts atomic.Int64
	door := func(srv *sandbox.Server) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && posts.Add(1) == cutAt {
				proxy.Cut()
			}
			srv.ServeHTTP(w, r)
		})
	}
	w := newWorkersRun(t, n, sandbox.Faults{Latency: 2 * time.Millisecond}, door)
	w.ledger = cut
	report := filepath.Join(t.TempDir(), "cut")
	wk := w.start(t, report, "--claim-ttl", "2s")
	if code := wk.wait(); code != exitError {
		t.Fatalf("exit %d, want %d\n%s", code, exitError, wk.output())
	}
	if out := wk.output(); !strings.Contains(out, "the ledger at postgres://") || !strings.Contains(out, "what to do: check the ledger") {
		t.Errorf("the output does not say the ledger stopped the run:\n%s", out)
	}
	rows := readRunReportRows(t, report)
	if len(rows) != n {
		t.Fatalf("%d rows reported of %d", len(rows), n)
	}
	skipped := 0
	for _, r := range rows {
		if r["outcome"] == string(outcome.ClassSkipped) {
			skipped++
		}
	}
	if skipped == 0 {
		t.Errorf("no row skipped: the run did not stop")
	}

	// Every activity the sandbox saw a POST for has an attempt recorded.
	conn, err := pgx.Connect(context.Background(), direct)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rowsQ, err := conn.Query(context.Background(), "SELECT DISTINCT activity FROM attempts")
	if err != nil {
		t.Fatal(err)
	}
	recorded, err := pgx.CollectRows(rowsQ, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	claimed := map[string]bool{}
	for _, a := range recorded {
		claimed[a] = true
	}
	st := w.srv.Stats()
	for act, a := range st.Activities {
		if a.Posts > 0 && !claimed[act] {
			t.Errorf("%s was sent without its attempt recorded", act)
		}
	}
	t.Logf("cut at POST %d: %d POSTs in all, %d activities recorded, %d rows skipped", cutAt, posts.Load(), len(recorded), skipped)

	// Nothing stays held by the cut-off worker once its lease has lapsed.
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, err := pgledger.ReadStatus(context.Background(), direct, 0)
		if err != nil {
			t.Fatal(err)
		}
		live := 0
		for _, c := range status.Claims {
			if c.Live {
				live++
			}
		}
		if live == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d claims still held by a live worker", live)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The rerun, with the database back, sends the rest.
	w.ledger = direct
	re := w.start(t, filepath.Join(t.TempDir(), "rerun"))
	if code := re.wait(); code != exitRowsNotOK {
		t.Fatalf("rerun: exit %d\n%s", code, re.output())
	}
	st = w.srv.Stats()
	for act, a := range st.Activities {
		if !w.invalid[act] && a.Stored != 1 {
			t.Errorf("%s stored %d times", act, a.Stored)
		}
	}
	if st.Stored != n-len(w.invalid) {
		t.Errorf("%d stored of %d", st.Stored, n-len(w.invalid))
	}
}
