package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/sandbox"
	"github.com/reten/reconcile/internal/sandbox/sandboxtest"
	"github.com/reten/reconcile/internal/submit"
	"github.com/reten/reconcile/internal/validate"
)

// These tests run `reconcile run` end to end over HTTP against the sandbox and
// check the result twice: in report.csv, and in the sandbox's own log and
// counters, which the job cannot fake.

const e2eKey = "rtn_sk_demo"

// e2eTenant is a synthetic tenant of n activities (keys of the demo tenant,
// revoked and expired ones included).
func e2eTenant(t *testing.T, n int) *sandbox.Tenant {
	t.Helper()
	tenant := sandbox.SyntheticTenant(n)
	tenant.Keys["rtn_sk_revoked"] = tenant.Keys[e2eKey]
	tenant.RevokedKeys = []string{"rtn_sk_revoked"}
	return tenant
}

// csvRow is one input row: the cells of e2eHeader.
type csvRow struct {
	activity, commerce, result, override string
}

const e2eHeader = "activity_id,commerce_external_id,occurred_at,status,result,hard_override"

func writeRows(t *testing.T, rows []csvRow) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(e2eHeader + "\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "%s,%s,2026-04-11T10:30:00Z,EFFECTIVE,%s,%s\n", r.activity, r.commerce, r.result, r.override)
	}
	path := filepath.Join(t.TempDir(), "results.csv")
	writeFile(t, path, b.String())
	return path
}

// reportRow is one row of report.csv, by column name.
type reportRow map[string]string

// readRunReport reads report.csv of a run over one file and indexes it by input
// row number, failing on a row reported twice.
func readRunReport(t *testing.T, dir string) map[int]reportRow {
	t.Helper()
	out := map[int]reportRow{}
	for _, r := range readRunReportRows(t, dir) {
		n, err := strconv.Atoi(r["row"])
		if err != nil {
			t.Fatalf("report row without a row number: %v", r)
		}
		out[n] = r
	}
	return out
}

// readRunReportRows reads report.csv, failing on a row (file, sheet, row number)
// reported twice.
func readRunReportRows(t *testing.T, dir string) []reportRow {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "report.csv"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []reportRow
	seen := map[string]bool{}
	for _, rec := range recs[1:] {
		r := reportRow{}
		for i, name := range recs[0] {
			r[name] = rec[i]
		}
		k := r["file"] + "|" + r["sheet"] + "|" + r["row"]
		if seen[k] {
			t.Errorf("%s appears twice in report.csv", k)
		}
		seen[k] = true
		out = append(out, r)
	}
	return out
}

func (r reportRow) attempts(t *testing.T) int {
	n, err := strconv.Atoi(r["attempts"])
	if err != nil {
		t.Fatalf("attempts %q: %v", r["attempts"], err)
	}
	return n
}

// postsByActivity groups the sandbox's POSTs by the activity they named.
func postsByActivity(srv *sandbox.Server) map[string][]sandbox.Request {
	m := map[string][]sandbox.Request{}
	for _, r := range srv.Requests() {
		if r.Method == "POST" {
			m[r.ActivityKey] = append(m[r.ActivityKey], r)
		}
	}
	return m
}

func e2eEnv(base, key string) map[string]string {
	return map[string]string{"RETEN_BASE_URL": base, "RETEN_API_KEY": key}
}

func TestRunEndToEndUnderFaults(t *testing.T) {
	tenant := e2eTenant(t, 200)
	want := map[int]outcome.Class{}
	var rows []csvRow
	add := func(r csvRow, c outcome.Class) {
		rows = append(rows, r)
		want[len(rows)+1] = c // the header is row 1
	}
	for i := range tenant.Activities {
		a := &tenant.Activities[i]
		r := csvRow{activity: a.ID, commerce: a.CommerceExternalID, result: "SALE_COMPLETED"}
		switch {
		case i%25 == 3:
			a.HasResult = true
			add(r, outcome.ClassConflict)
		case i%25 == 8:
			r.commerce = "NOT-ITS-COMMERCE"
			add(r, outcome.ClassRejected) // 404: the commerce is not the activity's
		case i%25 == 13:
			r.result = "NOT_A_CODE"
			add(r, outcome.ClassInvalid)
		default:
			add(r, outcome.ClassOK)
		}
		if i%50 == 20 {
			add(r, outcome.ClassSkipped) // the same activity again, later in the batch
		}
	}
	srv, base := sandboxtest.Start(t, tenant, sandbox.Faults{FailRate: 0.2, Latency: 2 * time.Millisecond, RateLimit: 40, Seed: 3})
	in := writeRows(t, rows)
	dir := filepath.Join(t.TempDir(), "out")
	// 12 retries: at 20% 5xx (and some 429s) a row fails 13 times running
	// about once in a billion, so a failed row here is a bug.
	code, stdout, stderr := runMain(t, e2eEnv(base, e2eKey), "run", "--report-dir", dir, "--retries", "12", in)
	if code != exitRowsNotOK {
		t.Fatalf("exit %d, want %d (rows need a person)\nstdout %s\nstderr %s", code, exitRowsNotOK, stdout, stderr)
	}
	if strings.Contains(stdout+stderr, e2eKey) {
		t.Error("the key was printed")
	}

	report := readRunReport(t, dir)
	if len(report) != len(rows) {
		t.Errorf("report.csv has %d rows for %d input rows", len(report), len(rows))
	}
	posts := postsByActivity(srv)
	stats := srv.Stats()
	retried := 0
	for n, class := range want {
		r, ok := report[n]
		if !ok {
			t.Errorf("row %d missing from report.csv", n)
			continue
		}
		if r["outcome"] != string(class) {
			t.Errorf("row %d: %s (%s %s), want %s", n, r["outcome"], r["http_status"], r["message"], class)
		}
		reqs := posts[r["activity_id"]]
		for i, q := range reqs {
			if q.Status >= 400 && q.Status < 500 && q.Status != 429 && i != len(reqs)-1 {
				t.Errorf("row %d: a %d was sent again", n, q.Status)
			}
		}
		switch class {
		case outcome.ClassOK:
			if got := stats.Activities[r["activity_id"]].Stored; got != 1 {
				t.Errorf("row %d ok, stored %d times", n, got)
			}
			if a := r.attempts(t); a != len(reqs) {
				t.Errorf("row %d: %d attempts in the report, %d requests at the sandbox", n, a, len(reqs))
			} else if a > 1 {
				retried++
			}
		case outcome.ClassInvalid:
			if len(reqs) != 0 {
				t.Errorf("invalid row %d was sent", n)
			}
		}
	}
	if retried < 10 {
		t.Errorf("only %d ok rows were retried: the faults did not bite", retried)
	}
	if stats.Status[429] == 0 {
		t.Errorf("the sandbox's rate limit never answered 429: %v", stats.Status)
	}
}

func TestRunHardOverrideRow(t *testing.T) {
	tenant := e2eTenant(t, 4)
	for i := range tenant.Activities {
		tenant.Activities[i].HasResult = i < 3
	}
	a := tenant.Activities
	rows := []csvRow{
		{a[0].ID, a[0].CommerceExternalID, "SALE_COMPLETED", "true"},  // asks: replaced
		{a[1].ID, a[1].CommerceExternalID, "SALE_COMPLETED", "false"}, // does not: conflict
		{a[2].ID, a[2].CommerceExternalID, "SALE_COMPLETED", ""},      // conflict
		{a[3].ID, a[3].CommerceExternalID, "SALE_COMPLETED", ""},      // fresh: ok
	}
	for _, tc := range []struct {
		policy string
		want   []outcome.Class
	}{
		{"never", []outcome.Class{outcome.ClassConflict, outcome.ClassConflict, outcome.ClassConflict, outcome.ClassOK}},
		{"row", []outcome.Class{outcome.ClassOK, outcome.ClassConflict, outcome.ClassConflict, outcome.ClassOK}},
		{"always", []outcome.Class{outcome.ClassOK, outcome.ClassOverridden, outcome.ClassOverridden, outcome.ClassOK}},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			srv, base := sandboxtest.Start(t, tenant, sandbox.Faults{})
			dir := filepath.Join(t.TempDir(), "out")
			runMain(t, e2eEnv(base, e2eKey), "run", "--report-dir", dir, "--hard-override", tc.policy, writeRows(t, rows))
			report := readRunReport(t, dir)
			stats := srv.Stats()
			for i, class := range tc.want {
				r := report[i+2]
				if r["outcome"] != string(class) {
					t.Errorf("row %d: %s (%s), want %s", i+2, r["outcome"], r["message"], class)
				}
				overrides := stats.Activities[a[i].ID].Overrides
				if replaced := class == outcome.ClassOverridden || class == outcome.ClassOK && i == 0; replaced != (overrides == 1) {
					t.Errorf("row %d: %d results replaced at the sandbox", i+2, overrides)
				}
			}
		})
	}
}

func TestRunRefusedKey(t *testing.T) {
	tenant := e2eTenant(t, 60)
	var rows []csvRow
	for _, a := range tenant.Activities {
		rows = append(rows, csvRow{a.ID, a.CommerceExternalID, "SALE_COMPLETED", ""})
	}
	in := writeRows(t, rows)
	cache := filepath.Join(t.TempDir(), "configs.json")
	if err := validate.SaveCatalogue(cache, &validate.Catalogue{Configs: tenant.Configs}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, key   string
		args        []string
		maxPosts    int
		advice      string
		wantReports bool
	}{
		// The configurations are fetched first: a revoked key sends nothing.
		{"revoked, caught by the configs", "rtn_sk_revoked", nil, 0, "not revoked or expired", false},
		// With a cache there is no such check: the first answer stops the run.
		{"revoked, caught by the first answer", "rtn_sk_revoked", []string{"--configs", cache, "--concurrency", "4"}, 4, "not revoked or expired", true},
		{"lacks the permission", "rtn_sk_viewer", []string{"--concurrency", "1"}, 1, "SUBMIT_ACTIVITY_RESULT", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, base := sandboxtest.Start(t, tenant, sandbox.Faults{Latency: 5 * time.Millisecond})
			dir := filepath.Join(t.TempDir(), "out")
			args := append([]string{"run", "--report-dir", dir}, tc.args...)
			code, stdout, stderr := runMain(t, e2eEnv(base, tc.key), append(args, in)...)
			if code != exitAuth {
				t.Fatalf("exit %d, want %d\n%s", code, exitAuth, stderr)
			}
			if !strings.Contains(stderr, tc.advice) {
				t.Errorf("stderr lacks the advice %q:\n%s", tc.advice, stderr)
			}
			if strings.Contains(stdout+stderr, tc.key) {
				t.Error("the key was printed")
			}
			posts := 0
			var log []string
			for _, r := range srv.Requests() {
				if r.Method == "POST" {
					posts++
					log = append(log, fmt.Sprintf("%s %d %s", r.Time.Format("05.000000"), r.Status, r.ActivityKey))
				}
			}
			if posts > tc.maxPosts || tc.maxPosts > 0 && posts == 0 {
				t.Errorf("%d POSTs reached the sandbox, want 1 to %d:\n%s", posts, tc.maxPosts, strings.Join(log, "\n"))
			}
			if !tc.wantReports {
				return
			}
			report := readRunReport(t, dir)
			if len(report) != len(rows) {
				t.Fatalf("report.csv has %d rows, want %d", len(report), len(rows))
			}
			skipped := 0
			for _, r := range report {
				switch r["outcome"] {
				case "skipped":
					skipped++
					if !strings.Contains(r["message"], "refused the key") {
						t.Errorf("skipped row says %q", r["message"])
					}
				case "rejected":
				default:
					t.Errorf("row %s: %s after a refused key", r["row"], r["outcome"])
				}
			}
			if skipped != len(rows)-posts {
				t.Errorf("%d skipped, %d sent, %d rows", skipped, posts, len(rows))
			}
		})
	}
}

func TestRunInterrupted(t *testing.T) {
	tenant := e2eTenant(t, 80)
	var rows []csvRow
	for _, a := range tenant.Activities {
		rows = append(rows, csvRow{a.ID, a.CommerceExternalID, "SALE_COMPLETED", ""})
	}
	srv, base := sandboxtest.Start(t, tenant, sandbox.Faults{Latency: 40 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		// Ctrl-C once some rows are done and others are in flight.
		defer wg.Done()
		for i := 0; i < 2000 && srv.Stats().Stored < 8; i++ {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	dir := filepath.Join(t.TempDir(), "out")
	var stdout, stderr bytes.Buffer
	env := &environ{stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return e2eEnv(base, e2eKey)[k] }}
	code := Main(ctx, env, []string{"run", "--report-dir", dir, "--state-dir", t.TempDir(), "--concurrency", "4", writeRows(t, rows)})
	wg.Wait()
	if code != exitInterrupted {
		t.Fatalf("exit %d, want %d\n%s", code, exitInterrupted, stderr.String())
	}
	report := readRunReport(t, dir)
	if len(report) != len(rows) {
		t.Fatalf("report.csv has %d rows, want %d", len(report), len(rows))
	}
	stats := srv.Stats()
	ok, skipped := 0, 0
	for _, r := range report {
		switch r["outcome"] {
		case "ok":
			ok++
		case "skipped":
			skipped++
		default:
			t.Errorf("row %s: %s", r["row"], r["outcome"])
		}
	}
	// Every request sent got its answer and counts as ok: none was cut off.
	if ok != stats.Stored || ok != stats.Requests-1 || stats.Gone != 0 {
		t.Errorf("%d ok rows, %d stored, %d requests (one GET), %d left unanswered", ok, stats.Stored, stats.Requests, stats.Gone)
	}
	if skipped == 0 || ok < 8 {
		t.Errorf("%d ok, %d skipped: the interrupt came too late or too early", ok, skipped)
	}
	if _, err := os.Stat(filepath.Join(dir, "summary.json")); err != nil {
		t.Errorf("no summary after an interrupt: %v", err)
	}
}

func TestRunDryRun(t *testing.T) {
	tenant := e2eTenant(t, 5)
	a := tenant.Activities
	rows := []csvRow{
		{a[0].ID, a[0].CommerceExternalID, "SALE_COMPLETED", ""},
		{a[1].ID, a[1].CommerceExternalID, "NOT_A_CODE", ""},
	}
	cache := filepath.Join(t.TempDir(), "configs.json")
	if err := validate.SaveCatalogue(cache, &validate.Catalogue{Configs: tenant.Configs}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	// No key, no URL: a dry run with a cache needs neither.
	code, _, stderr := runMain(t, map[string]string{}, "run", "--dry-run", "--configs", cache, "--report-dir", dir, writeRows(t, rows))
	if code != exitRowsNotOK {
		t.Fatalf("exit %d, want %d: %s", code, exitRowsNotOK, stderr)
	}
	// Without a terminal, progress goes to stderr as log lines a cron log keeps.
	if !strings.Contains(stderr, "msg=finished done=2 read=2 invalid=1 skipped=1") {
		t.Errorf("no final progress line in stderr:\n%s", stderr)
	}
	report := readRunReport(t, dir)
	if r := report[2]; r["outcome"] != "skipped" || r["message"] != submit.DryRunMessage || r["attempts"] != "0" {
		t.Errorf("valid row in a dry run: %v", r)
	}
	if r := report[3]; r["outcome"] != "invalid" {
		t.Errorf("invalid row in a dry run: %v", r)
	}
}

func TestDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	code, stdout, stderr := runMain(t, nil, "demo", "--report-dir", dir, "--latency", "1ms")
	if code != exitOK {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	files := map[string]int{}
	for _, r := range readRunReportRows(t, dir) {
		files[filepath.Base(r["file"])]++
	}
	for _, f := range demoFiles {
		if files[f] == 0 {
			t.Errorf("no row of %s in the report: %v", f, files)
		}
	}
	for _, want := range []string{"sandbox:", "results.csv", "resultados.xlsx", dir} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout+stderr, demoKey) {
		t.Error("the demo printed its key")
	}
}

// The API stores every result and then either drops the connection or
// answers 500. The retry's 409 is checked against the stored result, which
// holds the row's values: every row is ok and stored once, also under
// --hard-override always (which once stored each of them twice).
func TestRunEndToEndStoredButUnanswered(t *testing.T) {
	for _, policy := range []string{"never", "always"} {
		t.Run(policy, func(t *testing.T) {
			tenant := e2eTenant(t, 40)
			var rows []csvRow
			for _, a := range tenant.Activities {
				rows = append(rows, csvRow{activity: a.ID, commerce: a.CommerceExternalID, result: "SALE_COMPLETED"})
			}
			srv, base := sandboxtest.Start(t, tenant, sandbox.Faults{FailAfterStoreRate: 1, Seed: 11})
			in := writeRows(t, rows)
			dir := filepath.Join(t.TempDir(), "out")
			state := filepath.Join(t.TempDir(), "state")
			code, stdout, stderr := runMain(t, e2eEnv(base, e2eKey), "run", "--report-dir", dir, "--state-dir", state, "--retries", "3", "--hard-override", policy, in)
			if code != exitOK {
				t.Fatalf("exit %d, want %d\nstdout %s\nstderr %s", code, exitOK, stdout, stderr)
			}
			report := readRunReport(t, dir)
			posts := postsByActivity(srv)
			stats := srv.Stats()
			var got500, dropped int
			for n := 2; n < len(rows)+2; n++ {
				r := report[n]
				if c := stats.Activities[r["activity_id"]]; c.Stored != 1 || c.Overrides != 0 {
					t.Errorf("row %d stored %d times, %d overrides", n, c.Stored, c.Overrides)
				}
				reqs := posts[r["activity_id"]]
				if len(reqs) != 2 || reqs[1].Status != 409 || r.attempts(t) != 2 {
					t.Errorf("row %d: %s attempts, requests %+v", n, r["attempts"], reqs)
					continue
				}
				if reqs[0].Dropped {
					dropped++
				} else if reqs[0].Status == 500 {
					got500++
				}
				if r["outcome"] != "ok" || !strings.Contains(r["message"], "stored by our earlier attempt") {
					t.Errorf("row %d, first answer %+v: %s: %s", n, reqs[0], r["outcome"], r["message"])
				}
			}
			if got500 == 0 || dropped == 0 {
				t.Errorf("faults met: %d answered 500, %d dropped", got500, dropped)
			}
		})
	}
}
