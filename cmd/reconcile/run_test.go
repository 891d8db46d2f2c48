package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/submit"
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

func TestExitCode(t *testing.T) {
	auth := fmt.Errorf("the API refused the key: %w", &api.Error{StatusCode: 403, Err: "Forbidden", Message: "Insufficient permissions"})
	counts := func(c outcome.Class) submit.Stats {
		return submit.Stats{Counts: map[outcome.Class]int{outcome.ClassOK: 3, c: 1}}
	}
	for _, tc := range []struct {
		name               string
		st                 submit.Stats
		run, read, written error
		want               int
		msg                string
	}{
		{"all ok", counts(outcome.ClassOK), nil, nil, nil, exitOK, ""},
		{"skipped", counts(outcome.ClassSkipped), nil, nil, nil, exitOK, ""},
		{"overridden", counts(outcome.ClassOverridden), nil, nil, nil, exitOK, ""},
		{"invalid", counts(outcome.ClassInvalid), nil, nil, nil, exitRowsNotOK, ""},
		{"rejected", counts(outcome.ClassRejected), nil, nil, nil, exitRowsNotOK, ""},
		{"conflict", counts(outcome.ClassConflict), nil, nil, nil, exitRowsNotOK, ""},
		{"failed", counts(outcome.ClassFailed), nil, nil, nil, exitRowsNotOK, ""},
		{"key refused", counts(outcome.ClassSkipped), auth, nil, nil, exitAuth, "SUBMIT_ACTIVITY_RESULT"},
		{"interrupted", counts(outcome.ClassSkipped), context.Canceled, nil, nil, exitInterrupted, "interrupted"},
		{"ledger", counts(outcome.ClassOK), errors.New("recording in the ledger: disk full"), nil, nil, exitError, "disk full"},
		{"unreadable row", counts(outcome.ClassOK), nil, errors.New("in.csv, row 7: bare quote"), nil, exitError, "row 7"},
		{"report write", counts(outcome.ClassOK), nil, nil, errors.New("no space left"), exitError, "no space left"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, err := exitCode(tc.st, tc.run, tc.read, tc.written)
			if code != tc.want {
				t.Errorf("exit %d, want %d", code, tc.want)
			}
			if (tc.msg == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %v, want one saying %q", err, tc.msg)
			}
		})
	}
}

// --cpuprofile writes a profile of the run, and -h does not list it.
func TestRunCPUProfileHidden(t *testing.T) {
	code, _, stderr := runMain(t, nil, "run", "-h")
	if code != exitOK || !strings.Contains(stderr, "-concurrency") || strings.Contains(stderr, "cpuprofile") {
		t.Errorf("run -h: exit %d, flags listed:\n%s", code, stderr)
	}
	prof := filepath.Join(t.TempDir(), "cpu.pprof")
	env := map[string]string{"RETEN_BASE_URL": "http://127.0.0.1:9", "RETEN_API_KEY": "rtn_sk_x"}
	code, _, stderr = runMain(t, env, "run", "--cpuprofile", prof, filepath.Join(t.TempDir(), "missing.csv"))
	if code != exitUsage {
		t.Errorf("exit %d, want %d: %s", code, exitUsage, stderr)
	}
	if fi, err := os.Stat(prof); err != nil || fi.Size() == 0 {
		t.Errorf("no profile written: %v", err)
	}
}
