package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/reten/reconcile/internal/atomicfile"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/reports"
)

// Folders of an inbox. A processed file goes, with its reports, into a folder
// of its own under done/ or failed/, named after it and the time it was taken.
const (
	InboxDone       = "done"
	InboxFailed     = "failed"
	inboxProcessing = ".processing" // reports being written; left behind only by a killed run
	InboxRuns       = "runs"        // one summary.json per inbox run
)

// Inbox processes every spreadsheet in a folder, oldest first, each as a
// job of its own with its own reports, holding the ledger for the whole
// run (cron drops the night's exports there). A file whose job finished,
// whatever its rows, goes to done/; one that could not be processed (a bad
// file, an unexpected failure) to failed/, each in a folder with its
// reports. A refused key or an interrupt stops the run: that file and the
// ones after it stay in the inbox for the next run, which sends only what
// is left.
type Inbox struct {
	// Dir is the inbox folder.
	Dir string
	// Job is what each file's job is made from: its Files, ReportDir,
	// Store and RunID are set for each file. Its Submitter must send.
	Job Job
	// Filed, if not nil, is told of each file once it is filed away, with
	// how its job ended.
	Filed func(f *InboxFile, r *Result)
	// Settle is how long a file's size and modification time must stay
	// unchanged before it is taken: an export still being copied in is
	// left for the next run. A file last changed longer ago is taken at
	// once; for a newer one the run waits (at most Settle) and looks
	// again. Zero takes every file as it is.
	Settle time.Duration
}

// InboxFile is what an inbox run's summary says of one file.
type InboxFile struct {
	Name     string                `json:"name"`
	Folder   string                `json:"folder"` // where the file and its reports went, relative to the inbox
	Moved    bool                  `json:"moved"`  // false: the run stopped, the file waits in the inbox for the next one
	ExitCode int                   `json:"exit_code"`
	Error    string                `json:"error,omitempty"`
	Total    int                   `json:"total"`
	Counts   map[outcome.Class]int `json:"counts"`
}

// InboxSummary is the summary.json of one inbox run, in DIR/runs/RUN.
type InboxSummary struct {
	Command  string                `json:"command"`
	Run      string                `json:"run"`
	Inbox    string                `json:"inbox"`
	Started  time.Time             `json:"started"`
	Finished time.Time             `json:"finished"`
	ExitCode int                   `json:"exit_code"`
	Files    []InboxFile           `json:"files"`
	Total    int                   `json:"total"`
	Counts   map[outcome.Class]int `json:"counts"`
	// Unreadable are the files that could not be read (moved to failed/)
	// in a run that read others: they need a person, as rows do.
	Unreadable []string `json:"unreadable,omitempty"`
	// Ignored are the inbox's entries that are not spreadsheets it takes
	// (InboxTakes); Waiting the spreadsheets still being written (Settle),
	// left for the next run. Neither is touched.
	Ignored []string `json:"ignored,omitempty"`
	Waiting []string `json:"waiting,omitempty"`
}

// InboxResult is how an inbox run ended.
type InboxResult struct {
	// Result is the most severe of the files' results (Severity), or the
	// failure that kept the run from processing them; Summary is nil then.
	*Result
	Summary *InboxSummary
	// SummaryPath is where Summary was written.
	SummaryPath string
}

// Run processes the inbox. sink hears of every file's rows in turn.
func (in *Inbox) Run(ctx context.Context, sink Sink) *InboxResult {
	started := time.Now().UTC()
	failed := func(f *Failure) *InboxResult {
		return &InboxResult{Result: &Result{Ending: f.Ending, Err: f, Counts: map[outcome.Class]int{}}}
	}
	if in.Job.Submitter == nil || in.Job.Submitter.Client == nil || in.Job.Submitter.DryRun {
		return failed(fail(BadInput, errors.New("an inbox run sends every file: it needs a Submitter that sends")))
	}
	if _, err := os.Stat(in.Dir); err != nil {
		return failed(fail(BadInput, fmt.Errorf("--inbox %s: %v: pass an existing folder", in.Dir, errors.Unwrap(err))))
	}
	// The lock before the listing: a run that holds it may be moving files
	// out, and a second run says so at once, not after the settling wait.
	runID := NewRunID(started)
	baseURL := in.Job.Submitter.Client.BaseURL
	tmpl := in.Job
	tmpl.RunID = runID
	db, _, closeStore, f := tmpl.openLedger(ctx, baseURL, runID)
	if f != nil {
		return failed(f)
	}
	defer closeStore()
	list, err := listInbox(in.Dir)
	if err != nil {
		return failed(fail(BadInput, err))
	}
	files, waiting, err := settle(ctx, list.files, in.Settle)
	if err != nil {
		return failed(fail(Interrupted, errors.New("interrupted while waiting for the inbox's files to settle; nothing was sent")))
	}

	sum := &InboxSummary{Command: "run --inbox", Run: runID, Inbox: in.Dir, Started: started,
		Files: []InboxFile{}, Counts: map[outcome.Class]int{}, Ignored: list.ignored, Waiting: waiting}
	var results []*Result
	for i, path := range files {
		if ctx.Err() != nil {
			results = append(results, &Result{Ending: Interrupted, Err: errors.New("interrupted"), Counts: map[outcome.Class]int{}})
			break
		}
		name := filepath.Base(path)
		folder := name + "-" + time.Now().UTC().Format("20060102T150405Z")
		work := filepath.Join(in.Dir, inboxProcessing, folder)

		fj := in.Job
		fj.Files, fj.ReportDir, fj.Store = []string{path}, work, db
		fj.RunID = fmt.Sprintf("%s-%d", runID, i+1)
		fj.Settings = slices.Clone(in.Job.Settings)
		r := fj.Run(ctx, sink)

		fi := InboxFile{Name: name, Counts: map[outcome.Class]int{}}
		if in.Job.ExitCode != nil {
			fi.ExitCode = in.Job.ExitCode(r)
		}
		if r.Err != nil {
			fi.Error = r.Err.Error()
		}
		if r.Summary != nil {
			fi.Total, fi.Counts = r.Summary.Total, r.Summary.Counts
			sum.Total += fi.Total
			for c, n := range fi.Counts {
				sum.Counts[c] += n
			}
		}
		stop := r.Ending == KeyRefused || r.Ending == Interrupted
		dest := InboxDone
		if r.Ending != Finished {
			dest = InboxFailed
		}
		fi.Folder = filepath.Join(dest, folder)
		fi.Moved = !stop
		if err := fileAway(work, path, filepath.Join(in.Dir, fi.Folder), fi, !stop); err != nil {
			return failed(fail(ReportFailed, fmt.Errorf("inbox %s: %w\n  what to do: check the folder's permissions and free space; the ledger keeps what was sent, so running again is safe", in.Dir, err)))
		}
		if fj.StateDir != "" {
			if err := moveRecord(fj.StateDir, fj.RunID, filepath.Join(in.Dir, fi.Folder)); err != nil && !errors.Is(err, os.ErrNotExist) {
				sink.Logger().Warn("the state directory's history has the file's reports where they were written, not where they went", "file", name, "err", err)
			}
		}
		if in.Filed != nil {
			in.Filed(&fi, r)
		}
		sum.Files = append(sum.Files, fi)
		results = append(results, r)
		if stop {
			break
		}
	}
	worst := combine(results)
	for i, r := range results {
		if r.Ending == BadInput && worst.Ending != BadInput {
			sum.Unreadable = append(sum.Unreadable, sum.Files[i].Name)
		}
	}
	sum.Finished = time.Now().UTC()
	if in.Job.ExitCode != nil {
		sum.ExitCode = in.Job.ExitCode(worst)
	}
	out := filepath.Join(in.Dir, InboxRuns, runID, reports.SummaryName)
	if err := writeJSON(out, sum); err != nil {
		return failed(fail(ReportFailed, fmt.Errorf("writing the inbox run's summary %s: %w", out, err)))
	}
	return &InboxResult{Result: worst, Summary: sum, SummaryPath: out}
}

// Severity orders results so that an inbox run ends with its worst file's:
// rows to look at are worse than none, a bad file worse than those, any
// other failure worse again, then an interrupt, a refused key and, worst,
// a state directory another run holds. combine says how a bad file counts
// beside files that were read.
func Severity(r *Result) int {
	switch r.Ending {
	case Finished:
		if r.NeedsPerson() > 0 {
			return 1
		}
		return 0
	case BadInput:
		return 2
	case Interrupted:
		return 4
	case KeyRefused:
		return 5
	case Locked:
		return 6
	}
	return 3
}

// combine is how an inbox run ended, from its files' results in order: as
// the most severe of them (Severity), except that a file that could not be
// read is, beside files that were, one more thing for a person to look at,
// as a row is: the run then ended Finished with the files in Unreadable
// (rows were sent; "nothing readable" would be false). Only a run in which
// no file could be read ends BadInput. No file at all is Finished, clean.
func combine(results []*Result) *Result {
	worst := &Result{Ending: Finished, Counts: map[outcome.Class]int{}}
	var bad []*Result
	for _, r := range results {
		if r.Ending == BadInput {
			bad = append(bad, r)
			continue
		}
		if Severity(r) > Severity(worst) {
			worst = r
		}
	}
	switch {
	case len(bad) == 0:
		return worst
	case len(bad) == len(results):
		return bad[0]
	case worst.Ending == Finished:
		w := *worst
		w.Unreadable = len(bad)
		return &w
	}
	return worst
}

// fileAway moves a processed input (when move) into its report folder work, then
// the folder to dest, writing a summary.json there if the job wrote none (it
// stopped before it could open the file).
func fileAway(work, input, dest string, f InboxFile, move bool) error {
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(work, reports.SummaryName)); errors.Is(err, os.ErrNotExist) {
		if err := writeJSON(filepath.Join(work, reports.SummaryName), f); err != nil {
			return err
		}
	}
	if move {
		if err := os.Rename(input, filepath.Join(work, filepath.Base(input))); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	return os.Rename(work, dest)
}

// writeJSON writes v to path, creating its folder, so that a reader never
// sees half of it.
func writeJSON(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteJSON(path, 0o644, v)
}
