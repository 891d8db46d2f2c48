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
)

// InboxTakes lists the extensions of the files an inbox run takes, in lower
// case: CSV (tab-separated too) and XLSX. Anything else is left where it is:
// .txt (a mapping file or a note dropped beside the exports, and nothing
// an export names so), .xls, and the temporary names of files still being
// copied or saved (.part, .tmp, .crdownload, Excel's ~$ lock files, dotfiles
// such as LibreOffice's .~lock.x.xlsx#).
var InboxTakes = []string{".csv", ".tsv", ".xlsx"}

// inboxList is what listInbox found.
type inboxList struct {
	files   []inboxEntry // spreadsheets, oldest first
	ignored []string     // names of the other entries
}

// inboxEntry is a spreadsheet of the inbox, as last seen.
type inboxEntry struct {
	path string
	mod  time.Time
	size int64
}

// listInbox lists the spreadsheets in dir, oldest first (by modification
// time, then name), and the names of the entries it leaves alone.
func listInbox(dir string) (inboxList, error) {
	var l inboxList
	entries, err := os.ReadDir(dir)
	if err != nil {
		return l, fmt.Errorf("--inbox %s: %v: pass an existing folder", dir, errors.Unwrap(err))
	}
	for _, e := range entries {
		name := e.Name()
		if !inboxTakes(e) {
			// The inbox's own folders are not news.
			if !e.IsDir() || !slices.Contains([]string{InboxDone, InboxFailed, InboxRuns, inboxProcessing}, name) {
				l.ignored = append(l.ignored, name)
			}
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // gone meanwhile
		}
		l.files = append(l.files, inboxEntry{filepath.Join(dir, name), info.ModTime(), info.Size()})
	}
	sort.Slice(l.files, func(a, b int) bool {
		fa, fb := l.files[a], l.files[b]
		if !fa.mod.Equal(fb.mod) {
			return fa.mod.Before(fb.mod)
		}
		return fa.path < fb.path
	})
	return l, nil
}

// inboxTakes says whether the inbox takes the entry e.
func inboxTakes(e os.DirEntry) bool {
	name := e.Name()
	if !e.Type().IsRegular() || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "~$") {
		return false
	}
	return slices.Contains(InboxTakes, strings.ToLower(filepath.Ext(name)))
}

// settle returns the paths of the files that have not changed for d, in
// their order, and the names of those still changing. A file last changed
// less than d ago is looked at again once it is d old: if its size or
// modification time moved meanwhile, something is still writing it. The
// wait is one for all the files, at most d. It returns ctx's error if ctx
// ends during the wait.
func settle(ctx context.Context, files []inboxEntry, d time.Duration) (ready, waiting []string, err error) {
	now := time.Now()
	latest := time.Time{}
	for _, f := range files {
		if d > 0 && now.Sub(f.mod) < d && f.mod.After(latest) {
			latest = f.mod
		}
	}
	if !latest.IsZero() {
		t := time.NewTimer(min(d, latest.Add(d).Sub(now)))
		defer t.Stop()
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-t.C:
		}
	}
	for _, f := range files {
		if d > 0 && now.Sub(f.mod) < d {
			info, err := os.Stat(f.path)
			if err != nil {
				continue // gone meanwhile
			}
			if !info.ModTime().Equal(f.mod) || info.Size() != f.size {
				waiting = append(waiting, filepath.Base(f.path))
				continue
			}
		}
		ready = append(ready, f.path)
	}
	return ready, waiting, nil
}
