// Package reports writes the outcome of every row of a run: report.csv,
// report.xlsx, rejects (rows that need a person, in their original columns and
// format), summary.json, and the terminal summary. It knows nothing of HTTP.
//
// Every report lists the rows in input order, however they finish: they wait,
// encoded, in a bounded buffer and sorted runs in a temporary file, and are
// written at Close; memory holds only that buffer, counts, the most
// frequent messages and a few buffers, whatever the number of rows.
package reports

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

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
	// SpillDir is where the rows waiting to be put in input order, and
	// report.xlsx's rows, wait until Close writes them: the run's
	// spill.Dir, so that a killed run's are found and removed by
	// spill.Clean. "" is os.TempDir().
	SpillDir string
	// FailedExitCode is the exit code summary.json records when another
	// report could not be written; 0 records the one given to Close.
	FailedExitCode int
	// Classes are the classes the run's rows may have, in report order, as
	// summary.json counts them; nil is outcome.Classes, a run that sends.
	// A run that only checks has outcome.CheckClasses.
	Classes []outcome.Class
	// Delimiter separates report.csv's fields: ';' for a spreadsheet
	// program set to a language that writes decimal commas (Spanish
	// Excel). 0 is ','. Rejects files keep their input's delimiter.
	Delimiter rune
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
	// order holds the outcomes until Close writes them in input order;
	// orderErr is its first failure, which every report shares.
	order    rowOrder
	orderErr error
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
			hdr.tail-hdr.first, excelize.MaxColumns-numOwnColumns-hdr.first)
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
	if opts.Classes == nil {
		opts.Classes = outcome.Classes
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
		tally:  newTally(opts.Classes),
		order:  rowOrder{dir: opts.SpillDir, layouts: info.Layouts},
	}
	for i, l := range info.Layouts {
		w.fileOf[l] = i
		w.files = append(w.files, File{Name: l.File, Kind: l.Kind, Sheet: l.Sheet, Encoding: l.Encoding})
	}
	n := len(w.hdr.names)
	w.cells = make([]string, n)
	w.xcells = make([]string, n)
	w.numeric = make([]bool, n)
	for i := range w.numeric {
		w.numeric[i] = w.hdr.numeric(i)
	}

	var err error
	if w.csv, err = createCSVReport(filepath.Join(dir, CSVName), w.hdr.names, opts.Delimiter); err != nil {
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

// Write adds one row's outcome to the reports. Outcomes may come in any
// order: the reports list them in input order (file as listed in
// RunInfo.Layouts, then row), so they are written out at Close; until then
// they wait in memory and, past orderBytes, in a temporary file in
// Options.SpillDir. The error is a *FileError for each report that cannot be
// whole because that file failed; the others go on.
func (w *Writer) Write(o outcome.Outcome) error {
	if w.closed {
		return errors.New("reports: Write after Close")
	}
	if !slices.Contains(w.opts.Classes, o.Class) {
		return fmt.Errorf("reports: %s has no known outcome class (%q)", o.Row.Pos, o.Class)
	}
	if _, ok := w.hdr.slotsFor(o.Row.Layout); !ok {
		return fmt.Errorf("reports: %s comes from a file not listed in RunInfo.Layouts", o.Row.Pos)
	}
	if w.orderErr != nil {
		return nil
	}
	file, ok := w.fileIndex(o.Row.Layout)
	if !ok {
		file = -1
	}
	if w.rej != nil && o.Class.NeedsPerson() {
		if r := w.rejectsFor(o.Row.Layout); r != nil {
			r.waiting = true
		}
	}
	if w.orderErr = w.order.add(&o, file); w.orderErr != nil {
		return w.orderFailed()
	}
	return nil
}

// orderFailed names the reports that cannot be whole once the rows waiting
// to be put in order are lost.
func (w *Writer) orderFailed() error {
	fails := []error{&FileError{Name: CSVName, Err: w.orderErr}}
	if w.xlsx != nil {
		fails = append(fails, &FileError{Name: XLSXName, Err: w.orderErr})
	}
	for _, l := range w.info.Layouts {
		if r := w.rej[l]; r != nil && r.waiting {
			fails = append(fails, &FileError{Name: r.name, Err: w.orderErr})
		}
	}
	return errors.Join(fails...)
}

// emit writes one outcome, in input order, to every report, each report
// keeping its own first error.
func (w *Writer) emit(o *outcome.Outcome) {
	slots, _ := w.hdr.slotsFor(o.Row.Layout)
	w.tally.add(o)
	if i, ok := w.fileIndex(o.Row.Layout); ok {
		w.files[i].Rows++
	}

	c := w.cells
	clear(c)
	if w.hdr.hasFile {
		c[fileAt] = o.Row.Pos.File
		if w.hdr.hasSheet {
			c[fileAt+1] = o.Row.Pos.Sheet
		}
	}
	for i, v := range o.Row.Cells {
		if i < len(slots) {
			c[slots[i]] = v
		}
	}
	c[colRow] = strconv.Itoa(o.Row.Pos.Row)
	c[colOutcome] = string(o.Class)
	if o.HTTPStatus != 0 {
		c[colHTTPStatus] = strconv.Itoa(o.HTTPStatus)
	}
	c[colCode] = string(o.Code)
	c[colMessage] = o.Message
	oc := c[w.hdr.tail:]
	oc[colError] = o.Error
	oc[colAttempts] = strconv.Itoa(o.Attempts)
	oc[colDuration] = strconv.FormatInt(o.Duration.Milliseconds(), 10)
	oc[colResultID] = o.ResultID
	if w.csvErr == nil {
		w.csvErr = w.csv.write(c)
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
		w.xlsxErr = w.xlsx.write(o.Class, x, w.numeric)
	}

	if w.rej != nil && o.Class.NeedsPerson() && o.Row.Layout != nil {
		if r := w.rejectsFor(o.Row.Layout); r != nil && r.err == nil {
			r.err = r.write(o)
		}
	}
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
	if w.orderErr == nil {
		w.orderErr = w.order.each(w.emit)
	}
	w.order.close()
	if w.orderErr != nil {
		// The rows not yet written are lost to every report.
		w.csvErr = cmp.Or(w.csvErr, w.orderErr)
		w.xlsxErr = cmp.Or(w.xlsxErr, w.orderErr)
		for _, r := range w.rej {
			if r.waiting {
				r.err = cmp.Or(r.err, w.orderErr)
			}
		}
	}
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
	for _, c := range w.opts.Classes {
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
		if r == nil || r.rows == 0 && r.err == nil {
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
