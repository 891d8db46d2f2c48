package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/engine"
	"github.com/reten/reconcile/internal/ledger"
	"github.com/reten/reconcile/internal/sandbox"
	"github.com/reten/reconcile/internal/validate"
)

// childArgsEnv carries the command line of TestLedgerChildProcess, split on \x1f.
const childArgsEnv = "RECONCILE_TEST_CHILD_ARGS"

// TestLedgerChildProcess is not a test of its own: the tests that kill a run
// start the command in a child process through it.
func TestLedgerChildProcess(t *testing.T) {
	args := os.Getenv(childArgsEnv)
	if args == "" {
		t.Skip("runs only as the child process of the crash tests")
	}
	env := &environ{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	os.Exit(Main(context.Background(), env, strings.Split(args, "\x1f")))
}

// startRunChild starts `reconcile args...` in a child process pointed at baseURL.
func startRunChild(t *testing.T, baseURL string, args ...string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLedgerChildProcess$")
	cmd.Env = append(os.Environ(), childArgsEnv+"="+strings.Join(args, "\x1f"),
		"RETEN_BASE_URL="+baseURL, "RETEN_API_KEY="+demoKey)
	out := &strings.Builder{}
	lw := &childOutput{w: out}
	cmd.Stdout, cmd.Stderr = lw, lw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, out
}

type childOutput struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (l *childOutput) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// demoSandbox serves the demo tenant on loopback. Every POST passes through
// onPost, if set, before and after the sandbox handles it.
type demoSandbox struct {
	*sandbox.Server
	URL    string
	posts  atomic.Int64
	onPost atomic.Pointer[func(n int64, handled bool)]
	tenant *sandbox.Tenant
}

func newDemoSandbox(t *testing.T) *demoSandbox {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "samples", "tenant.json"))
	if err != nil {
		t.Fatal(err)
	}
	tenant, err := sandbox.ParseTenant(data)
	if err != nil {
		t.Fatal(err)
	}
	d := &demoSandbox{Server: sandbox.New(tenant), tenant: tenant}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != api.PathSubmit {
			d.Server.ServeHTTP(w, r)
			return
		}
		n := d.posts.Add(1)
		f := d.onPost.Load()
		if f != nil {
			(*f)(n, false)
		}
		d.Server.ServeHTTP(w, r)
		if f != nil {
			(*f)(n, true)
		}
	}))
	t.Cleanup(srv.Close)
	d.URL = srv.URL
	return d
}

// configs writes the tenant's result types where --configs can read them, so
// that faults hit only the POSTs.
func (d *demoSandbox) configs(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "configs.json")
	if err := validate.SaveCatalogue(path, &validate.Catalogue{FetchedAt: time.Now(), BaseURL: d.URL, Configs: d.tenant.Configs}); err != nil {
		t.Fatal(err)
	}
	return path
}

// open returns the demo tenant's activities that have no result yet.
func (d *demoSandbox) open() []sandbox.Activity {
	var acts []sandbox.Activity
	for _, a := range d.tenant.Activities {
		if !a.HasResult {
			acts = append(acts, a)
		}
	}
	return acts
}

const ledgerCSVHeader = "activity_id,provider_activity_id,commerce_external_id,occurred_at,status,task_result.result,comment\n"

// ledgerCSVRow is one valid row for a; odd ones name the activity by its provider id.
func ledgerCSVRow(a sandbox.Activity, i int, comment string) string {
	id, pid := a.ID, ""
	if i%2 == 1 && a.ProviderActivityID != "" {
		id, pid = "", a.ProviderActivityID
	}
	return fmt.Sprintf("%s,%s,%s,2026-04-11T10:30:00.000Z,EFFECTIVE,SALE_COMPLETED,%s\n", id, pid, a.CommerceExternalID, comment)
}

// reportRows reads report.csv into one map per row, keyed by column name.
func reportRows(t *testing.T, dir string) []map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "report.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(f))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 {
		t.Fatalf("%s/report.csv is empty", dir)
	}
	head := recs[0]
	head[0] = strings.TrimPrefix(head[0], "\ufeff")
	var rows []map[string]string
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, v := range rec {
			if i < len(head) {
				m[head[i]] = v
			}
		}
		rows = append(rows, m)
	}
	return rows
}

// byRow indexes report rows by their row number in the input file.
func byRow(t *testing.T, rows []map[string]string) map[int]map[string]string {
	t.Helper()
	m := map[int]map[string]string{}
	for _, r := range rows {
		n, err := strconv.Atoi(r["row"])
		if err != nil {
			t.Fatalf("report row without a row number: %v", r)
		}
		m[n] = r
	}
	return m
}

func openLedgerFile(t *testing.T, stateDir, baseURL string) *ledger.DB {
	t.Helper()
	path, err := ledger.Path(stateDir, baseURL)
	if err != nil {
		t.Fatal(err)
	}
	db, err := ledger.Open(path, ledger.Options{BaseURL: baseURL})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// TestRunKilledAndResumed kills `reconcile run` with SIGKILL at random points,
// several times, starts it again with the same input each time, and checks
// with the sandbox's counters that every valid row was stored exactly once,
// that nothing was sent twice but the requests in flight at a kill (or left in
// doubt by a lost answer), and that those ended ok.
func TestRunKilledAndResumed(t *testing.T) {
	sb := newDemoSandbox(t)
	// Latency keeps requests in flight when the kill comes; dropped
	// connections and 5xx make rows retried within a run too.
	sb.SetFaults(sandbox.Faults{Latency: 3 * time.Millisecond, DropRate: 0.05, FailRate: 0.05, Seed: 7})

	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	input := filepath.Join(dir, "export.csv")
	var b strings.Builder
	b.WriteString(ledgerCSVHeader)
	acts := sb.open()
	valid := acts[:len(acts)-3]
	for i, a := range valid {
		b.WriteString(ledgerCSVRow(a, i, "row"+strconv.Itoa(i)))
	}
	invalid := acts[len(acts)-3:]
	for _, a := range invalid {
		fmt.Fprintf(&b, "%s,,%s,2026-04-11T10:30:00.000Z,EFFECTIVE,NO_SUCH_CODE,x\n", a.ID, a.CommerceExternalID)
	}
	writeFile(t, input, b.String())

	rng := rand.New(rand.NewPCG(1, 2))
	configs := sb.configs(t, dir)
	args := func(i int) []string {
		return []string{"run", "--state-dir", stateDir, "--configs", configs, "--report-dir", filepath.Join(dir, "reports-"+strconv.Itoa(i)),
			"--concurrency", "4", "--retries", "3", "--timeout", "5s", input}
	}
	kills := 0
	var last string
	for i := 0; i < 12; i++ {
		final := kills >= 4
		var proc atomic.Pointer[os.Process]
		killed := make(chan struct{})
		if !final {
			// Kill on a POST a few requests on, before or after the sandbox handles it.
			at, after := sb.posts.Load()+1+rng.Int64N(12), rng.IntN(2) == 1
			var once sync.Once
			f := func(n int64, handled bool) {
				if p := proc.Load(); p != nil && n == at && handled == after {
					once.Do(func() {
						close(killed) // first: Wait may return as soon as the signal lands
						p.Signal(syscall.SIGKILL)
					})
				}
			}
			sb.onPost.Store(&f)
		} else {
			sb.onPost.Store(nil)
		}
		cmd, out := startRunChild(t, sb.URL, args(i)...)
		proc.Store(cmd.Process)
		err := cmd.Wait()
		sb.onPost.Store(nil)
		last = filepath.Join(dir, "reports-"+strconv.Itoa(i))
		select {
		case <-killed:
			kills++
			continue
		default:
		}
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if code != exitRowsNotOK {
			t.Fatalf("run %d ended with exit %d, want %d (the invalid rows):\n%s", i, code, exitRowsNotOK, out)
		}
		if final {
			break
		}
	}
	if kills < 4 {
		t.Fatalf("only %d runs were killed", kills)
	}

	// The final report has every input row.
	rows := reportRows(t, last)
	if len(rows) != len(valid)+len(invalid) {
		t.Fatalf("final report has %d rows, want %d", len(rows), len(valid)+len(invalid))
	}
	for _, r := range rows {
		switch {
		case r["task_result.result"] == "NO_SUCH_CODE":
			if r["outcome"] != "invalid" {
				t.Errorf("invalid row %s: %v", r["row"], r)
			}
		case r["outcome"] != "ok" && r["outcome"] != "skipped":
			t.Errorf("row %s ended %s: %s", r["row"], r["outcome"], r["message"])
		case r["outcome"] == "skipped" && !strings.Contains(r["message"], "already submitted on"):
			t.Errorf("row %s skipped for another reason: %s", r["row"], r["message"])
		}
	}

	// Every valid row stored exactly once; nothing sent twice but what was
	// in flight at a kill or in doubt.
	st := sb.Stats()
	db := openLedgerFile(t, stateDir, sb.URL)
	defer db.Close()
	inFlight := 0
	for i, a := range valid {
		key := a.ID
		if i%2 == 1 && a.ProviderActivityID != "" {
			key = a.ProviderActivityID
		}
		c := st.Activities[a.ID]
		if c.Stored != 1 || c.Overrides != 0 {
			t.Errorf("activity %s stored %d times, %d overrides", key, c.Stored, c.Overrides)
		}
		e, err := db.Lookup(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		accepted, killedAttempts, doubt, finished := 0, 0, false, 0
		for _, at := range e.Attempts {
			switch {
			case at.Outcome == nil:
				killedAttempts++
			default:
				finished += at.Outcome.Requests
				if at.Outcome.Accepted() {
					accepted++
					if at.Outcome.Class != "ok" {
						t.Errorf("activity %s accepted as %s", key, at.Outcome.Class)
					}
				}
				if at.Outcome.InDoubt || at.Outcome.Requests > 1 {
					doubt = true
				}
			}
		}
		if accepted != 1 {
			t.Errorf("activity %s: %d accepted attempts in the ledger, want 1: %+v", key, accepted, e.Attempts)
		}
		switch {
		case killedAttempts == 0 && c.Posts != finished:
			t.Errorf("activity %s: %d POSTs, but the ledger accounts for %d", key, c.Posts, finished)
		case killedAttempts > 0 && c.Posts < finished:
			t.Errorf("activity %s: %d POSTs, fewer than the %d the ledger recorded", key, c.Posts, finished)
		case c.Posts > 1 && killedAttempts == 0 && !doubt:
			t.Errorf("activity %s sent %d times with no attempt in flight or in doubt", key, c.Posts)
		}
		if c.Posts > 1 {
			inFlight++
		}
	}
	for _, a := range invalid {
		if c := st.Activities[a.ID]; c.Posts != 0 {
			t.Errorf("invalid row for %s was sent", a.ID)
		}
	}
	t.Logf("%d kills; %d of %d activities sent more than once (in flight or in doubt); %d POSTs in all", kills, inFlight, len(valid), sb.posts.Load())
}

// TestRunSecondRunLocked starts a run that holds the ledger and checks that a
// second one on the same state dir exits at once with exitLocked, naming the
// dir and the first run's pid.
func TestRunSecondRunLocked(t *testing.T) {
	sb := newDemoSandbox(t)
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	f := func(n int64, handled bool) {
		if !handled {
			select {
			case arrived <- struct{}{}:
			default:
			}
			<-release
		}
	}
	sb.onPost.Store(&f)
	defer close(release)

	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	input := filepath.Join(dir, "in.csv")
	writeFile(t, input, ledgerCSVHeader+ledgerCSVRow(sb.open()[0], 0, "x"))
	first, out := startRunChild(t, sb.URL, "run", "--state-dir", stateDir, "--report-dir", filepath.Join(dir, "r1"), input)
	select {
	case <-arrived: // the first run holds the ledger while its request waits
	case <-time.After(60 * time.Second):
		t.Fatalf("the first run sent nothing:\n%s", out)
	}

	code, stdout, stderr := runMain(t, map[string]string{"RETEN_BASE_URL": sb.URL, "RETEN_API_KEY": demoKey},
		"run", "--state-dir", stateDir, "--report-dir", filepath.Join(dir, "r2"), input)
	if code != exitLocked {
		t.Fatalf("second run: exit %d, want %d\n%s%s", code, exitLocked, stdout, stderr)
	}
	for _, want := range []string{stateDir, "pid " + strconv.Itoa(first.Process.Pid), "nothing was sent"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("message %q does not say %q", stderr, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "r2")); !os.IsNotExist(err) {
		t.Errorf("the locked run wrote reports: %v", err)
	}
	if n := sb.posts.Load(); n != 1 {
		t.Errorf("%d POSTs, want only the first run's", n)
	}
}

// TestRunSecondRunOtherSpelling: 127.0.0.1:P and localhost:P are one API.
// A run on one spelling holds the state directory; a second on the other,
// at the same time, exits at once with exitLocked, and no activity is sent
// twice.
func TestRunSecondRunOtherSpelling(t *testing.T) {
	sb := newDemoSandbox(t)
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	f := func(n int64, handled bool) {
		if !handled && n == 1 {
			arrived <- struct{}{}
			<-release
		}
	}
	sb.onPost.Store(&f)
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()

	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	input := filepath.Join(dir, "in.csv")
	rows := ledgerCSVHeader
	acts := sb.open()[:6]
	for i, a := range acts {
		rows += ledgerCSVRow(a, i, "x")
	}
	writeFile(t, input, rows)
	if !strings.HasPrefix(sb.URL, "http://127.0.0.1:") {
		t.Fatalf("the sandbox is not on 127.0.0.1: %s", sb.URL)
	}
	other := strings.Replace(sb.URL, "127.0.0.1", "localhost", 1)
	first, out := startRunChild(t, sb.URL, "run", "--state-dir", stateDir, "--concurrency", "1", "--report-dir", filepath.Join(dir, "r1"), input)
	select {
	case <-arrived: // the first run holds the state dir while its first request waits
	case <-time.After(60 * time.Second):
		t.Fatalf("the first run sent nothing:\n%s", out)
	}

	start := time.Now()
	code, stdout, stderr := runMain(t, map[string]string{"RETEN_BASE_URL": other, "RETEN_API_KEY": demoKey},
		"run", "--state-dir", stateDir, "--report-dir", filepath.Join(dir, "r2"), input)
	if code != exitLocked {
		t.Errorf("second run on %s: exit %d, want %d\n%s%s", other, code, exitLocked, stdout, stderr)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the second run took %v to give up", d)
	}
	if !strings.Contains(stderr, "pid "+strconv.Itoa(first.Process.Pid)) {
		t.Errorf("message %q does not name the first run's pid", stderr)
	}
	released = true
	close(release)
	if err := first.Wait(); err != nil {
		t.Fatalf("first run: %v\n%s", err, out)
	}
	if n := sb.posts.Load(); n != int64(len(acts)) {
		t.Errorf("%d POSTs for %d rows: the second run sent too", n, len(acts))
	}
	for id, reqs := range postsByActivity(sb.Server) {
		if len(reqs) != 1 {
			t.Errorf("activity %s was sent %d times", id, len(reqs))
		}
	}
}

// TestRunCumulativeExport: day 2's file repeats day 1's rows, adds new ones and
// edits one. Day 2 sends only the new rows and flags the edited one.
func TestRunCumulativeExport(t *testing.T) {
	sb := newDemoSandbox(t)
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	vars := map[string]string{"RETEN_BASE_URL": sb.URL, "RETEN_API_KEY": demoKey}
	acts := sb.open()

	day1 := ledgerCSVHeader
	for i := 0; i < 5; i++ {
		day1 += ledgerCSVRow(acts[i], i, "first")
	}
	day2 := ledgerCSVHeader
	for i := 0; i < 5; i++ {
		comment := "first"
		if i == 2 {
			comment = "edited"
		}
		day2 += ledgerCSVRow(acts[i], i, comment)
	}
	for i := 5; i < 8; i++ {
		day2 += ledgerCSVRow(acts[i], i, "new")
	}
	writeFile(t, filepath.Join(dir, "day1.csv"), day1)
	writeFile(t, filepath.Join(dir, "day2.csv"), day2)

	code, stdout, stderr := runMain(t, vars, "run", "--state-dir", stateDir, "--report-dir", filepath.Join(dir, "r1"), filepath.Join(dir, "day1.csv"))
	if code != exitOK || sb.posts.Load() != 5 {
		t.Fatalf("day 1: exit %d, %d POSTs\n%s%s", code, sb.posts.Load(), stdout, stderr)
	}
	code, stdout, stderr = runMain(t, vars, "run", "--state-dir", stateDir, "--report-dir", filepath.Join(dir, "r2"), filepath.Join(dir, "day2.csv"))
	if code != exitRowsNotOK {
		t.Fatalf("day 2: exit %d, want %d (the edited row needs a decision)\n%s%s", code, exitRowsNotOK, stdout, stderr)
	}
	if n := sb.posts.Load(); n != 8 {
		t.Errorf("%d POSTs after day 2, want 8: day 2 sends only its 3 new rows", n)
	}
	rows := byRow(t, reportRows(t, filepath.Join(dir, "r2")))
	if len(rows) != 8 {
		t.Fatalf("day 2 report has %d rows", len(rows))
	}
	for i := range 8 {
		r := rows[i+2]
		switch {
		case i == 2:
			if r["outcome"] != "conflict" || r["attempts"] != "0" || !strings.Contains(r["message"], "day1.csv, row 4") || !strings.Contains(r["message"], "--hard-override") {
				t.Errorf("edited row: %v", r)
			}
		case i < 5:
			if r["outcome"] != "skipped" || !strings.Contains(r["message"], "already submitted on") || !strings.Contains(r["message"], fmt.Sprintf("day1.csv, row %d", i+2)) {
				t.Errorf("repeated row %d: %v", i+2, r)
			}
		default:
			if r["outcome"] != "ok" {
				t.Errorf("new row %d: %v", i+2, r)
			}
		}
	}

	// The user decides the edit stands: only that row is sent, with override.
	code, stdout, stderr = runMain(t, vars, "run", "--state-dir", stateDir, "--report-dir", filepath.Join(dir, "r3"), "--hard-override", "always", filepath.Join(dir, "day2.csv"))
	if code != exitOK || sb.posts.Load() != 9 {
		t.Fatalf("day 2 with --hard-override always: exit %d, %d POSTs\n%s%s", code, sb.posts.Load(), stdout, stderr)
	}
	if r := byRow(t, reportRows(t, filepath.Join(dir, "r3")))[4]; r["outcome"] != "overridden" {
		t.Errorf("edited row with override: %v", r)
	}
	if c := sb.Stats().Activities[acts[2].ID]; c.Overrides != 1 {
		t.Errorf("edited activity: %+v", c)
	}
}

// TestRetrySendsOnlyFailedRows: a run whose requests all fail (5xx or dropped
// connections) is retried from its report folder: only the failed rows are
// sent again, each activity ends stored once, and conflicts wait for
// --conflicts.
func TestRetrySendsOnlyFailedRows(t *testing.T) {
	sb := newDemoSandbox(t)
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	configs := sb.configs(t, dir)
	vars := map[string]string{"RETEN_BASE_URL": sb.URL, "RETEN_API_KEY": demoKey}
	acts := sb.open()
	var taken sandbox.Activity
	for _, a := range sb.tenant.Activities {
		if a.HasResult {
			taken = a
			break
		}
	}
	// The conflict first, answered as such; then every request fails.
	in := ledgerCSVHeader + ledgerCSVRow(taken, 0, "x")
	for i := 0; i < 6; i++ {
		in += ledgerCSVRow(acts[i], i, "x")
	}
	in += fmt.Sprintf("%s,,%s,2026-04-11T10:30:00.000Z,EFFECTIVE,NO_SUCH_CODE,x\n", acts[6].ID, acts[6].CommerceExternalID)
	input := filepath.Join(dir, "in.csv")
	writeFile(t, input, in)
	f := func(n int64, handled bool) {
		if n == 1 && handled {
			sb.SetFaults(sandbox.Faults{FailRate: 0.5, DropRate: 0.5, Seed: 3})
		}
	}
	sb.onPost.Store(&f)
	r1 := filepath.Join(dir, "r1")
	code, stdout, stderr := runMain(t, vars, "run", "--state-dir", stateDir, "--configs", configs, "--retries", "0", "--concurrency", "1", "--report-dir", r1, input)
	sb.onPost.Store(nil)
	if code != exitRowsNotOK {
		t.Fatalf("first run: exit %d\n%s%s", code, stdout, stderr)
	}
	failed := 0
	for _, r := range reportRows(t, r1) {
		if r["outcome"] == "failed" {
			failed++
		}
		if r["commerce_external_id"] == taken.CommerceExternalID && r["outcome"] != "conflict" {
			t.Fatalf("row of an activity with a result: %v", r)
		}
	}
	if failed != 6 {
		t.Fatalf("%d rows failed in the first run, want 6", failed)
	}
	before := sb.Stats()

	sb.SetFaults(sandbox.Faults{})
	r2 := filepath.Join(dir, "r2")
	code, stdout, stderr = runMain(t, vars, "retry", "--state-dir", stateDir, "--configs", configs, "--report-dir", r2, r1)
	if code != exitOK {
		t.Fatalf("retry: exit %d\n%s%s", code, stdout, stderr)
	}
	rows := reportRows(t, r2)
	if len(rows) != failed {
		t.Errorf("retry report has %d rows, want the %d that failed", len(rows), failed)
	}
	for _, r := range rows {
		if r["outcome"] != "ok" {
			t.Errorf("retried row: %v", r)
		}
	}
	st := sb.Stats()
	for i := 0; i < 6; i++ {
		if c := st.Activities[acts[i].ID]; c.Stored != 1 {
			t.Errorf("activity %d stored %d times", i, c.Stored)
		}
	}
	if c := st.Activities[taken.ID]; c.Posts != before.Activities[taken.ID].Posts {
		t.Errorf("the conflict was sent again without --conflicts")
	}
	if c := st.Activities[acts[6].ID]; c.Posts != 0 {
		t.Errorf("the invalid row was sent")
	}

	// Nothing failed any more: a second retry of r2 has nothing to do.
	code, stdout, _ = runMain(t, vars, "retry", "--state-dir", stateDir, "--configs", configs, "--report-dir", filepath.Join(dir, "r3"), r2)
	if code != exitOK || !strings.Contains(stdout, "nothing to retry") {
		t.Errorf("retry of a clean run: exit %d, %q", code, stdout)
	}
	// The user chooses to replace the conflicting result.
	r4 := filepath.Join(dir, "r4")
	code, stdout, stderr = runMain(t, vars, "retry", "--conflicts", "--state-dir", stateDir, "--configs", configs, "--report-dir", r4, r1)
	if code != exitOK {
		t.Fatalf("retry --conflicts: exit %d\n%s%s", code, stdout, stderr)
	}
	got := map[string]string{}
	for _, r := range reportRows(t, r4) {
		got[r["commerce_external_id"]] = r["outcome"]
	}
	if got[taken.CommerceExternalID] != "overridden" {
		t.Errorf("conflict row with --conflicts: %v", got)
	}
	for k, v := range got {
		if k != taken.CommerceExternalID && v != "skipped" {
			t.Errorf("row of %s, already accepted, ended %s", k, v)
		}
	}
}

// TestRunInbox processes a cron inbox: the files oldest first, each moved with
// its reports to done/ or failed/, one summary for the run, the ledger shared.
func TestRunInbox(t *testing.T) {
	sb := newDemoSandbox(t)
	dir := t.TempDir()
	inbox := filepath.Join(dir, "inbox")
	stateDir := filepath.Join(dir, "state")
	vars := map[string]string{"RETEN_BASE_URL": sb.URL, "RETEN_API_KEY": demoKey}
	acts := sb.open()
	day1, day2 := ledgerCSVHeader, ledgerCSVHeader
	for i := 0; i < 3; i++ {
		day1 += ledgerCSVRow(acts[i], i, "x")
	}
	for i := 0; i < 5; i++ {
		day2 += ledgerCSVRow(acts[i], i, "x")
	}
	if err := os.MkdirAll(inbox, 0o755); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	for i, f := range []struct{ name, content string }{
		{"export.csv", day2}, {"export-ayer.csv", day1}, {"broken.csv", ""}, {"notes.md", "# not a sheet"}, {"~$export.xlsx", "lock"},
	} {
		p := filepath.Join(inbox, f.name)
		writeFile(t, p, f.content)
		// export-ayer.csv is the oldest, then broken.csv, then export.csv.
		mod := map[string]time.Time{"export-ayer.csv": old, "broken.csv": old.Add(time.Minute)}[f.name]
		if mod.IsZero() {
			mod = old.Add(time.Duration(i+2) * time.Minute)
		}
		if err := os.Chtimes(p, mod, mod); err != nil {
			t.Fatal(err)
		}
	}

	code, stdout, stderr := runMain(t, vars, "run", "--inbox", inbox, "--state-dir", stateDir)
	// The broken file needs a person, as a row does; rows were sent, so
	// the run is not "nothing readable" (2).
	if code != exitRowsNotOK {
		t.Fatalf("exit %d, want %d (the broken file)\n%s%s", code, exitRowsNotOK, stdout, stderr)
	}
	for _, want := range []string{"could not be read, moved to " + filepath.Join(inbox, "failed") + " with what is wrong: broken.csv", "left alone, not CSV or XLSX: notes.md, ~$export.xlsx"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if n := sb.posts.Load(); n != 5 {
		t.Errorf("%d POSTs, want 5: the second file repeats the first's rows", n)
	}
	runs, _ := filepath.Glob(filepath.Join(inbox, "runs", "*", "summary.json"))
	if len(runs) != 1 {
		t.Fatalf("run summaries: %v", runs)
	}
	data, err := os.ReadFile(runs[0])
	if err != nil {
		t.Fatal(err)
	}
	var sum engine.InboxSummary
	if err := json.Unmarshal(data, &sum); err != nil {
		t.Fatal(err)
	}
	if len(sum.Files) != 3 || sum.Files[0].Name != "export-ayer.csv" || sum.Files[1].Name != "broken.csv" || sum.Files[2].Name != "export.csv" {
		t.Fatalf("files in order %+v", sum.Files)
	}
	if sum.ExitCode != exitRowsNotOK || sum.Total != 8 || sum.Counts["ok"] != 5 || sum.Counts["skipped"] != 3 ||
		!slices.Equal(sum.Unreadable, []string{"broken.csv"}) || !slices.Equal(sum.Ignored, []string{"notes.md", "~$export.xlsx"}) {
		t.Errorf("run summary %+v", sum)
	}
	for _, f := range sum.Files {
		wantDir := "done"
		if f.Name == "broken.csv" {
			wantDir = "failed"
		}
		if !strings.HasPrefix(f.Folder, wantDir+string(filepath.Separator)) || !f.Moved {
			t.Errorf("%s went to %s, want %s/", f.Name, f.Folder, wantDir)
		}
		for _, want := range []string{f.Name, "summary.json"} {
			if _, err := os.Stat(filepath.Join(inbox, f.Folder, want)); err != nil {
				t.Errorf("%s: %v", f.Name, err)
			}
		}
		if _, err := os.Stat(filepath.Join(inbox, f.Name)); !os.IsNotExist(err) {
			t.Errorf("%s still in the inbox", f.Name)
		}
	}
	for _, left := range []string{"notes.md", "~$export.xlsx"} {
		if _, err := os.Stat(filepath.Join(inbox, left)); err != nil {
			t.Errorf("%s was touched: %v", left, err)
		}
	}

	// Nothing left: the next run has nothing to do.
	code, stdout, _ = runMain(t, vars, "run", "--inbox", inbox, "--state-dir", stateDir)
	if code != exitOK || !strings.Contains(stdout, "no spreadsheet") {
		t.Errorf("empty inbox: exit %d, %q", code, stdout)
	}
}

// TestRunInboxStopsOnRefusedKey: a key the API refuses stops the inbox run;
// the file stays in the inbox for the next run, the later ones untouched.
func TestRunInboxStopsOnRefusedKey(t *testing.T) {
	sb := newDemoSandbox(t)
	dir := t.TempDir()
	inbox := filepath.Join(dir, "inbox")
	if err := os.MkdirAll(inbox, 0o755); err != nil {
		t.Fatal(err)
	}
	acts := sb.open()
	old := time.Now().Add(-time.Hour)
	for i, name := range []string{"a.csv", "b.csv"} {
		p := filepath.Join(inbox, name)
		writeFile(t, p, ledgerCSVHeader+ledgerCSVRow(acts[i], 0, "x"))
		mod := old.Add(time.Duration(i) * time.Minute)
		if err := os.Chtimes(p, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	vars := map[string]string{"RETEN_BASE_URL": sb.URL, "RETEN_API_KEY": "rtn_sk_viewer"} // may read, may not submit
	code, stdout, stderr := runMain(t, vars, "run", "--inbox", inbox, "--state-dir", filepath.Join(dir, "state"))
	if code != exitAuth {
		t.Fatalf("exit %d, want %d\n%s%s", code, exitAuth, stdout, stderr)
	}
	for _, name := range []string{"a.csv", "b.csv"} {
		if _, err := os.Stat(filepath.Join(inbox, name)); err != nil {
			t.Errorf("%s left the inbox: %v", name, err)
		}
	}
	if n := sb.posts.Load(); n != 1 {
		t.Errorf("%d POSTs, want 1: the run stops at the first refusal", n)
	}
	if !strings.Contains(stdout, "stays in the inbox") {
		t.Errorf("stdout does not say the file stays: %q", stdout)
	}
}
