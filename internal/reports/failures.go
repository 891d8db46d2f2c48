package reports

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// FileError is a report that could not be written whole: a full disk, a
// folder that became read-only. Writer.Write returns one the first time a
// report fails (the others go on being written); Writer.Close returns every
// report that failed, each as a FileError, joined.
type FileError struct {
	Name string // the report's file name in the report folder, e.g. "summary.json"
	// Kept is where the rows written before the failure were kept, e.g.
	// "report-incomplete.csv"; "" when nothing of the report is left.
	Kept string
	Err  error
}

func (e *FileError) Error() string {
	msg := fmt.Sprintf("%s could not be written (%v)", e.Name, e.Err)
	if e.Kept != "" {
		msg += "; the rows written before that are in " + e.Kept
	}
	return msg
}

func (e *FileError) Unwrap() error { return e.Err }

// FailedReport is a report summary.json and the terminal summary name as
// not written, and why.
type FailedReport struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
	Kept   string `json:"kept,omitempty"`
}

// fileWriter is what every report writes its bytes through: the file
// itself, except in tests, which put a disk that fills here. name is the
// report's file name ("report.xlsx rows" for the Rows sheet's spill).
var fileWriter = func(name string, w io.Writer) io.Writer { return w }

// incompleteName is where a report cut short is kept: report.csv becomes
// report-incomplete.csv, so that nobody takes it for the whole report and
// the spreadsheet program still opens it.
func incompleteName(name string) string {
	ext := filepath.Ext(name)
	return strings.TrimSuffix(name, ext) + "-incomplete" + ext
}

// keepIncomplete renames the report name, cut short by cause, out of the
// way and returns the FileError saying so.
func keepIncomplete(dir, name string, cause error) *FileError {
	fe := &FileError{Name: name, Err: cause}
	from := filepath.Join(dir, name)
	if _, err := os.Lstat(from); err != nil {
		return fe
	}
	kept := incompleteName(name)
	if err := os.Rename(from, filepath.Join(dir, kept)); err != nil {
		// It cannot be told from a whole report by its name: better gone.
		os.Remove(from)
		return fe
	}
	fe.Kept = kept
	return fe
}

// failed lists errs, each a FileError, for summary.json.
func failed(errs []error) []FailedReport {
	var out []FailedReport
	for _, err := range errs {
		var fe *FileError
		if errors.As(err, &fe) {
			out = append(out, FailedReport{Name: fe.Name, Reason: fe.Err.Error(), Kept: fe.Kept})
		}
	}
	return out
}
