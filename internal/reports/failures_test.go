package reports

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/outcome"
)

// fullDisk is a disk with room for free more bytes, shared by every report;
// past that a write fails as on a full disk: the kernel's own ENOSPC from
// /dev/full where there is one.
type fullDisk struct {
	free  int
	only  string // when set, only this report's bytes count, the others always fit
	devnl *os.File
}

func (d *fullDisk) wrap(t *testing.T) {
	if f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0); err == nil {
		d.devnl = f
		t.Cleanup(func() { f.Close() })
	}
	saved := fileWriter
	fileWriter = func(name string, w io.Writer) io.Writer {
		if d.only != "" && name != d.only {
			return w
		}
		return &fillingWriter{d: d, w: w}
	}
	t.Cleanup(func() { fileWriter = saved })
}

type fillingWriter struct {
	d *fullDisk
	w io.Writer
}

func (f *fillingWriter) Write(p []byte) (int, error) {
	if len(p) <= f.d.free {
		f.d.free -= len(p)
		return f.w.Write(p)
	}
	n, err := f.w.Write(p[:f.d.free])
	f.d.free = 0
	if err != nil {
		return n, err
	}
	if f.d.devnl != nil {
		_, err = f.d.devnl.Write(p[n:])
		if pe, ok := err.(*os.PathError); ok {
			err = pe.Err // the report's name, not /dev/full's, is what a user would read
		}
	}
	if err == nil {
		err = syscall.ENOSPC
	}
	return n, err
}

// writeAll writes outs, collecting Write's errors, and closes w.
func writeAll(t *testing.T, w *Writer, outs []outcome.Outcome, exit int) (*Summary, []error, error) {
	t.Helper()
	var writeErrs []error
	for _, o := range outs {
		if err := w.Write(o); err != nil {
			writeErrs = append(writeErrs, err)
		}
	}
	s, err := w.Close(exit)
	return s, writeErrs, err
}

func manyOutcomes(l *importer.Layout, n int) []outcome.Outcome {
	var outs []outcome.Outcome
	for i := range n {
		class := outcome.ClassOK
		if i%3 == 0 {
			class = outcome.ClassInvalid
		}
		outs = append(outs, outcome.Outcome{Row: row(l, i+2, "A-"+itoa(i), "VISITA", strings.Repeat("nota ", 20)), Class: class, Message: "Fecha: not a date"})
	}
	return outs
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func printed(s *Summary) string {
	var b strings.Builder
	s.Print(&b, 0)
	return b.String()
}

// The disk fills while Close writes the rows: each report fails on its own,
// the others go on, and Close names every report that is not whole; the summary claims none of them, and what was written of
// report.csv is kept under a name that says it is incomplete.
func TestDiskFillsWhileWriting(t *testing.T) {
	d := &fullDisk{free: 40 << 10}
	d.wrap(t)
	dir := t.TempDir()
	l := csvLayout("ventas.csv", "Actividad", "Código", "Notas")
	w, err := Create(dir, RunInfo{Command: "run", Layouts: []*importer.Layout{l}}, Options{XLSX: true, Rejects: true, FailedExitCode: 5})
	if err != nil {
		t.Fatal(err)
	}
	s, writeErrs, err := writeAll(t, w, manyOutcomes(l, 3000), 1)
	// The rows wait in memory to be put in input order: the disk fills
	// when Close writes them.
	if len(writeErrs) != 0 {
		t.Fatalf("Write errors = %v, want none", writeErrs)
	}
	if err == nil || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Close = %v, want the full disk", err)
	}
	for _, name := range []string{CSVName, XLSXName, "rejects.csv", SummaryName} {
		if !strings.Contains(err.Error(), name+" could not be written") {
			t.Errorf("Close's error does not name %s: %v", name, err)
		}
	}
	if s.Reports.CSV != "" || s.Reports.XLSX != "" || len(s.Reports.Rejects) != 0 || s.Reports.Summary != "" {
		t.Errorf("the summary claims reports: %+v", s.Reports)
	}
	out := printed(s)
	if !strings.Contains(out, "No report could be written in "+dir) || strings.Contains(out, "Reports in") || strings.Contains(out, "Fix the rows in") {
		t.Errorf("Print:\n%s", out)
	}
	for _, name := range []string{CSVName, XLSXName, "rejects.csv", SummaryName} {
		if !strings.Contains(out, "Not written: "+name+" (") {
			t.Errorf("Print does not name %s:\n%s", name, out)
		}
	}
	got := names(t, dir)
	for _, name := range []string{CSVName, XLSXName, "rejects.csv", SummaryName} {
		if slices.Contains(got, name) {
			t.Errorf("%s is in the folder under its own name: %v", name, got)
		}
	}
	if !slices.Contains(got, "report-incomplete.csv") || !strings.Contains(out, "the rows written before that are in report-incomplete.csv") {
		t.Errorf("folder %v; Print:\n%s", got, out)
	}
}

// Only summary.json fails: every other report is whole and listed, and
// summary.json is named as not written.
func TestSummaryFailsAlone(t *testing.T) {
	d := &fullDisk{free: 10, only: SummaryName}
	d.wrap(t)
	dir := t.TempDir()
	l := csvLayout("ventas.csv", "Actividad", "Código", "Notas")
	w, err := Create(dir, RunInfo{Command: "run", Layouts: []*importer.Layout{l}}, Options{XLSX: true, Rejects: true})
	if err != nil {
		t.Fatal(err)
	}
	s, writeErrs, err := writeAll(t, w, oneOfEach(l), 1)
	var fe *FileError
	if len(writeErrs) != 0 || !errors.As(err, &fe) || fe.Name != SummaryName || fe.Kept != "" {
		t.Fatalf("Write errors %v, Close %v; want only summary.json failing at Close", writeErrs, err)
	}
	out := printed(s)
	if !strings.Contains(out, "Reports in "+dir+": report.csv, report.xlsx, rejects.csv\n") || !strings.Contains(out, "Not written: summary.json (") {
		t.Errorf("Print:\n%s", out)
	}
	if got := names(t, dir); !slices.Equal(got, []string{"rejects.csv", CSVName, XLSXName}) {
		t.Errorf("folder holds %v", got)
	}
}

// report.csv fails alone: summary.json is written, names it as failed and
// where its first rows are, and records the exit code for a failed report.
func TestCSVFailsAlone(t *testing.T) {
	d := &fullDisk{free: 1 << 10, only: CSVName}
	d.wrap(t)
	dir := t.TempDir()
	l := csvLayout("ventas.csv", "Actividad", "Código", "Notas")
	w, err := Create(dir, RunInfo{Command: "validate", Layouts: []*importer.Layout{l}}, Options{FailedExitCode: 5})
	if err != nil {
		t.Fatal(err)
	}
	s, writeErrs, err := writeAll(t, w, manyOutcomes(l, 2000), 1)
	if len(writeErrs) != 0 || err == nil {
		t.Fatalf("Write errors %v, Close %v", writeErrs, err)
	}
	data, rerr := os.ReadFile(filepath.Join(dir, SummaryName))
	if rerr != nil {
		t.Fatal(rerr)
	}
	var got Summary
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if got.ExitCode != 5 || got.Reports.CSV != "" || len(got.Reports.Failed) != 1 || got.Reports.Failed[0].Name != CSVName ||
		got.Reports.Failed[0].Kept != "report-incomplete.csv" || !strings.Contains(got.Reports.Failed[0].Reason, "no space left on device") {
		t.Errorf("summary.json = %s", data)
	}
	if out := printed(s); !strings.Contains(out, "Reports in "+dir+": summary.json\n") || !strings.Contains(out, "Not written: report.csv (") {
		t.Errorf("Print:\n%s", out)
	}
}

// The temporary file where rows wait for input order fills the disk: Write
// says so once, naming every report that cannot be whole; Close names them
// as not written, keeps no half of them under its own name, and still
// writes summary.json.
func TestOrderSpillFails(t *testing.T) {
	saved := orderBytes
	orderBytes = 4 << 10
	t.Cleanup(func() { orderBytes = saved })
	d := &fullDisk{free: 20 << 10, only: orderSpillName}
	d.wrap(t)
	dir := t.TempDir()
	l := csvLayout("ventas.csv", "Actividad", "Código", "Notas")
	w, err := Create(dir, RunInfo{Command: "run", Layouts: []*importer.Layout{l}},
		Options{XLSX: true, Rejects: true, FailedExitCode: 5, SpillDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	s, writeErrs, err := writeAll(t, w, manyOutcomes(l, 3000), 1)
	if len(writeErrs) != 1 || !errors.Is(writeErrs[0], syscall.ENOSPC) {
		t.Fatalf("Write errors = %v, want one, of a full disk", writeErrs)
	}
	for _, name := range []string{CSVName, XLSXName, "rejects.csv"} {
		if !strings.Contains(writeErrs[0].Error(), name+" could not be written") {
			t.Errorf("Write's error does not name %s: %v", name, writeErrs[0])
		}
		if err == nil || !strings.Contains(err.Error(), name+" could not be written") {
			t.Errorf("Close's error does not name %s: %v", name, err)
		}
	}
	if s.Reports.CSV != "" || s.Reports.XLSX != "" || len(s.Reports.Rejects) != 0 || s.Reports.Summary != SummaryName || s.ExitCode != 5 {
		t.Errorf("summary = %+v", s.Reports)
	}
	if got := names(t, dir); slices.Contains(got, CSVName) || slices.Contains(got, XLSXName) || !slices.Contains(got, SummaryName) {
		t.Errorf("folder holds %v", got)
	}
}
