package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/engine"
	"github.com/reten/reconcile/internal/ledger"
	"github.com/reten/reconcile/internal/sandbox"
)

// closedURL is the address of a server that is gone: every connection to
// it is refused.
func closedURL(t *testing.T) string {
	srv := httptest.NewServer(nil)
	srv.Close()
	return srv.URL
}

// TestExitCodeTable runs the command line once for every case of the
// README's exit-code table, each against a fresh sandbox. A scheduler acts on
// these codes, so each row of the table has its cases here.
func TestExitCodeTable(t *testing.T) {
	for _, tc := range []struct {
		name string
		want int
		rows int // rows of the input, each a valid row of its own activity
		// faults of the sandbox
		faults sandbox.Faults
		// run runs the case, with h's input and state dir; it returns the
		// exit code and the output.
		run func(t *testing.T, h *hostileRun) (int, string, string)
		// check looks at what the run left, beyond its code.
		check func(t *testing.T, h *hostileRun, stdout, stderr string)
	}{
		{name: "0 every row ok", want: exitOK, rows: 3,
			run: func(t *testing.T, h *hostileRun) (int, string, string) { return h.run(t) }},
		{name: "0 every row skipped as already sent", want: exitOK, rows: 3,
			run: func(t *testing.T, h *hostileRun) (int, string, string) {
				if code, _, _ := h.run(t); code != exitOK {
					t.Fatalf("first run: exit %d", code)
				}
				return h.run(t)
			}},
		{name: "1 data problems only: an invalid row", want: exitRowsNotOK, rows: 3,
			run: func(t *testing.T, h *hostileRun) (int, string, string) {
				data, _ := os.ReadFile(h.in)
				writeFile(t, h.in, string(data)+"5e000000-0000-4000-8000-000000000001,C,2026-04-11T10:30:00Z,EFFECTIVE,NOT_A_CODE,\n")
				return h.run(t)
			}},
		{name: "1 data problems only: a 404", want: exitRowsNotOK, rows: 3,
			run: func(t *testing.T, h *hostileRun) (int, string, string) {
				writeFile(t, h.in, e2eHeader+"\n5e000000-0000-4000-8000-000000000001,NOT-ITS-COMMERCE,2026-04-11T10:30:00Z,EFFECTIVE,SALE_COMPLETED,\n")
				return h.run(t)
			}},
		{name: "1 rows failed for now, the API answering 5xx", want: exitRowsNotOK, rows: 3, faults: sandbox.Faults{FailRate: 1},
			run: func(t *testing.T, h *hostileRun) (int, string, string) { return h.run(t, "--retries", "0") }},
		{name: "2 an unknown flag", want: exitUsage,
			run: func(t *testing.T, h *hostileRun) (int, string, string) { return h.run(t, "--dry-rn") }},
		{name: "2 an input file that is not there", want: exitUsage,
			run: func(t *testing.T, h *hostileRun) (int, string, string) {
				os.Remove(h.in)
				return h.run(t)
			}},
		{name: "2 an input file without the needed columns", want: exitUsage,
			run: func(t *testing.T, h *hostileRun) (int, string, string) {
				writeFile(t, h.in, "nombre,apellido\nAna,Pérez\n")
				return h.run(t)
			}},
		{name: "2 no key in the environment", want: exitUsage, rows: 1,
			run: func(t *testing.T, h *hostileRun) (int, string, string) {
				return runMain(t, map[string]string{"RETEN_BASE_URL": h.base}, "run", "--state-dir", h.state, h.in)
			}},
		{name: "2 the report folder holds an earlier run's reports", want: exitUsage, rows: 2,
			run: func(t *testing.T, h *hostileRun) (int, string, string) {
				if code, _, _ := h.run(t); code != exitOK {
					t.Fatalf("first run: exit %d", code)
				}
				h.srv.Reset()
				return runMain(t, e2eEnv(h.base, e2eKey), "run", "--report-dir", h.dir, "--state-dir", filepath.Join(t.TempDir(), "state"), "--configs", h.configs, h.in)
			},
			check: func(t *testing.T, h *hostileRun, stdout, stderr string) {
				if !strings.Contains(stderr, "already holds the reports of an earlier run") {
					t.Errorf("stderr does not say why: %s", stderr)
				}
				if n := h.srv.Stats().Requests; n != 0 {
					t.Errorf("%d requests: nothing may be sent when the reports cannot be written", n)
				}
			}},
		{name: "3 a revoked key", want: exitAuth, rows: 3,
			run: func(t *testing.T, h *hostileRun) (int, string, string) {
				return runMain(t, e2eEnv(h.base, "rtn_sk_revoked"), "run", "--report-dir", h.dir, "--state-dir", h.state, h.in)
			}},
		{name: "3 a key that may read but not submit", want: exitAuth, rows: 3,
			run: func(t *testing.T, h *hostileRun) (int, string, string) {
				return runMain(t, e2eEnv(h.base, "rtn_sk_viewer"), "run", "--report-dir", h.dir, "--state-dir", h.state, h.in)
			}},
		{name: "4 another run holds the state directory", want: exitLocked, rows: 2,
			run: func(t *testing.T, h *hostileRun) (int, string, string) {
				db, err := ledger.OpenDir(h.state, h.base, ledger.Options{BaseURL: h.base, Run: "the other run"})
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				return h.run(t)
			},
			check: func(t *testing.T, h *hostileRun, stdout, stderr string) {
				if n := h.srv.Stats().Requests; n != 0 {
					t.Errorf("%d requests while locked out", n)
				}
			}},
		{name: "5 API unreachable, no cache", want: exitError, rows: 3,
			run: func(t *testing.T, h *hostileRun) (int, string, string) {
				return runMain(t, e2eEnv(closedURL(t), e2eKey), "run", "--report-dir", h.dir, "--state-dir", h.state, "--retries", "0", h.in)
			}},
		{name: "5 API unreachable, with the configs cache, fewer rows than trip the breaker", want: exitError, rows: 3,
			run: func(t *testing.T, h *hostileRun) (int, string, string) {
				return runMain(t, e2eEnv(closedURL(t), e2eKey), "run", "--report-dir", h.dir, "--state-dir", h.state, "--configs", h.configs, "--retries", "1", h.in)
			},
			check: func(t *testing.T, h *hostileRun, stdout, stderr string) {
				if !strings.Contains(stderr, "API unreachable") {
					t.Errorf("stderr does not say the API is unreachable: %s", stderr)
				}
			}},
		{name: "5 API unreachable, with the configs cache, the breaker trips", want: exitError, rows: 30,
			run: func(t *testing.T, h *hostileRun) (int, string, string) {
				return runMain(t, e2eEnv(closedURL(t), e2eKey), "run", "--report-dir", h.dir, "--state-dir", h.state, "--configs", h.configs, "--retries", "0", h.in)
			}},
		{name: "5 asked to wait longer than --max-wait", want: exitError, rows: 3, faults: sandbox.Faults{RateLimit: 1e-9, RetryAfter: 3600},
			run: func(t *testing.T, h *hostileRun) (int, string, string) { return h.run(t, "--concurrency", "1") }},
		{name: "5 --deadline passed", want: exitError, rows: 40, faults: sandbox.Faults{Latency: 30 * time.Millisecond},
			run: func(t *testing.T, h *hostileRun) (int, string, string) {
				return h.run(t, "--deadline", "100ms", "--concurrency", "1")
			}},
		{name: "5 the reports cannot be written", want: exitError, rows: 2,
			run: func(t *testing.T, h *hostileRun) (int, string, string) {
				file := filepath.Join(t.TempDir(), "a-file")
				writeFile(t, file, "")
				return runMain(t, e2eEnv(h.base, e2eKey), "run", "--report-dir", filepath.Join(file, "out"), "--state-dir", h.state, "--configs", h.configs, h.in)
			},
			check: func(t *testing.T, h *hostileRun, stdout, stderr string) {
				if n := h.srv.Stats().Requests; n != 0 {
					t.Errorf("%d requests without reports to write them to", n)
				}
			}},
		{name: "5 the ledger cannot be opened", want: exitError, rows: 2,
			run: func(t *testing.T, h *hostileRun) (int, string, string) {
				state := filepath.Join(t.TempDir(), "state")
				writeFile(t, state, "not a folder")
				return runMain(t, e2eEnv(h.base, e2eKey), "run", "--report-dir", h.dir, "--state-dir", state, "--configs", h.configs, h.in)
			},
			check: func(t *testing.T, h *hostileRun, stdout, stderr string) {
				if n := h.srv.Stats().Requests; n != 0 {
					t.Errorf("%d requests without a ledger", n)
				}
			}},
		{name: "130 interrupted", want: exitInterrupted, rows: 3,
			run: func(t *testing.T, h *hostileRun) (int, string, string) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				os.RemoveAll(h.dir)
				return runMainCtx(t, ctx, e2eEnv(h.base, e2eKey), "run", "--report-dir", h.dir, "--state-dir", h.state, "--configs", h.configs, h.in)
			},
			check: func(t *testing.T, h *hostileRun, stdout, stderr string) {
				for n, r := range readRunReport(t, h.dir) {
					if r["outcome"] != "skipped" {
						t.Errorf("row %d: %s, want skipped", n, r["outcome"])
					}
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHostileRun(t, tc.rows, tc.faults)
			code, stdout, stderr := tc.run(t, h)
			if code != tc.want {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.want, stdout, stderr)
			}
			if tc.check != nil {
				tc.check(t, h, stdout, stderr)
			}
			// summary.json says the same code, when the run got as far as writing one.
			data, err := os.ReadFile(filepath.Join(h.dir, "summary.json"))
			if err != nil || tc.want == exitUsage || tc.want == exitLocked {
				return
			}
			var sum struct {
				ExitCode int `json:"exit_code"`
			}
			if err := json.Unmarshal(data, &sum); err != nil || sum.ExitCode != tc.want {
				t.Errorf("summary.json says exit code %d (%v), the process %d", sum.ExitCode, err, tc.want)
			}
		})
	}
}

// TestExitCodeTableInbox: how an inbox run's code combines its files'
// (README, "Exit codes"; docs/engine.md, the inbox), each case run for real.
func TestExitCodeTableInbox(t *testing.T) {
	const good, bad = "good", "bad"
	for _, tc := range []struct {
		name  string
		files []string // in age order, oldest first
		want  int
	}{
		{"0 an empty inbox", nil, exitOK},
		{"0 every file sent", []string{good, good}, exitOK},
		{"1 an unreadable file beside files sent", []string{bad, good, bad}, exitRowsNotOK},
		{"2 no file readable", []string{bad, bad}, exitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHostileRun(t, len(tc.files), sandbox.Faults{})
			inbox := filepath.Join(t.TempDir(), "inbox")
			if err := os.MkdirAll(inbox, 0o755); err != nil {
				t.Fatal(err)
			}
			old := time.Now().Add(-time.Hour)
			for i, kind := range tc.files {
				p := filepath.Join(inbox, "export-"+string(rune('a'+i))+".csv")
				content := "nombre\nAna\n" // no contract column: unreadable as results
				if kind == good {
					a := h.tenant.Activities[i]
					content = e2eHeader + "\n" + a.ID + "," + a.CommerceExternalID + ",2026-04-11T10:30:00Z,EFFECTIVE,SALE_COMPLETED,\n"
				}
				writeFile(t, p, content)
				mod := old.Add(time.Duration(i) * time.Minute)
				if err := os.Chtimes(p, mod, mod); err != nil {
					t.Fatal(err)
				}
			}
			code, stdout, stderr := runMain(t, e2eEnv(h.base, e2eKey), "run", "--inbox", inbox, "--state-dir", h.state, "--configs", h.configs)
			if code != tc.want {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.want, stdout, stderr)
			}
			runs, _ := filepath.Glob(filepath.Join(inbox, "runs", "*", "summary.json"))
			if len(runs) != 1 {
				t.Fatalf("run summaries: %v", runs)
			}
			var sum engine.InboxSummary
			data, _ := os.ReadFile(runs[0])
			if err := json.Unmarshal(data, &sum); err != nil || sum.ExitCode != tc.want || len(sum.Files) != len(tc.files) {
				t.Fatalf("run summary %+v (%v)", sum, err)
			}
			for i, f := range sum.Files {
				if _, err := os.Stat(filepath.Join(inbox, f.Folder, "summary.json")); err != nil {
					t.Errorf("%s has no summary.json of its own: %v", f.Name, err)
				}
				want := exitOK
				if tc.files[i] == bad {
					want = exitUsage
				}
				if f.ExitCode != want {
					t.Errorf("%s: exit code %d in the run's summary, want %d", f.Name, f.ExitCode, want)
				}
			}
		})
	}
}

// TestRunInboxSettle: a file still being copied in when the run starts is
// left where it is, for the next run; --settle 0 takes it as it is.
func TestRunInboxSettle(t *testing.T) {
	h := newHostileRun(t, 1, sandbox.Faults{})
	inbox := filepath.Join(t.TempDir(), "inbox")
	if err := os.MkdirAll(inbox, 0o755); err != nil {
		t.Fatal(err)
	}
	a := h.tenant.Activities[0]
	p := filepath.Join(inbox, "export.csv")
	writeFile(t, p, e2eHeader+"\n")
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(100 * time.Millisecond)
		f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
			return
		}
		f.WriteString(a.ID + "," + a.CommerceExternalID + ",2026-04-11T10:30:00Z,EFFECTIVE,SALE_COMPLETED,\n")
		f.Close()
	}()
	code, stdout, stderr := runMain(t, e2eEnv(h.base, e2eKey), "run", "--inbox", inbox, "--state-dir", h.state, "--configs", h.configs, "--settle", "1s")
	<-done
	if code != exitOK || !strings.Contains(stdout, "still being written (changed in the last 1s), left for the next run: export.csv") || h.srv.Stats().Requests != 0 {
		t.Fatalf("exit %d, %d requests\n%s%s", code, h.srv.Stats().Requests, stdout, stderr)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the file being written was moved: %v", err)
	}
	code, stdout, stderr = runMain(t, e2eEnv(h.base, e2eKey), "run", "--inbox", inbox, "--state-dir", h.state, "--configs", h.configs, "--settle", "0")
	if code != exitOK || h.srv.Stats().Stored != 1 {
		t.Fatalf("--settle 0: exit %d, stored %d\n%s%s", code, h.srv.Stats().Stored, stdout, stderr)
	}
}
