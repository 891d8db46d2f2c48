package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/outcome"
)

// ReadSummary reads the summary.json of a report folder.
func ReadSummary(dir string) (*Summary, error) {
	path := filepath.Join(dir, SummaryName)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s has no %s (%v): pass a folder that `reconcile run` wrote its reports to", dir, SummaryName, errors.Unwrap(err))
	}
	var s Summary
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%s is not a summary written by reconcile: %v", path, err)
	}
	return &s, nil
}

// RowClass reads back the class a row of a rejects file ended with, from its
// RejectsOutcomeColumn. It says false for a row of any other file, and for a
// cell that holds no class (a person may have edited it).
func RowClass(row importer.Row) (outcome.Class, bool) {
	if row.Layout == nil {
		return "", false
	}
	at := columnIndex(row.Layout, RejectsOutcomeColumn)
	if at < 0 || at >= len(row.Cells) {
		return "", false
	}
	c := outcome.Class(strings.ToLower(strings.TrimSpace(row.Cells[at])))
	if !slices.Contains(outcome.Classes, c) {
		return "", false
	}
	return c, true
}

// columnIndex is the index of the column called name in l, matched as the
// importer matches reconcile's own columns (case and spaces aside), or -1.
func columnIndex(l *importer.Layout, name string) int {
	for i, c := range l.Columns {
		if strings.EqualFold(strings.TrimSpace(c), name) {
			return i
		}
	}
	return -1
}
