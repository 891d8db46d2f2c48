// Package atomicfile writes files so that a reader finds either the old file
// or the whole new one, never half of it: a cron monitor reading summary.json,
// or a run reading the configuration cache while `configs pull` rewrites it.
// A run killed while it writes leaves nothing in the folder (Linux), or a
// temporary file named after it that the next write there removes.
package atomicfile

import (
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/reten/reconcile/internal/spill"
)

// Write creates or replaces path: write fills a temporary file in the same
// folder, which is then synced, given perm and renamed over path. On any error
// path is left as it was and the temporary file is removed.
//
// Where the system has unnamed files (Linux's O_TMPFILE), the file has no
// name until it is whole and synced, and then one for the moment of the
// rename: a kill -9 while write runs leaves nothing behind. Elsewhere it is
// named .NAME.tmp-pidN-*, and the temporary files of dead processes in the
// folder are removed before each write.
func Write(path string, perm os.FileMode, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	pattern := spill.Pattern("." + filepath.Base(path) + ".tmp-*")
	// What a killed run (or one on a system without unnamed files) left.
	spill.Clean(dir)
	tmp, err := createUnnamed(dir)
	named := err != nil
	if named {
		if tmp, err = os.CreateTemp(dir, pattern); err != nil {
			return err
		}
		spill.Own(tmp.Name())
		defer spill.Disown(tmp.Name())
		defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	}
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	// CreateTemp makes the file private; the caller decides who may read it.
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	name := tmp.Name()
	if !named {
		name, err = linkUnnamed(tmp, dir, pattern)
		if err != nil {
			tmp.Close()
			return err
		}
		spill.Own(name)
		defer spill.Disown(name)
		defer os.Remove(name) // fails harmlessly once renamed
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(name, path)
}

// randomName is pattern with its * replaced by random digits, as
// os.CreateTemp does.
func randomName(dir, pattern string) string {
	i := strings.LastIndexByte(pattern, '*')
	return filepath.Join(dir, pattern[:i]+strconv.FormatUint(rand.Uint64()%1e10, 10)+pattern[i+1:])
}

// WriteJSON writes v as indented JSON with a final newline, as Write does.
func WriteJSON(path string, perm os.FileMode, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	})
}
