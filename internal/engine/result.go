package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/reports"
	"github.com/reten/reconcile/internal/submit"
)

// This file is how a run ends: its Ending, its Result, and the Failure
// that a step returns to end it.

// Ending says how a run ended.
type Ending int

const (
	// Finished: every row read has its outcome in the reports, whatever
	// the classes (Result.NeedsPerson counts the rows to look at).
	Finished Ending = iota
	// BadInput: an input file, the mapping, the configuration cache, a
	// setting or the API's address or key could not be used; nothing was sent.
	BadInput
	// Locked: another run holds the state directory; nothing was sent.
	Locked
	// KeyRefused: the API refused the key (401 or 403); the rows not sent
	// are skipped.
	KeyRefused
	// Interrupted: the context was cancelled; the requests in flight
	// finished and the rows not sent are skipped.
	Interrupted
	// APIFailed: the API could not be reached, or failed, before any row
	// was sent (downloading the result types), or stopped the sending (the
	// breaker, a wait too long, the deadline): the rows not sent are skipped.
	APIFailed
	// ReadFailed: an input file could not be read past some row; the rows
	// after it are in no report.
	ReadFailed
	// ReportFailed: the reports could not be created, written or finished.
	ReportFailed
	// LedgerFailed: the ledger could not be opened or written.
	LedgerFailed
)

var endingNames = [...]string{
	Finished: "finished", BadInput: "bad input", Locked: "locked", KeyRefused: "key refused",
	Interrupted: "interrupted", APIFailed: "API failed", ReadFailed: "read failed",
	ReportFailed: "report failed", LedgerFailed: "ledger failed",
}

func (e Ending) String() string {
	if int(e) >= 0 && int(e) < len(endingNames) {
		return endingNames[e]
	}
	return fmt.Sprintf("Ending(%d)", int(e))
}

// Result is how one run ended and what it did.
type Result struct {
	Ending Ending
	// Err says what stopped the run and what to do about it; nil when it
	// Finished.
	Err error
	// Counts are the outcomes written, per class.
	Counts map[outcome.Class]int
	// Stats are the submitter's; zero when nothing was to be sent.
	Stats submit.Stats
	// Summary is what the reports summed up, once closed; nil if they were
	// never created.
	Summary *reports.Summary
	// ReportDir is the report folder, created or not.
	ReportDir string
	// Unreadable is how many files of an inbox run could not be read while
	// others were (see combine): each needs a person, as a row does.
	Unreadable int
}

// NeedsPerson is how many rows ended in a class that needs a person.
func (r *Result) NeedsPerson() int {
	n := 0
	for c, k := range r.Counts {
		if c.NeedsPerson() {
			n += k
		}
	}
	return n
}

// Failure is an error that ends a run in a given way.
type Failure struct {
	Ending Ending
	Err    error
}

func (f *Failure) Error() string { return f.Err.Error() }
func (f *Failure) Unwrap() error { return f.Err }

func fail(e Ending, err error) *Failure { return &Failure{Ending: e, Err: err} }

// EndingOf is the Ending err stands for: a *Failure's own, Finished for nil,
// and LedgerFailed, the one left, for any other error Submitter.Run returns.
func EndingOf(err error) Ending {
	var f *Failure
	switch {
	case err == nil:
		return Finished
	case errors.As(err, &f):
		return f.Ending
	}
	return LedgerFailed
}

// ending says how a sending run ended, and, when it did not finish its
// work, why and what to do.
func ending(st submit.Stats, runErr, readErr, writeErr error) *Failure {
	switch {
	case writeErr != nil:
		return fail(ReportFailed, fmt.Errorf("writing the reports: %w\n  what to do: check the disk, then run again (rows already accepted answer 409 next time)", writeErr))
	case runErr != nil:
		if e, ok := api.AsError(runErr); ok && e.Auth() {
			msg := fmt.Sprintf("%v\n  every row not yet sent is skipped", runErr)
			if advice := e.Advice(); advice != "" {
				msg += "\n  what to do: " + advice
			}
			return fail(KeyRefused, errors.New(msg))
		}
		if errors.Is(runErr, context.Canceled) {
			return fail(Interrupted, errors.New("interrupted: the requests in flight finished, the rows not sent are skipped"))
		}
		if errors.As(runErr, new(*submit.UnreachableError)) || errors.As(runErr, new(*submit.WaitError)) || errors.As(runErr, new(*submit.DeadlineError)) {
			return fail(APIFailed, runErr)
		}
		return fail(LedgerFailed, fmt.Errorf("%w\n  the rows not sent are skipped\n  what to do: check the ledger (its database, or the state directory's disk), then run again: "+
			"rows accepted are skipped, rows left in doubt are sent again and a 409 for them is read back", runErr))
	case readErr != nil:
		return fail(ReadFailed, fmt.Errorf("%w\n  the rows after it were not read; fix the file and run again", readErr))
	}
	return nil
}
