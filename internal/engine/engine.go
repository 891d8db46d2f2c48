// Package engine runs one reconcile job from files to reports: it opens
// every input, gets the tenant's result types, validates each row, submits
// the valid ones when it has a submitter, writes every outcome to the
// reports and says how the run ended. The command line and the web console
// are front doors onto it; each brings its own Sink for progress and its
// own context to stop a run. It holds the flow's rules, and knows nothing
// of flags, exit codes or pages.
package engine

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/ledger"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/reports"
	"github.com/reten/reconcile/internal/spill"
	"github.com/reten/reconcile/internal/submit"
	"github.com/reten/reconcile/internal/validate"
)

// Job is one run of the flow: files in, requests out (with a Submitter),
// reports written. Set its fields, then call Run; a Job may be run again,
// but not twice at the same time. Jobs share nothing, so a server may run
// several at once, each with its own Sink and context.
type Job struct {
	// Command names the run in the reports: "run", "validate", "retry", ...
	Command string
	// Files are the spreadsheets to read, in order. Every one is opened,
	// and its header read, before anything is sent or written.
	Files []string
	// Import says how to read them.
	Import importer.Options
	// Edits, if not nil, are corrections a person made to rows after they
	// were read (the web console's preview), by file as given in Files; the
	// edited cells are read in place of the file's.
	Edits map[string]importer.Edits
	// Keep, if not nil, chooses the rows to process (retry sends only the
	// rows that ended failed); the others are left out of the run and its
	// reports.
	Keep func(importer.Row) bool
	// ExpectedRows, if not zero, is how many rows the run will report, known
	// before they are read (retry knows it from the earlier run); the Sink
	// gets it as its Total.
	ExpectedRows int

	// Catalogue holds the result types to validate against. If nil, they are
	// loaded from ConfigsFile, or downloaded through Submitter.Client when
	// that is "" too, which also proves the key works before anything is sent.
	Catalogue   *validate.Catalogue
	ConfigsFile string

	// Submitter sends the valid rows. Nil validates only: nothing is sent,
	// valid rows are reported ok, and no ledger is opened. Run uses a copy,
	// with its own Ledger and Logger.
	Submitter *submit.Submitter

	// Store, if not nil, is the ledger, opened and locked by the caller for
	// longer than this job (the inbox, a server). Else, when the Submitter
	// sends (not a dry run), Run locks StateDir and opens the tenant's
	// ledger in it (ledger.OpenDir) for the length of the run.
	Store    ledger.Store
	StateDir string
	// LedgerURL, if not "", is a ledger in PostgreSQL (postgres://…) shared
	// with other runs, used instead of StateDir's file: Run opens it as a
	// worker of its own and locks no state directory, so any number of runs
	// may send to the tenant at once, none sending a row another one holds
	// or sent. StateDir still holds the temporary files.
	LedgerURL string
	// ClaimTTL is how long a worker's claims in LedgerURL outlive its last
	// heartbeat; zero is pgledger.DefaultClaimTTL.
	ClaimTTL time.Duration
	// TenantRate, if above zero, caps the requests per second of every run
	// on the tenant together, retries included: with LedgerURL every worker
	// takes from one bucket in the database; with a state directory's
	// ledger one run sends at a time, so it is this run's cap.
	TenantRate float64
	// Force sends rows the ledger says were already accepted.
	Force bool
	// RunID names the run in the ledger; "" makes a new one (NewRunID).
	RunID string

	// SpillDir is where the run's temporary files go (report.xlsx's rows,
	// duplicate detection's keys, a workbook's large sheets); "" is
	// spill.Dir(StateDir), and $TMPDIR when StateDir is "" too. Run first
	// removes there what killed runs left (spill.Clean).
	SpillDir string

	// ReportDir is the folder for the reports; "" is a new reports.DefaultDir.
	ReportDir string
	// Reports chooses the reports besides report.csv and summary.json; the
	// zero value writes only those two.
	Reports reports.Options
	// Settings are shown in the reports as the user set them.
	Settings []reports.Setting
	// ExitCode, if not nil, numbers how the run ended for summary.json's
	// exit_code (the command line passes its exit-code table); nil writes 0.
	ExitCode func(*Result) int
}

// Run runs the job to its end and says how it ended. sink, if not nil,
// hears of its progress. Cancelling ctx stops the run as an interrupt does:
// the requests in flight finish, the rows not sent are reported skipped and
// the reports are written.
func (j *Job) Run(ctx context.Context, sink Sink) *Result {
	if sink == nil {
		sink = Discard
	}
	started := time.Now()
	res := &Result{ReportDir: j.ReportDir, Counts: map[outcome.Class]int{}}
	if res.ReportDir == "" {
		res.ReportDir = reports.DefaultDir(started)
	}
	end := func(f *Failure) *Result {
		res.Ending, res.Err = f.Ending, f
		return res
	}
	settings := slices.Clone(j.Settings)
	var sub *submit.Submitter
	var rec *recorder // the run's record in StateDir's history, once it holds StateDir
	if j.Submitter != nil {
		s := *j.Submitter
		sub = &s
		sub.Logger = sink.Logger()
	}

	// A report folder given twice is a mistake in the arguments: said
	// before anything is locked, downloaded or sent.
	if err := reports.CheckDir(res.ReportDir); err != nil {
		return end(fail(BadInput, fmt.Errorf("%w\n  nothing was sent", err)))
	}

	// The ledger first: a run that finds another one holding it stops at once.
	if sub != nil && !sub.DryRun {
		if sub.Client == nil {
			return end(fail(BadInput, errors.New("engine: a Submitter that sends needs a Client")))
		}
		runID := j.RunID
		if runID == "" {
			runID = NewRunID(started)
		}
		store, where, closeStore, f := j.openLedger(ctx, sub.Client.BaseURL, runID)
		if f != nil {
			return end(f)
		}
		defer closeStore()
		sub.Ledger = &ledger.Run{Store: store, ID: runID, Force: j.Force}
		sub.TenantRate = tenantRate(store, j.TenantRate)
		settings = append(settings, reports.Setting{Name: "run", Value: runID})
		if w, ok := store.(interface{ Worker() string }); ok {
			settings = append(settings, reports.Setting{Name: "worker", Value: w.Worker()})
		}
		if where != "" {
			settings = append(settings, reports.Setting{Name: "ledger", Value: where})
		}
		if j.StateDir != "" {
			rec = newRecorder(j.StateDir, runID, j.Command, j.Files, started, res.ReportDir)
			defer func() {
				code := 0
				if j.ExitCode != nil {
					code = j.ExitCode(res)
				}
				if err := rec.finish(res, code); err != nil {
					sink.Logger().Warn("the run is missing from the state directory's history", "err", err)
				}
			}()
		}
	}

	spills := j.SpillDir
	if spills == "" {
		spills = spill.Dir(j.StateDir)
	}
	if _, err := spill.Clean(spills); err != nil {
		sink.Logger().Warn("the temporary files of earlier runs could not all be removed", "err", err)
	}
	imp := j.Import
	imp.SpillDir = spills
	readers, f := openInputs(j.Files, imp, sink.Logger())
	if f != nil {
		return end(f)
	}
	defer func() {
		for _, r := range readers {
			r.Close()
		}
	}()
	layouts := make([]*importer.Layout, len(readers))
	for i, r := range readers {
		layouts[i] = r.Layout()
	}
	if rec != nil {
		// Recorded as running once its files are known, under the names
		// the reports give them.
		for i, l := range layouts {
			rec.rec.Files[i] = l.File
		}
		if err := rec.write(); err != nil {
			sink.Logger().Warn("the run is missing from the state directory's history", "err", err)
		}
	}

	cat, f := j.catalogue(ctx, sub)
	if f != nil {
		return end(f)
	}

	baseURL := ""
	if sub != nil && sub.Client != nil {
		baseURL = sub.Client.BaseURL
	}
	ropts := j.Reports
	ropts.SpillDir = spills
	if sub == nil && ropts.Classes == nil {
		ropts.Classes = outcome.CheckClasses
	}
	w, err := reports.Create(res.ReportDir, reports.RunInfo{
		Command: j.Command, Layouts: layouts, Started: started, BaseURL: baseURL, Settings: settings,
	}, ropts)
	if err != nil {
		return end(fail(ReportFailed, fmt.Errorf("creating the reports in %s: %w\n  what to do: choose another --report-dir", res.ReportDir, err)))
	}
	if n := cmp.Or(j.ExpectedRows, expectedRows(readers)); n > 0 {
		sink.Total(n)
	}
	write := func(o *outcome.Outcome) error {
		res.Counts[o.Class]++
		err := w.Write(*o)
		sink.Done(o)
		return err
	}
	if sub == nil {
		f = j.check(ctx, readers, cat, spills, write, sink)
	} else {
		res.Stats, f = j.send(ctx, sub, readers, cat, spills, write, sink)
	}
	if f != nil {
		res.Ending, res.Err = f.Ending, f
	}

	code := 0
	if j.ExitCode != nil {
		code = j.ExitCode(res)
	}
	sum, err := w.Close(code)
	if err != nil && res.Err == nil {
		res.Ending, res.Err = ReportFailed, fmt.Errorf("finishing the reports in %s: %w", res.ReportDir, err)
	}
	res.Summary = sum
	return res
}

// NewRunID names a run in the ledger and the reports: its start time in UTC
// and a few random hex digits, so that two runs never share a name.
func NewRunID(t time.Time) string {
	b := make([]byte, 3)
	rand.Read(b)
	return t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}
