package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
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
	files, err := listInbox(in.Dir)
	if err != nil {
		return failed(fail(BadInput, err))
	}
	runID := NewRunID(started)
	baseURL := in.Job.Submitter.Client.BaseURL
	tmpl := in.Job
	tmpl.RunID = runID
	db, _, closeStore, f := tmpl.openLedger(ctx, baseURL, runID)
	if f != nil {
		return failed(f)
	}
	defer closeStore()

	sum := &InboxSummary{Command: "run --inbox", Run: runID, Inbox: in.Dir, Started: started,
		Files: []InboxFile{}, Counts: map[outcome.Class]int{}}
	worst := &Result{Ending: Finished, Counts: map[outcome.Class]int{}}
	for i, path := range files {
		if ctx.Err() != nil {
			worst = worse(worst, &Result{Ending: Interrupted, Err: errors.New("interrupted"), Counts: map[outcome.Class]int{}})
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
		worst = worse(worst, r)
		if stop {
			break
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
// a state directory another run holds.
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

func worse(a, b *Result) *Result {
	if Severity(b) > Severity(a) {
		return b
	}
	return a
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

// listInbox lists the spreadsheets in dir, oldest first (by modification
// time, then name), leaving out hidden files and the lock files Excel and
// LibreOffice write beside an open workbook.
func listInbox(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("--inbox %s: %v: pass an existing folder", dir, errors.Unwrap(err))
	}
	type file struct {
		path string
		mod  time.Time
	}
	var files []file
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "~$") {
			continue
		}
		switch strings.ToLower(filepath.Ext(name)) {
		case ".csv", ".txt", ".tsv", ".xlsx":
		default:
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // gone meanwhile
		}
		files = append(files, file{filepath.Join(dir, name), info.ModTime()})
	}
	sort.Slice(files, func(a, b int) bool {
		if !files[a].mod.Equal(files[b].mod) {
			return files[a].mod.Before(files[b].mod)
		}
		return files[a].path < files[b].path
	})
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.path
	}
	return paths, nil
}

// writeJSON writes v to path, creating its folder, so that a reader never
// sees half of it.
func writeJSON(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteJSON(path, 0o644, v)
}
