package reports

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/reten/reconcile/internal/atomicfile"
	"github.com/reten/reconcile/internal/outcome"
)

// Another worker's rows: the messages the shared ledger gives a row that
// another live worker was sending, or had sent since this one checked it.
// A merged report takes such a row from the worker that sent it.
const (
	beingSentBy   = "being sent by "
	sentMeanwhile = "sent meanwhile by "
)

// Merge combines the reports that several workers of one run wrote, each in
// its own folder (dirs), into one report.csv and summary.json in out: every
// input row once, taken from the worker that sent it; the others reported
// it skipped as another worker's. Its counts are those a single worker
// would have reported. The folders must be reports of the same files
// against the same API; a folder without its summary.json (a worker killed
// before it finished) is refused, since its rows may be cut short.
func Merge(dirs []string, out string) (*Summary, error) {
	if len(dirs) == 0 {
		return nil, errors.New("no report folders to merge")
	}
	var (
		first  *Summary
		header []string
		keys   []int // the columns naming a row: file, sheet, row
		order  []string
		chosen = map[string]mergedRow{}
		comma  rune
	)
	runs, workers := []string{}, []string{}
	for i, dir := range dirs {
		sum, err := ReadSummary(dir)
		if _, statErr := os.Stat(filepath.Join(dir, SummaryName)); errors.Is(statErr, os.ErrNotExist) {
			if _, csvErr := os.Stat(filepath.Join(dir, CSVName)); csvErr == nil {
				return nil, fmt.Errorf("%s has no %s: that worker did not finish (killed, or still running), so its report may be cut short; "+
					"merge the other folders, and run the files again to send what it left", dir, SummaryName)
			}
		}
		if err != nil {
			return nil, err
		}
		if sum.Reports.CSV == "" {
			return nil, fmt.Errorf("%s: its %s was not written whole (see its summary.json): it cannot be merged; run the files again", dir, CSVName)
		}
		if i == 0 {
			first = sum
		} else if sum.BaseURL != first.BaseURL || !sameFiles(sum.Files, first.Files) {
			return nil, fmt.Errorf("%s is a report of other files or another API than %s: merge the reports of one run's workers only", dir, dirs[0])
		}
		runs, workers = appendNew(runs, sum.Settings["run"]), appendNew(workers, sum.Settings["worker"])
		h, rows, delim, err := readReportCSV(filepath.Join(dir, sum.Reports.CSV))
		if err != nil {
			return nil, err
		}
		if i == 0 {
			header = h
			for _, name := range []string{FileColumn, SheetColumn, RowColumn} {
				if at := ColumnIndex(h, name); at >= 0 {
					keys = append(keys, at)
				}
			}
			if ColumnIndex(h, RowColumn) < 0 || ColumnIndex(h, OutcomeColumn) < 0 {
				return nil, fmt.Errorf("%s: no %q or %q column: not a report.csv written by reconcile", filepath.Join(dir, sum.Reports.CSV), RowColumn, OutcomeColumn)
			}
			comma = delim
		} else if delim != comma {
			return nil, fmt.Errorf("%s: its report.csv is separated by %q, %s's by %q: merge the reports of one run's workers only", dir, delim, dirs[0], comma)
		} else if !slices.Equal(h, header) {
			return nil, fmt.Errorf("%s: its columns differ from %s's: merge the reports of one run's workers only", dir, dirs[0])
		}
		at := indexes(header)
		for _, rec := range rows {
			k := rowKey(rec, keys)
			r := mergedRow{cells: rec, rank: rank(rec, at)}
			have, seen := chosen[k]
			if !seen {
				order = append(order, k)
			}
			if !seen || r.rank < have.rank {
				chosen[k] = r
			}
		}
	}

	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(out, CSVName)); err == nil {
		return nil, fmt.Errorf("%s already holds a %s: choose another --out folder", out, CSVName)
	}
	w, err := createCSVReport(filepath.Join(out, CSVName), header, comma)
	if err != nil {
		return nil, err
	}
	at := indexes(header)
	t := newTally(outcome.Classes)
	for _, k := range order {
		r := chosen[k]
		if err := w.write(r.cells); err != nil {
			w.close()
			return nil, err
		}
		o := r.outcome(at)
		t.add(&o)
	}
	if err := w.close(); err != nil {
		return nil, err
	}

	s := &Summary{
		Command: "report merge", Started: first.Started, Finished: first.Finished, BaseURL: first.BaseURL,
		Files: first.Files, Settings: map[string]string{}, Total: t.total, Counts: t.counts,
		TopMessages: t.top(TopN), OtherMessages: t.other,
		Reports: Reports{Dir: out, CSV: CSVName, Summary: SummaryName, Rejects: []string{}},
	}
	worst := 0
	for _, dir := range dirs {
		sum, _ := ReadSummary(dir)
		if sum.Started.Before(s.Started) {
			s.Started = sum.Started
		}
		if sum.Finished.After(s.Finished) {
			s.Finished = sum.Finished
		}
		if sum.ExitCode > 1 && sum.ExitCode > worst {
			worst = sum.ExitCode
		}
	}
	for k, v := range first.Settings {
		s.Settings[k] = v
	}
	s.Settings["run"] = strings.Join(runs, ", ")
	s.Settings["worker"] = strings.Join(workers, ", ")
	s.Settings["merged"] = strings.Join(dirs, ", ")
	s.DurationMS = s.Finished.Sub(s.Started).Milliseconds()
	for _, c := range outcome.Classes {
		if c.NeedsPerson() {
			s.NeedsPerson += s.Counts[c]
		}
	}
	switch {
	case worst > 0:
		s.ExitCode = worst // a worker that stopped: the merge is no better
	case s.NeedsPerson > 0:
		s.ExitCode = 1
	}
	if err := atomicfile.Write(filepath.Join(out, SummaryName), 0o644, func(f io.Writer) error { return writeJSON(f, s) }); err != nil {
		return nil, err
	}
	return s, nil
}

// mergedRow is one row of a worker's report.csv, and how much it says.
type mergedRow struct {
	cells []string
	rank  int // lower wins
}

// columns are the positions of the outcome columns in a report's header.
type columns struct{ outcome, status, code, errCol, message int }

func indexes(h []string) columns {
	return columns{ColumnIndex(h, OutcomeColumn), ColumnIndex(h, HTTPStatusColumn), ColumnIndex(h, CodeColumn),
		ColumnIndex(h, ErrorColumn), ColumnIndex(h, MessageColumn)}
}

func cell(rec []string, i int) string {
	if i < 0 || i >= len(rec) {
		return ""
	}
	return rec[i]
}

// rank orders the reports of one row: the worker whose result was accepted,
// then one that sent it and failed, then one that found it invalid, then a
// skip of its own (already sent in an earlier run), and last a skip because
// another worker held or sent the row.
func rank(rec []string, at columns) int {
	switch c := outcome.Class(cell(rec, at.outcome)); {
	case c == outcome.ClassOK || c == outcome.ClassOverridden:
		return 0
	case c == outcome.ClassSkipped:
		if m := cell(rec, at.message); strings.HasPrefix(m, beingSentBy) || strings.HasPrefix(m, sentMeanwhile) {
			return 4
		}
		return 3
	case c == outcome.ClassInvalid:
		return 2
	}
	return 1
}

func (r mergedRow) outcome(at columns) outcome.Outcome {
	status, _ := strconv.Atoi(cell(r.cells, at.status))
	return outcome.Outcome{Class: outcome.Class(cell(r.cells, at.outcome)), HTTPStatus: status,
		Code: outcome.Code(cell(r.cells, at.code)), Error: cell(r.cells, at.errCol), Message: cell(r.cells, at.message)}
}

func rowKey(rec []string, keys []int) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = cell(rec, k)
	}
	return strings.Join(parts, "\x00")
}

// readReportCSV reads a report.csv: its header, its rows and the separator
// it was written with (--report-delimiter), found from the header's first
// column, reconcile's "row".
func readReportCSV(path string) ([]string, [][]string, rune, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, 0, err
	}
	head := strings.TrimPrefix(string(b[:min(len(b), 64)]), utf8BOM)
	comma := ','
	if rest, ok := strings.CutPrefix(head, RowColumn); ok && rest != "" {
		comma = []rune(rest)[0]
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(b), utf8BOM)))
	r.Comma = comma
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		return nil, nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) == 0 {
		return nil, nil, 0, fmt.Errorf("%s is empty: not a report.csv written by reconcile", path)
	}
	return recs[0], recs[1:], comma, nil
}

func sameFiles(a, b []File) bool {
	return slices.EqualFunc(a, b, func(x, y File) bool { return filepath.Base(x.Name) == filepath.Base(y.Name) && x.Sheet == y.Sheet })
}

func appendNew(list []string, s string) []string {
	if s == "" || slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
