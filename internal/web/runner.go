package web

import (
	"context"
	"time"

	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/reports"
)

// Runner starts the submission of a checked upload: the run engine, behind
// a small adapter, is one; the console never sends a row itself.
type Runner interface {
	// Start begins a run and returns at once. The run goes on until it
	// ends or is cancelled, whatever happens to ctx afterwards; ctx only
	// bounds the start. When another run holds the state directory, Start
	// sends nothing and returns an error wrapping *ledger.LockedError.
	Start(ctx context.Context, req RunRequest) (Run, error)
}

// RunRequest is everything a run needs from the console.
type RunRequest struct {
	Input Input
	// Policy is what to do on 409, as --hard-override takes it: "never"
	// (the zero value means it too), "always" or "row".
	Policy string
	// RunID names the run in the ledger and the state directory's history
	// (engine.NewRunID).
	RunID string
	// ReportDir is a new folder in the state directory for the reports.
	ReportDir string
	// Rows is how many rows the preview's check counted, which the run
	// will report: its progress's Total from the start.
	Rows int
}

// Input is one upload, ready to read as the preview read it.
type Input struct {
	// Path is the stored file, or the row store of a workbook once its
	// first check has saved it; never a name the browser chose.
	Path    string
	Name    string           // the file's name on the user's machine, for the reports
	Options importer.Options // sheet, delimiter, encoding, header mapping file, dates; Name is Name
	// Edits are the cells corrected in the preview, to be read in place
	// of the file's: open the file with Open, not importer.Open.
	Edits importer.Edits

	// store is where the upload's row store is, or is to be saved.
	store string
}

// Open opens the input and returns its layout and its rows with the edits
// in place; close the Reader when done. A workbook read for the first time
// leaves its row store, which later reads (and runs) take instead.
func (in Input) Open() (*importer.Reader, *importer.EditedRows, error) {
	var r *importer.Reader
	var err error
	if in.store != "" && in.Path != in.store {
		r, err = importer.OpenSaving(in.Path, in.Options, in.store)
	} else {
		r, err = importer.Open(in.Path, in.Options)
	}
	if err != nil {
		return nil, nil, in.named(err)
	}
	return r, &importer.EditedRows{Rows: r, Edits: in.Edits}, nil
}

// Run is one run in progress.
type Run interface {
	// Progress delivers the run's progress, at most a few times a second
	// and once more at the end (with Final set), then is closed. A slow
	// reader misses intermediate events, never the final one. Each value
	// is the reader's: its Counts are not written once it is sent.
	Progress() <-chan Progress
	// Cancel stops the run as Ctrl-C stops the CLI: nothing more is sent,
	// requests in flight finish, the rows not sent end skipped and the
	// reports are written. It may be called more than once.
	Cancel()
	// Wait blocks until the run has ended and its reports are written.
	Wait() (*reports.Summary, error)
}

// Progress is how far a run has got.
type Progress struct {
	Done    int                   // rows with an outcome
	Total   int                   // rows of the input; 0 while unknown
	Counts  map[outcome.Class]int // outcomes so far, by class
	Elapsed time.Duration
	Final   bool // the last event: every row has its outcome
}
