// Package atomicfile writes files so that a reader finds either the old file
// or the whole new one, never half of it: a cron monitor reading summary.json,
// or a run reading the configuration cache while `configs pull` rewrites it.
package atomicfile

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
)

// Write creates or replaces path: write fills a temporary file in the same
// folder, which is then synced, given perm and renamed over path. On any error
// path is left as it was and the temporary file is removed.
func Write(path string, perm os.FileMode, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
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
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
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
