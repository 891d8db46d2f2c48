package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/submit"
	"github.com/reten/reconcile/internal/validate"
)

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
