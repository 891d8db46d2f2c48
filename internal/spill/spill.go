// Package spill makes the temporary files a run writes while it works (the
// rows of report.xlsx, duplicate detection's keys) in the folder the run is
// given, normally the tmp folder of its state directory rather than $TMPDIR,
// and names them after the process that made them, so that what a killed run
// left can be told from a live run's files and removed by the next run.
package spill

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// Dir is the folder a run with state directory stateDir spills into, its
// tmp folder; "" (no state directory) gives "", which Create reads as
// os.TempDir().
func Dir(stateDir string) string {
	if stateDir == "" {
		return ""
	}
	return filepath.Join(stateDir, "tmp")
}

// Pattern returns pattern, an os.CreateTemp pattern, with this process's id
// in it: "reconcile-rows-*.xml" becomes "reconcile-rows-pid4242-*.xml".
// Clean recognises the names made from it once that process is gone.
func Pattern(pattern string) string {
	marker := "-pid" + strconv.Itoa(os.Getpid()) + "-"
	if i := strings.LastIndexByte(pattern, '*'); i >= 0 {
		return strings.TrimSuffix(pattern[:i], "-") + marker + pattern[i:]
	}
	return pattern + marker + "*"
}

// Create makes a new temporary file in dir ("" is os.TempDir(); a missing
// folder is made), named from pattern as Pattern says. Where the system
// allows, the file is unlinked at once, so that nothing is left of it
// however the process ends: it is read and written through f only. Where
// it does not (Windows), name is the file's path, to be removed by the
// caller when done; Clean removes it after a crash.
func Create(dir, pattern string) (f *os.File, name string, err error) {
	if dir == "" {
		dir = os.TempDir()
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", err
	}
	f, err = os.CreateTemp(dir, Pattern(pattern))
	if err != nil {
		return nil, "", err
	}
	if os.Remove(f.Name()) == nil {
		return f, "", nil
	}
	Own(f.Name())
	return f, f.Name(), nil
}

// Folder makes a new folder in dir ("" is os.TempDir(); a missing dir is
// made) for a library that writes temporary files of its own under names
// of its own (excelize's "excelize-*"), named from pattern as Pattern says,
// so that Clean removes it, whatever it holds, once this process is gone.
// The caller removes it when done.
func Folder(dir, pattern string) (string, error) {
	if dir == "" {
		dir = os.TempDir()
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path, err := os.MkdirTemp(dir, Pattern(pattern))
	if err != nil {
		return "", err
	}
	Own(path)
	return path, nil
}

// owned holds the paths of the named temporary files this process made, so
// that Clean never takes them for a dead run's when the process id is
// reused (a container's reconcile is often pid 1 every time).
var owned sync.Map

// Own marks path, a temporary file named with Pattern by this process, as
// this process's own, so that Clean leaves it alone.
func Own(path string) { owned.Store(path, true) }

// Disown forgets path once it is gone or renamed.
func Disown(path string) { owned.Delete(path) }

// tempName matches the names Pattern makes for reconcile's temporary files
// and folders (reconcile-rows-pid42-1234.xml, reconcile-xlsx-pid42-1234)
// and for atomicfile's (.summary.json.tmp-pid42-1234); nothing else is
// ever removed.
var tempName = regexp.MustCompile(`^(?:reconcile-[a-z]+|\..+\.tmp)-pid([0-9]+)-[0-9]+(?:\.[a-z]+)?$`)

// Clean removes from dir the temporary files of processes that are no
// longer running (a run killed before it could remove them) and returns
// how many. A missing folder holds none.
func Clean(dir string) (int, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	self := os.Getpid()
	removed := 0
	var errs []error
	for _, e := range entries {
		m := tempName.FindStringSubmatch(e.Name())
		if m == nil || !e.Type().IsRegular() && !e.IsDir() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		pid, err := strconv.Atoi(m[1])
		if err != nil {
			continue
		}
		if _, mine := owned.Load(path); mine || (pid != self && running(pid)) {
			continue
		}
		if err := os.RemoveAll(path); err != nil {
			errs = append(errs, err)
			continue
		}
		removed++
	}
	if len(errs) > 0 {
		return removed, fmt.Errorf("removing the temporary files of earlier runs in %s: %w", dir, errors.Join(errs...))
	}
	return removed, nil
}
