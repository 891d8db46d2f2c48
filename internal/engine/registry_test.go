package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/sandbox"
	"github.com/reten/reconcile/internal/sandbox/sandboxtest"
)

// Every run that holds the state directory is in its history: recorded as
// running once its files are open, and with how it ended once it has.
func TestRunsAreRecorded(t *testing.T) {
	_, base := sandboxtest.Start(t, sandbox.SyntheticTenant(30), sandbox.Faults{})
	in := inputFile(t, 30)
	job := sendingJob(t, base, in)
	job.ReportDir = "reports-relative"
	t.Chdir(t.TempDir())
	sink := newTestSink()
	var during *RunRecord
	sink.onDone = func(n int64) {
		if n == 5 {
			ids, _ := ListRuns(job.StateDir)
			if len(ids) == 1 {
				during, _ = ReadRun(job.StateDir, ids[0])
			}
		}
	}
	res := job.Run(context.Background(), sink)
	if res.Ending != Finished {
		t.Fatalf("ended %v: %v", res.Ending, res.Err)
	}
	if during == nil || during.Ended() || during.Command != "run" || !slices.Equal(during.Files, []string{in}) || during.PID != os.Getpid() {
		t.Errorf("the record while the run went on: %+v", during)
	}
	ids, err := ListRuns(job.StateDir)
	if err != nil || len(ids) != 1 {
		t.Fatalf("runs recorded: %v %v", ids, err)
	}
	rec, err := ReadRun(job.StateDir, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("reports-relative")
	if !rec.Ended() || rec.Ending != "finished" || rec.Error != "" || rec.ExitCode != 40 || rec.ReportDir != abs ||
		rec.Total != 31 || rec.Counts[outcome.ClassOK] != 30 || rec.Counts[outcome.ClassInvalid] != 1 || rec.Finished.Before(rec.Started) {
		t.Errorf("the record once the run ended: %+v", rec)
	}

	// A second run is listed first; one interrupted says so and why.
	job.ReportDir = filepath.Join(t.TempDir(), "again")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res = job.Run(ctx, nil)
	ids, _ = ListRuns(job.StateDir)
	if len(ids) != 2 || ids[1] != rec.ID {
		t.Fatalf("runs recorded after a second: %v", ids)
	}
	second, err := ReadRun(job.StateDir, ids[0])
	if err != nil || second.Ending != "interrupted" || !strings.Contains(second.Error, "interrupted") || second.ExitCode != 40+int(Interrupted) {
		t.Errorf("the interrupted run's record: %+v %v (ended %v)", second, err, res.Ending)
	}

	// Runs that hold no state directory leave no record: a dry run, a
	// check, a run another run kept out.
	dry := sendingJob(t, base, in)
	dry.StateDir = job.StateDir
	dry.Submitter.DryRun = true
	dry.Run(context.Background(), nil)
	release, err := job.Lock()
	if err != nil {
		t.Fatal(err)
	}
	locked := sendingJob(t, base, in)
	locked.StateDir = job.StateDir
	if res := locked.Run(context.Background(), nil); res.Ending != Locked {
		t.Errorf("a run on a held state directory ended %v", res.Ending)
	}
	release()
	if ids, _ := ListRuns(job.StateDir); len(ids) != 2 {
		t.Errorf("runs recorded: %v; want the two runs only", ids)
	}
}

// Lock holds the state directory for a run that has not started: another
// run (or Lock) meanwhile is Locked and names the holder; the locked job's
// own run goes through, still holding it, until release.
func TestLockHoldsTheStateDirectory(t *testing.T) {
	_, base := sandboxtest.Start(t, sandbox.SyntheticTenant(5), sandbox.Faults{})
	job := sendingJob(t, base, inputFile(t, 5))
	release, err := job.Lock()
	if err != nil {
		t.Fatal(err)
	}
	other := sendingJob(t, base, inputFile(t, 5))
	other.StateDir = job.StateDir
	if _, err := other.Lock(); EndingOf(err) != Locked || !strings.Contains(err.Error(), "run "+job.RunID) || !strings.Contains(err.Error(), "nothing was sent") {
		t.Errorf("a second Lock: %v", err)
	}
	// A console may start while a command-line run holds the directory.
	if err := other.CheckLedger(context.Background()); err != nil {
		t.Errorf("CheckLedger of a held state directory: %v", err)
	}
	if res := job.Run(context.Background(), nil); res.Ending != Finished {
		t.Errorf("the locked job's run: %v %v", res.Ending, res.Err)
	}
	if res := other.Run(context.Background(), nil); res.Ending != Locked {
		t.Errorf("after the locked job's run, before release: %v", res.Ending)
	}
	release()
	if res := other.Run(context.Background(), nil); res.Ending != Finished {
		t.Errorf("after release: %v %v", res.Ending, res.Err)
	}
	if rec, err := ReadRun(job.StateDir, job.RunID); err != nil || rec.Ending != "finished" {
		t.Errorf("the locked job's record: %+v %v", rec, err)
	}
	dry := sendingJob(t, base)
	dry.Submitter.DryRun = true
	if _, err := dry.Lock(); EndingOf(err) != BadInput {
		t.Errorf("Lock of a dry run: %v", err)
	}
}

// An inbox's files are each a run in the history, whose report folder is
// where the inbox moved it.
func TestInboxRunsAreRecordedWhereTheirReportsWent(t *testing.T) {
	_, base := sandboxtest.Start(t, sandbox.SyntheticTenant(5), sandbox.Faults{})
	inbox := t.TempDir()
	data, _ := os.ReadFile(inputFile(t, 5))
	os.WriteFile(filepath.Join(inbox, "nightly.csv"), data, 0o600)
	job := sendingJob(t, base)
	job.ReportDir = ""
	res := (&Inbox{Dir: inbox, Job: *job}).Run(context.Background(), nil)
	if res.Summary == nil || len(res.Summary.Files) != 1 {
		t.Fatalf("inbox: %+v", res)
	}
	ids, _ := ListRuns(job.StateDir)
	if len(ids) != 1 {
		t.Fatalf("runs recorded: %v", ids)
	}
	rec, err := ReadRun(job.StateDir, ids[0])
	want := filepath.Join(inbox, res.Summary.Files[0].Folder)
	if err != nil || rec.ReportDir != want || rec.Total != 6 {
		t.Errorf("record %+v %v; want its reports in %s", rec, err, want)
	}
	if _, err := os.Stat(filepath.Join(rec.ReportDir, "report.csv")); err != nil {
		t.Errorf("the recorded report folder: %v", err)
	}
}

func TestValidRunID(t *testing.T) {
	for id, ok := range map[string]bool{
		NewRunID(time.Now()):               true,
		"20260411T103000Z-0a1b2c":          true,
		"20260411T103000Z-0a1b2c-12":       true,
		"20260411T103000Z-0A1B2C":          false,
		"20260411T103000Z-0a1b2":           false,
		"../20260411T103000Z-0a1b2c":       false,
		"20260411T103000Z-0a1b2c/..":       false,
		"20260411T103000Z-0a1b2c.json":     false,
		"20260411T103000Z-0a1b2c\n":        false,
		"":                                 false,
		"/etc/passwd":                      false,
		"2026-04-11T103000-0a1b2c":         false,
		"20260411T103000Z-0a1b2c-12345678": false,
	} {
		if ValidRunID(id) != ok {
			t.Errorf("ValidRunID(%q) = %v, want %v", id, !ok, ok)
		}
	}
	if _, err := ReadRun(t.TempDir(), "../../etc/passwd"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadRun of a path: %v", err)
	}
}

// Runs started within one second are listed by their records' start, an
// inbox's files last first however many there are.
func TestListRunsNewestFirst(t *testing.T) {
	state := t.TempDir()
	at := time.Date(2026, 4, 11, 10, 30, 0, 0, time.UTC)
	for _, r := range []struct {
		id    string
		after time.Duration
	}{
		{"20260411T102959Z-ffffff", 0},
		{"20260411T103000Z-ffffff", 100 * time.Millisecond},
		{"20260411T103000Z-000000", 300 * time.Millisecond},
		{"20260411T103000Z-aaaaaa-2", 500 * time.Millisecond},
		{"20260411T103000Z-aaaaaa-10", 900 * time.Millisecond},
		{"20260411T103001Z-000000", time.Second},
	} {
		if err := newRecorder(state, r.id, "run", nil, at.Add(r.after), "r").write(); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(state, RunsDir, "notes.json"), []byte("{}"), 0o600)
	ids, err := ListRuns(state)
	want := []string{"20260411T103001Z-000000", "20260411T103000Z-aaaaaa-10", "20260411T103000Z-aaaaaa-2",
		"20260411T103000Z-000000", "20260411T103000Z-ffffff", "20260411T102959Z-ffffff"}
	if err != nil || !slices.Equal(ids, want) {
		t.Errorf("ListRuns = %v, %v\nwant %v", ids, err, want)
	}
	if ids, err := ListRuns(filepath.Join(state, "none")); err != nil || len(ids) != 0 {
		t.Errorf("a state directory without runs: %v %v", ids, err)
	}
}

// A shared ledger out of reach is a LedgerFailed Failure naming the URL
// without its password.
func TestCheckLedgerOutOfReach(t *testing.T) {
	_, base := sandboxtest.Start(t, sandbox.SyntheticTenant(5), sandbox.Faults{})
	check := sendingJob(t, base, inputFile(t, 5))
	check.LedgerURL = "postgres://ana:s3cr3t@127.0.0.1:1/ledger?connect_timeout=2"
	err := check.CheckLedger(context.Background())
	if EndingOf(err) != LedgerFailed || !strings.Contains(fmt.Sprint(err), "postgres://ana:***@127.0.0.1:1/ledger") || strings.Contains(fmt.Sprint(err), "s3cr3t") {
		t.Errorf("CheckLedger of a database out of reach: %v", err)
	}
}
