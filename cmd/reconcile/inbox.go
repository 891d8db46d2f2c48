package main

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
	inboxDone       = "done"
	inboxFailed     = "failed"
	inboxProcessing = ".processing" // reports being written; left behind only by a killed run
	inboxRuns       = "runs"        // one summary.json per inbox run
)

// inboxFile is what the run's summary says of one file of the inbox.
type inboxFile struct {
	Name     string                `json:"name"`
	Folder   string                `json:"folder"` // where the file and its reports went, relative to the inbox
	Moved    bool                  `json:"moved"`  // false: the run stopped, the file waits in the inbox for the next one
	ExitCode int                   `json:"exit_code"`
	Error    string                `json:"error,omitempty"`
	Total    int                   `json:"total"`
	Counts   map[outcome.Class]int `json:"counts"`
}

// inboxSummary is the summary.json of one inbox run.
type inboxSummary struct {
	Command  string                `json:"command"`
	Run      string                `json:"run"`
	Inbox    string                `json:"inbox"`
	Started  time.Time             `json:"started"`
	Finished time.Time             `json:"finished"`
	ExitCode int                   `json:"exit_code"`
	Files    []inboxFile           `json:"files"`
	Total    int                   `json:"total"`
	Counts   map[outcome.Class]int `json:"counts"`
}

// severity orders exit codes so that an inbox run ends with its worst file's.
var severity = map[int]int{exitOK: 0, exitRowsNotOK: 1, exitUsage: 2, exitError: 3, exitInterrupted: 4, exitAuth: 5, exitLocked: 6}

// runInbox processes every spreadsheet in dir, oldest first, each as a job of
// its own with its own reports, holding the ledger for the whole run. A file
// whose job ran (exit 0 or 1) goes to done/, one that could not be processed
// (bad file, unexpected error) to failed/, each in a folder with its reports.
// A refused key or an interruption stops the run: that file and the ones after
// it stay in the inbox for the next run, which sends only what is left.
func (j *job) runInbox(ctx context.Context, env *environ, dir string) error {
	started := time.Now().UTC()
	files, err := listInbox(dir)
	if err != nil {
		return err
	}
	runID := newRunID(started)
	db, err := openLedger(env, j.stateDir, j.sub.Client.BaseURL, runID)
	if err != nil {
		return err
	}
	defer db.Close()

	sum := inboxSummary{Command: "run --inbox", Run: runID, Inbox: dir, Started: started,
		Files: []inboxFile{}, Counts: map[outcome.Class]int{}}
	if len(files) == 0 {
		fmt.Fprintf(env.stdout, "inbox %s: no spreadsheet to process\n", dir)
	}
	for i, path := range files {
		if ctx.Err() != nil {
			sum.ExitCode = worse(sum.ExitCode, exitInterrupted)
			break
		}
		name := filepath.Base(path)
		folder := name + "-" + time.Now().UTC().Format("20060102T150405Z")
		work := filepath.Join(dir, inboxProcessing, folder)
		fmt.Fprintf(env.stdout, "inbox: %s\n", name)

		fj := *j
		fj.files, fj.reportDir, fj.ledger = []string{path}, work, db
		fj.runID = fmt.Sprintf("%s-%d", runID, i+1)
		fj.summary, fj.settings = nil, slices.Clone(j.settings)
		ferr := fj.run(ctx, env)
		code := exitOK
		var ce *codeError
		if errors.As(ferr, &ce) {
			code = ce.code
		} else if ferr != nil {
			code = exitError
		}
		f := inboxFile{Name: name, ExitCode: code, Counts: map[outcome.Class]int{}}
		if ferr != nil && (ce == nil || ce.err != errSilent) {
			f.Error = ferr.Error()
			fmt.Fprintf(env.stderr, "reconcile run: %s: %v\n", name, ferr)
		}
		if fj.summary != nil {
			f.Total, f.Counts = fj.summary.Total, fj.summary.Counts
			sum.Total += f.Total
			for c, n := range f.Counts {
				sum.Counts[c] += n
			}
		}
		stop := code == exitAuth || code == exitInterrupted
		dest := inboxDone
		if code != exitOK && code != exitRowsNotOK {
			dest = inboxFailed
		}
		f.Folder = filepath.Join(dest, folder)
		f.Moved = !stop
		if err := fileAway(work, path, filepath.Join(dir, f.Folder), f, !stop); err != nil {
			return withCode(exitError, fmt.Errorf("inbox %s: %w\n  what to do: check the folder's permissions and free space; the ledger keeps what was sent, so running again is safe", dir, err))
		}
		if f.Moved {
			fmt.Fprintf(env.stdout, "inbox: %s and its reports moved to %s\n", name, filepath.Join(dir, f.Folder))
		} else {
			fmt.Fprintf(env.stdout, "inbox: %s stays in the inbox for the next run; its reports are in %s\n", name, filepath.Join(dir, f.Folder))
		}
		sum.Files = append(sum.Files, f)
		sum.ExitCode = worse(sum.ExitCode, code)
		if stop {
			break
		}
	}
	sum.Finished = time.Now().UTC()
	out := filepath.Join(dir, inboxRuns, runID, reports.SummaryName)
	if err := writeJSON(out, sum); err != nil {
		return withCode(exitError, fmt.Errorf("writing the inbox run's summary %s: %w", out, err))
	}
	fmt.Fprintf(env.stdout, "inbox %s: %d file(s), %d row(s): %s; summary: %s\n", dir, len(sum.Files), sum.Total, classCounts(sum.Counts), out)
	if sum.ExitCode != exitOK {
		return withCode(sum.ExitCode, errSilent)
	}
	return nil
}

// fileAway moves a processed input (when move) into its report folder work, then
// the folder to dest, writing a summary.json there if the job wrote none (it
// stopped before it could open the file).
func fileAway(work, input, dest string, f inboxFile, move bool) error {
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
		return nil, usageError("--inbox %s: %v: pass an existing folder", dir, errors.Unwrap(err))
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

func worse(a, b int) int {
	if severity[b] > severity[a] {
		return b
	}
	return a
}

// writeJSON writes v to path, creating its folder, so that a reader never
// sees half of it.
func writeJSON(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteJSON(path, 0o644, v)
}
