package engine

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/outcome"
)

func TestListInbox(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	for i, name := range []string{
		"b.csv", "a.CSV", "hoja.xlsx", "tabs.tsv", // taken
		"notes.txt", "mapping-es.txt", "export.csv.part", "export.csv.tmp", "export.xls", "export.csv.crdownload",
		"~$hoja.xlsx", ".~lock.hoja.xlsx#", ".hidden.csv", "README",
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		mod := old.Add(time.Duration(i) * time.Second)
		if name == "hoja.xlsx" {
			mod = old.Add(-time.Minute) // the oldest
		}
		if err := os.Chtimes(p, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	for _, sub := range []string{InboxDone, InboxFailed, InboxRuns, "archive"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(dir, "b.csv"), filepath.Join(dir, "link.csv")); err != nil {
		t.Fatal(err)
	}
	l, err := listInbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	var taken []string
	for _, f := range l.files {
		taken = append(taken, filepath.Base(f.path))
	}
	if want := []string{"hoja.xlsx", "b.csv", "a.CSV", "tabs.tsv"}; !slices.Equal(taken, want) {
		t.Errorf("taken %v, want %v (oldest first)", taken, want)
	}
	slices.Sort(l.ignored)
	want := []string{".hidden.csv", ".~lock.hoja.xlsx#", "README", "archive", "export.csv.crdownload", "export.csv.part",
		"export.csv.tmp", "export.xls", "link.csv", "mapping-es.txt", "notes.txt", "~$hoja.xlsx"}
	if !slices.Equal(l.ignored, want) {
		t.Errorf("ignored %v,\nwant %v", l.ignored, want)
	}
	if _, err := listInbox(filepath.Join(dir, "nope")); err == nil {
		t.Error("a missing inbox listed")
	}
}

// TestSettle: a file still growing is left for the next run; one that
// stopped changing is taken after the wait; an old one at once.
func TestSettle(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mod time.Time) inboxEntry {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mod, mod); err != nil {
			t.Fatal(err)
		}
		info, _ := os.Stat(p)
		return inboxEntry{p, info.ModTime(), info.Size()}
	}
	const d = 300 * time.Millisecond
	now := time.Now()
	old := write("old.csv", "a", now.Add(-time.Hour))
	quiet := write("quiet.csv", "a", now)
	growing := write("growing.csv", "a", now)
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(d / 3)
		f, err := os.OpenFile(growing.path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
			return
		}
		f.WriteString("more rows")
		f.Close()
	}()
	start := time.Now()
	ready, waiting, err := settle(context.Background(), []inboxEntry{old, quiet, growing}, d)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ready, []string{old.path, quiet.path}) || !slices.Equal(waiting, []string{"growing.csv"}) {
		t.Errorf("ready %v, waiting %v", ready, waiting)
	}
	if took := time.Since(start); took < d/2 {
		t.Errorf("took %v: the new files were not watched", took)
	}

	// Old files only: no wait at all (not timed: the machine may be slow);
	// zero settles nothing.
	for _, d := range []time.Duration{time.Hour, 0} {
		files := []inboxEntry{old}
		if d == 0 {
			files = append(files, growing)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // a wait would end with ctx's error
		ready, waiting, err = settle(ctx, files, min(d, time.Minute))
		if err != nil || len(ready) != len(files) || len(waiting) != 0 {
			t.Errorf("settle %v: ready %v, waiting %v, %v", d, ready, waiting, err)
		}
	}
	// A wait cut short by ctx.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := settle(ctx, []inboxEntry{write("new.csv", "a", time.Now())}, time.Hour); err == nil {
		t.Error("an interrupted wait took the files")
	}
}

// TestCombine: how an inbox run's files make its ending.
func TestCombine(t *testing.T) {
	clean := &Result{Ending: Finished}
	rows := &Result{Ending: Finished, Counts: map[outcome.Class]int{outcome.ClassInvalid: 2}}
	bad := &Result{Ending: BadInput}
	apiDown := &Result{Ending: APIFailed}
	refused := &Result{Ending: KeyRefused}
	for _, tc := range []struct {
		name       string
		files      []*Result
		want       Ending
		needs      bool // rows or files for a person
		unreadable int
	}{
		{"no file", nil, Finished, false, 0},
		{"clean files", []*Result{clean, clean}, Finished, false, 0},
		{"rows to look at", []*Result{clean, rows}, Finished, true, 0},
		{"a bad file beside a clean one", []*Result{bad, clean}, Finished, true, 1},
		{"bad files beside rows to look at", []*Result{bad, rows, bad}, Finished, true, 2},
		{"only bad files", []*Result{bad, bad}, BadInput, false, 0},
		{"a bad file and the API down", []*Result{bad, apiDown}, APIFailed, false, 0},
		{"the key refused after a bad file", []*Result{clean, bad, refused}, KeyRefused, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := combine(tc.files)
			if r.Ending != tc.want || (r.NeedsPerson() > 0 || r.Unreadable > 0) != tc.needs || r.Unreadable != tc.unreadable {
				t.Errorf("%v, needs person %d, unreadable %d; want %v, needs %v, unreadable %d",
					r.Ending, r.NeedsPerson(), r.Unreadable, tc.want, tc.needs, tc.unreadable)
			}
		})
	}
}
