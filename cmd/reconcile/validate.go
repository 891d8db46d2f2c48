package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // --timezone works on servers without a zone database

	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/validate"

	"github.com/reten/reconcile/internal/reports"
)

// inputFlags are the flags that say how input files are read; run and retry
// share them with validate.
type inputFlags struct {
	mapping, delimiter, encoding, sheet, dateFormat, timezone string
}

// progressBatch is how many rows validate counts before it shows them.
const progressBatch = 4096

func (f *inputFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.mapping, "mapping", "", "`FILE` mapping your column headers to contract fields, one \"header = field\" per line")
	fs.StringVar(&f.delimiter, "delimiter", "", "CSV field `SEPARATOR`: , ; | or tab (default: detected)")
	fs.StringVar(&f.encoding, "encoding", "", "CSV `ENCODING`: utf-8, windows-1252, latin1 or utf-16 (default: detected)")
	fs.StringVar(&f.sheet, "sheet", "", "workbook `SHEET` to read (default: the first)")
	fs.StringVar(&f.dateFormat, "date-format", "", "`LAYOUT` of non-ISO dates, in Go's notation: 02/01/2006 15:04 is day/month/year (default: ISO 8601 and date cells only)")
	fs.StringVar(&f.timezone, "timezone", "UTC", "IANA `ZONE` that dates without a zone are in, e.g. America/Santiago")
}

// options turns the flags into importer options, or a usage error saying what to fix.
func (f *inputFlags) options() (importer.Options, error) {
	opts := importer.Options{MappingFile: f.mapping, Encoding: f.encoding, Sheet: f.sheet, DateFormat: f.dateFormat}
	switch d := f.delimiter; strings.ToLower(d) {
	case "":
	case "tab", `\t`, "\t":
		opts.Delimiter = '\t'
	case ",", ";", "|":
		opts.Delimiter = rune(d[0])
	default:
		return opts, usageError("--delimiter %q: use , ; | or tab", d)
	}
	loc, err := time.LoadLocation(f.timezone)
	if err != nil {
		return opts, usageError("--timezone %q is not an IANA time zone; use a name such as America/Santiago or UTC", f.timezone)
	}
	opts.Location = loc
	if f.dateFormat != "" && !strings.Contains(f.dateFormat, "2006") && !strings.Contains(f.dateFormat, "06") {
		return opts, usageError("--date-format %q has no year: write it in Go's notation, e.g. 02/01/2006 15:04 for dd/mm/yyyy hh:mm", f.dateFormat)
	}
	return opts, nil
}

func (f *inputFlags) settings() []reports.Setting {
	var s []reports.Setting
	add := func(name, v string) {
		if v != "" {
			s = append(s, reports.Setting{Name: name, Value: v})
		}
	}
	add("mapping", f.mapping)
	add("delimiter", f.delimiter)
	add("encoding", f.encoding)
	add("sheet", f.sheet)
	add("date-format", f.dateFormat)
	add("timezone", f.timezone)
	return s
}

// openInputs opens every file before any row is read, so a missing column or
// an unreadable file stops the run before anything is written or sent.
func openInputs(env *environ, files []string, opts importer.Options) ([]*importer.Reader, error) {
	var readers []*importer.Reader
	for _, name := range files {
		r, err := importer.Open(name, opts)
		if err != nil {
			for _, r := range readers {
				r.Close()
			}
			return nil, withCode(exitUsage, err)
		}
		if u := r.Layout().Unknown; len(u) > 0 {
			fmt.Fprintf(env.stderr, "warning: %s: column(s) %s hold no contract field; they are kept in the report but not sent (map them with --mapping, or map them to ignore)\n",
				name, importer.NameList(u))
		}
		readers = append(readers, r)
	}
	return readers, nil
}

func runValidate(ctx context.Context, env *environ, args []string) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintln(env.stderr, "Usage: reconcile validate [flags] FILE...")
		fmt.Fprintln(env.stderr, "Checks every row offline against the cached result types; sends nothing.")
		fs.PrintDefaults()
	}
	configs := fs.String("configs", validate.DefaultCataloguePath(), "configuration cache `FILE` written by 'reconcile configs pull'")
	reportDir := fs.String("report-dir", "", "`DIR` for report.csv and summary.json (default: a new reports-DATE folder)")
	var in inputFlags
	in.register(fs)
	if err := fs.Parse(args); err != nil {
		return withCode(exitUsage, errSilent)
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return usageError("validate needs at least one CSV or XLSX file")
	}
	opts, err := in.options()
	if err != nil {
		return err
	}
	cat, err := validate.LoadCatalogue(*configs)
	if err != nil {
		return withCode(exitUsage, err)
	}
	spills := spillDir(env, "")
	opts.SpillDir = spills
	readers, err := openInputs(env, fs.Args(), opts)
	if err != nil {
		return err
	}
	defer func() {
		for _, r := range readers {
			r.Close()
		}
	}()
	started := time.Now()
	dir := *reportDir
	if dir == "" {
		dir = reports.DefaultDir(started)
	}
	info := reports.RunInfo{Command: "validate", Started: started, Settings: in.settings()}
	for _, r := range readers {
		info.Layouts = append(info.Layouts, r.Layout())
	}
	w, err := reports.Create(dir, info, reports.Options{FailedExitCode: exitError})
	if err != nil {
		return withCode(exitError, err)
	}
	v := validate.NewValidator(cat, nil)
	v.SpillDir = spills
	defer v.Close()
	// Rows are only reported, never sent, and the report is written before
	// the callback returns: the requests' memory can be reused.
	v.ReuseRequests = true
	invalid := 0
	// A bar (or a log line every few seconds without a terminal) for large
	// workbooks, which take seconds; counts are handed over in batches.
	prog := newProgress(env, started)
	pending, npending := map[outcome.Class]int{}, 0
	flush := func() {
		prog.doneMany(pending, npending)
		clear(pending)
		npending = 0
	}
	for _, r := range readers {
		// Rows are checked on a second goroutine; this one writes the report.
		var stopped, writeErr error
		err := v.CheckAll(r, func(it validate.Item) error {
			if err := ctx.Err(); err != nil {
				stopped = err
				return err
			}
			o, offline := it.Offline()
			if !offline {
				o = outcome.Outcome{Row: it.Row, Class: outcome.ClassOK}
			}
			if o.Class == outcome.ClassInvalid {
				invalid++
			}
			pending[o.Class]++
			if npending++; npending == progressBatch {
				flush()
			}
			if err := w.Write(o); err != nil {
				writeErr = err
				return err
			}
			return nil
		})
		flush()
		switch {
		case stopped != nil:
			prog.finish()
			w.Close(exitInterrupted)
			return withCode(exitInterrupted, fmt.Errorf("stopped at %s; the report holds the rows checked so far", r.Layout().File))
		case writeErr != nil:
			prog.finish()
			if sum, _ := w.Close(exitError); sum != nil {
				sum.Print(env.stdout) // which reports are whole, and which are not
			}
			return withCode(exitError, writeErr)
		case err != nil:
			prog.finish()
			w.Close(exitUsage)
			return withCode(exitUsage, err)
		}
	}
	prog.finish()
	code := exitOK
	if invalid > 0 {
		code = exitRowsNotOK
	}
	sum, err := w.Close(code)
	if sum != nil {
		sum.Print(env.stdout) // it lists only the reports written whole
	}
	if err != nil {
		return withCode(exitError, fmt.Errorf("finishing the reports in %s: %w", dir, err))
	}
	if code != exitOK {
		return withCode(code, errSilent)
	}
	return nil
}
