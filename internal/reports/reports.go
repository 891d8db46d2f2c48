// Package reports writes the outcome of every row of a run: report.csv,
// report.xlsx, rejects (rows that need a person, in their original columns and
// format), summary.json, and the terminal summary. It knows nothing of HTTP.
//
// Rows are streamed to disk as they finish; memory holds only counts, the
// most frequent messages and a few buffers, whatever the number of rows.
package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/outcome"

	"github.com/reten/reconcile/internal/atomicfile"
	"github.com/xuri/excelize/v2"
)

// File names inside the report folder.
const (
	CSVName     = "report.csv"
	XLSXName    = "report.xlsx"
	SummaryName = "summary.json"
)

// Setting is one run setting shown in the summary (name and value as the user set them).
type Setting struct{ Name, Value string }

// RunInfo describes a run for the reports. It never holds the API key.
type RunInfo struct {
	Command  string             // "run", "validate", "retry", "demo"
	Layouts  []*importer.Layout // every input file, in order, with its columns
	Started  time.Time          // zero means when Create is called
	BaseURL  string             // user information, query and fragment are dropped
	Settings []Setting
}

// Options chooses which reports are written besides report.csv and
// summary.json, which are always written. The zero value writes only those
// two, as validate wants.
type Options struct {
	XLSX    bool // report.xlsx
	Rejects bool // one rejects file per input file that has rows needing a person
	// Now gives the clock for the finish time; nil means time.Now.
	Now func() time.Time
	// SpillDir is where report.xlsx's rows wait until Close puts them in
	// the workbook: the run's spill.Dir, so that a killed run's are
	// found and removed by spill.Clean. "" is os.TempDir().
	SpillDir string
	// FailedExitCode is the exit code summary.json records when another
	// report could not be written; 0 records the one given to Close.
	FailedExitCode int
}

// Writer writes the reports of one run into one folder as outcomes arrive.
// Write and Close must be called from one goroutine.
type Writer struct {
	dir    string
	info   RunInfo
	opts   Options
	hdr    *header
	csv    *csvReport
	xlsx   *xlsxReport
	rej    map[*importer.Layout]*rejects
	files  []File
	fileOf map[*importer.Layout]int
	tally  *tally
	cells  []string // one report row, reused
	xcells []string // the same row for the Rows sheet, neutralised, reused
	// numeric marks the report columns written as numbers in report.xlsx.
	numeric []bool
	closed  bool
	// The first error of each report: once one fails the others go on,
	// and it is named as failed, never as written.
	csvErr, xlsxErr error
}

// DefaultDir returns a new folder name for a run's reports, in the current
// directory: reports-2026-11-25T103000 (local time, no colons so Windows
// accepts it), with -2, -3, ... added when that name is taken, so an earlier
// run's reports are never overwritten. It is named reports-* rather than
// reports/* so a run started in the source tree does not write into this package.
func DefaultDir(now time.Time) string {
	base := "reports-" + now.Format("2006-01-02T150405")
	name := base
	for n := 2; n < 10000; n++ {
		if _, err := os.Lstat(name); errors.Is(err, os.ErrNotExist) {
			return name
		}
		name = fmt.Sprintf("%s-%d", base, n)
	}
	return fmt.Sprintf("%s-%d", base, now.UnixNano())
}

// ErrHoldsReports is what CheckDir and Create return, wrapped with the
// folder and what to do, for a folder that holds an earlier run's reports.
var ErrHoldsReports = errors.New("already holds the reports of an earlier run")

// CheckDir says whether dir may take a run's reports: it must not hold
// those of an earlier run. A run checks it before it sends anything, so that
// a folder given twice stops it as a mistake in its arguments.
func CheckDir(dir string) error {
	for _, name := range []string{CSVName, SummaryName} {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			return fmt.Errorf("%s %w; choose another --report-dir or move them away", dir, ErrHoldsReports)
		}
	}
	return nil
}

// Create makes dir (if needed) and starts the reports in it. It refuses a
// folder that already holds a report, so no earlier run's reports are lost.
func Create(dir string, info RunInfo, opts Options) (*Writer, error) {
	hdr := newHeader(info.Layouts)
	if n := len(hdr.names); n > excelize.MaxColumns {
		// Refused whatever opts.XLSX says, so that validate refuses the
		// files run would refuse, before anything is sent or written.
		return nil, fmt.Errorf("the input files have %d different columns between them, and a report holds at most %d; run them separately, or delete the columns you do not need",
			n-len(outcomeColumns)-hdr.first, excelize.MaxColumns-len(outcomeColumns)-hdr.first)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create the report folder: %w; choose another with --report-dir", err)
	}
	if err := CheckDir(dir); err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if info.Started.IsZero() {
		info.Started = opts.Now()
	}
	info.BaseURL = RedactURL(info.BaseURL)
	w := &Writer{
		dir:    dir,
		info:   info,
		opts:   opts,
		hdr:    hdr,
		fileOf: make(map[*importer.Layout]int, len(info.Layouts)),
		tally:  newTally(),
	}
	for i, l := range info.Layouts {
		w.fileOf[l] = i
		w.files = append(w.files, File{Name: l.File, Kind: l.Kind, Sheet: l.Sheet, Encoding: l.Encoding})
	}
	n := len(w.hdr.names)
	w.cells = make([]string, n)
	w.xcells = make([]string, n)
	o := w.hdr.outcome
	w.numeric = make([]bool, n)
	for _, i := range numericColumns {
		w.numeric[o+i] = true
	}

	var err error
	if w.csv, err = createCSVReport(filepath.Join(dir, CSVName), w.hdr.names); err != nil {
		return nil, fmt.Errorf("cannot write the report: %w", err)
	}
	if opts.XLSX {
		if w.xlsx, err = createXLSXReport(filepath.Join(dir, XLSXName), opts.SpillDir, w.hdr.names, w.columnWidths()); err != nil {
			// Leave no report.csv behind, or the next try would find an "earlier run".
			w.csv.close()
			os.Remove(filepath.Join(dir, CSVName))
			return nil, err
		}
	}
	if opts.Rejects {
		w.rej = make(map[*importer.Layout]*rejects, len(info.Layouts))
		for i, name := range rejectsNames(info.Layouts) {
			l := info.Layouts[i]
			w.rej[l] = newRejects(dir, name, l)
		}
	}
	return w, nil
}

// Write adds one row's outcome to every report.
func (w *Writer) Write(o outcome.Outcome) error {
	if w.closed {
		return errors.New("reports: Write after Close")
	}
	if classOrder(o.Class) == len(outcome.Classes) {
		return fmt.Errorf("reports: %s has no known outcome class (%q)", o.Row.Pos, o.Class)
	}
	slots, ok := w.hdr.slotsFor(o.Row.Layout)
	if !ok {
		return fmt.Errorf("reports: %s comes from a file not listed in RunInfo.Layouts", o.Row.Pos)
	}
	w.tally.add(&o)
	if i, ok := w.fileIndex(o.Row.Layout); ok {
		w.files[i].Rows++
	}

	c := w.cells
	clear(c)
	if w.hdr.hasFile {
		c[0] = o.Row.Pos.File
		if w.hdr.hasSheet {
			c[1] = o.Row.Pos.Sheet
		}
	}
	for i, v := range o.Row.Cells {
		if i < len(slots) {
			c[slots[i]] = v
		}
	}
	oc := c[w.hdr.outcome:]
	oc[colRow] = strconv.Itoa(o.Row.Pos.Row)
	oc[colOutcome] = string(o.Class)
	if o.HTTPStatus != 0 {
		oc[colHTTPStatus] = strconv.Itoa(o.HTTPStatus)
	}
	oc[colError] = o.Error
	oc[colMessage] = o.Message
	oc[colAttempts] = strconv.Itoa(o.Attempts)
	oc[colDuration] = strconv.FormatInt(o.Duration.Milliseconds(), 10)
	oc[colResultID] = o.ResultID
	var fails []error
	if w.csvErr == nil {
		if err := w.csv.write(c); err != nil {
			w.csvErr = err
			fails = append(fails, &FileError{Name: CSVName, Err: err})
		}
	}

	if w.xlsx != nil && w.xlsxErr == nil {
		// An empty cell is left out: less to write, and the row's style
		// still colours the gap. Numeric columns hold decimal integers.
		x := w.xcells
		for i, v := range c {
			if w.numeric[i] {
				x[i] = v
			} else {
				x[i] = Neutralise(v)
			}
		}
		if err := w.xlsx.write(o.Class, x, w.numeric); err != nil {
			w.xlsxErr = err
			fails = append(fails, &FileError{Name: XLSXName, Err: err})
		}
	}

	if w.rej != nil && o.Class.NeedsPerson() && o.Row.Layout != nil {
		if r := w.rejectsFor(o.Row.Layout); r != nil && r.err == nil {
			if r.err = r.write(&o); r.err != nil {
				fails = append(fails, &FileError{Name: r.name, Err: r.err})
			}
		}
	}
	return errors.Join(fails...)
}

// valueWidth is the width, in characters, of the values of fields whose
// length is known: UUIDs and ISO 8601 dates as they are sent.
var valueWidth = map[importer.Field]float64{
	importer.ActivityID:        38,
	importer.OccurredAt:        26,
	importer.FutureScheduledAt: 26,
}

// columnWidths sizes the Rows sheet's columns from what is known before the
// first row: header names and file names, within bounds that keep a row on screen.
func (w *Writer) columnWidths() []float64 {
	widths := make([]float64, len(w.hdr.names))
	for i, n := range w.hdr.names {
		widths[i] = float64(min(max(utf8.RuneCountInString(n)+4, 10), 30))
		if w.numeric[i] {
			widths[i] = float64(max(utf8.RuneCountInString(n)+3, 8))
		}
	}
	// Columns whose values have a known length are made wide enough for
	// them, whatever their header: a UUID cut short reads as another id.
	for _, l := range w.info.Layouts {
		slots, ok := w.hdr.slotsFor(l)
		if !ok {
			continue
		}
		for c, f := range l.Fields {
			if c < len(slots) && valueWidth[f] > 0 && !w.numeric[slots[c]] {
				widths[slots[c]] = max(widths[slots[c]], valueWidth[f])
			}
		}
	}
	if w.hdr.hasFile {
		longest := 0
		for _, l := range w.info.Layouts {
			longest = max(longest, utf8.RuneCountInString(l.File))
		}
		widths[0] = float64(min(longest+2, 40))
	}
	o := w.hdr.outcome
	widths[o+colOutcome] = 12
	widths[o+colError] = 20
	widths[o+colMessage] = 60
	return widths
}

func (w *Writer) fileIndex(l *importer.Layout) (int, bool) {
	if l == nil {
		return 0, false
	}
	if i, ok := w.fileOf[l]; ok {
		return i, true
	}
	for k, i := range w.fileOf {
		if k.File == l.File && k.Sheet == l.Sheet {
			w.fileOf[l] = i
			return i, true
		}
	}
	return 0, false
}

func (w *Writer) rejectsFor(l *importer.Layout) *rejects {
	if r, ok := w.rej[l]; ok {
		return r
	}
	if i, ok := w.fileIndex(l); ok {
		r := w.rej[w.info.Layouts[i]]
		w.rej[l] = r
		return r
	}
	return nil
}

// Reason is the text of a rejects file's RejectsErrorColumn: the HTTP status
// and error when the API answered, and the message. The class has a column
// of its own, RejectsOutcomeColumn.
func Reason(o *outcome.Outcome) string {
	s := ""
	if o.HTTPStatus != 0 {
		s = strconv.Itoa(o.HTTPStatus)
		if o.Error != "" {
			s += " " + o.Error
		}
		if o.Message != "" {
			s += ": "
		}
	}
	return s + o.Message
}

// Close finishes every report, writes summary.json with exitCode and returns
// the summary. It finishes as many reports as it can even when one fails, and
// returns the first error.
func (w *Writer) Close(exitCode int) (*Summary, error) {
	if w.closed {
		return nil, errors.New("reports: Close called twice")
	}
	w.closed = true
	finished := w.opts.Now()
	s := &Summary{
		Command:       w.info.Command,
		Started:       w.info.Started,
		Finished:      finished,
		DurationMS:    finished.Sub(w.info.Started).Milliseconds(),
		ExitCode:      exitCode,
		BaseURL:       w.info.BaseURL,
		Files:         w.files,
		Settings:      map[string]string{},
		Total:         w.tally.total,
		Counts:        w.tally.counts,
		TopMessages:   w.tally.top(TopN),
		OtherMessages: w.tally.other,
		Reports:       Reports{Dir: w.dir, CSV: CSVName, Summary: SummaryName, Rejects: []string{}},
	}
	if s.Files == nil {
		s.Files = []File{}
	}
	for _, st := range w.info.Settings {
		s.Settings[st.Name] = st.Value
	}
	for _, c := range outcome.Classes {
		if c.NeedsPerson() {
			s.NeedsPerson += s.Counts[c]
		}
	}

	// A report that failed is named in Reports.Failed, never in the list
	// of those written; what it holds so far is kept under another name.
	var errs []error
	if err := w.csv.close(); err != nil && w.csvErr == nil {
		w.csvErr = err
	}
	if w.csvErr != nil {
		errs = append(errs, keepIncomplete(w.dir, CSVName, w.csvErr))
		s.Reports.CSV = ""
	}
	// Rejects in input order, so the summary lists them the same way every time.
	for _, l := range w.info.Layouts {
		r := w.rej[l]
		if r == nil || r.rows == 0 {
			continue
		}
		if r.err == nil {
			r.err = r.close()
		} else {
			r.abandon()
		}
		if r.err != nil {
			errs = append(errs, keepIncomplete(w.dir, r.name, r.err))
			continue
		}
		s.Reports.Rejects = append(s.Reports.Rejects, r.name)
	}
	if w.xlsx != nil {
		if w.xlsxErr == nil {
			w.xlsxErr = w.xlsx.close(s, w.info.Settings)
		} else {
			w.xlsx.abandon()
		}
		if w.xlsxErr != nil {
			// Saved whole or not at all: nothing of it is left.
			errs = append(errs, &FileError{Name: XLSXName, Err: w.xlsxErr})
		} else {
			s.Reports.XLSX = XLSXName
		}
	}
	s.Reports.Failed = failed(errs)
	if len(errs) > 0 && w.opts.FailedExitCode != 0 {
		s.ExitCode = w.opts.FailedExitCode
	}
	err := atomicfile.Write(filepath.Join(w.dir, SummaryName), 0o644, func(f io.Writer) error {
		return writeJSON(fileWriter(SummaryName, f), s)
	})
	if err != nil {
		errs = append(errs, &FileError{Name: SummaryName, Err: err})
		s.Reports.Summary = ""
		s.Reports.Failed = failed(errs)
	}
	if len(errs) > 0 {
		return s, fmt.Errorf("%w\n  (check the free disk space and permissions of %s)", errors.Join(errs...), w.dir)
	}
	return s, nil
}

// writeJSON writes v as indented JSON with a final newline.
func writeJSON(w io.Writer, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}
