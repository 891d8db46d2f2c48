package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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
	"github.com/reten/reconcile/internal/engine"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/pgledger"
	"github.com/reten/reconcile/internal/pgledger/pgtest"
	"github.com/reten/reconcile/internal/reports"
	"github.com/reten/reconcile/internal/sandbox"
	"github.com/reten/reconcile/internal/sandbox/sandboxtest"
	"github.com/reten/reconcile/internal/web"
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

// serve checks the ledger as it starts, as it checks the API: a database out
// of reach stops it with run's message and exit code, before anyone uploads
// a file to send.
func TestServeLedgerUnreachable(t *testing.T) {
	srv, base := sandboxtest.Start(t, e2eTenant(t, 5), sandbox.Faults{})
	const secret = "s3cr3t-Pa55word"
	vars := map[string]string{"RETEN_BASE_URL": base, "RETEN_API_KEY": e2eKey}
	// A console that served anyway is stopped, as Ctrl-C would, to fail.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code, stdout, stderr := runMainCtx(t, ctx, vars, "serve", "--addr", "127.0.0.1:0", "--state-dir", t.TempDir(),
		"--ledger", "postgres://ana:"+secret+"@127.0.0.1:1/ledger?connect_timeout=2")
	if code != exitError {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitError, stdout, stderr)
	}
	if !strings.Contains(stderr, "cannot reach the ledger database postgres://ana:***@127.0.0.1:1/ledger") || strings.Contains(stdout+stderr, secret) {
		t.Errorf("stderr does not name the ledger, or shows its password:\n%s", stderr)
	}
	if strings.Contains(stdout, "open http") {
		t.Errorf("the console was served:\n%s", stdout)
	}
	for _, r := range srv.Requests() {
		if r.Method == http.MethodPost {
			t.Errorf("a result was sent: %+v", r)
		}
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

// `reconcile serve --ledger`: the console's runs record their rows in
// PostgreSQL, not in a file of the state directory, and the same file sent
// again sends nothing the ledger has decided: the accepted rows are skipped
// as already submitted, the refused one ends as it did without a request.
func TestServeLedgerPostgres(t *testing.T) {
	url := pgtest.URL(t)
	plain, _ := passwordOf(t, url)
	srv, base := sandboxtest.Start(t, e2eTenant(t, 20), sandbox.Faults{})
	state := t.TempDir()
	vars := map[string]string{"RETEN_BASE_URL": base, "RETEN_API_KEY": e2eKey, web.TokenEnv: "serve-pg-token"}
	ctx, ctrlC := context.WithCancel(context.Background())
	defer ctrlC()
	stdout, stderr, login, exited := startCommand(t, ctx, vars, "serve", "--addr", "127.0.0.1:0", "--state-dir", state, "--ledger", url)
	cc := newConsoleClient(t, login)
	cc.login(login + "/login?token=serve-pg-token")

	const sent = 12 // rows of known activities; then one unknown (404), one invalid
	var rows strings.Builder
	rows.WriteString("provider_activity_id,commerce_external_id,occurred_at,status,result\n")
	for i := 1; i <= sent; i++ {
		fmt.Fprintf(&rows, "SYN-%07d,SYNC-%05d,2026-04-11T10:30:00Z,EFFECTIVE,SALE_COMPLETED\n", i, i%1000)
	}
	rows.WriteString("SYN-9999999,SYNC-00001,2026-04-11T10:30:00Z,EFFECTIVE,SALE_COMPLETED\n")
	rows.WriteString("SYN-0000013,SYNC-00013,2026-04-11T10:30:00Z,HECHO,SALE_COMPLETED\n")
	id := cc.upload("nocturno.csv", []byte(rows.String()))
	if _, page := cc.get("/uploads/" + id + "/send"); !strings.Contains(page, "The ledger in PostgreSQL, <code>"+pgledger.Redact(url)) || strings.Contains(page, plain) {
		t.Errorf("the send page does not name the ledger in PostgreSQL, without its password:\n%s", page)
	}

	// send starts a run of the upload and waits for its record's end.
	send := func() *engine.RunRecord {
		t.Helper()
		res := cc.post("/uploads/"+id+"/runs", neturl.Values{"policy": {"never"}})
		run := strings.TrimPrefix(res.Header.Get("Location"), "/runs/")
		if res.StatusCode != http.StatusSeeOther || !engine.ValidRunID(run) {
			t.Fatalf("starting the run: %s to %q\n%s", res.Status, res.Header.Get("Location"), stderr)
		}
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if rec, err := engine.ReadRun(state, run); err == nil && rec.Ended() {
				return rec
			}
		}
		t.Fatalf("run %s did not end:\n%s", run, stderr)
		return nil
	}

	first := send()
	if first.Ending != "finished" || first.Counts[outcome.ClassOK] != sent || first.Counts[outcome.ClassRejected] != 1 || first.Counts[outcome.ClassInvalid] != 1 {
		t.Fatalf("the first run: %s, %v\n%s", first.Ending, first.Counts, stderr)
	}
	if st := srv.Stats(); st.Stored != sent {
		t.Fatalf("the sandbox stored %d results, want %d", st.Stored, sent)
	}
	// posts counts the results sent: each run also reads the result types.
	posts := func() int {
		n := 0
		for _, r := range srv.Requests() {
			if r.Method == http.MethodPost {
				n++
			}
		}
		return n
	}
	sentBefore := posts()
	if sentBefore != sent+1 {
		t.Errorf("the first run sent %d results, want %d", sentBefore, sent+1)
	}
	if found, _ := filepath.Glob(filepath.Join(state, "*.db")); len(found) > 0 {
		t.Errorf("a ledger file was created beside --ledger: %v", found)
	}

	// PostgreSQL holds each accepted row, from the upload as the user named it.
	store, err := pgledger.Open(context.Background(), url, pgledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= sent; i++ {
		activity := fmt.Sprintf("SYN-%07d", i)
		e, err := store.Lookup(context.Background(), activity)
		if err != nil {
			t.Fatal(err)
		}
		if a := e.Accepted(); a == nil || a.File != "nocturno.csv" || a.Row != i+1 || a.Run != first.ID {
			t.Errorf("the ledger's %s: %+v, want accepted from nocturno.csv row %d in run %s", activity, e.Attempts, i+1, first.ID)
		}
	}
	if e, err := store.Lookup(context.Background(), "SYN-9999999"); err != nil || len(e.Attempts) != 1 || e.Accepted() != nil {
		t.Errorf("the ledger's unknown activity: %+v, %v; want one attempt, refused", e, err)
	}
	store.Close()
	code, out, errOut := runMain(t, nil, "ledger", "status", "--json", "--ledger", url)
	var st statusJSON
	if err := json.Unmarshal([]byte(out), &st); code != exitOK || err != nil {
		t.Fatalf("ledger status --json: exit %d, %v\n%s%s", code, err, out, errOut)
	}
	if st.Live != 0 || len(st.Claims) != 0 || st.InDoubtTotal != 0 {
		t.Errorf("after the console's run the ledger has %d live workers, %d claims, %d rows in doubt; want none", st.Live, len(st.Claims), st.InDoubtTotal)
	}

	// The same file again: nothing decided is sent.
	second := send()
	if n, stored := posts()-sentBefore, srv.Stats().Stored; n != 0 || stored != sent {
		t.Errorf("the second send sent %d results (%d stored in all); want none", n, stored)
	}
	if second.Counts[outcome.ClassSkipped] != sent || second.Counts[outcome.ClassRejected] != 1 || second.Counts[outcome.ClassInvalid] != 1 {
		t.Errorf("the second run: %s, %v; want %d skipped, 1 rejected, 1 invalid", second.Ending, second.Counts, sent)
	}
	for _, r := range readRunReportRows(t, second.ReportDir) {
		if r["outcome"] == "skipped" && !strings.HasPrefix(r["message"], "already submitted") {
			t.Errorf("second run, row %s: skipped with %q, want already submitted", r["row"], r["message"])
		}
	}

	ctrlC()
	stoppedServing(t, exited, stderr)
	for _, s := range []string{stdout.String(), stderr.String()} {
		if strings.Contains(s, plain) {
			t.Errorf("serve wrote the ledger's password:\n%s", s)
		}
	}
	if found := filesHolding(t, state, plain); len(found) > 0 {
		t.Errorf("the ledger's password is written in %v", found)
	}
}
