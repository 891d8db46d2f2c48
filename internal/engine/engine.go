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
	"io"
	"log/slog"
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

// send validates the rows of readers and submits the valid ones with sub.
func (j *Job) send(ctx context.Context, sub *submit.Submitter, readers []*importer.Reader, cat *validate.Catalogue,
	spills string, write func(*outcome.Outcome) error, sink Sink) (submit.Stats, *Failure) {
	stopHint := context.AfterFunc(ctx, func() {
		sink.Logger().Warn("interrupted: finishing the requests in flight, then writing the reports; the rows not sent will be skipped")
	})
	defer stopHint()
	validator := validate.NewValidator(cat, nil)
	validator.SpillDir = spills
	defer validator.Close()
	var readErr, writeErr error
	items := func(yield func(validate.Item) bool) {
		for i := range readers {
			r := j.rows(readers, i)
			for {
				row, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					readErr = err
					return
				}
				if j.Keep != nil && !j.Keep(row) {
					continue
				}
				sink.Read()
				if !yield(validator.Check(row)) {
					return
				}
			}
		}
	}
	stats, runErr := sub.Run(ctx, items, func(o outcome.Outcome) {
		if err := write(&o); err != nil && writeErr == nil {
			writeErr = err
		}
	})
	return stats, ending(stats, runErr, readErr, writeErr)
}

// check validates the rows of readers and reports each, sending nothing.
func (j *Job) check(ctx context.Context, readers []*importer.Reader, cat *validate.Catalogue,
	spills string, write func(*outcome.Outcome) error, sink Sink) *Failure {
	v := validate.NewValidator(cat, nil)
	v.SpillDir = spills
	defer v.Close()
	// Rows are only reported, never sent, and the report is written before
	// the callback returns: the requests' memory can be reused.
	v.ReuseRequests = true
	for i, r := range readers {
		src := j.rows(readers, i)
		if j.Keep != nil {
			src = keptRows{src, j.Keep}
		}
		// Rows are checked on a second goroutine; this one writes the report.
		var stopped, writeErr error
		err := v.CheckAll(src, func(it validate.Item) error {
			if err := ctx.Err(); err != nil {
				stopped = err
				return err
			}
			sink.Read()
			o, offline := it.Offline()
			if !offline {
				o = outcome.Outcome{Row: it.Row, Class: outcome.ClassValid}
			}
			if err := write(&o); err != nil {
				writeErr = err
				return err
			}
			return nil
		})
		switch {
		case stopped != nil:
			return fail(Interrupted, fmt.Errorf("stopped at %s; the report holds the rows checked so far", r.Layout().File))
		case writeErr != nil:
			return fail(ReportFailed, fmt.Errorf("writing the reports: %w\n  what to do: check the disk, then run again", writeErr))
		case err != nil:
			// Nothing was sent: a file that breaks half way is bad input,
			// to be fixed before anything is.
			return fail(BadInput, err)
		}
	}
	return nil
}

// rows are the rows of readers[i], with the file's Edits in place.
func (j *Job) rows(readers []*importer.Reader, i int) validate.RowSource {
	if e := j.Edits[j.Files[i]]; e != nil {
		return &importer.EditedRows{Rows: readers[i], Edits: e}
	}
	return readers[i]
}

// keptRows is a RowSource of the rows of r that keep chooses.
type keptRows struct {
	r    validate.RowSource
	keep func(importer.Row) bool
}

func (k keptRows) Next() (importer.Row, error) {
	for {
		row, err := k.r.Next()
		if err != nil || k.keep(row) {
			return row, err
		}
	}
}

// openInputs opens every file before any row is read, so a missing column or
// an unreadable file stops the run before anything is written or sent.
func openInputs(files []string, opts importer.Options, log *slog.Logger) ([]*importer.Reader, *Failure) {
	var readers []*importer.Reader
	for _, name := range files {
		r, err := importer.Open(name, opts)
		if err != nil {
			for _, r := range readers {
				r.Close()
			}
			return nil, fail(BadInput, err)
		}
		if u := r.Layout().Unknown; len(u) > 0 {
			// The first few, and how many more: a file of 100,000 unknown
			// columns gets a line, not megabytes.
			shown := u[:min(len(u), importer.ListedNames)]
			args := []any{"file", name, "columns", shown}
			if more := len(u) - len(shown); more > 0 {
				args = append(args, "more", more)
			}
			log.Warn("columns that hold no contract field are kept in the report but not sent; map them with --mapping, or map them to ignore", args...)
		}
		readers = append(readers, r)
	}
	if len(readers) == 0 {
		return nil, fail(BadInput, errors.New("no input files"))
	}
	return readers, nil
}

// NewRunID names a run in the ledger and the reports: its start time in UTC
// and a few random hex digits, so that two runs never share a name.
func NewRunID(t time.Time) string {
	b := make([]byte, 3)
	rand.Read(b)
	return t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}
