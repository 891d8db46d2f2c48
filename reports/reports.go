// Package reports writes the outcome of every row of a run: report.csv,
// report.xlsx, rejects (rows that need a person, in their original columns and
// format), summary.json, and the terminal summary. It knows nothing of HTTP.
package reports

import (
	"errors"
	"io"
	"time"

	"github.com/reten/reconcile/importer"
	"github.com/reten/reconcile/reconcile"
)

// Setting is one run setting shown in the summary (name and value as the user set them).
type Setting struct{ Name, Value string }

// RunInfo describes a run for the reports. It never holds the API key.
type RunInfo struct {
	Command  string             // "run", "validate", "retry", "demo"
	Layouts  []*importer.Layout // every input file, in order, with its columns
	Started  time.Time
	BaseURL  string
	Settings []Setting
}

// Options chooses which reports are written; validate writes only the CSV and summary.
type Options struct {
	XLSX    bool
	Rejects bool
}

// Summary is what summary.json holds and the terminal summary shows.
type Summary struct {
	Counts   map[reconcile.Class]int `json:"counts"`
	Total    int                     `json:"total"`
	ExitCode int                     `json:"exit_code"`
}

// Writer writes the reports of one run into one folder as outcomes arrive.
// Write and Close must be called from one goroutine.
type Writer struct{}

// Create makes dir (if needed) and starts the reports in it.
func Create(dir string, info RunInfo, opts Options) (*Writer, error) {
	return nil, errors.New("reports: not built yet")
}

// Write adds one row's outcome to every report.
func (w *Writer) Write(o reconcile.Outcome) error { return errors.New("reports: not built yet") }

// Close finishes every report, writes summary.json with exitCode and returns the summary.
func (w *Writer) Close(exitCode int) (*Summary, error) {
	return nil, errors.New("reports: not built yet")
}

// Print writes the short terminal summary.
func (s *Summary) Print(w io.Writer) {}
