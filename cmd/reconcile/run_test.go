package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reten/reconcile/internal/engine"
	"github.com/reten/reconcile/internal/outcome"
)

func TestRunUsageErrors(t *testing.T) {
	env := map[string]string{"RETEN_BASE_URL": "http://127.0.0.1:9", "RETEN_API_KEY": "rtn_sk_x"}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"run"}, env, "no input files"},
		{[]string{"run", "--hard-override", "sometimes", "a.csv"}, env, "never, always, row"},
		{[]string{"run", "--concurrency", "0", "a.csv"}, env, "--concurrency must be 1 or more"},
		{[]string{"run", "--rate", "-1", "a.csv"}, env, "--rate must be 0"},
		{[]string{"run", "--retries", "-2", "a.csv"}, env, "--retries must be 0 or more"},
		{[]string{"run", "--timeout", "0s", "a.csv"}, env, "--timeout must be positive"},
		{[]string{"run", "--delimiter", "x", "a.csv"}, env, "--delimiter \"x\""},
		{[]string{"run", "--timezone", "Mars/Olympus", "a.csv"}, env, "America/Santiago"},
		{[]string{"run", "a.csv"}, map[string]string{"RETEN_API_KEY": "rtn_sk_x"}, "RETEN_BASE_URL is not set"},
		{[]string{"run", "a.csv"}, map[string]string{"RETEN_BASE_URL": "http://127.0.0.1:9"}, "RETEN_API_KEY is not set"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := runMain(t, tc.env, tc.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q lacks %q", stderr, tc.want)
			}
			if stdout != "" {
				t.Errorf("stdout %q", stdout)
			}
		})
	}
}

// The README's exit-code table, from how a run ended.
func TestExitCode(t *testing.T) {
	rows := func(c outcome.Class) map[outcome.Class]int { return map[outcome.Class]int{outcome.ClassOK: 3, c: 1} }
	for _, tc := range []struct {
		name   string
		ending engine.Ending
		counts map[outcome.Class]int
		want   int
	}{
		{"all ok", engine.Finished, rows(outcome.ClassOK), exitOK},
		{"skipped", engine.Finished, rows(outcome.ClassSkipped), exitOK},
		{"overridden", engine.Finished, rows(outcome.ClassOverridden), exitOK},
		{"no rows", engine.Finished, nil, exitOK},
		{"invalid", engine.Finished, rows(outcome.ClassInvalid), exitRowsNotOK},
		{"rejected", engine.Finished, rows(outcome.ClassRejected), exitRowsNotOK},
		{"conflict", engine.Finished, rows(outcome.ClassConflict), exitRowsNotOK},
		{"failed", engine.Finished, rows(outcome.ClassFailed), exitRowsNotOK},
		{"bad input", engine.BadInput, nil, exitUsage},
		{"key refused", engine.KeyRefused, rows(outcome.ClassSkipped), exitAuth},
		{"locked", engine.Locked, nil, exitLocked},
		{"interrupted", engine.Interrupted, rows(outcome.ClassSkipped), exitInterrupted},
		{"API failed", engine.APIFailed, nil, exitError},
		{"read failed", engine.ReadFailed, rows(outcome.ClassInvalid), exitError},
		{"report failed", engine.ReportFailed, rows(outcome.ClassOK), exitError},
		{"ledger failed", engine.LedgerFailed, rows(outcome.ClassOK), exitError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := exitCode(&engine.Result{Ending: tc.ending, Counts: tc.counts}); got != tc.want {
				t.Errorf("exit %d, want %d", got, tc.want)
			}
		})
	}
	// An inbox run's unreadable file beside clean ones needs a person.
	if got := exitCode(&engine.Result{Ending: engine.Finished, Counts: rows(outcome.ClassOK), Unreadable: 1}); got != exitRowsNotOK {
		t.Errorf("an unreadable file beside clean ones: exit %d, want %d", got, exitRowsNotOK)
	}
}

// --cpuprofile writes a profile of the run, and -h does not list it.
func TestRunCPUProfileHidden(t *testing.T) {
	code, stdout, _ := runMain(t, nil, "run", "-h")
	if code != exitOK || !strings.Contains(stdout, "--concurrency") || strings.Contains(stdout, "cpuprofile") {
		t.Errorf("run -h: exit %d, flags listed:\n%s", code, stdout)
	}
	prof := filepath.Join(t.TempDir(), "cpu.pprof")
	env := map[string]string{"RETEN_BASE_URL": "http://127.0.0.1:9", "RETEN_API_KEY": "rtn_sk_x"}
	code, _, stderr := runMain(t, env, "run", "--cpuprofile", prof, filepath.Join(t.TempDir(), "missing.csv"))
	if code != exitUsage {
		t.Errorf("exit %d, want %d: %s", code, exitUsage, stderr)
	}
	if fi, err := os.Stat(prof); err != nil || fi.Size() == 0 {
		t.Errorf("no profile written: %v", err)
	}
}
