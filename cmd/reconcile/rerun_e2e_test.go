package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/sandbox"
	"github.com/reten/reconcile/internal/sandbox/sandboxtest"
	"github.com/reten/reconcile/internal/validate"
)

// posts counts the sandbox's POSTs so far.
func posts(srv *sandbox.Server) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Method == "POST" {
			n++
		}
	}
	return n
}

// TestRunRerunSendsOnlyUndecided: the nightly file comes back unchanged.
// 301 rows: 30 name activities the tenant does not have (404), 30 activities
// that already have a result (409), the rest are accepted or fail with a 5xx
// for now. The second run sends only the rows that failed; the 404s and 409s
// are reported in their class, "unchanged since", without a request. A
// changed row is sent again, --hard-override always resends the conflicts,
// --force sends everything. docs/ledger.md quotes the POST counts.
func TestRunRerunSendsOnlyUndecided(t *testing.T) {
	const n = 301
	tenant := e2eTenant(t, n)
	var rows []csvRow
	unknown, taken := map[int]bool{}, map[int]bool{}
	for i := range tenant.Activities {
		a := &tenant.Activities[i]
		r := csvRow{activity: a.ID, commerce: a.CommerceExternalID, result: "SALE_COMPLETED"}
		switch {
		case i%10 == 3 && len(unknown) < 30:
			r.activity = fmt.Sprintf("5e000000-0000-4000-9999-%012d", i)
			unknown[i+2] = true
		case i%10 == 7 && len(taken) < 30:
			a.HasResult = true
			taken[i+2] = true
		}
		rows = append(rows, r)
	}
	srv, base := sandboxtest.Start(t, tenant, sandbox.Faults{FailRate: 0.1, Seed: 11})
	dir := t.TempDir()
	configs := filepath.Join(dir, "configs.json")
	if err := validate.SaveCatalogue(configs, &validate.Catalogue{FetchedAt: time.Now(), BaseURL: base, Configs: tenant.Configs}); err != nil {
		t.Fatal(err)
	}
	in := writeRows(t, rows)
	state := filepath.Join(dir, "state")
	run := func(name string, extra ...string) map[int]reportRow {
		t.Helper()
		args := append([]string{"run", "--state-dir", state, "--configs", configs, "--retries", "0",
			"--report-dir", filepath.Join(dir, name)}, extra...)
		code, stdout, stderr := runMain(t, e2eEnv(base, e2eKey), append(args, in)...)
		if code != exitRowsNotOK {
			t.Fatalf("%s: exit %d, want %d\n%s%s", name, code, exitRowsNotOK, stdout, stderr)
		}
		return readRunReport(t, filepath.Join(dir, name))
	}

	first := run("first")
	posts1 := posts(srv)
	failed := 0
	for n, r := range first {
		switch {
		case r["outcome"] == "failed":
			failed++
		case unknown[n] && r["outcome"] != "rejected", taken[n] && r["outcome"] != "conflict":
			t.Errorf("first run, row %d: %s %s", n, r["outcome"], r["message"])
		}
	}
	if posts1 != n || failed < 10 {
		t.Fatalf("first run: %d POSTs for %d rows, %d failed; want one each and some 5xx", posts1, n, failed)
	}

	srv.SetFaults(sandbox.Faults{})
	second := run("second")
	posts2 := posts(srv) - posts1
	if posts2 != failed {
		t.Errorf("second run sent %d POSTs, want %d: only the rows that failed", posts2, failed)
	}
	decided := 0
	for n, r := range second {
		switch {
		case first[n]["outcome"] == "failed":
			// Never answered for good: sent again, and answered now.
			want := "ok"
			if unknown[n] {
				want = "rejected"
			} else if taken[n] {
				want = "conflict"
			}
			if r["outcome"] != want || r["attempts"] != "1" {
				t.Errorf("second run, row %d that failed before: %s %s, want %s", n, r["outcome"], r["message"], want)
			}
		case unknown[n] || taken[n]:
			decided++
			want, status := "rejected", "404"
			if taken[n] {
				want, status = "conflict", "409"
			}
			if r["outcome"] != want || r["attempts"] != "0" || r["http_status"] != status ||
				!strings.HasPrefix(r["message"], "unchanged since ") || !strings.Contains(r["message"], "; fix the row, or pass --force / --hard-override") {
				t.Errorf("second run, decided row %d: %s %s attempts %s %q", n, r["outcome"], r["http_status"], r["attempts"], r["message"])
			}
		default:
			if r["outcome"] != "skipped" || r["attempts"] != "0" {
				t.Errorf("second run, row %d accepted before: %s %s", n, r["outcome"], r["message"])
			}
		}
	}
	if decided < 40 {
		t.Errorf("only %d rows were decided: the 5xx hit too many of the 60", decided)
	}
	t.Logf("POSTs: first run %d, second run %d (%d rows failed in the first)", posts1, posts2, failed)

	// --hard-override always: the conflicts may now replace the results;
	// the 404s are still decided.
	before := posts(srv)
	third := run("override", "--hard-override", "always")
	if got := posts(srv) - before; got != len(taken) {
		t.Errorf("--hard-override always sent %d POSTs, want %d (the conflicts)", got, len(taken))
	}
	for n := range taken {
		if third[n]["outcome"] != "overridden" {
			t.Errorf("row %d under --hard-override always: %v", n, third[n])
		}
	}

	// --force sends every valid row, as it is.
	before = posts(srv)
	run("force", "--force")
	if got := posts(srv) - before; got != n {
		t.Errorf("--force sent %d POSTs, want %d", got, n)
	}
}

// TestRunChangedRowIsSentAgain: a row refused before is sent again as soon
// as any of its values changes.
func TestRunChangedRowIsSentAgain(t *testing.T) {
	tenant := e2eTenant(t, 3)
	srv, base := sandboxtest.Start(t, tenant, sandbox.Faults{})
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	bad := csvRow{activity: tenant.Activities[0].ID, commerce: "NOT-ITS-COMMERCE", result: "SALE_COMPLETED"}
	for i, rows := range [][]csvRow{{bad}, {bad}, {{activity: bad.activity, commerce: tenant.Activities[0].CommerceExternalID, result: "SALE_COMPLETED"}}} {
		name := fmt.Sprintf("r%d", i)
		code, stdout, stderr := runMain(t, e2eEnv(base, e2eKey), "run", "--state-dir", state, "--report-dir", filepath.Join(dir, name), writeRows(t, rows))
		r := readRunReport(t, filepath.Join(dir, name))[2]
		wantPosts, wantClass, wantCode := 1, "rejected", exitRowsNotOK
		switch i {
		case 1:
			wantPosts = 1 // unchanged: not sent
		case 2:
			wantPosts, wantClass, wantCode = 2, "ok", exitOK
		}
		if code != wantCode || posts(srv) != wantPosts || r["outcome"] != wantClass {
			t.Errorf("run %d: exit %d, %d POSTs in all, %s %q; want exit %d, %d POSTs, %s\n%s%s", i, code, posts(srv), r["outcome"], r["message"], wantCode, wantPosts, wantClass, stdout, stderr)
		}
	}
}
