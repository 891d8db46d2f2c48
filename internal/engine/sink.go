package engine

import (
	"io"
	"log/slog"

	"github.com/reten/reconcile/internal/outcome"
)

// Sink hears of a run's progress: the command line draws a bar or logs
// lines, a web console streams events. Read and Done are called from
// different goroutines, possibly at the same time; Done is never called
// twice at once.
type Sink interface {
	// Total is how many rows the run will report, when that is known before
	// they are read; it may never be called.
	Total(rows int)
	// Read is called as each row is read, before it is checked.
	Read()
	// Done is called with each row's outcome once the reports hold it.
	Done(o *outcome.Outcome)
	// Logger takes the run's log lines: warnings about the input, retries
	// (debug), why sending stopped (warn).
	Logger() *slog.Logger
}

// Discard is a Sink that hears nothing.
var Discard Sink = discard{}

type discard struct{}

var discardLogger = slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError + 1}))

func (discard) Total(int)             {}
func (discard) Read()                 {}
func (discard) Done(*outcome.Outcome) {}
func (discard) Logger() *slog.Logger  { return discardLogger }
