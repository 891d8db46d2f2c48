package engine

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/reports"
	"github.com/reten/reconcile/internal/sandbox"
	"github.com/reten/reconcile/internal/sandbox/sandboxtest"
	"github.com/xuri/excelize/v2"
)

// orderSink records the order outcomes finished in, by file and row.
type orderSink struct {
	*testSink
	mu       sync.Mutex
	finished []string
}

func (s *orderSink) Done(o *outcome.Outcome) {
	s.mu.Lock()
	s.finished = append(s.finished, o.Row.Pos.File+":"+strconv.Itoa(o.Row.Pos.Row))
	s.mu.Unlock()
	s.testSink.Done(o)
}

// A run whose requests fail and are retried at random (a sandbox answering
// 5xx to one request in three, several in flight) finishes its rows out of
// order, and later duplicates of the second file are skipped at once; its
// report.csv, its Rows sheet and its rejects still list them in input order:
// the files as given, then their rows. So does a run interrupted half way,
// whose rows not sent are skipped.
func TestReportsInInputOrderUnderRetries(t *testing.T) {
	for _, interrupt := range []bool{false, true} {
		t.Run("interrupted="+strconv.FormatBool(interrupt), func(t *testing.T) {
			_, base := sandboxtest.Start(t, sandbox.SyntheticTenant(400),
				sandbox.Faults{FailRate: 0.35, Latency: 2 * time.Millisecond, Seed: 7})
			first, second := inputFile(t, 300), inputFile(t, 40)
			job := sendingJob(t, base, first, second)
			job.Submitter.Concurrency = 8
			job.Submitter.Retries = 2
			job.Submitter.BaseDelay, job.Submitter.MaxDelay = time.Millisecond, 30*time.Millisecond
			sink := &orderSink{testSink: newTestSink()}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if interrupt {
				sink.onDone = func(n int64) {
					if n == 60 {
						cancel()
					}
				}
			}
			res := job.Run(ctx, sink)
			if want := map[bool]Ending{false: Finished, true: Interrupted}[interrupt]; res.Ending != want {
				t.Fatalf("ended %v (%v), want %v", res.Ending, res.Err, want)
			}
			var inOrder []string
			for _, f := range []struct {
				name string
				rows int
			}{{first, 301}, {second, 41}} {
				for r := 2; r <= f.rows+1; r++ {
					inOrder = append(inOrder, f.name+":"+strconv.Itoa(r))
				}
			}
			if slices.Equal(sink.finished, inOrder) {
				t.Fatal("the rows finished in input order: the test shows nothing")
			}
			if interrupt && res.Counts[outcome.ClassSkipped] == 0 {
				t.Errorf("interrupted run skipped nothing: %v", res.Counts)
			}

			recs := readAll(t, filepath.Join(job.ReportDir, reports.CSVName), ',')
			fileCol, rowCol := slices.Index(recs[0], "file"), slices.Index(recs[0], "row")
			var got []string
			for _, r := range recs[1:] {
				got = append(got, r[fileCol]+":"+r[rowCol])
			}
			if !slices.Equal(got, inOrder) {
				t.Errorf("report.csv lists %d rows, not in input order; first ones %q", len(got), got[:min(len(got), 10)])
			}

			x, err := excelize.OpenFile(filepath.Join(job.ReportDir, reports.XLSXName))
			if err != nil {
				t.Fatal(err)
			}
			defer x.Close()
			sheet, err := x.GetRows(reports.RowsSheet)
			if err != nil {
				t.Fatal(err)
			}
			got = got[:0]
			for _, r := range sheet[1:] {
				got = append(got, r[fileCol]+":"+r[rowCol])
			}
			if !slices.Equal(got, inOrder) {
				t.Errorf("the Rows sheet lists %d rows, not in input order; first ones %q", len(got), got[:min(len(got), 10)])
			}

			// The first file's rejects: its failed rows and its invalid last row.
			rej := readAll(t, filepath.Join(job.ReportDir, "rejects-in.csv"), ',')
			at := slices.Index(rej[0], reports.RejectsRowColumn)
			var rows []int
			for _, r := range rej[1:] {
				n, err := strconv.Atoi(r[at])
				if err != nil {
					t.Fatal(err)
				}
				rows = append(rows, n)
			}
			if len(rows) < 2 && !interrupt || !slices.IsSorted(rows) || rows[len(rows)-1] != 302 {
				t.Errorf("rejects rows %v, want them in input order (several when not interrupted), ending with the invalid row 302", rows)
			}
		})
	}
}

func readAll(t *testing.T, path string, comma rune) [][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
	r.Comma = comma
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
